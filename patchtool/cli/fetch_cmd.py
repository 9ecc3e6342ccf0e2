"""CLI commands: fetch (registered on the shared app)."""
