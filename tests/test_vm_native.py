"""The compiled path (C) against the reference interpreter: identical results.

Every comparison runs one program on both paths and asks for the same
status, outputs, step count and error (type, message, pc, instruction,
limit, assertion id and values), then the same of traced runs, and checks
that the C depth analysis accepts exactly what verify's does, with the same
results. Programs come from three sources: a seeded
generator of random instruction lists (cheap, so thousands per run), the
same under hypothesis (shrinking), and the DSL's random program generator
compiled with `compile_program`. Set CADMUS_VM_DIFF_N to run a larger
one-off batch of the seeded generator (e.g. 100000).
"""

from __future__ import annotations

import os
import random
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cadmus.vm.native as native
from cadmus.errors import CadmusError
from cadmus.lang import compile_program
from cadmus.lang.randgen import random_program
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
    RunResult,
    assemble,
    run,
)
from cadmus.vm.verify import analyze as reference_analysis
from cadmus.vm.verify import check_operands

CVM = native._BUILD.module if native._BUILD is not None else None
N_SEEDED = int(os.environ.get("CADMUS_VM_DIFF_N", "10000"))
N_RANDGEN = 1000
TRACED_STEPS = 2000  # `same` compares traced runs up to this many steps
SETTINGS = settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
INPUTS = (1, -2, 3, INT_MAX, INT_MIN, 0, 7)
SPECIAL = (INT_MIN, INT_MAX, INT_MIN + 1, INT_MAX - 1, -1, 0, 1, 2, 63, 64, -64, 2**31, -(2**32), 3**39)


def outcome(r: RunResult) -> tuple[object, ...]:
    e = r.error
    detail: tuple[object, ...] = ()
    if e is not None:
        detail = (
            type(e),
            str(e),
            e.pc,
            e.instr,
            getattr(e, "limit", None),
            getattr(e, "assert_id", None),
            getattr(e, "values", None),
        )
    return (r.status, r.outputs, r.steps, detail, r.trace)


def analyses_agree(p: Program) -> None:
    """The C depth analysis accepts exactly what verify's accepts, with the same results."""
    try:
        flat = check_operands(p)
    except InvalidProgram:
        return
    fast = CVM.analyze(flat, *native._BUILD.analysis)
    try:
        an = reference_analysis(p)
    except InvalidProgram:
        assert fast is None, p
        return
    underflows = tuple((pc, need, an.depth[pc]) for pc, need in sorted(an.underflow.items()))
    assert fast == (an.max_depth, underflows), p


def same(p: Program, inputs: tuple[int, ...] = INPUTS, limits: Limits | None = None) -> RunResult | None:
    """Run `p` on both paths, assert they agree; the result, or None if `p` is invalid."""
    analyses_agree(p)
    try:
        ref = run(p, inputs, limits, backend="python")
    except InvalidProgram as err:
        with pytest.raises(InvalidProgram) as again:
            run(p, inputs, limits, backend="c")
        assert str(again.value) == str(err)
        return None
    fast = run(p, inputs, limits, backend="c")
    assert outcome(fast) == outcome(ref), p
    if ref.steps <= TRACED_STEPS:  # traces too (the reference traces slowly)
        traced = run(p, inputs, limits, trace=True, backend="c")
        assert outcome(traced) == outcome(run(p, inputs, limits, trace=True, backend="python")), p
    return fast


# --- a seeded generator of random instruction lists -------------------------------


def _operand(rng: random.Random, kind: Operand, n: int) -> int:
    if kind is Operand.INT:
        roll = rng.random()
        if roll < 0.6:
            return rng.randint(-3, 12)
        if roll < 0.85:
            return rng.choice(SPECIAL)
        return rng.randint(INT_MIN, INT_MAX)
    if kind is Operand.TARGET:
        return rng.randint(0, n)
    if kind is Operand.ID:
        return rng.randint(0, 5)
    return rng.choice((0, 1, 1, 2, 2, 3, 5))  # SLOT, COUNT


