"""Assembler and disassembler."""

from __future__ import annotations

import pytest

from cadmus.vm import AsmError, Instr, Op, Program, assemble, disassemble


def test_assemble_labels_comments_case():
    text = """
    ; a comment
    start:  PUSH 3   # another
        Dup
    loop: jnz loop
        call start, 1
    end:
    """
    p = assemble(text)
    assert p.code == (
        Instr(Op.PUSH, (3,)),
        Instr(Op.DUP),
        Instr(Op.JNZ, (2,)),
        Instr(Op.CALL, (0, 1)),
    )
    assert assemble("jmp 0\nincl 0 -5\npush +7").code[1:] == (Instr(Op.INCL, (0, -5)), Instr(Op.PUSH, (7,)))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("push 1\nnop\n   ad 3", "line 3, col 4: unknown instruction 'ad'"),
        ("push x", "line 1, col 6: expected an integer, found 'x'"),
        ("jmp loop", "line 1, col 5: undefined label 'loop'"),
        ("push", "line 1, col 1: push expects 1 operand(s), found 0"),
        ("add 1", "line 1, col 5: unexpected operand '1' (add takes 0)"),
        ("a:\na:", "line 2, col 1: duplicate label 'a'"),
        ("1x:\nnop", "line 1, col 1: invalid label name '1x'"),
        ("call f 1.5\nf:", "line 1, col 8: expected an integer, found '1.5'"),
    ],
)
def test_errors_name_line_and_column(text, message):
    with pytest.raises(AsmError) as info:
        assemble(text)
    assert str(info.value) == message
    assert str(info.value.with_file("p.asm")).startswith("p.asm:")


def test_disassemble_round_trip_and_fixed_point():
    text = "push 2\nloop:\ndec\ndup\njnz loop\ncall f 0\njmp end\nf:\nenter 0\npush 1\nret\nend:"
    p = assemble(text)
    d = disassemble(p)
    assert assemble(d) == p
    assert disassemble(assemble(d)) == d
    assert "L0:" in d and "call L" in d and d.rstrip().endswith(":")
    assert disassemble(Program()) == ""
