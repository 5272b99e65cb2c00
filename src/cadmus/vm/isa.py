"""The instruction set: the one table every other part of Cadmus reads.

Each row gives the mnemonic, opcode, operand kinds, stack effect and meaning.
`docs/isa.md` is generated from this table (`cadmus vm isa --markdown`) and a
test keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class Operand(IntEnum):
    """Kinds of immediate operand an instruction can carry."""

    INT = 0  # a signed 64-bit constant
    SLOT = 1  # an index into the current frame's locals (or the globals)
    TARGET = 2  # a program counter (label in assembly)
    COUNT = 3  # a non-negative count (arguments, values, locals)
    ID = 4  # an assertion id (non-negative)


@dataclass(frozen=True, slots=True)
class OpInfo:
    name: str
    code: int
    operands: tuple[Operand, ...]
    pops: int  # values popped; -1 when it depends on an operand (see `pops_of`)
    pushes: int
    group: str
    meaning: str


_I, _S, _T, _C, _D = Operand.INT, Operand.SLOT, Operand.TARGET, Operand.COUNT, Operand.ID

# name, operands, pops, pushes, group, meaning.  Opcodes are the row numbers.
_TABLE: tuple[tuple[str, tuple[Operand, ...], int, int, str, str], ...] = (
    # stack
    ("nop", (), 0, 0, "stack", "Do nothing."),
    ("push", (_I,), 0, 1, "stack", "Push the constant k."),
    ("pop", (), 1, 0, "stack", "Discard the top value."),
    ("dup", (), 1, 2, "stack", "a -> a a."),
    ("dup2", (), 2, 4, "stack", "a b -> a b a b."),
    ("swap", (), 2, 2, "stack", "a b -> b a."),
    ("over", (), 2, 3, "stack", "a b -> a b a."),
    ("rot", (), 3, 3, "stack", "a b c -> b c a."),
    ("pick", (_C,), 0, 1, "stack", "Push a copy of the value n below the top (pick 0 = dup)."),
    # locals and globals
    (
        "enter",
        (_C,),
        0,
        0,
        "locals",
        "Size the current frame to n local slots (arguments keep slots 0..k-1, the rest are 0).",
    ),
    ("load", (_S,), 0, 1, "locals", "Push local slot s."),
    ("store", (_S,), 1, 0, "locals", "Pop into local slot s."),
    ("incl", (_S, _I), 0, 0, "locals", "Add the constant k to local slot s in place."),
    ("gload", (_S,), 0, 1, "locals", "Push global slot s (the outermost frame's local s)."),
    ("gstore", (_S,), 1, 0, "locals", "Pop into global slot s (the outermost frame's local s)."),
    # arithmetic
    ("add", (), 2, 1, "arith", "a b -> a+b."),
    ("sub", (), 2, 1, "arith", "a b -> a-b."),
    ("mul", (), 2, 1, "arith", "a b -> a*b."),
    ("divt", (), 2, 1, "arith", "a b -> a/b, truncated toward zero (C, Cadmus DSL)."),
    ("modt", (), 2, 1, "arith", "a b -> remainder of divt; sign of a."),
    ("divf", (), 2, 1, "arith", "a b -> a//b, rounded toward negative infinity (Python)."),
    ("modf", (), 2, 1, "arith", "a b -> remainder of divf; sign of b."),
    ("neg", (), 1, 1, "arith", "a -> -a."),
    ("abs", (), 1, 1, "arith", "a -> |a|."),
    ("pow", (), 2, 1, "arith", "a b -> a**b; b must be >= 0."),
    ("min", (), 2, 1, "arith", "a b -> the smaller."),
    ("max", (), 2, 1, "arith", "a b -> the larger."),
    ("inc", (), 1, 1, "arith", "a -> a+1."),
    ("dec", (), 1, 1, "arith", "a -> a-1."),
    # comparison
    ("eq", (), 2, 1, "compare", "a b -> 1 if a == b else 0."),
    ("ne", (), 2, 1, "compare", "a b -> 1 if a != b else 0."),
    ("lt", (), 2, 1, "compare", "a b -> 1 if a < b else 0."),
    ("le", (), 2, 1, "compare", "a b -> 1 if a <= b else 0."),
    ("gt", (), 2, 1, "compare", "a b -> 1 if a > b else 0."),
    ("ge", (), 2, 1, "compare", "a b -> 1 if a >= b else 0."),
    ("cmp", (), 2, 1, "compare", "a b -> -1, 0 or 1 as a <, ==, > b."),
    ("sgn", (), 1, 1, "compare", "a -> -1, 0 or 1, the sign of a."),
    # logic
    ("not", (), 1, 1, "logic", "a -> 1 if a == 0 else 0."),
    ("land", (), 2, 1, "logic", "a b -> 1 if both are non-zero else 0."),
    ("lor", (), 2, 1, "logic", "a b -> 1 if either is non-zero else 0."),
    # bits
    ("band", (), 2, 1, "bits", "a b -> a & b (two's complement)."),
    ("bor", (), 2, 1, "bits", "a b -> a | b."),
    ("bxor", (), 2, 1, "bits", "a b -> a ^ b."),
    ("bnot", (), 1, 1, "bits", "a -> ~a (= -a-1)."),
    ("shl", (), 2, 1, "bits", "a b -> a << b; 0 <= b; traps on overflow."),
    ("shr", (), 2, 1, "bits", "a b -> a >> b, arithmetic (floor); 0 <= b."),
    # memory
    ("newarr", (), 1, 1, "memory", "n -> h: allocate an array of n zeros, push its handle."),
    ("aload", (), 2, 1, "memory", "h i -> h[i]; 0 <= i < len(h)."),
    ("astore", (), 3, 0, "memory", "h i v -> (h[i] = v); 0 <= i < len(h)."),
    ("alen", (), 1, 1, "memory", "h -> len(h)."),
    ("apush", (), 2, 0, "memory", "h v -> (append v to h, growing it)."),
    ("apop", (), 1, 1, "memory", "h -> v: remove and push the last element."),
    ("acopy", (), 1, 1, "memory", "h -> h2: a new array with the same elements."),
    ("mload", (), 1, 1, "memory", "a -> memory[a]: raw cell read; a must be an allocated cell."),
    ("mstore", (), 2, 0, "memory", "a v -> (memory[a] = v): raw cell write."),
    # control
    ("jmp", (_T,), 0, 0, "control", "Jump to t."),
    ("jz", (_T,), 1, 0, "control", "Pop; jump to t if it is 0."),
    ("jnz", (_T,), 1, 0, "control", "Pop; jump to t if it is not 0."),
    (
        "call",
        (_T, _C),
        -1,
        1,
        "control",
        "Call t with the top n values as arguments (slots 0..n-1); pushes its return value.",
    ),
    ("ret", (), 1, 0, "control", "Pop the return value, leave the frame, push it on the caller's stack."),
    ("halt", (), 0, 0, "control", "Stop the program successfully."),
    # input, output and assertions
    ("print", (_C,), -1, 0, "io", "Pop n values and emit them as one output line (in push order)."),
    ("read", (), 0, 1, "io", "Push the next value of the input channel."),
    ("assert", (_D,), 1, 0, "io", "Pop; fail assertion `id` if it is 0."),
    ("asserteq", (_D,), 2, 0, "io", "a b -> ; fail assertion `id` (reporting both) unless a == b."),
)

ISA: tuple[OpInfo, ...] = tuple(
    OpInfo(name, code, ops, pops, pushes, group, meaning)
    for code, (name, ops, pops, pushes, group, meaning) in enumerate(_TABLE)
)
BY_NAME: dict[str, OpInfo] = {info.name: info for info in ISA}
N_INSTRUCTIONS = len(ISA)

assert N_INSTRUCTIONS == 65, N_INSTRUCTIONS
assert len(BY_NAME) == N_INSTRUCTIONS

Op = IntEnum("Op", {info.name.upper(): info.code for info in ISA})
Op.__doc__ = "Opcodes by mnemonic: `Op.ADD`, `Op.PUSH`, ..."


def pops_of(info: OpInfo, args: tuple[int, ...]) -> int:
    """Values an instruction pops, resolving operand-dependent counts."""
    if info.name == "call":
        return args[1]
    if info.name == "print":
        return args[0]
    return info.pops