# weights: pushes and locals often, so that runs get past their first instructions
_WEIGHTS = [6 if i.name in ("push", "load", "dup", "read") else 2 if i.group != "control" else 1 for i in ISA]


def random_case(rng: random.Random) -> tuple[Program, Limits]:
    """A random program (often primed with locals, values and an array) and random small limits."""
    n = rng.randint(1, 30)
    prefix: list[Instr] = []
    if rng.random() < 0.7:
        prefix = [
            Instr(Op.ENTER, (rng.randint(0, 4),)),
            Instr(Op.PUSH, (rng.randint(0, 5),)),
            Instr(Op.NEWARR),
        ]
        prefix += [Instr(Op.PUSH, (_operand(rng, Operand.INT, 0),)) for _ in range(rng.randint(0, 6))]
    shift = len(prefix)
    total = shift + n
    body = []
    for info in rng.choices(ISA, weights=_WEIGHTS, k=n):
        args = []
        for kind in info.operands:
            v = _operand(rng, kind, n)
            args.append(v + shift if kind is Operand.TARGET else v)
        body.append(Instr(Op(info.code), tuple(args)))
    assert all(ins.target <= total for ins in body)
    limits = Limits(
        max_steps=rng.choice((0, 1, 5, 40, 300, 3000, 3000, 3000)),
        max_stack=rng.choice((0, 3, 8, 50, 1000, 1000, 1000)),
        max_call_depth=rng.choice((0, 1, 3, 30, 30)),
        max_memory=rng.choice((0, 5, 20, 200, 10_000, 10_000)),
        max_output=rng.choice((0, 1, 3, 100, 100)),
    )
    return Program(tuple(prefix + body)), limits


def test_seeded_random_programs_agree():
    rng = random.Random(20261130)
    valid = failed = 0
    kinds: set[str] = set()
    for _ in range(N_SEEDED):
        p, limits = random_case(rng)
        r = same(p, INPUTS[: rng.randint(0, len(INPUTS))], limits)
        if r is not None:
            valid += 1
            if r.error is not None:
                failed += 1
                kinds.add(type(r.error).__name__)
    # the generator reaches real runs, and runs that fail in every way
    assert valid > N_SEEDED // 3 and failed > valid // 10
    assert kinds >= {
        "StackUnderflow",
        "IntegerOverflow",
        "DivisionByZero",
        "OutOfBounds",
        "InputExhausted",
        "LimitExceeded",
        "AssertionFailed",
    }


# --- hypothesis: the same idea, shrinking on failure ------------------------------

any_int = st.one_of(st.integers(-3, 12), st.sampled_from(SPECIAL), st.integers(INT_MIN, INT_MAX))


@st.composite
def programs(draw):
    n = draw(st.integers(1, 20))
    code = [Instr(Op.ENTER, (3,)), Instr(Op.PUSH, (2,)), Instr(Op.NEWARR)]
    for info in draw(st.lists(st.sampled_from(ISA), min_size=n, max_size=n)):
        args = []
        for kind in info.operands:
            if kind is Operand.INT:
                args.append(draw(any_int))
            elif kind is Operand.TARGET:
                args.append(3 + draw(st.integers(0, n)))
            else:
                args.append(draw(st.integers(0, 3)))
        code.append(Instr(Op(info.code), tuple(args)))
    return Program(tuple(code))


limits_strategy = st.builds(
    Limits,
    max_steps=st.integers(0, 400),
    max_stack=st.integers(0, 60),
    max_call_depth=st.integers(0, 8),
    max_memory=st.integers(0, 300),
    max_output=st.integers(0, 20),
)


@SETTINGS
@given(programs(), limits_strategy, st.lists(any_int, max_size=4))
def test_hypothesis_programs_agree(p, limits, inputs):
    same(p, tuple(inputs), limits)


@SETTINGS
@given(st.lists(st.one_of(st.integers(0, 64), st.integers(-3, 12), any_int), max_size=60))
def test_hypothesis_int_sequences_agree(ints):
    try:
        p = Program.from_ints(ints)
    except InvalidProgram:
        return
    same(p, (5, -5), Limits(max_steps=500, max_stack=100, max_call_depth=10, max_memory=500, max_output=30))


