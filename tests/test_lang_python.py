"""The Python front end (`from_python`) and renderer (`to_python`)."""

from __future__ import annotations

import random
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadmus.lang import (
    ArrayLit,
    Assert,
    Assign,
    AugAssign,
    BinOp,
    BinOpKind,
    BoolKind,
    BoolOp,
    Break,
    Call,
    CmpKind,
    Compare,
    Continue,
    Expr,
    ExprStmt,
    For,
    FuncDef,
    If,
    Index,
    Module,
    Name,
    Num,
    ParseError,
    Pass,
    Print,
    Return,
    Unary,
    UnaryKind,
    UnsupportedPython,
    While,
    check,
    from_python,
    num,
    parse,
    to_python,
)
from cadmus.lang.randgen import random_program

X, Y, Z = Name("x"), Name("y"), Name("z")


def py(source: str) -> Module:
    return from_python(textwrap.dedent(source).lstrip("\n"))


def body(source: str) -> tuple:
    return py(source).body


def expr(source: str) -> Expr:
    (stmt,) = body(f"w = {source}")
    assert isinstance(stmt, Assign)
    return stmt.value


# ---- translation of every construct -----------------------------------------


@pytest.mark.parametrize(
    ("source", "tree"),
    [
        ("5", Num(5)),
        ("-5", num(-5)),
        ("x + y", BinOp(BinOpKind.ADD, X, Y)),
        ("x - y", BinOp(BinOpKind.SUB, X, Y)),
        ("x * y", BinOp(BinOpKind.MUL, X, Y)),
        ("x // y", BinOp(BinOpKind.FDIV, X, Y)),
        ("x % y", BinOp(BinOpKind.FMOD, X, Y)),
        ("x ** y", BinOp(BinOpKind.POW, X, Y)),
        ("x & y", BinOp(BinOpKind.BAND, X, Y)),
        ("x | y", BinOp(BinOpKind.BOR, X, Y)),
        ("x ^ y", BinOp(BinOpKind.BXOR, X, Y)),
        ("x << y", BinOp(BinOpKind.SHL, X, Y)),
        ("x >> y", BinOp(BinOpKind.SHR, X, Y)),
        ("-x", Unary(UnaryKind.NEG, X)),
        ("~x", Unary(UnaryKind.INVERT, X)),
        ("not x", Unary(UnaryKind.NOT, X)),
        ("x == y", Compare(CmpKind.EQ, X, Y)),
        ("x != y", Compare(CmpKind.NE, X, Y)),
        ("x < y", Compare(CmpKind.LT, X, Y)),
        ("x <= y", Compare(CmpKind.LE, X, Y)),
        ("x > y", Compare(CmpKind.GT, X, Y)),
        ("x >= y", Compare(CmpKind.GE, X, Y)),
        ("x and y", BoolOp(BoolKind.AND, X, Y)),
        ("x or y", BoolOp(BoolKind.OR, X, Y)),
        ("x and y and z", BoolOp(BoolKind.AND, BoolOp(BoolKind.AND, X, Y), Z)),
        ("x or (y or z)", BoolOp(BoolKind.OR, X, BoolOp(BoolKind.OR, Y, Z))),
        ("x - (y - z)", BinOp(BinOpKind.SUB, X, BinOp(BinOpKind.SUB, Y, Z))),
        ("2 ** 3 ** 2", BinOp(BinOpKind.POW, Num(2), BinOp(BinOpKind.POW, Num(3), Num(2)))),
        ("-2 ** 2", Unary(UnaryKind.NEG, BinOp(BinOpKind.POW, Num(2), Num(2)))),
        ("True", Num(1)),
        ("False", Num(0)),
        ("int(x < y)", Compare(CmpKind.LT, X, Y)),
        ("int(input())", Call("read", ())),
        ("len(x)", Call("len", (X,))),
        ("abs(x)", Call("abs", (X,))),
        ("min(x, y)", Call("min", (X, Y))),
        ("max(x, 3)", Call("max", (X, Num(3)))),
        ("[0] * 5", Call("array", (Num(5),))),
        ("x * [0]", Call("array", (X,))),
        ("[]", ArrayLit(())),
        ("[1, x, -2]", ArrayLit((Num(1), X, num(-2)))),
        ("y[x]", Index(Y, X)),
        ("y[-1]", Index(Y, num(-1))),
        ("y.pop()", Call("pop", (Y,))),
    ],
)
def test_expressions(source: str, tree: Expr) -> None:
    assert expr(source) == tree


