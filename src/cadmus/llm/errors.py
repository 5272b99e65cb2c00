"""Typed errors of the baselines package."""

from __future__ import annotations

from cadmus.errors import CadmusError


class LLMError(CadmusError):
    """A request, response, option or file that the baselines cannot use."""


class RequestFailed(LLMError):
    """An endpoint that answered with an error (after the retries allowed), or never answered."""

    def __init__(self, message: str, *, status: int | None = None, file: str | None = None) -> None:
        super().__init__(message, file=file)
        self.status = status


class NotShown(LLMError):
    """A row a view cannot show (its program does not run under the view's meaning); it is left out."""