# --- compiled DSL programs -----------------------------------------------------------


def test_compiled_random_dsl_programs_agree():
    rng = random.Random(7)
    ok = 0
    for i in range(N_RANDGEN):
        mode = "python" if i % 3 == 0 else "dsl"
        module = random_program(rng, mode=mode, max_statements=rng.randint(4, 24), reads=i % 2 == 0)
        program = compile_program(module, mode=mode).program
        inputs = tuple(rng.randint(-50, 50) for _ in range(rng.randint(0, 30)))
        r = same(program, inputs)
        assert r is not None
        ok += r.ok
        # tight limits cut the same runs at the same step
        same(program, inputs, Limits(max_steps=max(0, r.steps - 1), max_output=2, max_memory=40))
    assert ok > N_RANDGEN // 2


# --- every fault, every limit ----------------------------------------------------------

FAULT_PROGRAMS = {
    "underflow": "pop",
    "overflow": f"push {INT_MAX}\ninc",
    "pow_overflow": "push 2\npush 64\npow",
    "shl_overflow": "push 1\npush 64\nshl",
    "division_by_zero": "push 1\npush 0\nmodf",
    "negative_exponent": "push 2\npush -1\npow",
    "negative_shift": "push 2\npush -1\nshr",
    "not_array": "push 7\nalen",
    "bad_index": "push 2\nnewarr\npush 2\naload",
    "negative_size": "push -1\nnewarr",
    "empty_array": "push 0\nnewarr\napop",
    "bad_address": "push 99\nmload",
    "header_address": "push 1\nnewarr\npush 2\npush 0\nmstore",
    "bad_local": "enter 1\nload 1",
    "bad_global": "call f 0\nhalt\nf:\ngload 0\nret",
    "input_exhausted": "read\nread",
    "assertion": "push 0\nassert 3",
    "assert_equal": "push 4\npush 5\nasserteq 7",
    "step_limit": "loop:\njmp loop",
    "stack_limit": "enter 200",
    "depth_limit": "f:\ncall f 0",
    "memory_limit": "loop:\npush 100\nnewarr\npop\njmp loop",
    "output_limit": "loop:\npush 1\nprint 1\njmp loop",
}

OVERFLOWS = [
    f"push {INT_MAX}\npush 1\nadd",
    f"push {INT_MIN}\npush 1\nsub",
    f"push {INT_MAX}\npush 2\nmul",
    f"push {INT_MIN}\npush -1\ndivt",
    f"push {INT_MIN}\npush -1\ndivf",
    f"push {INT_MIN}\nneg",
    f"push {INT_MIN}\nabs",
    f"push {INT_MIN}\ndec",
    "push 3\npush 40\npow",
    "push -3\npush 41\npow",
    "push 3\npush 62\nshl",
    "push -2\npush 63\nshl",
    f"enter 1\npush {INT_MAX}\nstore 0\nincl 0 1",
]


def test_the_fault_table_is_covered():
    assert CVM is not None
    assert set(FAULT_PROGRAMS) == set(CVM.FAULT_NAMES)


@pytest.mark.parametrize("name", sorted(FAULT_PROGRAMS))
def test_each_fault_agrees(name):
    limits = Limits(max_steps=1000, max_stack=100, max_call_depth=50, max_memory=1000, max_output=10)
    r = same(assemble(FAULT_PROGRAMS[name]), (1,), limits)
    assert r is not None and r.status == "error" and r.error is not None and r.error.pc is not None


@pytest.mark.parametrize("text", OVERFLOWS)
def test_each_overflow_reports_the_exact_result(text):
    r = same(assemble(text))
    assert r is not None and type(r.error).__name__ == "IntegerOverflow"


def test_edges_of_arithmetic_agree():
    ops = ["add", "sub", "mul", "divt", "modt", "divf", "modf", "pow", "shl", "shr", "min", "max", "cmp"]
    values = [*SPECIAL, -7, 7, -2, 3]
    for name in ops:
        for x in values:
            for y in values:
                same(assemble(f"push {x}\npush {y}\n{name}\nprint 1"))