def test_statements() -> None:
    got = body(
        """
        def f(a, b):
            if a < b:
                return a
            elif a == b:
                pass
            else:
                return b
            return 0

        x = 1
        x += 2
        x -= 1
        x *= 3
        x //= 2
        x %= 5
        x **= 2
        x &= 7
        x |= 8
        x ^= 1
        x <<= 2
        x >>= 1
        ys = [1, 2]
        ys[0] = 4
        ys[1] += 1
        ys.append(x)
        while x > 0:
            x -= 1
            if x == 3:
                continue
            if x == 1:
                break
        for i in range(3):
            print(i)
        for i in range(1, 9, -2):
            print(i, x)
        for i in range(2, x):
            pass
        print()
        assert f(1, 2) == 1
        f(3, 4)
        """
    )
    a, b = Name("a"), Name("b")
    expected = (
        FuncDef(
            "f",
            ("a", "b"),
            (
                If(
                    Compare(CmpKind.LT, a, b),
                    (Return(a),),
                    (If(Compare(CmpKind.EQ, a, b), (Pass(),), (Return(b),)),),
                ),
                Return(Num(0)),
            ),
        ),
        Assign(X, Num(1)),
        AugAssign(X, BinOpKind.ADD, Num(2)),
        AugAssign(X, BinOpKind.SUB, Num(1)),
        AugAssign(X, BinOpKind.MUL, Num(3)),
        AugAssign(X, BinOpKind.FDIV, Num(2)),
        AugAssign(X, BinOpKind.FMOD, Num(5)),
        AugAssign(X, BinOpKind.POW, Num(2)),
        AugAssign(X, BinOpKind.BAND, Num(7)),
        AugAssign(X, BinOpKind.BOR, Num(8)),
        AugAssign(X, BinOpKind.BXOR, Num(1)),
        AugAssign(X, BinOpKind.SHL, Num(2)),
        AugAssign(X, BinOpKind.SHR, Num(1)),
        Assign(Name("ys"), ArrayLit((Num(1), Num(2)))),
        Assign(Index(Name("ys"), Num(0)), Num(4)),
        AugAssign(Index(Name("ys"), Num(1)), BinOpKind.ADD, Num(1)),
        ExprStmt(Call("append", (Name("ys"), X))),
        While(
            Compare(CmpKind.GT, X, Num(0)),
            (
                AugAssign(X, BinOpKind.SUB, Num(1)),
                If(Compare(CmpKind.EQ, X, Num(3)), (Continue(),)),
                If(Compare(CmpKind.EQ, X, Num(1)), (Break(),)),
            ),
        ),
        For("i", Num(0), Num(3), None, (Print((Name("i"),)),)),
        For("i", Num(1), Num(9), num(-2), (Print((Name("i"), X)),)),
        For("i", Num(2), X, None, (Pass(),)),
        Print(()),
        Assert(Compare(CmpKind.EQ, Call("f", (Num(1), Num(2))), Num(1))),
        ExprStmt(Call("f", (Num(3), Num(4)))),
    )
    assert got == expected


def test_positions_are_one_based_columns() -> None:
    (stmt,) = body("x = 1 + y")
    assert (stmt.line, stmt.col) == (1, 1)
    assert (stmt.value.line, stmt.value.col) == (1, 5)


def test_docstrings_and_annotations_are_dropped() -> None:
    got = body(
        '''
        """Module."""

        def f(x: int) -> int:
            """Doc."""
            return x
        '''
    )
    assert got == (FuncDef("f", ("x",), (Return(X),)),)


