"""The compiled execution path (`cadmus.vm._cvm`, C) and the choice of path.

`cadmus.vm.run` runs a program on the compiled path wherever the extension
was built (the package build compiles it; it is optional, so a machine
without a C compiler installs and runs on the reference interpreter), and on
the reference interpreter in `machine.py` otherwise, or when asked:
`CADMUS_VM=python` in the environment, `run(..., backend="python")`, and
every traced run. Both give the same results; the tests check it.

The extension numbers opcodes its own way and names them (`OPCODE_NAMES`);
this module maps the ISA's codes onto those names, so `isa.py` stays the one
numbering, and a stale build that lacks an instruction is refused rather
than trusted. The extension also names pairs of instructions it runs in one
dispatch (`FUSED_NAMES`, e.g. "lt jz"); `pack` turns a verified program into
its input once, fusing those pairs, and the result is cached on the
program. A failure comes back as a fault name, its pc and its values, and
becomes the same error the reference raises (builders in `faults.py`).
"""

from __future__ import annotations

import importlib
import os
from array import array
from typing import Any, NamedTuple

from cadmus.errors import CadmusError
from cadmus.vm import faults
from cadmus.vm.errors import InvalidProgram, VMError
from cadmus.vm.isa import BY_NAME, ISA
from cadmus.vm.program import Program, instr_problem
from cadmus.vm.verify import _CALL, _FLOW, _PICK, _POPS, _PRINT, _PUSHES

BACKENDS = ("c", "python")
ENV = "CADMUS_VM"
_HALT_ENTRY = (BY_NAME["halt"].code, 0, 0)
_CAP = 2**62  # limits above this are unreachable; the C side works in int64

# Fault -> the Limits field its message names.
_LIMIT_FIELD = {
    "step_limit": "max_steps",
    "stack_limit": "max_stack",
    "depth_limit": "max_call_depth",
    "memory_limit": "max_memory",
    "output_limit": "max_output",
}
# The exact (out of range) result an `overflow` fault reports, from its values.
_EXACT = {
    "add": lambda x, y: x + y,
    "incl": lambda x, y: x + y,
    "sub": lambda x, y: x - y,
    "mul": lambda x, y: x * y,
    "divt": lambda x, y: abs(x) // abs(y) * (1 if (x < 0) == (y < 0) else -1),
    "divf": lambda x, y: x // y,
    "neg": lambda x, _: -x,
    "abs": lambda x, _: abs(x),
    "inc": lambda x, _: x + 1,
    "dec": lambda x, _: x - 1,
    "pow": lambda x, y: x**y,
    "shl": lambda x, y: x << y,
}


class _Build(NamedTuple):
    """The loaded extension and the tables its `pack` reads (ISA codes, and
    the decoder's underflow pseudo-opcode len(ISA), to its own codes), and
    verify.py's tables for its `analyze`."""

    module: Any
    # pack's tables, int64 each: per code its opcode in the extension (trans) and its operand
    # count (nargs); per pair of codes the fused opcode, or -1 (fused)
    packing: tuple[bytes, bytes, bytes]
    faults: tuple[str, ...]
    analysis: tuple[bytes, bytes, bytes, int, int, int]  # pops, pushes, flow; call, print, pick
    kinds: bytes  # int64 per ISA code and operand position: Operand + 1, 0 for none (run_flat's check)


