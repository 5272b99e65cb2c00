"""An OpenAI-compatible HTTP server for Cadmus checkpoints."""
