"""The compiler's layout, instruction choices, source map and errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from cadmus.commands.lang import listing
from cadmus.lang import (
    Assert,
    Assign,
    BinOp,
    BinOpKind,
    Call,
    CmpKind,
    Compare,
    CompileError,
    ExprStmt,
    FuncDef,
    Module,
    Name,
    Num,
    Print,
    Return,
    SemanticError,
    Unary,
    UnaryKind,
    compile_program,
    from_python,
    parse,
)
from cadmus.vm import Op, assemble, run, verify

EXAMPLES = Path(__file__).resolve().parents[1] / "src" / "cadmus" / "examples"
EXAMPLE_FILES = sorted([*EXAMPLES.glob("*.cad"), *EXAMPLES.glob("*.py")])


def ops(compiled) -> list[str]:
    return [ins.name for ins in compiled.program.code]


def load(path: Path):
    text = path.read_text()
    mode = "python" if path.suffix == ".py" else "dsl"
    module = from_python(text) if mode == "python" else parse(text)
    return text, mode, module


def test_there_are_examples_in_both_languages() -> None:
    suffixes = {p.suffix for p in EXAMPLE_FILES}
    assert suffixes == {".cad", ".py"} and len(EXAMPLE_FILES) >= 6


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_examples_compile_to_valid_programs_with_a_full_source_map(path: Path) -> None:
    text, mode, module = load(path)
    compiled = compile_program(module, mode)
    code = compiled.program.code
    verify(compiled.program)
    n_lines = len(text.splitlines())
    assert len(compiled.lines) == len(code)
    assert all(1 <= line <= n_lines for line in compiled.lines)
    assert all(1 <= line <= n_lines for line in compiled.assert_lines)
    assert len(compiled.assert_lines) == len(compiled.traps)
    # the lines of the asserts are lines with `assert` on them
    src = text.splitlines()
    for aid, trap in enumerate(compiled.traps):
        if trap is None:
            assert src[compiled.assert_lines[aid] - 1].lstrip().startswith("assert")
    # layout: main first (enter ... halt), then each function (enter ... ret)
    assert code[0].op == Op.ENTER and code[0].args == (len(compiled.global_names),)
    first = compiled.functions[0].entry if compiled.functions else len(code)
    assert code[first - 1].op == Op.HALT
    for info in compiled.functions:
        assert code[info.entry].op == Op.ENTER and code[info.entry].args == (len(info.slots),)
        assert code[info.end - 1].op == Op.RET
        assert info.slots[: len(info.params)] == info.params
        assert compiled.function_at(info.entry) is info
        assert compiled.slot_names(info.end - 1) == info.slots
    assert compiled.function_at(0) is None and compiled.slot_names(0) == compiled.global_names
    assert run(compiled.program).ok
    # the annotated listing is valid assembly for the same program
    assert assemble(listing(compiled, text)) == compiled.program
    # compiling is deterministic
    assert compile_program(module, mode) == compiled


def test_layout_of_a_small_program() -> None:
    module = parse("def f(a, b):\n    c = a + b\n    return c\nx = f(1, 2)\nprint(x)\n")
    compiled = compile_program(module)
    assert ops(compiled) == [
        "enter", "push", "push", "call", "store", "load", "print", "halt",
        "enter", "load", "load", "add", "store", "load", "ret",
    ]  # fmt: skip
    assert compiled.lines == (4, 4, 4, 4, 4, 5, 5, 5, 1, 2, 2, 2, 2, 3, 3)
    assert compiled.program.code[3].args == (8, 2)
    assert compiled.global_names == ("x",)
    assert compiled.functions[0].slots == ("a", "b", "c")


def test_implicit_return_zero() -> None:
    compiled = compile_program(parse("def f(a):\n    print(a)\nf(1)\n"))
    assert ops(compiled)[-2:] == ["push", "ret"] and compiled.program.code[-2].args == (0,)
    assert ops(compiled)[:5] == ["enter", "push", "call", "pop", "halt"]


def test_negative_constant_is_one_push() -> None:
    compiled = compile_program(Module((Print((Unary(UnaryKind.NEG, Num(5)),)),)))
    assert [str(i) for i in compiled.program.code] == ["enter 0", "push -5", "print 1", "halt"]
    compiled = compile_program(Module((Print((Unary(UnaryKind.NEG, Num(2**63)),)),)))
    assert run(compiled.program).outputs == [(-(2**63),)]


@pytest.mark.parametrize(
    ("kind", "op"),
    [
        (BinOpKind.TDIV, "divt"),
        (BinOpKind.TMOD, "modt"),
        (BinOpKind.FDIV, "divf"),
        (BinOpKind.FMOD, "modf"),
        (BinOpKind.POW, "pow"),
        (BinOpKind.SHL, "shl"),
        (BinOpKind.BXOR, "bxor"),
    ],
)
def test_operator_kinds_pick_their_instruction_in_both_modes(kind: BinOpKind, op: str) -> None:
    module = Module((Print((BinOp(kind, Num(7), Num(2)),)),))
    for mode in ("dsl", "python"):
        assert ops(compile_program(module, mode))[3] == op


def test_unary_operators() -> None:
    x = Name("x")
    module = Module(
        (
            Assign(x, Num(3)),
            Print((Unary(UnaryKind.NEG, x), Unary(UnaryKind.NOT, x), Unary(UnaryKind.INVERT, x))),
        )
    )
    assert ops(compile_program(module))[3:10] == ["load", "neg", "load", "not", "load", "bnot", "print"]


def test_assert_ids_in_source_order_and_asserteq_for_equality() -> None:
    src = "x = 1\nassert x == 1\nassert x\nfor i in range(0, 3, x):\n    assert i != 5\n"
    compiled = compile_program(parse(src))
    asserts = [ins for ins in compiled.program.code if ins.op in (Op.ASSERT, Op.ASSERTEQ)]
    assert [(ins.name, ins.args) for ins in asserts] == [
        ("asserteq", (0,)),
        ("assert", (1,)),
        ("assert", (3,)),  # the step-zero check of the for: after the source's asserts
        ("assert", (2,)),
    ]
    assert compiled.assert_lines == (2, 3, 5, 4)
    assert compiled.traps[:3] == (None, None, None) and compiled.traps[3] is not None
    assert compiled.n_asserts == 3


def test_constant_step_needs_no_runtime_check() -> None:
    compiled = compile_program(parse("for i in range(0, 10, 2):\n    print(i)\n"))
    assert "assert" not in ops(compiled) and "incl" in ops(compiled)
    assert compiled.traps == ()


def test_while_true_has_no_test() -> None:
    compiled = compile_program(parse("x = 0\nwhile 1:\n    x += 1\n    if x > 3:\n        break\n"))
    assert ops(compiled).count("jz") == 1


def test_python_mode_reads_globals_with_gload() -> None:
    module = from_python("def f():\n    return g + 1\n\ng = 41\nprint(f())\n")
    compiled = compile_program(module, "python")
    assert "gload" in ops(compiled)
    with pytest.raises(SemanticError):
        compile_program(module, "dsl")


def test_compiler_reports_what_semantics_would() -> None:
    # the compiler stands on its own: trees that skip check_semantics still get clean errors
    f = FuncDef("f", ("a",), (Return(Name("a")),), line=1, col=1)
    cases = [
        Module((Print((Name("nope", line=1, col=7),)),)),
        Module((f, ExprStmt(Call("f", (Num(1), Num(2)), line=3, col=1)))),
        Module((ExprStmt(Call("g", (), line=1, col=1)),)),
        Module((Return(Num(1), line=1, col=1),)),
        Module((f, f)),
        Module((f, Assign(Name("f"), Num(1), line=2, col=1))),
        Module((FuncDef("g", (), (f,), line=1, col=1),)),
        Module((ExprStmt(Call("len", (), line=1, col=1)),)),
    ]
    for module in cases:
        with pytest.raises(SemanticError) as info:
            compile_program(module)
        assert info.value.line is not None


def test_constants_outside_64_bits_are_compile_errors() -> None:
    module = Module((Print((Num(2**63, line=1, col=7),)),))
    with pytest.raises(CompileError) as info:
        compile_program(module)
    assert (info.value.line, info.value.col) == (1, 7)


def test_trees_without_positions_compile() -> None:
    module = Module(
        (
            Assign(Name("x"), Num(6)),
            Assert(Compare(CmpKind.EQ, BinOp(BinOpKind.MUL, Name("x"), Num(7)), Num(42))),
            Print((Name("x"),)),
        )
    )
    compiled = compile_program(module)
    assert run(compiled.program).outputs == [(6,)]


def test_bad_arguments_are_programming_errors() -> None:
    with pytest.raises(ValueError):
        compile_program(Module(()), "lua")
    with pytest.raises(TypeError):
        compile_program("x = 1")  # type: ignore[arg-type]


def test_empty_program() -> None:
    compiled = compile_program(Module(()))
    assert ops(compiled) == ["enter", "halt"]
    assert run(compiled.program).ok