def _load() -> tuple[_Build | None, str]:
    """The extension and its tables, or None and why not."""
    try:
        module = importlib.import_module("cadmus.vm._cvm")  # optional: built where a C compiler was found
    except ImportError as err:
        return None, f"not built ({err})"
    names = list(module.OPCODE_NAMES)
    wanted = [info.name for info in ISA] + ["underflow"]  # the decoder's pseudo-opcode is len(ISA)
    if sorted(names) != sorted(wanted):
        return None, "stale build: its instructions differ from the ISA table (reinstall)"
    if module.INSTRUCTION_BYTES != 24:
        return None, f"unexpected instruction size {module.INSTRUCTION_BYTES}"
    fault_names = tuple(module.FAULT_NAMES)
    missing = [f for f in fault_names if not callable(getattr(faults, f, None))]
    if missing:
        return None, f"stale build: unknown faults {missing} (reinstall)"
    nargs = [len(info.operands) for info in ISA] + [0]
    n = len(wanted)
    fused = [-1] * (n * n)
    for i, pair in enumerate(module.FUSED_NAMES):
        first, second = (BY_NAME[name].code for name in pair.split())
        if nargs[first] + nargs[second] > 2:
            return None, f"fused pair {pair!r} carries more than two operands"
        fused[first * n + second] = len(names) + i
    trans = [names.index(name) for name in wanted]
    table = lambda values: array("q", values).tobytes()  # noqa: E731
    analysis = (table(_POPS), table(_PUSHES), table(_FLOW), _CALL, _PRINT, _PICK)
    kinds: list[int] = []
    for info in ISA:  # at most two operands
        kinds += ([int(kind) + 1 for kind in info.operands] + [0, 0])[:2]
    packing = (table(trans), table(nargs), table(fused))
    return _Build(module, packing, fault_names, analysis, table(kinds)), "built"


_BUILD, _STATUS = _load()


def _choose() -> tuple[str | None, str]:
    """The default backend (None if the environment asks for one that cannot
    be had) and what chose it, or what is wrong."""
    asked = os.environ.get(ENV, "").strip().lower()
    if asked in ("", "auto"):
        return ("c" if _BUILD is not None else "python"), "default"
    if asked not in BACKENDS:
        return None, f"{ENV}={asked!r}: expected one of c, python, auto"
    if asked == "c" and _BUILD is None:
        return None, f"{ENV}=c but the compiled VM is {_STATUS}"
    return asked, f"{ENV}={asked}"


# Read once: `run` must not pay for an environment lookup on every call.
_DEFAULT, _CHOSEN_BY = _choose()


def refresh() -> None:
    """Read CADMUS_VM again (it is read once, at import)."""
    global _DEFAULT, _CHOSEN_BY
    _DEFAULT, _CHOSEN_BY = _choose()


def backend() -> str:
    """The execution path `run` takes by default: "c" (compiled) or "python".

    "c" wherever the extension was built, unless the environment variable
    CADMUS_VM (read at import) says "python"; raises CadmusError when it
    holds something else, or "c" where the extension is missing.
    """
    if _DEFAULT is None:
        raise CadmusError(_CHOSEN_BY, key=ENV)
    return _DEFAULT


def backend_info() -> dict[str, str]:
    """What `cadmus vm info` reports: the path in use, why, and the build."""
    return {"backend": backend(), "chosen_by": _CHOSEN_BY, "compiled": _STATUS}


def check_backend(name: str | None) -> str:
    """`name` validated, or the default when None."""
    if name is None:
        return _DEFAULT if _DEFAULT is not None else backend()
    if name not in BACKENDS:
        raise CadmusError(f"unknown VM backend {name!r}: expected one of {', '.join(BACKENDS)}")
    if name == "c" and _BUILD is None:
        raise CadmusError(f"the compiled VM is {_STATUS}")
    return name


def analyze(flat: list[tuple[int, int, int]]) -> tuple[int, tuple[tuple[int, int, int], ...]] | None:
    """verify's depth analysis of operand-checked code, in C where the
    compiled path is in use: (max depth, (pc, need, depth) per underflowing
    pc). None when it is not, or when the program is malformed: the caller
    then runs the reference analysis, which also says what is wrong."""
    if _DEFAULT != "c" or _BUILD is None:
        return None
    return _BUILD.module.analyze(flat, *_BUILD.analysis)  # type: ignore[no-any-return]


def pack(code: list[tuple[int, int, int]]) -> bytes:
    """The decoded code (halt sentinel included) as the extension reads it,
    with each fusible pair's first entry replaced by the fused one."""
    assert _BUILD is not None
    return _BUILD.module.pack(code, *_BUILD.packing)  # type: ignore[no-any-return]