def test_cadmus_builtin_names_are_renamed_consistently() -> None:
    got = body(
        """
        def read(array):
            return array + 1

        append = 2
        pop = read(append)
        array_ = 5
        xs = [0] * 2
        print(pop, array_)
        """
    )
    assert got[0] == FuncDef("read_", ("array__",), (Return(BinOp(BinOpKind.ADD, Name("array__"), Num(1))),))
    assert got[1] == Assign(Name("append_"), Num(2))
    assert got[2] == Assign(Name("pop_"), Call("read_", (Name("append_"),)))
    assert got[3] == Assign(Name("array_"), Num(5))
    assert got[4] == Assign(Name("xs"), Call("array", (Num(2),)))


def test_python_programs_run_on_the_vm_with_python_semantics() -> None:
    source = textwrap.dedent(
        """
        limit = 3
        def f(k):
            return k + limit
        xs = [4, 5, 6]
        print(-7 // 2, -7 % 2, 7 // -2, 0 or 5, 3 and 0, xs[-1], f(1))
        """
    )
    verdict = check(source, mode="python")
    assert verdict.ok, verdict
    assert verdict.output_text == "-4 1 -4 5 0 6 4"


# ---- rejections ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "message", "line", "col"),
    [
        ("x = 1.5", "float literals are not supported", 1, 5),
        ("x = 1j", "complex literals are not supported", 1, 5),
        ("x = 'a'", "string literals are not supported", 1, 5),
        ("x = None", "None is not supported", 1, 5),
        ("x = 1\ny = x / 2", "true division '/' is not supported", 2, 5),
        ("x = 1\nx /= 2", "true division '/' is not supported", 2, 1),
        ("class A:\n    pass", "class definitions are not supported", 1, 1),
        ("import os", "imports are not supported", 1, 1),
        ("from os import path", "imports are not supported", 1, 1),
        ("x = lambda: 1", "lambdas are not supported", 1, 5),
        ("x = (1, 2)", "tuples (other than in assignments and loop targets) are not supported", 1, 5),
        ("def f(a):\n    return a, a", "returning several values (a tuple) is not supported", 2, 12),
        ("a, *b = [1, 2]", "starred assignment is not supported", 1, 4),
        ("(a, b), c = (1, 2), 3", "nested tuple targets are not supported", 1, 1),
        ("xs = [1, 2]\nxs[0:1] = [3]", "assignment to a slice is not supported", 2, 1),
        ("xs = [1]\nfor a, b in xs:\n    pass", "unpacking a number into 2 names", 2, 1),
        ("r = range(5)", "range() outside a 'for' loop, a comprehension or list(...)", 1, 5),
        ("xs = [1]\ne = enumerate(xs)", "enumerate() outside a 'for' loop", 2, 5),
        ("xs = [1]\nr = reversed(xs)", "reversed() outside a 'for' loop", 2, 5),
        ("t = divmod(7, 2)", "divmod() outside a tuple assignment", 1, 5),
        ("n = len(x for x in range(3))", "len() of a generator expression", 1, 8),
        ("s = (x for x in range(3))", "generator expressions (other than the argument of sum", 1, 5),
        ("for x in (a * b for a in range(2) for b in range(2)):\n    pass", "several 'for' clauses", 1, 10),
        ("xs = [2, 1]\nys = sorted(xs, key=abs)", "the keyword 'key=' is not supported", 2, 17),
        ("xs = [2, 1]\nxs.sort(reverse=len(xs))", "'reverse=' other than a constant", 2, 17),
        ("xs = [1]\nprint(*xs)", "starred arguments are not supported", 2, 7),
        ("def f(a):\n    return a\nf(**{})", "** arguments are not supported", 3, 3),
        ("def f(a, b):\n    return a\nf(1)", "calling 'f' without its argument 'b'", 3, 1),
        ("def f(a):\n    return a\nf(1, a=2)", "giving the argument 'a' twice", 3, 6),
        ("x = 1\ny = x is None", "'is' comparisons are not supported", 2, 5),
        ("x = 1\ndef f():\n    global x\n    x = 2", "'global' statements are not supported", 3, 5),
        ("def f():\n    def g():\n        pass", "function definitions inside other statements", 2, 5),
        ("x = 1\nif x:\n    def g():\n        pass", "function definitions inside other statements", 3, 5),
        ("print(1, sep='')", "print() keyword arguments", 1, 10),
        ("def f(a):\n    return a\nf(b=1)", "the keyword argument 'b' (not a parameter of 'f')", 3, 3),
        ("x = 1\nprint(f'{x}')", "f-strings are not supported", 2, 7),
        ("x = 1\ny = x is 1", "'is' comparisons are not supported", 2, 5),
        ("for i in range(1, 2, 3, 4):\n    pass", "range() with 4 arguments", 1, 10),
        ("x = range(3)", "range() outside a 'for' loop", 1, 5),
        ("x = str(1)", "the builtin 'str' is not supported", 1, 5),
        ("max = 3\nprint(max(1, 2))", "calling 'max', a name this program assigns", 2, 7),
        ("x = input()", "input() other than int(input())", 1, 5),
        ("x = min()", "min() without arguments", 1, 5),
        ("x = [1]\nx.add(2)", "the method '.add()' is not supported", 2, 1),
        ("x = [1]\nx.pop(0, 1)", "pop with 2 arguments is not supported", 2, 1),
        ("x = [1]\ny = x.sort()", "sort() used as a value", 2, 5),
        ("x = [1]\ny = x.append(2)", "append() used as a value", 2, 5),
        ("x = 1\nx", "expression statements other than calls", 2, 1),
        ("x = 1\nassert x, f'{x}'", "assert messages other than a string literal", 2, 11),
        ("x: int = 1", "annotated assignments are not supported", 1, 1),
        ("try:\n    pass\nexcept E:\n    pass", "'try' statements are not supported", 1, 1),
        ("with a as b:\n    pass", "'with' statements are not supported", 1, 1),
        ("raise E", "'raise' statements are not supported", 1, 1),
        ("x = 1\ndel x", "'del' statements are not supported", 2, 1),
        ("def f(*a):\n    pass", "*args and **kwargs", 1, 1),
        ("def f(a=[]):\n    pass", "default parameter values other than integer constants", 1, 9),
        ("@d\ndef f():\n    pass", "decorators are not supported", 1, 2),
        ("range = 3", "rebinding the builtin 'range'", 1, 1),
        ("def print(x):\n    return x", "rebinding the builtin 'print'", 1, 1),
        ("x = len", "the builtin 'len' used as a value", 1, 5),
        ("def f():\n    return 1\nx = f", "functions used as values", 3, 5),
        ("x = (y := 2)", "assignment expressions", 1, 6),
        ("x = {}", "dicts are not supported", 1, 5),
        ("x = ...", "'...' is not supported", 1, 5),
    ],
)
def test_unsupported_constructs(source: str, message: str, line: int, col: int) -> None:
    with pytest.raises(UnsupportedPython) as info:
        from_python(source, file="prog.py")
    err = info.value
    assert message in err.message
    assert (err.line, err.col, err.file) == (line, col, "prog.py")
    assert str(err).startswith(f"prog.py:{line}:{col}: ")


