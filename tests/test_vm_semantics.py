"""Semantics of every VM instruction, edge cases included."""

from __future__ import annotations

import pickle

import pytest

from cadmus.vm import (
    INT_MAX,
    INT_MIN,
    ISA,
    AssertionFailed,
    DivisionByZero,
    InputExhausted,
    Instr,
    IntegerOverflow,
    LimitExceeded,
    Limits,
    Op,
    OutOfBounds,
    Program,
    StackUnderflow,
    assemble,
    run,
)


def go(text: str, inputs=(), **limits):
    return run(assemble(text), inputs, Limits(**limits) if limits else None)


def out(text: str, inputs=()) -> list[tuple[int, ...]]:
    r = go(text, inputs)
    assert r.status == "ok", r.error
    return r.outputs


def binop(name: str, a: int, b: int) -> int:
    return out(f"push {a}\npush {b}\n{name}\nprint 1")[0][0]


def unop(name: str, a: int) -> int:
    return out(f"push {a}\n{name}\nprint 1")[0][0]


def fails(text: str, cls: type, inputs=(), **limits):
    r = go(text, inputs, **limits)
    assert r.status == "error"
    assert isinstance(r.error, cls), r.error
    return r.error


def test_table_has_65_and_the_dispatch_reads_it():
    """The interpreter names opcodes through the ISA (no numeric copy of the
    table) and, once folded at import, compares against constants."""
    import inspect
    import re

    from cadmus.vm import machine

    assert len(ISA) == 65
    source = inspect.getsource(machine)
    assert not re.search(r"\bop\s*(==|!=|<|>|<=|>=)\s*\d", source)
    assert not re.search(r"\bop in \(\d", source)
    code = machine._exec.__code__
    assert "Op" not in code.co_names and "_FIRST_ARITH" not in code.co_names
    assert {int(op) for op in Op} <= set(code.co_consts)


# --- stack -------------------------------------------------------------------


def test_stack_shuffles():
    assert out("nop\npush 1\npush 2\nswap\nprint 2") == [(2, 1)]
    assert out("push 1\npush 2\npop\nprint 1") == [(1,)]
    assert out("push 1\ndup\nprint 2") == [(1, 1)]
    assert out("push 1\npush 2\ndup2\nprint 4") == [(1, 2, 1, 2)]
    assert out("push 1\npush 2\nover\nprint 3") == [(1, 2, 1)]
    assert out("push 1\npush 2\npush 3\nrot\nprint 3") == [(2, 3, 1)]
    assert out("push 1\npush 2\npush 3\npick 0\npick 3\nprint 5") == [(1, 2, 3, 3, 1)]


@pytest.mark.parametrize(
    "text",
    ["pop", "dup", "push 1\nswap", "push 1\nover", "push 1\npush 2\nrot", "push 1\npick 1", "add", "print 1"],
)
def test_empty_stack_underflows(text):
    err = fails(text, StackUnderflow)
    assert "underflow" in str(err) and err.pc is not None


def test_callee_cannot_pop_below_its_base():
    text = "push 1\npush 2\ncall f 1\nhalt\nf:\nenter 1\npop\nret"
    err = fails(text, StackUnderflow)
    assert err.pc == 5 and err.instr == Instr(Op.POP)


# --- locals, globals, calls ----------------------------------------------------


def test_locals_and_incl():
    assert out("enter 2\npush 5\nstore 1\nincl 1 -7\nload 1\nload 0\nprint 2") == [(-2, 0)]
    fails("enter 1\nload 1", OutOfBounds)
    fails("load 0", OutOfBounds)
    fails("gload 0", OutOfBounds)
    fails(f"enter 1\npush {INT_MAX}\nstore 0\nincl 0 1", IntegerOverflow)
    fails(f"enter 1\npush {INT_MIN}\nstore 0\nincl 0 -1", IntegerOverflow)


def test_call_ret_arguments_order_and_leftovers():
    text = "push 10\npush 3\ncall f 2\nprint 1\nhalt\nf:\nenter 3\npush 99\nload 0\nload 1\nsub\nret"
    assert out(text) == [(7,)]
    # the callee's extra slots start at 0, and enter can shrink the frame
    assert out("push 4\ncall f 1\nprint 1\nhalt\nf:\nenter 2\nload 1\nret") == [(0,)]
    fails("push 4\ncall f 1\nprint 1\nhalt\nf:\nenter 0\nload 0\nret", OutOfBounds)


def test_recursion_and_globals():
    text = """
        enter 1
        push 6
        call f 1
        gload 0
        print 2
        halt
    f:                   ; f(n) = n + f(n-1); counts calls in global 0
        enter 1
        gload 0
        inc
        gstore 0
        load 0
        jz base
        load 0
        load 0
        dec
        call f 1
        add
        ret
    base:
        push 0
        ret
    """
    assert out(text) == [(21, 7)]


