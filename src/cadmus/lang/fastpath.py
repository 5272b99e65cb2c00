"""The compiled front end (`cadmus.lang._cdsl`, C) for straight-line DSL text.

`check` on DSL text first asks it for the program's code: it reads
assignments, augmented assignments, asserts and prints of integer
expressions (arithmetic, bitwise and comparison operators; one statement per
line, no blocks, calls or arrays; the grammar is at the top of _cdsl.c) and emits exactly
what `compiler.py` emits, with no tree built. The code then runs on the
compiled VM (`cadmus.vm.run_code`). Anything else, and every program the
reference would report an error for, comes back None and takes the reference
path (parse, semantic checks, compile, run), which also writes the message;
a run that fails other than by a failed assert does too. Tests compare both
paths' code and verdicts on generated programs.

It is optional like the VM's extension: built by the package's build where
a C compiler was found. It is used only with the compiled VM, so
CADMUS_VM=python leaves it out too; CADMUS_FRONT=python (read at import)
leaves out only the front end. `cadmus vm info` says what is in use.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from cadmus.errors import CadmusError
from cadmus.lang.ast import BUILTINS
from cadmus.lang.lexicon import KEYWORDS
from cadmus.vm import BY_NAME, backend

ENV = "CADMUS_FRONT"


def _load() -> tuple[Any, str]:
    """The extension, set up, or None; and what became of it."""
    try:
        module = importlib.import_module("cadmus.lang._cdsl")  # optional: built where a C compiler was found
    except ImportError as err:
        return None, f"not built ({err})"
    if any(name not in BY_NAME for name in module.OPS):
        return None, "stale build: it emits instructions the ISA table lacks (reinstall)"
    module.setup(tuple(BY_NAME[name].code for name in module.OPS), (*KEYWORDS, *BUILTINS))
    return module, "built"


_BUILT, _STATUS = _load()


def _choose() -> tuple[Any, str, str | None]:
    """The extension when it is in use, why it is or is not, and what is wrong
    with the environment (raised when the front end is asked for, not at import)."""
    asked = os.environ.get(ENV, "").strip().lower()
    if asked not in ("", "auto", "c", "python"):
        return None, "", f"{ENV}={asked!r}: expected one of c, python, auto"
    if asked == "python":
        return None, f"{ENV}=python", None
    if _BUILT is None:
        if asked == "c":
            return None, "", f"{ENV}=c but the compiled front end is {_STATUS}"
        return None, f"the compiled front end is {_STATUS}", None
    try:
        vm = backend()
    except CadmusError:  # a CADMUS_VM that cannot be had: `cadmus vm info` and every run say so
        return None, "the VM's path is not chosen", None
    if vm != "c":
        return None, "the reference VM is in use", None
    return _BUILT, f"{ENV}=c" if asked == "c" else "default", None


_CDSL, _CHOSEN_BY, _WRONG = _choose()


def refresh() -> None:
    """Read CADMUS_FRONT (and the VM's choice) again; both are read once, at import."""
    global _CDSL, _CHOSEN_BY, _WRONG
    _CDSL, _CHOSEN_BY, _WRONG = _choose()


def front_end_info() -> dict[str, str]:
    """What `cadmus vm info` reports of the front end: in use or not, why, and the build."""
    if _WRONG is not None:
        raise CadmusError(_WRONG, key=ENV)
    return {"front_end": "c" if _CDSL is not None else "python", "chosen_by": _CHOSEN_BY, "compiled": _STATUS}


def compile_text(text: str) -> tuple[list[tuple[int, int, int]], tuple[int, ...]] | None:
    """The reference compiler's code for `text` and the line of each assert,
    or None where the compiled front end does not read it (or is not built)."""
    if _CDSL is None:
        if _WRONG is not None:
            raise CadmusError(_WRONG, key=ENV)
        return None
    return _CDSL.compile(text)  # type: ignore[no-any-return]