@pytest.mark.parametrize(
    ("source", "message", "line", "col"),
    [
        ("x = 1\nprint(x < 2)", "printing a comparison or boolean value", 2, 7),
        ("x = True\nprint(x)", "printing a comparison or boolean value", 2, 7),
        ("x = 1 == 1\ny = x\nprint(y)", "printing a comparison or boolean value", 3, 7),
        ("x = 0\nprint(x or 1 > 0)", "printing a comparison or boolean value", 2, 7),
        ("x = 0\nprint(min(x < 1, 2))", "printing a comparison or boolean value", 2, 7),
        ("x = 0\nprint(not x)", "printing a comparison or boolean value", 2, 7),
        ("print(True & False)", "printing a comparison or boolean value", 1, 7),
        ("def f(a):\n    return a > 1\nprint(f(2))", "printing a comparison or boolean value", 3, 7),
        ("def f(a):\n    print(a)\nf(1 < 2)", "printing a comparison or boolean value", 2, 11),
        ("xs = [1]\nprint(xs)", "printing a list", 2, 7),
        ("def f():\n    return [1]\nprint(f())", "printing a list", 3, 7),
        ("xs = [1 < 2]", "storing a comparison or boolean value in a list", 1, 7),
        ("xs = [0] * 2\nxs[0] = True", "storing a comparison or boolean value in a list", 2, 9),
        ("xs = [1]\nxs.append(1 > 0)", "storing a comparison or boolean value in a list", 2, 11),
        ("xs = [[1]]", "lists of lists", 1, 7),
        ("xs = [1]\nys = xs + xs", "arithmetic on lists", 2, 6),
        ("xs = [1]\ny = xs * 2", "arithmetic on lists", 2, 5),
        ("xs = [1]\nys = [2]\nxs += ys", "augmented assignment on a list", 3, 1),
        ("xs = [1]\ny = xs == xs", "comparing lists", 2, 5),
        ("xs = [1]\nwhile xs:\n    xs.pop()", "the truth value of a list", 2, 7),
        ("xs = [1]\ny = not xs", "the truth value of a list", 2, 5),
        ("x = 2 ** -1", "negative exponents", 1, 5),
        ("def f():\n    print(1)\nx = f()", "function 'f' is used as a value but can end", 1, 1),
        ("def f(a):\n    if a:\n        return 1\nx = f(1)", "function 'f' is used as a value", 1, 1),
        ("def f(a):\n    return\nprint(f(1))", "function 'f' is used as a value", 2, 5),
    ],
)
def test_meanings_the_vm_cannot_reproduce_are_rejected(
    source: str, message: str, line: int, col: int
) -> None:
    with pytest.raises(UnsupportedPython) as info:
        from_python(source)
    assert message in info.value.message
    assert (info.value.line, info.value.col) == (line, col)


