"""Property tests: round trips, and arbitrary input never crashes the VM."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cadmus.vm import (
    INT_MAX,
    INT_MIN,
    ISA,
    Instr,
    InvalidProgram,
    Limits,
    Op,
    Operand,
    Program,
    VMError,
    assemble,
    disassemble,
    run,
)

BACKENDS = pytest.mark.parametrize("backend", ["c", "python"])
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LIMITS = Limits(max_steps=500, max_stack=200, max_call_depth=20, max_memory=2000, max_output=50)
small = st.integers(-3, 12)
any_int = st.one_of(small, st.integers(INT_MIN, INT_MAX), st.sampled_from([INT_MIN, INT_MAX, -1, 0, 63, 64]))


@st.composite
def programs(draw, valid_operands: bool = True):
    n = draw(st.integers(0, 25))
    code = []
    for _ in range(n):
        info = draw(st.sampled_from(ISA))
        args = []
        for kind in info.operands:
            if not valid_operands or kind is Operand.INT:
                args.append(draw(any_int))
            elif kind is Operand.TARGET:
                args.append(draw(st.integers(0, n)))
            else:
                args.append(draw(st.integers(0, 4)))
        code.append(Instr(Op(info.code), tuple(args)))
    return Program(tuple(code))


@st.composite
def primed_programs(draw):
    """Random code after a prefix that sizes the frame, fills the stack and
    makes an array, so that runs get past the first instructions."""
    body = draw(programs())
    values = draw(st.lists(st.one_of(small, any_int), min_size=2, max_size=8))
    prefix = [Instr(Op.ENTER, (4,)), Instr(Op.PUSH, (3,)), Instr(Op.NEWARR)]
    prefix += [Instr(Op.PUSH, (v,)) for v in values]
    shift = len(prefix)
    code = [
        Instr(
            ins.op,
            tuple(a + shift if k is Operand.TARGET else a for k, a in zip(ins.info_operands(), ins.args)),
        )
        for ins in body.code
    ]
    return Program(tuple(prefix + code))


def check_run(p: Program, backend: str) -> None:
    """`p` runs or fails cleanly on `backend`, and a traced run (the reference
    path) agrees with it."""
    try:
        r = run(p, inputs=(1, -2, 3), limits=LIMITS, backend=backend)
    except InvalidProgram:
        return
    assert r.status in ("ok", "error")
    assert r.steps <= LIMITS.max_steps
    if r.error is not None:
        assert isinstance(r.error, VMError) and r.error.pc is not None
        assert "\n" not in str(r.error)
    t = run(p, inputs=(1, -2, 3), limits=LIMITS, trace=True)
    assert (t.status, t.outputs, t.steps, str(t.error)) == (r.status, r.outputs, r.steps, str(r.error))


@SETTINGS
@given(programs())
def test_assembler_round_trip(p):
    text = disassemble(p)
    assert assemble(text) == p
    assert disassemble(assemble(text)) == text
    assert Program.from_ints(p.to_ints()) == p


@BACKENDS
@SETTINGS
@given(programs())
def test_random_valid_programs_run_or_fail_cleanly(backend, p):
    check_run(p, backend)


@BACKENDS
@SETTINGS
@given(primed_programs())
def test_random_primed_programs_run_or_fail_cleanly(backend, p):
    check_run(p, backend)


@BACKENDS
@SETTINGS
@given(programs(valid_operands=False))
def test_random_operands_run_or_fail_cleanly(backend, p):
    check_run(p, backend)


@BACKENDS
@SETTINGS
@given(st.lists(st.one_of(st.integers(0, 64), small, any_int), max_size=60))
def test_arbitrary_int_sequences(backend, ints):
    try:
        p = Program.from_ints(ints)
    except InvalidProgram:
        return
    check_run(p, backend)


@BACKENDS
@SETTINGS
@given(st.binary(max_size=80))
def test_arbitrary_bytes(backend, data):
    try:
        p = Program.from_ints(list(data))
    except InvalidProgram:
        return
    check_run(p, backend)
