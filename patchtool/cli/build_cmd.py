"""CLI commands: build (registered on the shared app)."""
