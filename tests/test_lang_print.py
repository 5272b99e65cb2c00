"""The canonical printer and skins: precedence, round trips on random trees, refusals."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cadmus.lang import (
    BRACES_SKIN,
    DSL_SKIN,
    END_SKIN,
    PrintError,
    Skin,
    lexicon,
    parse,
    parse_expr,
    to_dsl,
)
from cadmus.lang import ast as A
from cadmus.lang.lexer import MAX_INT, tokenize

B, C, U, BK = A.BinOpKind, A.CmpKind, A.UnaryKind, A.BoolKind
N, Num = A.Name, A.Num
a, b, c = N("a"), N("b"), N("c")

DSL_BINOPS = [k for k in B if k not in (B.FDIV, B.FMOD, B.POW)]

PRECEDENCE = [
    (A.BinOp(B.SUB, a, A.BinOp(B.SUB, b, c)), "a - (b - c)"),
    (A.BinOp(B.SUB, A.BinOp(B.SUB, a, b), c), "a - b - c"),
    (A.BinOp(B.MUL, A.BinOp(B.ADD, a, b), c), "(a + b) * c"),
    (A.BinOp(B.ADD, a, A.BinOp(B.MUL, b, c)), "a + b * c"),
    (A.BinOp(B.TDIV, a, A.BinOp(B.TMOD, b, c)), "a / (b % c)"),
    (A.BinOp(B.BAND, A.BinOp(B.BOR, a, b), c), "(a | b) & c"),
    (A.BinOp(B.SHL, a, A.BinOp(B.ADD, b, c)), "a << b + c"),
    (A.Unary(U.NEG, Num(5)), "-5"),
    (A.Unary(U.NEG, A.Unary(U.NEG, a)), "-(-a)"),
    (A.Unary(U.INVERT, A.Unary(U.INVERT, a)), "~(~a)"),
    (A.Unary(U.NEG, A.Unary(U.INVERT, a)), "-~a"),
    (A.Unary(U.NEG, A.BinOp(B.ADD, a, b)), "-(a + b)"),
    (A.BinOp(B.MUL, A.Unary(U.NEG, a), b), "-a * b"),
    (A.BinOp(B.SUB, a, A.Unary(U.NEG, b)), "a - -b"),
    (A.Unary(U.NOT, A.Unary(U.NOT, a)), "not not a"),
    (A.Unary(U.NOT, A.Compare(C.EQ, a, b)), "not a == b"),
    (A.Compare(C.EQ, A.Unary(U.NOT, a), b), "(not a) == b"),
    (A.Compare(C.LT, A.Compare(C.LT, a, b), c), "(a < b) < c"),
    (A.Compare(C.LT, a, A.Compare(C.LT, b, c)), "a < (b < c)"),
    (A.Unary(U.NOT, A.BoolOp(BK.AND, a, b)), "not (a and b)"),
    (A.BoolOp(BK.AND, A.Unary(U.NOT, a), b), "not a and b"),
    (A.BoolOp(BK.AND, a, A.BoolOp(BK.AND, b, c)), "a and (b and c)"),
    (A.BoolOp(BK.AND, A.BoolOp(BK.OR, a, b), c), "(a or b) and c"),
    (A.BoolOp(BK.OR, a, A.BoolOp(BK.AND, b, c)), "a or b and c"),
    (A.Unary(U.NEG, A.Unary(U.NOT, a)), "-(not a)"),
    (A.BinOp(B.ADD, a, A.Unary(U.NOT, b)), "a + (not b)"),
    (A.Index(A.Unary(U.NEG, a), Num(0)), "(-a)[0]"),
    (A.Index(A.ArrayLit((Num(1), Num(2))), Num(0)), "[1, 2][0]"),
    (A.Index(A.Index(a, b), c), "a[b][c]"),
    (A.Call("f", (A.BinOp(B.ADD, a, b), A.ArrayLit(()))), "f(a + b, [])"),
    (A.Compare(C.NE, A.BinOp(B.BXOR, a, b), c), "a ^ b != c"),
]


@pytest.mark.parametrize(("tree", "text"), PRECEDENCE)
def test_minimal_parentheses(tree: A.Expr, text: str) -> None:
    assert to_dsl(tree) == text
    assert parse_expr(text) == tree


def test_layout() -> None:
    m = A.Module(
        (
            A.FuncDef("f", ("x",), (A.Return(A.BinOp(B.MUL, N("x"), Num(2))),)),
            A.Assign(N("y"), A.Call("f", (Num(3),))),
            A.If(
                N("y"),
                (A.Print((N("y"), Num(1))),),
                (A.If(N("y"), (A.Pass(),), (A.While(Num(1), (A.Break(),)),)),),
            ),
            A.For("i", Num(0), Num(3), None, (A.Continue(),)),
            A.For("i", Num(0), Num(3), Num(1), (A.Assert(N("i")),)),
            A.ExprStmt(A.Call("read", ())),
        )
    )
    assert to_dsl(m) == (
        "def f(x):\n"
        "    return x * 2\n"
        "y = f(3)\n"
        "if y:\n"
        "    print(y, 1)\n"
        "elif y:\n"
        "    pass\n"
        "else:\n"
        "    while 1:\n"
        "        break\n"
        "for i in range(3):\n"
        "    continue\n"
        "for i in range(0, 3, 1):\n"
        "    assert i\n"
        "read()\n"
    )
    assert parse(to_dsl(m)) == m
    assert to_dsl(A.Module(())) == ""
    assert to_dsl(m.body[1]) == "y = f(3)\n"
    assert to_dsl(m.body[1:3]) == to_dsl(A.Module(m.body[1:3]))


def test_else_holding_more_than_an_if_is_not_elif() -> None:
    inner = A.If(a, (A.Pass(),))
    m = A.Module((A.If(b, (A.Pass(),), (inner, A.Pass())),))
    assert to_dsl(m) == "if b:\n    pass\nelse:\n    if a:\n        pass\n    pass\n"
    assert parse(to_dsl(m)) == m


REFUSED = [
    (A.BinOp(B.FDIV, a, b, line=3, col=4), "operator '//' is Python-only"),
    (A.BinOp(B.FMOD, a, b, line=3, col=4), "operator '%%' is Python-only"),
    (A.BinOp(B.POW, a, b, line=3, col=4), "operator '**' is Python-only"),
    (A.ExprStmt(A.Call("append", (a, b), line=3, col=4)), "'append' is a Python-only builtin"),
    (A.Assign(a, A.Call("pop", (a,), line=3, col=4)), "'pop' is a Python-only builtin"),
    (A.AugAssign(a, B.POW, b, line=3, col=4), "augmented operator '**=' is Python-only"),
    (A.Assign(N("if", line=3, col=4), b), "'if' is a keyword"),
    (A.Assign(N("2x", line=3, col=4), b), "'2x' is not a valid identifier"),
    (A.Assign(a, Num(MAX_INT + 1, line=3, col=4)), "out of range"),
    (A.ExprStmt(A.BinOp(B.ADD, a, b), line=3, col=4), "only calls can be used as statements"),
    (A.While(a, (), line=3, col=4), "empty block in 'while'"),
    (A.FuncDef("f", (), (), line=3, col=4), "empty block in 'def'"),
    (A.Assign(A.Call("f", ()), b, line=3, col=4), "assignment target"),
]


@pytest.mark.parametrize(("tree", "message"), REFUSED)
def test_print_errors_carry_positions(tree: A.Node, message: str) -> None:
    with pytest.raises(PrintError, match=re.escape(message)) as info:
        to_dsl(tree)
    assert (info.value.line, info.value.col) == (3, 4)


def test_python_only_is_refused_in_every_skin() -> None:
    for skin in (DSL_SKIN, BRACES_SKIN, END_SKIN):
        with pytest.raises(PrintError):
            to_dsl(A.BinOp(B.FDIV, a, b), skin)


SAMPLE = """def f(n):
    if n <= 1:
        return 1
    return n * f(n - 1)
