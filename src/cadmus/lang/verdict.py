"""`check`: the one definition of a *true program* for all of Cadmus.

A program is true when it parses, passes the semantic checks, compiles, and
runs on the VM to `halt` within its limits with every `assert` holding.
`check` never raises for a bad program: every `CadmusError` on the way
becomes a `Verdict` that says what went wrong and where (a bug in Cadmus
itself is not a verdict and still raises). `execute` is `check` plus what it
built on the way (the tree, the compiled program, the VM's `RunResult`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cadmus.errors import CadmusError
from cadmus.lang.ast import Module
from cadmus.lang.compiler import MODES, Compiled, compile_program
from cadmus.lang.errors import SemanticError
from cadmus.lang.fastpath import compile_text
from cadmus.lang.parser import parse
from cadmus.lang.python_front import from_python
from cadmus.lang.semantics import check_semantics
from cadmus.vm import (
    DEFAULT_LIMITS,
    AssertionFailed,
    InvalidProgram,
    LimitExceeded,
    Limits,
    RunResult,
    TraceStep,
    run,
    run_code,
)


class VerdictKind(StrEnum):
    """What became of a program."""

    TRUE = "true"
    PARSE_ERROR = "parse_error"
    SEMANTIC_ERROR = "semantic_error"
    RUNTIME_ERROR = "runtime_error"
    ASSERTION_FAILED = "assertion_failed"
    LIMIT_EXCEEDED = "limit_exceeded"


@dataclass(frozen=True, slots=True)
class Verdict:
    """True, or why not and where.

    `line`/`col` locate the failure in the source (`col` only for parse and
    semantic errors; run-time failures are reported at their statement's
    line). `outputs` holds every line the program printed before it stopped,
    `steps` the VM steps it ran (0 when it never ran). For a failed assert,
    `assert_id` is its id (source order) and `values` what the VM compared.
    """

    kind: VerdictKind
    message: str = ""
    line: int | None = None
    col: int | None = None
    outputs: tuple[tuple[int, ...], ...] = ()
    steps: int = 0
    assert_id: int | None = None
    values: tuple[int, ...] = ()

    @property
    def ok(self) -> bool:
        return self.kind is VerdictKind.TRUE

    @property
    def output_text(self) -> str:
        """What the program printed: values joined by a space, lines by a newline."""
        return "\n".join(" ".join(map(str, values)) for values in self.outputs)

    def where(self) -> str:
        if self.line is None:
            return ""
        return f"line {self.line}" if self.col is None else f"line {self.line}, col {self.col}"

    def __str__(self) -> str:
        if self.ok:
            return f"true ({self.steps} step{'s' * (self.steps != 1)})"
        loc = self.where()
        return f"{loc}: {self.message}" if loc else self.message

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {
            "ok": self.ok,
            "kind": self.kind.value,
            "message": self.message,
            "line": self.line,
            "col": self.col,
            "outputs": [list(values) for values in self.outputs],
            "steps": self.steps,
            "assert_id": self.assert_id,
            "values": list(self.values),
        }


@dataclass(frozen=True, slots=True)
class Execution:
    """A verdict plus what was built on the way to it (None past where it stopped)."""

    verdict: Verdict
    module: Module | None = None
    compiled: Compiled | None = None
    result: RunResult | None = None


def parse_program(source: str | Module, *, mode: str = "dsl", file: str | None = None) -> Module:
    """Parse `source` (DSL text, Python text in mode "python", or a tree) and check its semantics.

    Raises `ParseError`/`UnsupportedPython` for text that is not a program and
    `SemanticError` for one that is not well formed.
    """
    module = _parse(source, mode, file)
    _semantics(module, mode)
    return module


def _parse(source: str | Module, mode: str, file: str | None) -> Module:
    if isinstance(source, Module):
        return source
    if not isinstance(source, str):
        raise TypeError(f"source must be program text or a Module, not {type(source).__name__}")
    if mode == "python":
        return from_python(source, file=file)
    return parse(source, file=file)


def _semantics(module: Module, mode: str) -> None:
    check_semantics(module, mode=mode)


def _failure(kind: VerdictKind, err: CadmusError, **extra: Any) -> Verdict:
    return Verdict(kind, err.message, err.line, err.col, **extra)


def execute(
    source: str | Module,
    *,
    mode: str = "dsl",
    inputs: Iterable[int] = (),
    limits: Limits | None = None,
    file: str | None = None,
    trace: bool | Callable[[TraceStep], Any] = False,
) -> Execution:
    """Judge a program like `check` and keep the tree, the compiled program and the run.

    `trace` is passed to the VM: True records every step in `result.trace`,
    a callable receives each step.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be 'dsl' or 'python', not {mode!r}")
    try:
        module = _parse(source, mode, file)
    except SemanticError as err:
        return Execution(_failure(VerdictKind.SEMANTIC_ERROR, err))
    except CadmusError as err:  # ParseError, UnsupportedPython, ...
        return Execution(_failure(VerdictKind.PARSE_ERROR, err))
    try:
        _semantics(module, mode)
        compiled = compile_program(module, mode)
    except CadmusError as err:
        return Execution(_failure(VerdictKind.SEMANTIC_ERROR, err), module)
    try:
        result = run(compiled.program, inputs=tuple(inputs), limits=limits, trace=trace)
    except InvalidProgram as err:
        # The compiler only emits valid programs: this is a bug in Cadmus, not a verdict.
        raise RuntimeError(f"internal error: the compiler produced an invalid program: {err}") from err
    return Execution(judge_run(compiled, result), module, compiled, result)


