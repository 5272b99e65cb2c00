"""The model package's error type, in a module of its own so every model module can raise it."""

from __future__ import annotations

from cadmus.errors import CadmusError


class ModelError(CadmusError):
    """A bad model config, or a checkpoint that does not fit the model."""