x = [1, 2, 3]
for i in range(len(x)):
    if x[i] % 2 == 0 and not x[i] == 4:
        print(x[i])
    elif x[i] & 1 == 1:
        continue
    else:
        break
while x[0] != 0:
    x[0] -= 1
assert f(5) == 120
"""


def test_braces_skin() -> None:
    assert to_dsl(parse(SAMPLE), BRACES_SKIN) == (
        "func f(n) {\n"
        "    if (n <= 1) {\n"
        "        return 1;\n"
        "    }\n"
        "    return n * f(n - 1);\n"
        "}\n"
        "x = [1, 2, 3];\n"
        "for (i in range(len(x))) {\n"
        "    if (x[i] % 2 == 0 && !(x[i] == 4)) {\n"
        "        print(x[i]);\n"
        "    } else if ((x[i] & 1) == 1) {\n"
        "        continue;\n"
        "    } else {\n"
        "        break;\n"
        "    }\n"
        "}\n"
        "while (x[0] != 0) {\n"
        "    x[0] -= 1;\n"
        "}\n"
        "assert f(5) == 120;\n"
    )


def test_end_skin() -> None:
    assert to_dsl(parse(SAMPLE), END_SKIN) == (
        "function f(n)\n"
        "    if n <= 1 then\n"
        "        return 1\n"
        "    end\n"
        "    return n * f(n - 1)\n"
        "end\n"
        "x = [1, 2, 3]\n"
        "for i in range(len(x)) do\n"
        "    if x[i] % 2 == 0 and not (x[i] == 4) then\n"
        "        print(x[i])\n"
        "    elseif x[i] & 1 == 1 then\n"
        "        continue\n"
        "    else\n"
        "        break\n"
        "    end\n"
        "end\n"
        "while x[0] ~= 0 do\n"
        "    x[0] -= 1\n"
        "end\n"
        "assert f(5) == 120\n"
    )


def test_custom_skin_and_validation() -> None:
    skin = Skin("fr", keywords={"if": "si", "else": "sinon", "while": "tantque", "and": "et"}, indent="  ")
    m = parse("x = 1\nif x:\n    x = 2\nelse:\n    while x and 1:\n        x -= 1\n")
    assert to_dsl(m, skin) == "x = 1\nsi x:\n  x = 2\nsinon:\n  tantque x et 1:\n    x -= 1\n"
    with pytest.raises(PrintError, match="keyword"):
        to_dsl(A.Assign(N("si"), Num(1)), skin)
    with pytest.raises(ValueError):
        Skin("bad", block="curly")
    with pytest.raises(ValueError):
        Skin("bad", keywords={"unless": "x"})


def test_dsl_skin_spells_only_lexicon_tokens() -> None:
    t = DSL_SKIN.tables
    symbols = set(lexicon.OPERATORS) | set(lexicon.PUNCTUATION) | set(lexicon.KEYWORDS)
    for spelling, _ in t.ops.values():
        assert spelling in symbols
    for spelling, _ in t.unary.values():
        assert spelling.strip() in symbols
    for spelling in t.aug.values():
        assert spelling in symbols
    assert t.kw == {k: k for k in lexicon.KEYWORDS}


def test_every_keyword_is_documented() -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "language.md").read_text()
    for kw in lexicon.KEYWORDS:
        assert f"`{kw}`" in doc, kw
    for name in lexicon.DSL_BUILTINS:
        assert f"`{name}(" in doc, name
    for op in lexicon.OPERATORS:
        assert f"`{op}`" in doc, op


# ---- random well-formed trees -------------------------------------------

NAMES = st.sampled_from(["a", "b", "x", "y1", "_t", "n", "ifx", "len_"])
FUNCS = st.sampled_from(["f", "g", "len", "abs", "min", "max", "array", "read"])
NUMS = st.one_of(st.integers(0, 20), st.integers(0, MAX_INT))


def _exprs() -> st.SearchStrategy[A.Expr]:
    leaves = st.one_of(NAMES.map(A.Name), NUMS.map(A.Num))

    def extend(inner: st.SearchStrategy[A.Expr]) -> st.SearchStrategy[A.Expr]:
        return st.one_of(
            st.builds(A.BinOp, st.sampled_from(DSL_BINOPS), inner, inner),
            st.builds(A.Compare, st.sampled_from(list(C)), inner, inner),
            st.builds(A.BoolOp, st.sampled_from(list(BK)), inner, inner),
            st.builds(A.Unary, st.sampled_from(list(U)), inner),
            st.builds(A.Call, FUNCS, st.lists(inner, max_size=3).map(tuple)),
            st.builds(A.Index, inner, inner),
            st.builds(A.ArrayLit, st.lists(inner, max_size=3).map(tuple)),
        )

    return st.recursive(leaves, extend, max_leaves=12)


EXPRS = _exprs()
TARGETS = st.one_of(NAMES.map(A.Name), st.builds(A.Index, EXPRS, EXPRS))
SIMPLE = st.one_of(
    st.builds(A.Assign, TARGETS, EXPRS),
    st.builds(A.AugAssign, TARGETS, st.sampled_from(DSL_BINOPS), EXPRS),
    st.builds(A.Print, st.lists(EXPRS, max_size=3).map(tuple)),
    st.builds(A.Assert, EXPRS),
    st.builds(A.Return, st.none() | EXPRS),
    st.builds(A.ExprStmt, st.builds(A.Call, FUNCS, st.lists(EXPRS, max_size=2).map(tuple))),
    st.just(A.Break()),
    st.just(A.Continue()),
    st.just(A.Pass()),
)


def _stmts() -> st.SearchStrategy[A.Stmt]:
    def extend(inner: st.SearchStrategy[A.Stmt]) -> st.SearchStrategy[A.Stmt]:
        body = st.lists(inner, min_size=1, max_size=3).map(tuple)
        return st.one_of(
            st.builds(A.If, EXPRS, body, st.just(()) | body),
            st.builds(A.While, EXPRS, body),
            st.builds(A.For, NAMES, EXPRS, EXPRS, st.none() | EXPRS, body),
            st.builds(A.FuncDef, FUNCS, st.lists(NAMES, max_size=3).map(tuple), body),
        )

    return st.recursive(SIMPLE, extend, max_leaves=8)


MODULES = st.lists(_stmts(), max_size=4).map(lambda body: A.Module(tuple(body)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(MODULES)
def test_random_trees_round_trip(m: A.Module) -> None:
    text = to_dsl(m)
    assert parse(text) == m
    assert to_dsl(parse(text)) == text
    for skin in (BRACES_SKIN, END_SKIN):
        to_dsl(m, skin)


@settings(max_examples=150, deadline=None)
@given(EXPRS)
def test_random_expressions_round_trip(e: A.Expr) -> None:
    text = to_dsl(e)
    assert parse_expr(text) == e
    toks = tokenize(text)
    assert toks[-2][0] == "NEWLINE"  # one line


def test_deep_trees_are_print_errors_not_crashes() -> None:
    e: A.Expr = A.Num(1)
    for _ in range(5000):
        e = A.BinOp(B.SUB, A.Name("a"), e)
    with pytest.raises(PrintError, match="too deep"):
        to_dsl(e)
    # A deep left-leaning chain prints flat and parses back iteratively.
    e = A.Num(1)
    for _ in range(300):
        e = A.BinOp(B.ADD, e, A.Name("a"))
    assert parse_expr(to_dsl(e)) == e
