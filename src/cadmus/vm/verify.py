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
from cadmus.vm.isa import ISA, Op
from cadmus.vm.program import Instr, Program, instr_problem


@dataclass(frozen=True, slots=True)
class Analysis:
    flat: list[tuple[int, int, int]]  # (opcode, first operand or 0, second operand or 0) per pc
    depth: list[int]  # depth before each pc; -1 where unreachable
    max_depth: int  # the deepest any frame's own stack gets
    underflow: dict[int, int]  # reachable pc that always underflows -> values it needs
    entries: tuple[int, ...]  # pc 0 and the call targets


_POPS: tuple[int, ...] = tuple(info.pops for info in ISA)
_PUSHES: tuple[int, ...] = tuple(info.pushes for info in ISA)
_CALL, _PRINT, _PICK = int(Op.CALL), int(Op.PRINT), int(Op.PICK)
_JMP, _JZ, _JNZ, _RET, _HALT = int(Op.JMP), int(Op.JZ), int(Op.JNZ), int(Op.RET), int(Op.HALT)
# Control flow of each opcode: 0 falls through, 1 jumps, 2 branches, 3 ends the path.
_FLOW: tuple[int, ...] = tuple(
    {_JMP: 1, _JZ: 2, _JNZ: 2, _RET: 3, _HALT: 3}.get(code, 0) for code in range(len(ISA))
)


def needs(ins: Instr) -> int:
    """How many values must be on the frame's stack for `ins` to run."""
    op = ins.op
    if op == _PICK:
        return ins.args[0] + 1
    if op == _CALL:
        return ins.args[1]
    if op == _PRINT:
        return ins.args[0]
    return _POPS[op]


def _bad(pc: int, program: Program, detail: str) -> InvalidProgram:
    return InvalidProgram(detail).at(pc, program.code[pc])  # type: ignore[return-value]


def check_operands(program: Program) -> list[tuple[int, int, int]]:
    """Check every operand; return the flat (op, a, b) form of the code."""
    code = program.code
    n = len(code)
    if any(ins.problem is not None or ins.target > n for ins in code):
        for pc, ins in enumerate(code):
            problem = instr_problem(int(ins.op), ins.args, n)
            if problem is not None:
                raise _bad(pc, program, problem)
    return [ins.flat for ins in code]


def analyze(program: Program) -> Analysis:
    """Verify `program` and return what the interpreter needs to know."""
    flat = check_operands(program)
    n = len(flat)
    entries = sorted({0} | {a for op, a, _ in flat if op == _CALL and a < n})
    depth = [-1] * n
    underflow: dict[int, int] = {}
    max_depth = 0
    pops_t, pushes_t, flow_t = _POPS, _PUSHES, _FLOW
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
            while True:  # follow straight-line code without the work list
                op, a, b = flat[pc]
                pops = pops_t[op]
                if pops < 0:  # call, print
                    pops = b if op == _CALL else a
                    need = pops
                else:
                    need = a + 1 if op == _PICK else pops
                if d < need:
                    underflow[pc] = need
                    break
                d = d - pops + pushes_t[op]
                if d > max_depth:
                    max_depth = d
                flow = flow_t[op]
                if flow == 3:
                    break
                if flow == 2:  # branch: the target goes on the work list
                    if a < n:
                        seen = depth[a]
                        if seen == -1:
                            depth[a] = d
                            work.append(a)
                        elif seen != d:
                            raise _bad(
                                a,
                                program,
                                f"stack depth {d} on one path but {seen} on another (from pc {pc})",
                            )
                    nxt = pc + 1
                elif flow == 1:
                    nxt = a
                else:
                    nxt = pc + 1
                if nxt >= n:
                    break
                seen = depth[nxt]
                if seen == -1:
                    depth[nxt] = d
                    pc = nxt
                elif seen != d:
                    raise _bad(
                        nxt, program, f"stack depth {d} on one path but {seen} on another (from pc {pc})"
                    )
                else:
                    break
    return Analysis(flat, depth, max_depth, underflow, tuple(entries))


def verify(program: Program) -> None:
    """Raise InvalidProgram if `program` is malformed; return None otherwise."""
    if not isinstance(program, Program):
        raise InvalidProgram(f"not a Program: {type(program).__name__}")
    analyze(program)
