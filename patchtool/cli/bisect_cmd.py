"""CLI commands: bisect (registered on the shared app)."""
