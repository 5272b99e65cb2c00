"""Instructions and programs, and the compact integer form used for storage."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cadmus.vm.errors import InvalidProgram
from cadmus.vm.isa import ISA, Op, Operand

_OPS: tuple[Op, ...] = tuple(Op)
_NARGS: tuple[int, ...] = tuple(len(info.operands) for info in ISA)


@dataclass(frozen=True, slots=True)
class Instr:
    """One instruction: an opcode and its immediate operands."""

    op: Op
    args: tuple[int, ...] = ()

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
                object.__setattr__(self, "args", tuple(int(x) for x in args))
                break

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
