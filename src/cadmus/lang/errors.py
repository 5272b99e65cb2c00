"""Errors of the language layer; each carries the line and column it is about."""

from __future__ import annotations

from cadmus.errors import CadmusError


class LangError(CadmusError):
    """Base of every error about a program's text or tree."""


class ParseError(LangError):
    """The text is not a program: what was expected and what was found, where."""


class SemanticError(LangError):
    """The program parses but is not well formed (undefined name, arity, ...)."""


class CompileError(LangError):
    """The tree cannot be turned into VM code (for example a limit of the target)."""


class PrintError(LangError):
    """The tree has a construct the chosen surface syntax cannot express."""


class UnsupportedPython(LangError):
    """Python source uses a construct outside the documented subset."""
