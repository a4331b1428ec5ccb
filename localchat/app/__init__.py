"""Application layer: use cases (services), the dispatcher, settings, wiring and the CLI."""