def test_limits_at_and_beyond_int64_agree():
    p = assemble(
        "enter 2\npush 3\nnewarr\nstore 0\nloop:\nincl 1 1\nload 1\npush 50\nlt\njnz loop\nload 1\nprint 1"
    )
    huge = Limits(
        max_steps=10**30, max_stack=2**70, max_call_depth=2**63, max_memory=10**20, max_output=2**64
    )
    assert same(p, (), huge).outputs == [(50,)]
    for steps in range(0, 12):
        same(p, (), Limits(max_steps=steps))
    same(Program(()), (), Limits(max_steps=0, max_stack=0))
    same(assemble("push 1\npop"), (), Limits(max_stack=0))


def test_running_off_the_end_at_the_step_limit_agrees():
    p = assemble("push 1\npop")
    for steps in range(4):
        r = same(p, (), Limits(max_steps=steps))
        assert r is not None and r.ok == (steps >= 2)


def test_memory_layout_is_the_same():
    """Raw addressing sees headers and abandoned blocks: the layouts must match cell for cell."""
    text = "\n".join(
        [
            "enter 1",
            "push 0",
            "newarr",
            "store 0",
            *[f"load 0\npush {v}\napush" for v in range(9)],
            "load 0\nacopy\npop",
            *[f"push {a}\nmload" for a in range(1, 40)],
            "print 39",
        ]
    )
    r = same(assemble(text))
    assert r is not None and r.ok and len(r.outputs[0]) == 39


def test_deep_recursion_and_large_output_agree():
    fib = "push 18\ncall fib 1\nprint 1\nhalt\nfib:\nenter 1\nload 0\npush 2\nlt\njz rec\nload 0\nret\nrec:\nload 0\ndec\ncall fib 1\nload 0\npush 2\nsub\ncall fib 1\nadd\nret"
    assert same(assemble(fib)).outputs == [(2584,)]
    down = "push 900\ncall f 1\nprint 1\nhalt\nf:\nenter 1\nload 0\njz base\nload 0\ndec\ncall f 1\ninc\nret\nbase:\npush 0\nret"
    assert same(assemble(down)).outputs == [(900,)]
    many = "enter 1\nloop:\nload 0\ndup\nprint 2\nprint 0\nincl 0 1\nload 0\npush 3000\nlt\njnz loop"
    r = same(assemble(many))
    assert r is not None and len(r.outputs) == 6000


# --- choosing the path -----------------------------------------------------------------


def test_the_compiled_path_is_built_and_the_default(environment):
    """The README requires a C compiler, so here the extension must have been built."""
    assert CVM is not None, native.backend_info()
    environment("")
    assert native.backend() == "c"
    assert native.backend_info() == {"backend": "c", "chosen_by": "default", "compiled": "built"}


@pytest.fixture
def environment(monkeypatch):
    """Set CADMUS_VM for one test (it is read at import: `refresh` re-reads it)."""

    def set_to(value: str) -> None:
        monkeypatch.setenv(native.ENV, value)
        native.refresh()

    yield set_to
    monkeypatch.undo()
    native.refresh()


def test_the_environment_can_force_the_reference_path(environment):
    p = assemble("push 2\npush 3\nadd\nprint 1")
    environment("python")
    assert native.backend() == "python" and native.backend_info()["chosen_by"] == "CADMUS_VM=python"
    assert run(p).outputs == [(5,)]
    environment("c")
    assert native.backend() == "c" and run(p).outputs == [(5,)]
    environment("auto")
    assert native.backend() == "c" and native.backend_info()["chosen_by"] == "default"
    environment("fast")
    with pytest.raises(CadmusError, match="CADMUS_VM"):
        run(p)
    assert run(p, backend="python").outputs == [(5,)]  # an explicit choice still works
    with pytest.raises(CadmusError, match="unknown VM backend"):
        run(p, backend="java")