def _bad_flat(code: list[Any]) -> InvalidProgram:
    """What is wrong with flat code the extension's check refused (in program.py's words)."""
    n = len(code)
    for pc, entry in enumerate(code):
        if type(entry) is not tuple or len(entry) != 3 or any(type(x) is not int for x in entry):
            return InvalidProgram(f"pc {pc}: {entry!r} is not an (op, a, b) tuple of integers")
        op, a, b = entry
        if not 0 <= op < len(ISA):
            return InvalidProgram(f"pc {pc}: unknown opcode {op}")
        k = len(ISA[op].operands)
        problem = (
            instr_problem(op, (a, b)[:k], n) if (a, b)[k:] == (0, 0)[k:] else "an operand past its count"
        )
        if problem is not None:
            return InvalidProgram(f"pc {pc}: {ISA[op].name}: {problem}")
    return InvalidProgram("malformed code")


def run_code(
    code: list[tuple[int, int, int]], inputs: tuple[int, ...], limits: Any
) -> tuple[str | None, int, tuple[tuple[int, ...], ...], tuple[int, ...]] | None:
    """Run flat code, (op, a, b) per instruction as a compiler emits it, on the
    compiled path without building a Program: (fault name or None, steps,
    outputs, the fault's values). Operands are checked (InvalidProgram);
    None when the compiled path is not in use, or the code is not what
    `execute` runs as it is (an underflow, more stack than the limit): the
    caller then takes the reference path, which also says what is wrong.
    `code` is extended with the halt past its end."""
    if _DEFAULT != "c" or _BUILD is None:
        return None
    build = _BUILD
    ran = build.module.run_flat(
        code, build.kinds, build.analysis, build.packing, _HALT_ENTRY, inputs, *_caps(limits)
    )
    if ran is None:
        return None
    if ran is False:
        raise _bad_flat(code)
    fault, _, steps, outputs, values, _ = ran
    return (None if fault < 0 else build.faults[fault]), steps, tuple(outputs), values


_LAST_CAPS: tuple[Any, tuple[int, int, int, int, int]] = (None, (0, 0, 0, 0, 0))


def _caps(limits: Any) -> tuple[int, int, int, int, int]:
    """The limits as `execute` takes them (at most 2**62), kept for the last
    Limits object seen: runs mostly share one (hashing a dataclass costs more)."""
    global _LAST_CAPS
    last, caps = _LAST_CAPS
    if limits is last:
        return caps
    caps = (
        min(limits.max_steps, _CAP),
        min(limits.max_stack, _CAP),
        min(limits.max_call_depth, _CAP),
        min(limits.max_memory, _CAP),
        min(limits.max_output, _CAP),
    )
    _LAST_CAPS = (limits, caps)
    return caps


def _error(program: Program, name: str, pc: int, values: tuple[int, ...], limits: Any) -> VMError:
    instr = program.code[pc] if pc < len(program.code) else None
    field = _LIMIT_FIELD.get(name)
    if field is not None:
        err: VMError = getattr(faults, name)(getattr(limits, field))
    elif name == "overflow":
        assert instr is not None
        err = faults.overflow(_EXACT[instr.name](*values))
    else:
        err = getattr(faults, name)(*values)
    return err.at(pc, instr)


Raw = list[tuple[int, int | None, tuple[int, ...]]]  # a traced run's steps: (pc, top, locals)


def execute(
    program: Program,
    packed: bytes,
    max_depth: int,
    inputs: tuple[int, ...],
    limits: Any,
    trace: bool = False,
) -> tuple[list[tuple[int, ...]], int, VMError | None, Raw | None]:
    """Run on the compiled path: (outputs, steps, error or None, the steps
    taken when `trace`, else None)."""
    if max_depth > limits.max_stack:
        err = faults.stack_limit(limits.max_stack)
        return [], 0, err.at(0, program.code[0] if program.code else None), [] if trace else None
    assert _BUILD is not None
    fault, pc, steps, outputs, values, taken = _BUILD.module.execute(
        packed, len(program.code), max_depth, inputs, *_caps(limits), trace
    )
    if fault < 0:
        return outputs, steps, None, taken
    return outputs, steps, _error(program, _BUILD.faults[fault], pc, values, limits), taken
