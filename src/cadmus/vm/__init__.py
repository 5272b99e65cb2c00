"""cadmus.vm: the integer virtual machine that judges every program.

Public surface (see docs/architecture.md and docs/isa.md)::

    from cadmus.vm import assemble, run
    result = run(assemble("push 6\\npush 7\\nmul\\nprint 1"))
    result.output_text()  # "42"

`run` takes the compiled path (C, `cadmus.vm._cvm`) wherever it was built and
the reference interpreter otherwise; both give identical results.
`backend()` / `backend_info()` say which is in use (`cadmus vm info`), and
CADMUS_VM=python in the environment forces the reference.
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
from cadmus.vm.native import backend, backend_info, run_code
from cadmus.vm.program import INT_MAX, INT_MIN, Instr, Program
from cadmus.vm.trace import SourceMap, format_trace
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
    "SourceMap",
    "StackUnderflow",
    "TraceStep",
    "VMError",
    "assemble",
    "backend",
    "backend_info",
    "disassemble",
    "format_trace",
    "isa_markdown",
    "isa_text",
    "run",
    "run_code",
    "verify",
]