def test_ret_in_global_frame_and_running_off_the_end_halt():
    r = go("push 1\nprint 1\npush 2\nret\npush 3\nprint 1")
    assert r.status == "ok" and r.outputs == [(1,)] and r.steps == 4
    r = go("push 1\npop")
    assert r.status == "ok" and r.steps == 2
    r = go("halt\npush 1")
    assert r.status == "ok" and r.steps == 1
    assert go("").status == "ok"


# --- arithmetic ----------------------------------------------------------------

SIGNS = [(7, 2), (-7, 2), (7, -2), (-7, -2), (6, 3), (-6, 3), (0, -5)]


@pytest.mark.parametrize(("a", "b"), SIGNS)
def test_division_truncating_and_flooring(a, b):
    q = abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1)
    assert binop("divt", a, b) == q
    assert binop("modt", a, b) == a - b * q
    assert binop("divf", a, b) == a // b
    assert binop("modf", a, b) == a % b


def test_division_examples():
    assert (binop("divt", -7, 2), binop("modt", -7, 2)) == (-3, -1)
    assert (binop("divf", -7, 2), binop("modf", -7, 2)) == (-4, 1)
    assert (binop("divt", 7, -2), binop("modt", 7, -2)) == (-3, 1)
    assert (binop("divf", 7, -2), binop("modf", 7, -2)) == (-4, -1)
    assert binop("modt", INT_MIN, -1) == 0 and binop("modf", INT_MIN, -1) == 0
    assert binop("divt", INT_MIN, 1) == INT_MIN


@pytest.mark.parametrize("name", ["divt", "modt", "divf", "modf"])
def test_division_by_zero(name):
    err = fails(f"push 5\npush 0\n{name}", DivisionByZero)
    assert str(err) == f"pc 2 ({name}): division by zero"


@pytest.mark.parametrize(
    ("name", "a", "b"),
    [
        ("add", INT_MAX, 1),
        ("add", INT_MIN, -1),
        ("sub", INT_MIN, 1),
        ("sub", INT_MAX, -1),
        ("sub", 0, INT_MIN),
        ("mul", INT_MAX, 2),
        ("mul", INT_MIN, -1),
        ("mul", 2**32, -(2**32)),
        ("divt", INT_MIN, -1),
        ("divf", INT_MIN, -1),
        ("pow", 2, 63),
        ("pow", -2, 64),
        ("pow", 3, 10**18),
        ("pow", 10, 19),
        ("shl", 1, 63),
        ("shl", -1, 64),
        ("shl", 3, 10**18),
        ("shl", INT_MIN, 1),
    ],
)
def test_binary_overflow_traps(name, a, b):
    fails(f"push {a}\npush {b}\n{name}", IntegerOverflow)


def test_results_at_the_bounds_are_fine():
    assert binop("add", INT_MAX - 1, 1) == INT_MAX
    assert binop("sub", INT_MIN + 1, 1) == INT_MIN
    assert binop("mul", -(2**62), 2) == INT_MIN
    assert binop("pow", -2, 63) == INT_MIN
    assert binop("shl", -1, 63) == INT_MIN
    assert binop("shl", 1, 62) == 2**62
    assert binop("shl", 0, 10**18) == 0
    assert unop("neg", INT_MAX) == -INT_MAX
    assert unop("abs", INT_MIN + 1) == INT_MAX
    assert unop("inc", INT_MAX - 1) == INT_MAX


@pytest.mark.parametrize(
    ("name", "a"), [("neg", INT_MIN), ("abs", INT_MIN), ("inc", INT_MAX), ("dec", INT_MIN)]
)
def test_unary_overflow_traps(name, a):
    fails(f"push {a}\n{name}", IntegerOverflow)


def test_other_arithmetic():
    assert unop("neg", 5) == -5 and unop("abs", -5) == 5 and unop("inc", -1) == 0 and unop("dec", 0) == -1
    assert binop("pow", 3, 4) == 81 and binop("pow", -3, 3) == -27 and binop("pow", 0, 0) == 1
    assert binop("pow", 0, 5) == 0 and binop("pow", -1, 10**18 + 1) == -1 and binop("pow", 1, 10**18) == 1
    fails("push 2\npush -1\npow", OutOfBounds)
    assert binop("min", -3, 2) == -3 and binop("max", -3, 2) == 2