@pytest.mark.parametrize(
    "source",
    [
        "x = 1\nprint(int(x < 2))",
        "x = 1 < 2\nif x:\n    print(1)",
        "x = 0\nprint((x < 1) + 1, x or 3)",
        "def f():\n    print(1)\nf()",
        "def f(a):\n    while True:\n        return a\nprint(f(1))",
        "def f(a):\n    if a:\n        return 1\n    else:\n        return 2\nprint(f(1))",
        "xs = [1]\nwhile len(xs) > 0:\n    xs.pop()",
        "sum = 0\nfor i in range(3):\n    sum += i\nprint(sum)",
        "len = 3\nprint(len + 1)",
        "def max(a, b):\n    return a\nprint(max(1, 2))",
        "xs = [1, 2]\nys = xs + [3]\nxs += ys[1:]",
        "def f(a, b=-1):\n    return a + b\nprint(f(1), f(b=2, a=3))",
    ],
)
def test_close_relatives_are_accepted(source: str) -> None:
    from_python(source)


@pytest.mark.parametrize(
    ("source", "message", "line"),
    [
        ("x = (", "Python syntax error", 1),
        ("x = 1\n  y = 2", "Python syntax error", 2),
        ("break", "'break' outside loop", 1),
        ("x = 1\ncontinue", "'continue' outside loop", 2),
        ("return 1", "'return' outside function", 1),
    ],
)
def test_invalid_python_is_a_parse_error(source: str, message: str, line: int) -> None:
    with pytest.raises(ParseError) as info:
        from_python(source)
    assert message in info.value.message
    assert info.value.line == line


def test_front_end_never_runs_the_source(capsys: pytest.CaptureFixture[str]) -> None:
    module = from_python("print(1)\nx = int(input())\n")
    assert capsys.readouterr().out == ""
    assert module.body[0] == Print((Num(1),))


