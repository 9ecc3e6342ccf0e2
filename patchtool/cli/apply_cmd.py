"""CLI commands: apply (registered on the shared app)."""
