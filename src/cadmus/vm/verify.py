"""Static check of a program before it runs.

Checks every operand, then follows the control-flow graph from pc 0 and from
every call target (each starts a frame with an empty stack) and computes the
stack depth, relative to the frame's base, before each reachable instruction.
The depth must agree on every path that reaches a pc (whichever function it
is reached from), so at run time the depth before an instruction is known in
advance. An instruction that would pop below its frame's base is not an
error here: the interpreter raises StackUnderflow if it is ever executed.
One pass over the program, linear in its length.
"""

from __future__ import annotations

from dataclasses import dataclass

from cadmus.vm.errors import InvalidProgram
from cadmus.vm.isa import ISA, Op, Operand, pops_of
from cadmus.vm.program import Instr, Program

INT_MIN = -(2**63)
INT_MAX = 2**63 - 1
MAX_SLOT = 2**16  # slots and counts are below this


@dataclass(frozen=True, slots=True)
class Analysis:
    depth: tuple[int, ...]  # depth before each pc; -1 where unreachable
    max_depth: int  # the deepest any frame's own stack gets
    underflow: frozenset[int]  # reachable pcs that always underflow
    entries: tuple[int, ...]  # pc 0 and the call targets


def needs(ins: Instr) -> int:
    """How many values must be on the frame's stack for `ins` to run."""
    if ins.op == Op.PICK:
        return ins.args[0] + 1
    return pops_of(ISA[ins.op], ins.args)


def _bad(pc: int, program: Program, detail: str) -> InvalidProgram:
    return InvalidProgram(detail).at(pc, program.code[pc])  # type: ignore[return-value]


def _check_operands(program: Program) -> None:
    n = len(program.code)
    for pc, ins in enumerate(program.code):
        info = ISA[ins.op]
        if len(ins.args) != len(info.operands):
            raise _bad(pc, program, f"expects {len(info.operands)} operand(s), found {len(ins.args)}")
        for kind, v in zip(info.operands, ins.args):
            if kind is Operand.INT:
                if not INT_MIN <= v <= INT_MAX:
                    raise _bad(pc, program, f"constant {v} outside the signed 64-bit range")
            elif kind is Operand.SLOT:
                if not 0 <= v < MAX_SLOT:
                    raise _bad(pc, program, f"slot {v} outside 0..{MAX_SLOT - 1}")
            elif kind is Operand.COUNT:
                if not 0 <= v < MAX_SLOT:
                    raise _bad(pc, program, f"count {v} outside 0..{MAX_SLOT - 1}")
            elif kind is Operand.TARGET:
                if not 0 <= v <= n:
                    raise _bad(pc, program, f"target {v} outside 0..{n}")
            elif not 0 <= v <= INT_MAX:  # Operand.ID
                raise _bad(pc, program, f"assertion id {v} must be non-negative")


def analyze(program: Program) -> Analysis:
    """Verify `program` and return what the interpreter needs to know."""
    _check_operands(program)
    code = program.code
    n = len(code)
    entries = sorted({0} | {ins.args[0] for ins in code if ins.op == Op.CALL and ins.args[0] < n})
    depth = [-1] * n
    underflow: set[int] = set()
    max_depth = 0
    for entry in entries:
        if entry >= n:
            continue
        if depth[entry] not in (-1, 0):
            raise _bad(entry, program, f"called with an empty stack but reached with depth {depth[entry]}")
        if depth[entry] == 0:
            continue
        depth[entry] = 0
        work = [entry]
        while work:
            pc = work.pop()
            d = depth[pc]
            ins = code[pc]
            op = ins.op
            info = ISA[op]
            pops = pops_of(info, ins.args)
            if d < needs(ins):
                underflow.add(pc)
                continue
            after = d - pops + info.pushes
            if after > max_depth:
                max_depth = after
            if op == Op.RET or op == Op.HALT:
                continue
            if op == Op.JMP:
                succ: tuple[int, ...] = (ins.args[0],)
            elif op == Op.JZ or op == Op.JNZ:
                succ = (pc + 1, ins.args[0])
            else:
                succ = (pc + 1,)
            for s in succ:
                if s >= n:
                    continue
                seen = depth[s]
                if seen == -1:
                    depth[s] = after
                    work.append(s)
                elif seen != after:
                    raise _bad(
                        s, program, f"stack depth {after} on one path but {seen} on another (from pc {pc})"
                    )
    return Analysis(tuple(depth), max_depth, frozenset(underflow), tuple(entries))


def verify(program: Program) -> None:
    """Raise InvalidProgram if `program` is malformed; return None otherwise."""
    if not isinstance(program, Program):
        raise InvalidProgram(f"not a Program: {type(program).__name__}")
    analyze(program)