def test_a_fresh_process_with_cadmus_vm_python_uses_the_reference():
    code = "from cadmus.vm import native, run, assemble; print(native.backend(), run(assemble('push 1\\nprint 1')).outputs)"
    env = {**os.environ, native.ENV: "python"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["python", "[(1,)]"]


def test_traces_agree_and_a_callable_sees_each_step():
    p = assemble("enter 1\npush 5\nstore 0\nload 0\nprint 1\npush 0\nassert 1")
    traced = run(p, trace=True, backend="c")
    plain = run(p, backend="c")
    assert traced.trace is not None and len(traced.trace) == traced.steps - 1
    assert outcome(plain)[:4] == outcome(traced)[:4]
    assert traced.trace == run(p, trace=True, backend="python").trace
    assert [t.locals for t in traced.trace] == [(0,), (0,), (5,), (5,), (5,), (5,)]
    seen = []
    assert run(p, trace=seen.append, backend="c").trace is None and seen == traced.trace
    for text in ("push 1\nret", "push 1\nhalt\npush 2", "push 1\npop", "f:\ncall f 0"):
        for steps in (0, 1, 2, 3, 50):
            same(assemble(text), (), Limits(max_steps=steps, max_call_depth=20))


def test_the_extension_numbers_nothing_the_isa_does_not_name():
    assert set(CVM.OPCODE_NAMES) == {info.name for info in ISA} | {"underflow"}


# --- fused pairs: one dispatch for two instructions, same steps and faults --------------

FUSED_PROGRAMS = [
    "enter 2\npush 3\nstore 1\nload 0\nload 1\nadd\nprint 1",
    "enter 1\nload 0\nload 1\nprint 2",  # the second load fails
    "enter 1\nload 3\nload 0\nprint 2",  # the first fails
    "enter 1\nload 0\npush 5\nadd\nprint 1",
    "enter 1\nload 2\npush 5\nprint 2",
    "enter 2\njmp mid\nload 0\nmid:\nload 1\nprint 1",  # a jump lands on a fused pair's second
    "enter 2\nloop:\nload 0\npush 4\nlt\njz done\nload 0\nload 1\nadd\nstore 1\nincl 0 1\njmp loop\ndone:\nload 1\nprint 1",
    "enter 1\npush 5\nstore 0\npush 7\nload 0\nadd\npush 2\nload 0\nsub\nprint 2",  # load add, load sub
    f"enter 1\npush {2**62}\nstore 0\npush {2**62}\nload 0\nadd\nprint 1",  # the add overflows
    f"enter 1\npush {2**62}\nstore 0\npush {-(2**62) - 1}\nload 0\nsub\nprint 1",  # the sub overflows
    "enter 1\npush 1\nload 4\nadd\nprint 1",  # the load fails
    "push 3\nnewarr\npush 1\ninc\naload\nprint 1",  # inc aload
    "push 3\nnewarr\npush 2\ninc\naload\nprint 1",  # the index is out of range
    "push 9\npush 2\ninc\naload\nprint 1",  # not an array
    f"push 3\nnewarr\npush {2**63 - 1}\ninc\naload\nprint 1",  # the inc overflows
] + [
    f"push {x}\npush {y}\n{cmp}\n{branch} t\npush 7\nprint 1\nt:\npush 8\nprint 1"
    for cmp in ("eq", "ne", "lt", "le", "gt", "ge")
    for branch in ("jz", "jnz")
    for x, y in ((1, 2), (2, 2), (3, 2))
]


def test_fused_pairs_are_fused_and_agree_at_every_step_limit():
    for text in FUSED_PROGRAMS:
        p = assemble(text)
        words = native.pack([*(ins.flat for ins in p.code), (int(Op.HALT), 0, 0)])
        ops = [int.from_bytes(words[i : i + 8], "little", signed=True) for i in range(0, len(words), 24)]
        assert max(ops) >= len(CVM.OPCODE_NAMES), text  # at least one fused entry
        full = same(p)
        assert full is not None
        for steps in range(full.steps + 2):
            same(p, (), Limits(max_steps=steps))
