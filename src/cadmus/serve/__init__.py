"""An OpenAI-compatible HTTP server for Cadmus checkpoints (`cadmus serve`, docs/serve.md).

Public surface: `ServeEngine` (a checkpoint behind a batching worker thread),
`Sampling`, `ChoiceResult`, `ServeError`, `create_app(engine)` (the FastAPI
application), `serve(checkpoint, ...)` (run it until interrupted) and
`serve_in_thread(engine)` (run it on a background thread; yields its URL).
"""

from cadmus.serve.app import create_app
from cadmus.serve.engine import ChoiceResult, Sampling, ServeEngine, ServeError
from cadmus.serve.server import serve, serve_in_thread

__all__ = [
    "ChoiceResult",
    "Sampling",
    "ServeEngine",
    "ServeError",
    "create_app",
    "serve",
    "serve_in_thread",
]