def test_comparisons_and_logic():
    for a, b in [(1, 2), (2, 2), (3, 2), (-5, 4)]:
        assert binop("eq", a, b) == int(a == b)
        assert binop("ne", a, b) == int(a != b)
        assert binop("lt", a, b) == int(a < b)
        assert binop("le", a, b) == int(a <= b)
        assert binop("gt", a, b) == int(a > b)
        assert binop("ge", a, b) == int(a >= b)
        assert binop("cmp", a, b) == (a > b) - (a < b)
    assert [unop("sgn", v) for v in (-9, 0, 9)] == [-1, 0, 1]
    assert [unop("not", v) for v in (-9, 0, 9)] == [0, 1, 0]
    assert [binop("land", a, b) for a, b in [(2, 3), (0, 3), (2, 0)]] == [1, 0, 0]
    assert [binop("lor", a, b) for a, b in [(0, 0), (0, -3), (2, 0)]] == [0, 1, 1]


def test_bits():
    assert binop("band", -6, 13) == -6 & 13
    assert binop("bor", -6, 13) == -6 | 13
    assert binop("bxor", -6, 13) == -6 ^ 13
    assert unop("bnot", 5) == -6 and unop("bnot", INT_MIN) == INT_MAX
    assert binop("shl", -3, 4) == -48
    assert binop("shr", -17, 2) == -5 and binop("shr", 17, 2) == 4
    assert binop("shr", -1, 10**18) == -1 and binop("shr", INT_MAX, 63) == 0
    fails("push 1\npush -1\nshl", OutOfBounds)
    fails("push 1\npush -1\nshr", OutOfBounds)


# --- memory --------------------------------------------------------------------


def test_arrays_basic():
    text = """
        enter 1
        push 3
        newarr
        store 0
        load 0
        push 2
        push -7
        astore
        load 0
        push 2
        aload
        load 0
        alen
        load 0
        push 0
        aload
        print 3
    """
    assert out(text) == [(-7, 3, 0)]


@pytest.mark.parametrize("index", [-1, 3, 10**6])
def test_array_bounds(index):
    base = "enter 1\npush 3\nnewarr\nstore 0\n"
    err = fails(base + f"load 0\npush {index}\naload", OutOfBounds)
    assert "index" in str(err)
    fails(base + f"load 0\npush {index}\npush 1\nastore", OutOfBounds)


def test_non_handles_are_rejected():
    for h in (0, -1, 2, 12345):
        fails(f"push 3\nnewarr\npop\npush {h}\nalen", OutOfBounds)
    fails("push -1\nnewarr", OutOfBounds)
    fails("push 0\nnewarr\napop", OutOfBounds)


def test_apush_growth_keeps_handle_and_aliases():
    text = """
        enter 3              ; 0: a, 1: alias, 2: i
        push 0
        newarr
        dup
        store 0
        store 1
    loop:
        load 2
        push 50
        lt
        jz done
        load 0
        load 2
        load 2
        mul
        apush
        incl 2 1
        jmp loop
    done:
        load 1               ; the alias sees every element
        alen
        load 1
        push 49
        aload
        load 0
        load 1
        eq
        load 0
        apop
        load 1
        alen
        print 5
    """
    assert out(text) == [(50, 49 * 49, 1, 49 * 49, 49)]


def test_acopy_is_independent():
    text = """
        enter 2
        push 2
        newarr
        store 0
        load 0
        push 0
        push 5
        astore
        load 0
        acopy
        store 1
        load 1
        push 0
        push 9
        astore
        load 1
        push 7
        apush
        load 0
        push 0
        aload
        load 1
        push 0
        aload
        load 0
        alen
        load 1
        alen
        print 4
    """
    assert out(text) == [(5, 9, 2, 3)]


def test_raw_memory():
    # handle h has header cells h, h+1, h+2 and its data from h+3
    assert out("push 2\nnewarr\ndup\npush 4\nadd\npush 8\nmstore\npush 1\naload\nprint 1") == [(8,)]
    assert out("push 2\nnewarr\ninc\nmload\nprint 1") == [(2,)]
    fails("push 2\nnewarr\npush 1\nmstore", OutOfBounds)  # header cell
    fails("push 0\nmload", OutOfBounds)
    fails("push 2\nnewarr\npush 10\nadd\nmload", OutOfBounds)
    fails("push 5\npush 1\nmstore", OutOfBounds)


# --- io and assertions -----------------------------------------------------------


def test_print_read_and_output_text():
    r = go("read\nread\nprint 2\nprint 0\nread\nprint 1", inputs=[3, -4, 5])
    assert r.outputs == [(3, -4), (), (5,)]
    assert r.output_text() == "3 -4\n\n5"
    err = fails("read\nread", InputExhausted, inputs=[1])
    assert err.pc == 1