# ---- rendering ------------------------------------------------------------------


def test_dsl_rendering_keeps_truncating_division() -> None:
    module = parse("x = 7 / -2\ny = -7 % 3\ny %= -2\nprint(x, y)\n")
    text = to_python(module)
    assert "def _tdiv(a, b):" in text and "def _tmod(a, b):" in text
    assert "/ " not in text.replace("//", "")
    assert "x = _tdiv(7, -2)" in text
    assert "y = _tmod(y, -2)" in text
    assert "float" not in text


def test_helpers_only_when_needed() -> None:
    text = to_python(parse("x = 7 * 2\nprint(x)\n"))
    assert text == "x = 7 * 2\nprint(x)\n"


def test_dsl_truth_values_are_ints_in_python() -> None:
    module = parse(
        "x = 3\ny = x < 4\nz = x and 0\nprint(not x, y, z, x or 5)\nif x < 4 and not y:\n    print(1)\n"
    )
    text = to_python(module)
    assert "y = int(x < 4)" in text
    assert "z = int(bool(x and 0))" in text
    assert "print(int(not x), y, z, int(bool(x or 5)))" in text
    assert "if x < 4 and not y:" in text


def test_dsl_rendering_checks_negative_indices() -> None:
    module = parse("xs = array(3)\ni = -1\nxs[i] = 2\nprint(xs[0])\nfor j in range(3):\n    print(xs[j])\n")
    text = to_python(module)
    assert "xs[_ix(i)] = 2" in text
    assert "print(xs[0])" in text
    assert "print(xs[j])" in text
    assert "def _ix(i):" in text


def test_dsl_rendering_hoists_functions_and_returns_zero() -> None:
    module = parse("print(f(2))\ndef f(a):\n    if a > 5:\n        return\n    print(a)\n")
    assert check(module).output_text == "2\n0"
    text = to_python(module)
    assert text.index("def f(a):") < text.index("print(f(2))")
    assert "        return 0\n" in text
    assert text.count("return 0") == 2


def test_python_reserved_names_are_renamed() -> None:
    module = Module(
        (
            Assign(Name("lambda"), Num(1)),
            Assign(Name("int"), Num(2)),
            Assign(Name("lambda_"), Num(3)),
            Print((Name("lambda"), Name("int"), Name("lambda_"), Call("read", ()))),
        )
    )
    text = to_python(module)
    assert text == ("lambda__ = 1\nint_ = 2\nlambda_ = 3\nprint(lambda__, int_, lambda_, int(input()))\n")


def test_dsl_builtins_render_as_python() -> None:
    module = parse("xs = array(2 + 1)\nn = len(xs)\nprint(abs(-n), min(n, 2), max(n, 2), read())\n")
    assert to_python(module) == (
        "xs = [0] * (2 + 1)\nn = len(xs)\nprint(abs(-n), min(n, 2), max(n, 2), int(input()))\n"
    )


def test_round_trip_python_shaped_dsl_trees() -> None:
    # no truncating division, no truth values used as numbers, no possibly negative indices
    source = textwrap.dedent(
        """
        def g(n, acc):
            if n <= 0:
                return acc
            return g(n - 1, acc + n)
        xs = [3, 1, 2]
        total = 0
        for i in range(len(xs)):
            total += xs[i] * 2
        while total > 10 and not total == 11:
            total -= 3
        print(total, g(4, 0), -total, ~total, total << 2)
        """
    ).lstrip()
    module = parse(source)
    assert from_python(to_python(module)) == module


@pytest.mark.parametrize("seed", range(30))
def test_round_trip_random_python_trees(seed: int) -> None:
    module = random_program(random.Random(seed), mode="python")
    text = to_python(module, mode="python")
    assert from_python(text) == module
    assert to_python(from_python(text), mode="python") == text


