"""The root of every error Cadmus raises for bad input or a failed run.

Library code raises these; the CLI catches `CadmusError` and prints
`str(err)` as one line (`file:line:col: message`), never a traceback.
"""

from __future__ import annotations


class CadmusError(Exception):
    """An error with an optional position: file, line, column or config key."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        col: int | None = None,
        key: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.col = col
        self.key = key

    def where(self) -> str:
        parts = [p for p in (self.file, self.line, self.col) if p is not None]
        loc = ":".join(str(p) for p in parts)
        if self.key is not None:
            loc = f"{loc}: key '{self.key}'" if loc else f"key '{self.key}'"
        return loc

    def with_file(self, file: str) -> CadmusError:
        """Attach the file name (the CLI knows it, the library may not)."""
        if self.file is None:
            self.file = file
        return self

    def __str__(self) -> str:
        loc = self.where()
        return f"{loc}: {self.message}" if loc else self.message