def test_assertions():
    assert go("push 1\nassert 3\npush 4\npush 4\nasserteq 5").status == "ok"
    err = fails("push 0\nassert 3", AssertionFailed)
    assert (err.assert_id, err.values, err.pc) == (3, (), 1)
    assert str(err) == "pc 1 (assert): assertion 3 failed"
    err = fails("push 4\npush 5\nasserteq 7", AssertionFailed)
    assert (err.assert_id, err.values) == (7, (4, 5))


# --- limits ----------------------------------------------------------------------


def test_limits_each_trigger():
    err = fails("loop:\njmp loop", LimitExceeded, max_steps=1000)
    assert err.limit == "max_steps"
    assert go("loop:\njmp loop", max_steps=1000).steps == 1000
    err = fails("f:\ncall f 0", LimitExceeded, max_call_depth=50)
    assert err.limit == "max_call_depth"
    err = fails("call f 0\nhalt\nf:\npush 1\npush 2\ncall f 1\nret", LimitExceeded, max_stack=100)
    assert err.limit == "max_stack"
    err = fails("enter 200", LimitExceeded, max_stack=100)
    assert err.limit == "max_stack"
    err = fails(f"push {INT_MAX}\nnewarr", LimitExceeded)
    assert err.limit == "max_memory"
    err = fails("loop:\npush 1000\nnewarr\npop\njmp loop", LimitExceeded, max_memory=10_000)
    assert err.limit == "max_memory"
    grow = "push 0\nnewarr\nloop:\ndup\npush 1\napush\njmp loop"
    assert fails(grow, LimitExceeded, max_memory=5000).limit == "max_memory"
    err = fails("loop:\npush 1\nprint 1\njmp loop", LimitExceeded, max_output=10)
    assert err.limit == "max_output"
    assert len(go("loop:\npush 1\nprint 1\njmp loop", max_output=10).outputs) == 10
    err = fails("push 1\nprint 1", LimitExceeded, max_steps=1)
    assert str(err) == "pc 1 (print): step limit of 1 exceeded"


def test_exact_step_count_and_trace():
    p = assemble("enter 1\npush 5\nstore 0\nload 0\nprint 1\nhalt")
    r = run(p, trace=True)
    assert r.steps == 6 and len(r.trace) == 6
    assert [t.pc for t in r.trace] == [0, 1, 2, 3, 4, 5]
    assert r.trace[1].top == 5 and r.trace[2].top is None and r.trace[2].locals == (5,)
    assert r.trace[1].instr == Instr(Op.PUSH, (5,))
    assert run(p).trace is None
    seen = []
    run(p, trace=seen.append)
    assert seen == r.trace
    # traced and untraced runs agree, errors included
    q = assemble("push 3\nloop:\ndec\ndup\njnz loop\npush 0\ndivt")
    a, b = run(q), run(q, trace=True)
    assert (a.steps, str(a.error)) == (b.steps, str(b.error)) and len(b.trace) == b.steps - 1


def test_program_cache_and_errors_pickle():
    p = Program((Instr(Op.PUSH, (1,)), Instr(Op.PRINT, (1,))))
    assert run(p).outputs == run(p).outputs == [(1,)]
    assert p == Program((Instr(Op.PUSH, (1,)), Instr(Op.PRINT, (1,)))) and hash(p) == hash(Program(p.code))
    err = fails("push 4\npush 5\nasserteq 7", AssertionFailed)
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is AssertionFailed and str(back) == str(err) and back.values == (4, 5)


def test_bad_inputs_are_rejected():
    from cadmus.errors import CadmusError

    with pytest.raises(CadmusError):
        run(assemble("read"), [2**63])
    with pytest.raises(CadmusError):
        Limits(max_steps=-1)


# --- the table's stack effects match the interpreter ------------------------------


@pytest.mark.parametrize(
    "info", [i for i in ISA if i.name not in ("jmp", "jz", "jnz", "call", "ret", "halt")]
)
def test_stack_effect_in_the_table_matches_the_interpreter(info):
    """verify() trusts the table's pops/pushes, and the interpreter trusts
    verify(), so the two must agree exactly for every instruction."""
    from cadmus.vm.machine import _decode, _exec, _Machine

    args = {"pick": (1,), "print": (2,), "enter": (2,), "incl": (0, 1)}.get(info.name)
    if args is None:
        args = (1,) * len(info.operands)
    pops = args[0] if info.name == "print" else info.pops
    # an array handle, then small values that suit every instruction (index 1, size 2)
    prefix = "enter 2\npush 3\nnewarr\n" + ("push 5\npush 1\n" if info.name == "mstore" else "push 1\n" * 2)
    text = prefix + f"{info.name} {' '.join(map(str, args))}\nhalt"
    program = assemble(text)
    m = _Machine(_decode(program), (5,), Limits())
    _exec(m, 1000)
    assert m.halted, info.name
    assert len(m.st) == 3 - pops + info.pushes, info.name
