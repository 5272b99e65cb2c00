"""Typed errors of the Hugging Face package."""

from __future__ import annotations

from cadmus.errors import CadmusError


class HFError(CadmusError):
    """A pretrained model that cannot be found, converted, loaded or asked: what failed, and where."""