@pytest.mark.parametrize("seed", range(30))
def test_random_dsl_trees_render_to_valid_python(seed: int) -> None:
    import ast as pyast

    module = random_program(random.Random(seed), mode="dsl")
    pyast.parse(to_python(module))


def test_canonical_formatting_is_a_fixed_point() -> None:
    messy = "x=(1+2)*3\nif(x>4):\n  print( x ,-(-x))\nfor i in range(0,x):\n  x+=i\nprint((x))\n"
    once = to_python(from_python(messy), mode="python")
    assert (
        once == "x = (1 + 2) * 3\nif x > 4:\n    print(x, -(-x))\nfor i in range(x):\n    x += i\nprint(x)\n"
    )
    assert to_python(from_python(once), mode="python") == once


def test_mode_is_checked() -> None:
    with pytest.raises(ValueError):
        to_python(Module(()), mode="c")


# ---- precedence: random expression trees survive render -> parse ------------------

_LEAVES = st.one_of(st.integers(0, 50).map(Num), st.sampled_from([X, Y, Z]))
_ARITH = [k for k in BinOpKind if k not in (BinOpKind.TDIV, BinOpKind.TMOD, BinOpKind.POW)]


def _extend(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    return st.one_of(
        st.builds(BinOp, st.sampled_from(_ARITH), children, children),
        st.builds(lambda left, k: BinOp(BinOpKind.POW, left, Num(k)), children, st.integers(0, 3)),
        st.builds(Compare, st.sampled_from(list(CmpKind)), children, children),
        st.builds(BoolOp, st.sampled_from(list(BoolKind)), children, children),
        st.builds(Unary, st.sampled_from(list(UnaryKind)), children),
        st.builds(lambda a, b: Call("min", (a, b)), children, children),
        st.builds(lambda a: Index(Name("xs"), a), children),
    )


@settings(max_examples=300, deadline=None)
@given(st.recursive(_LEAVES, _extend, max_leaves=12))
def test_precedence_round_trip(tree: Expr) -> None:
    module = Module((Assign(Name("w"), tree),))
    text = to_python(module, mode="python")
    assert from_python(text) == module, text


# ---- robustness: mutated programs only ever raise Cadmus errors ------------------

_SEED_PROGRAMS = [
    to_python(random_program(random.Random(seed), mode="python", max_statements=10), mode="python")
    for seed in range(8)
]
_SNIPPETS = [
    "(",
    ")",
    "[",
    "]",
    ":",
    ",",
    " ",
    "\n",
    "    ",
    "-",
    "not ",
    " and ",
    "1.5",
    "'s'",
    "x",
    "=",
    "def ",
    "**",
    "//",
    "/",
    "<",
    " < 2 < ",
    "True",
    "None",
    "lambda: 0",
    "a.b",
    "[0] * ",
    "print(",
    "int(input())",
    "global x\n",
]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(_SEED_PROGRAMS),
    st.lists(
        st.tuples(st.floats(0, 1), st.integers(0, 6), st.sampled_from(_SNIPPETS)), min_size=1, max_size=4
    ),
)
def test_mutated_programs_raise_only_cadmus_errors(source: str, edits: list) -> None:
    from cadmus.errors import CadmusError

    text = source
    for where, cut, snippet in edits:
        i = int(where * len(text))
        text = text[:i] + snippet + text[i + cut :]
    try:
        module = from_python(text)
    except CadmusError:
        return
    rendered = to_python(module, mode="python")
    assert from_python(rendered) == module
    check(module, mode="python", inputs=(1, 2, 3))


def test_deeply_nested_text_is_a_cadmus_error() -> None:
    from cadmus.errors import CadmusError

    with pytest.raises(CadmusError):
        from_python("x = " + "+".join(["1"] * 5000))


def test_a_call_that_only_computes_a_value_is_refused_at_its_line() -> None:
    # int(x) reads as x in the subset: as a statement it would render as a bare expression
    with pytest.raises(UnsupportedPython, match=r"^2:1: statements that only compute a value"):
        from_python("xs = [1]\nint(xs[0])\n")
