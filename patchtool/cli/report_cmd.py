"""CLI commands: report (registered on the shared app)."""