def check(
    source: str | Module,
    *,
    mode: str = "dsl",
    inputs: Iterable[int] = (),
    limits: Limits | None = None,
    file: str | None = None,
) -> Verdict:
    """The verdict on a program: true, or why not (see `Verdict`).

    `source` is DSL text (mode "dsl"), Python-subset text (mode "python") or
    an already built `Module`; `inputs` feed `read()`; `limits` bound the run
    (the VM's defaults when None).

    Straight-line DSL text is read by the compiled front end where it was
    built (`fastpath`): the same code and verdict, without building a tree.
    """
    if type(source) is str and mode == "dsl" and inputs == ():
        fast = fast_check(source, limits)
        if fast is not None:
            return fast
    return execute(source, mode=mode, inputs=inputs, limits=limits, file=file).verdict


def fast_check(text: str, limits: Limits | None = None) -> Verdict | None:
    """`check`'s verdict on DSL text through the compiled front end and VM,
    where it is a true program or a failed assert; None for everything else,
    which the reference path must judge (`check` then does)."""
    compiled = compile_text(text)
    if compiled is None:
        return None
    code, assert_lines = compiled
    ran = run_code(code, (), limits if limits is not None else DEFAULT_LIMITS)
    if ran is None:
        return None
    fault, steps, outputs, values = ran
    if fault is None:
        return Verdict(VerdictKind.TRUE, "", None, None, outputs, steps)  # positional: a third faster
    if fault in ("assert_equal", "assertion"):
        aid, *compared = values
        return _failed_assert(aid, tuple(compared), assert_lines[aid], outputs, steps)
    return None


def _failed_assert(
    aid: int, values: tuple[int, ...], line: int | None, outputs: tuple[tuple[int, ...], ...], steps: int
) -> Verdict:
    """The verdict of a failed source assert (`values`: what `asserteq` compared, or none)."""
    message = f"assertion failed: {values[0]} != {values[1]}" if len(values) == 2 else "assertion failed"
    return Verdict(VerdictKind.ASSERTION_FAILED, message, line, None, outputs, steps, aid, values)


def judge_run(compiled: Compiled, result: RunResult) -> Verdict:
    """Turn a VM run of a compiled program into a verdict located in the source."""
    outputs = tuple(tuple(values) for values in result.outputs)
    steps = result.steps
    err = result.error
    if result.status == "ok" or err is None:
        return Verdict(VerdictKind.TRUE, outputs=outputs, steps=steps)
    pc = err.pc
    line = compiled.lines[pc] if pc is not None and 0 <= pc < len(compiled.lines) else None
    line = line or None
    detail = getattr(err, "detail", "") or err.message
    if isinstance(err, AssertionFailed):
        aid = err.assert_id
        traps = compiled.traps
        if 0 <= aid < len(traps):
            line = compiled.assert_lines[aid] or line
            if traps[aid] is not None:
                return Verdict(VerdictKind.RUNTIME_ERROR, traps[aid], line, None, outputs, steps)
        return _failed_assert(aid, tuple(err.values), line, outputs, steps)
    if isinstance(err, LimitExceeded):
        return Verdict(VerdictKind.LIMIT_EXCEEDED, detail, line, None, outputs, steps)
    return Verdict(VerdictKind.RUNTIME_ERROR, detail, line, None, outputs, steps)
