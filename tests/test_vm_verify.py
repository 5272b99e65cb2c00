"""verify(): malformed programs are rejected with InvalidProgram naming the pc."""

from __future__ import annotations

import pytest

from cadmus.vm import INT_MAX, INT_MIN, Instr, InvalidProgram, Op, Program, assemble, run, verify


def prog(*instrs: tuple) -> Program:
    return Program(tuple(Instr(Op[name.upper()], tuple(args)) for name, *args in instrs))


@pytest.mark.parametrize(
    ("program", "pc", "words"),
    [
        (prog(("push",)), 0, "operand"),
        (prog(("add", 1)), 0, "operand"),
        (prog(("push", INT_MAX + 1)), 0, "64-bit"),
        (prog(("nop",), ("push", INT_MIN - 1)), 1, "64-bit"),
        (prog(("load", -1)), 0, "slot"),
        (prog(("store", 2**16)), 0, "slot"),
        (prog(("enter", -1)), 0, "count"),
        (prog(("print", 2**16)), 0, "count"),
        (prog(("jmp", 2)), 0, "target 2 outside 0..1"),
        (prog(("jz", -1)), 0, "target -1 outside 0..1"),
        (prog(("call", 5, 0)), 0, "target"),
        (prog(("call", 0, -1)), 0, "count"),
        (prog(("incl", 2**16, 0)), 0, "slot"),
        (prog(("incl", 0, INT_MAX + 1)), 0, "64-bit"),
        (prog(("pick", 70000)), 0, "count"),
        (prog(("push", 0), ("assert", -1)), 1, "id"),
    ],
)
def test_bad_operands(program, pc, words):
    with pytest.raises(InvalidProgram) as info:
        verify(program)
    assert info.value.pc == pc and words in str(info.value)
    assert str(info.value).startswith(f"pc {pc} (")
    with pytest.raises(InvalidProgram):
        run(program)


def test_inconsistent_depth_is_rejected():
    text = "push 1\njz a\npush 5\na:\nprint 0"  # depth 0 or 1 at a
    with pytest.raises(InvalidProgram, match="depth"):
        verify(assemble(text))
    loop = "loop:\npush 1\njmp loop"  # grows on every turn
    with pytest.raises(InvalidProgram, match="depth"):
        verify(assemble(loop))
    fall_in = "push 1\nf:\nret\ncall f 0"  # f is entered with depth 1 and 0
    with pytest.raises(InvalidProgram):
        verify(assemble(fall_in))


def test_valid_programs_pass():
    verify(assemble(""))
    verify(assemble("push 1\njz a\npush 5\npop\na:\nhalt"))
    verify(assemble("jmp end\npush 1\nend:"))  # target == len(program) is the end
    verify(assemble("pop"))  # underflow is a run-time error, not a static one
    verify(prog(("push", INT_MIN), ("push", INT_MAX), ("assert", INT_MAX)))


def test_bad_instructions_and_from_ints():
    with pytest.raises(InvalidProgram):
        Instr(99)
    with pytest.raises(InvalidProgram):
        Instr(Op.PUSH, ("x",))
    with pytest.raises(InvalidProgram):
        Program((1, 2))
    with pytest.raises(InvalidProgram, match="unknown opcode"):
        Program.from_ints([0, 65])
    with pytest.raises(InvalidProgram, match="operand"):
        Program.from_ints([1])
    p = assemble("push -3\ncall f 2\nf:\nasserteq 4")
    assert Program.from_ints(p.to_ints()) == p
    assert p.to_ints() == [1, -3, 58, 2, 2, 64, 4]


def test_programs_pickle_without_their_cache():
    import pickle

    p = assemble("push 2\nprint 1")
    run(p)
    q = pickle.loads(pickle.dumps(p))
    assert q == p and q._cache is None and run(q).outputs == [(2,)]
