"""cadmus.vm: the integer virtual machine that judges every program.

Public surface (see docs/architecture.md and docs/isa.md)::

    from cadmus.vm import assemble, run
    result = run(assemble("push 6\\npush 7\\nmul\\nprint 1"))
    result.output_text()  # "42"
"""

from cadmus.vm.asm import assemble, disassemble
from cadmus.vm.docs import isa_markdown, isa_text
from cadmus.vm.errors import (
    AsmError,
    AssertionFailed,
    DivisionByZero,
    InputExhausted,
    IntegerOverflow,
    InvalidProgram,
    LimitExceeded,
    OutOfBounds,
    StackUnderflow,
    VMError,
)
from cadmus.vm.isa import BY_NAME, ISA, Op, Operand, OpInfo
from cadmus.vm.machine import DEFAULT_LIMITS, Limits, RunResult, TraceStep, run
from cadmus.vm.program import INT_MAX, INT_MIN, Instr, Program
from cadmus.vm.verify import verify

__all__ = [
    "BY_NAME",
    "DEFAULT_LIMITS",
    "INT_MAX",
    "INT_MIN",
    "ISA",
    "AsmError",
    "AssertionFailed",
    "DivisionByZero",
    "InputExhausted",
    "Instr",
    "IntegerOverflow",
    "InvalidProgram",
    "LimitExceeded",
    "Limits",
    "Op",
    "OpInfo",
    "Operand",
    "OutOfBounds",
    "Program",
    "RunResult",
    "StackUnderflow",
    "TraceStep",
    "VMError",
    "assemble",
    "disassemble",
    "isa_markdown",
    "isa_text",
    "run",
    "verify",
]
