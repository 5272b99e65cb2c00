"""Instructions and programs, and the compact integer form used for storage."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cadmus.vm.errors import InvalidProgram
from cadmus.vm.isa import ISA, Op, Operand

_OPS: tuple[Op, ...] = tuple(Op)
_NARGS: tuple[int, ...] = tuple(len(info.operands) for info in ISA)
_KINDS: tuple[tuple[Operand, ...], ...] = tuple(info.operands for info in ISA)

INT_MIN = -(2**63)
INT_MAX = 2**63 - 1
MAX_SLOT = 2**16  # slots and counts are below this


def operand_error(kind: Operand, v: int, n: int | None = None) -> str | None:
    """What is wrong with operand `v` of kind `kind` (None if it is fine).

    A target is checked against the program length `n`; with `n` None only
    its sign is (the instruction alone does not know the program).
    """
    if kind is Operand.INT:
        if not INT_MIN <= v <= INT_MAX:
            return f"constant {v} outside the signed 64-bit range"
    elif kind is Operand.SLOT:
        if not 0 <= v < MAX_SLOT:
            return f"slot {v} outside 0..{MAX_SLOT - 1}"
    elif kind is Operand.COUNT:
        if not 0 <= v < MAX_SLOT:
            return f"count {v} outside 0..{MAX_SLOT - 1}"
    elif kind is Operand.TARGET:
        if v < 0 or (n is not None and v > n):
            return f"target {v} outside 0..{'n' if n is None else n}"
    elif not 0 <= v <= INT_MAX:  # Operand.ID
        return f"assertion id {v} must be non-negative"
    return None


def instr_problem(op: int, args: tuple[int, ...], n: int | None = None) -> str | None:
    """What is wrong with the operands of one instruction (None if nothing) in a program of length `n`."""
    if len(args) != _NARGS[op]:
        return f"expects {_NARGS[op]} operand(s), found {len(args)}"
    for kind, v in zip(_KINDS[op], args):
        problem = operand_error(kind, v, n)
        if problem is not None:
            return problem
    return None


@dataclass(frozen=True, slots=True)
class Instr:
    """One instruction: an opcode and its immediate operands.

    Construction also works out what the verifier asks of every instruction
    (its flat `(op, a, b)` form, an operand problem, its jump target), once
    per instruction rather than once per program that holds it: compiled
    programs share their instructions.
    """

    op: Op
    args: tuple[int, ...] = ()
    flat: tuple[int, int, int] = field(init=False, compare=False, repr=False)
    problem: str | None = field(init=False, compare=False, repr=False)
    target: int = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        op = self.op
        if type(op) is not Op:
            if isinstance(op, bool) or not isinstance(op, int):
                raise InvalidProgram(f"opcode must be an integer, found {op!r}")
            if not 0 <= op < len(ISA):
                raise InvalidProgram(f"unknown opcode {int(op)}")
            object.__setattr__(self, "op", _OPS[op])
        args = self.args
        if type(args) is not tuple:
            args = tuple(args)
            object.__setattr__(self, "args", args)
        for a in args:
            if type(a) is not int:
                if isinstance(a, bool) or not isinstance(a, int):
                    raise InvalidProgram(f"{ISA[op].name}: operand must be an integer, found {a!r}")
                args = tuple(int(x) for x in args)
                object.__setattr__(self, "args", args)
                break
        code = int(self.op)
        problem = instr_problem(code, args)
        target = next((v for kind, v in zip(_KINDS[code], args) if kind is Operand.TARGET), -1)
        k = len(args)
        flat = (code, args[0] if k else 0, args[1] if k > 1 else 0)
        object.__setattr__(self, "flat", flat)
        object.__setattr__(self, "problem", problem)
        object.__setattr__(self, "target", target)

    @property
    def name(self) -> str:
        return ISA[self.op].name

    def info_operands(self) -> tuple[Operand, ...]:
        return ISA[self.op].operands

    def __str__(self) -> str:
        return " ".join([self.name, *map(str, self.args)])


@dataclass(frozen=True, slots=True)
class Program:
    """An immutable, hashable sequence of instructions.

    The interpreter's pre-decoded form is cached on the object (not compared).
    """

    code: tuple[Instr, ...] = ()
    _cache: Any = field(default=None, compare=False, repr=False, hash=False)

    def __post_init__(self) -> None:
        code = tuple(self.code)
        for ins in code:
            if not isinstance(ins, Instr):
                raise InvalidProgram(f"not an instruction: {ins!r}")
        object.__setattr__(self, "code", code)

    def __getstate__(self) -> tuple[Instr, ...]:
        return self.code  # the decoded cache is rebuilt on demand, not pickled

    def __setstate__(self, state: tuple[Instr, ...]) -> None:
        object.__setattr__(self, "code", state)
        object.__setattr__(self, "_cache", None)

    def __len__(self) -> int:
        return len(self.code)

    def to_ints(self) -> list[int]:
        """Compact form: each opcode followed by its operands."""
        out: list[int] = []
        for ins in self.code:
            out.append(int(ins.op))
            out.extend(ins.args)
        return out

    @classmethod
    def from_ints(cls, ints: list[int] | tuple[int, ...]) -> Program:
        """Inverse of `to_ints`; raises InvalidProgram on unknown or truncated input."""
        code: list[Instr] = []
        i, n = 0, len(ints)
        while i < n:
            op = ints[i]
            if isinstance(op, bool) or not isinstance(op, int) or not 0 <= op < len(ISA):
                raise InvalidProgram(f"position {i}: unknown opcode {op!r}")
            k = _NARGS[op]
            if i + 1 + k > n:
                raise InvalidProgram(f"position {i}: {ISA[op].name} needs {k} operand(s), input ends")
            code.append(Instr(_OPS[op], tuple(ints[i + 1 : i + 1 + k]) if k else ()))
            i += 1 + k
        return cls(tuple(code))
