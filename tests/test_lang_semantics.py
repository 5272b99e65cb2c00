"""Semantic checks: well-formed programs pass, every rule fails at the right node."""

from __future__ import annotations

import pytest

from cadmus.lang import SemanticError, check_semantics, parse
from cadmus.lang import ast as A

GOOD = [
    "x = 1\nprint(x)\n",
    "print(f(2))\ndef f(n):\n    return g(n) + 1\ndef g(m):\n    return m\n",
    "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\nprint(fib(5))\n",
    "x = read()\nif x > 0:\n    y = 1\nelif x < 0:\n    y = -1\nelse:\n    y = 0\nprint(y)\n",
    "def sign(x):\n    if x > 0:\n        return 1\n    else:\n        s = 0\n    return s\n",
    "def f(x):\n    if x > 0:\n        return 1\n    y = 2\n    return y\n",
    "i = 0\nwhile 1:\n    if i > 3:\n        break\n    i += 1\n",
    "for i in range(3):\n    if i == 1:\n        continue\n    j = i\n    print(j)\n",
    "a = array(3)\na[0] = len(a) + abs(-1) + min(1, 2) + max(3, 4)\nread()\n",
    "def f():\n    return\nf()\n",
    "x = 1\nif x:\n    if x:\n        z = 1\n    else:\n        z = 2\n    print(z)\n",
    "n = 3\nfor i in range(n):\n    k = i\n    for j in range(k):\n        print(i, j, k, n)\n",
]


@pytest.mark.parametrize("text", GOOD)
def test_well_formed_programs_pass(text: str) -> None:
    check_semantics(parse(text))


BAD = [
    ("print(x)\n", 1, 7, "undefined name 'x'"),
    ("x = x + 1\n", 1, 5, "undefined name 'x'"),
    ("x += 1\n", 1, 1, "undefined name 'x'"),
    ("a[0] = 1\n", 1, 1, "undefined name 'a'"),
    ("if 1:\n    y = 1\nprint(y)\n", 3, 7, "undefined name 'y'"),
    ("c = 1\nif c:\n    y = 1\nelse:\n    z = 1\nprint(y)\n", 6, 7, "undefined name 'y'"),
    ("for i in range(3):\n    pass\nprint(i)\n", 3, 7, "undefined name 'i'"),
    ("while 0:\n    w = 1\nprint(w)\n", 3, 7, "undefined name 'w'"),
    (
        "i = 0\nwhile i < 3:\n    if i > 0:\n        print(v)\n    v = i\n    i += 1\n",
        4,
        15,
        "undefined name 'v'",
    ),
    ("for i in range(i):\n    pass\n", 1, 16, "undefined name 'i'"),
    (
        "g = 1\ndef f():\n    return g\n",
        3,
        12,
        "undefined name 'g' (functions do not see global variables; pass it as a parameter)",
    ),
    ("x = f(1)\n", 1, 5, "unknown function 'f'"),
    ("def f(a):\n    return a\nx = f()\n", 3, 5, "function 'f' takes 1 argument, found 0"),
    ("def f(a, b):\n    return a\nf(1)\n", 3, 1, "function 'f' takes 2 arguments, found 1"),
    ("x = len(1, 2)\n", 1, 5, "function 'len' takes 1 argument, found 2"),
    ("x = read(1)\n", 1, 5, "function 'read' takes 0 arguments, found 1"),
    ("x = min(1)\n", 1, 5, "function 'min' takes 2 arguments, found 1"),
    ("def f():\n    pass\nf = 1\n", 3, 1, "cannot use 'f' as a variable: it is a function"),
    (
        "def f():\n    pass\nfor f in range(2):\n    pass\n",
        3,
        1,
        "cannot use 'f' as a loop variable: it is a function",
    ),
    ("len = 3\n", 1, 1, "cannot use 'len' as a variable: it is a builtin function"),
    (
        "def f(g):\n    return g\ndef g():\n    pass\n",
        1,
        1,
        "cannot use 'g' as a parameter: it is a function",
    ),
    ("def f():\n    pass\ndef f():\n    pass\n", 3, 1, "function 'f' is already defined at line 1"),
    ("def len(x):\n    return x\n", 1, 1, "cannot define a function named 'len': it is a builtin"),
    ("def f(a, a):\n    return a\n", 1, 1, "duplicate parameter 'a' in function 'f'"),
    ("return 1\n", 1, 1, "'return' outside a function"),
    ("if 1:\n    return\n", 2, 5, "'return' outside a function"),
    ("break\n", 1, 1, "'break' outside a loop"),
    ("if 1:\n    continue\n", 2, 5, "'continue' outside a loop"),
    (
        "for i in range(2):\n    def f():\n        break\n",
        2,
        5,
        "nested function definitions are not supported ('f')",
    ),
    ("def f():\n    def g():\n        pass\n", 2, 5, "nested function definitions are not supported ('g')"),
    ("if 1:\n    def g():\n        pass\n", 2, 5, "nested function definitions are not supported ('g')"),
    ("x = 1\ny = x(2)\n", 2, 5, "'x' is a variable, not a function"),
    ("def f():\n    pass\nx = f\n", 3, 5, "function 'f' cannot be used as a value (call it)"),
    ("x = len\n", 1, 5, "builtin 'len' cannot be used as a value (call it)"),
    ("def f(n):\n    return n\nprint(f(f))\n", 3, 9, "function 'f' cannot be used as a value (call it)"),
]


@pytest.mark.parametrize(("text", "line", "col", "message"), BAD)
def test_semantic_error_positions(text: str, line: int, col: int, message: str) -> None:
    with pytest.raises(SemanticError) as info:
        check_semantics(parse(text), file="p.cad")
    err = info.value
    assert (err.line, err.col, err.message) == (line, col, message)
    assert str(err) == f"p.cad:{line}:{col}: {message}"


a, b = A.Name("a"), A.Name("b")
DEF_AB = A.Assign(A.Name("a"), A.Num(1)), A.Assign(A.Name("b"), A.Num(2))
PYTHON_ONLY = [
    A.Print((A.BinOp(A.BinOpKind.FDIV, a, b, line=2, col=3),)),
    A.Print((A.BinOp(A.BinOpKind.FMOD, a, b, line=2, col=3),)),
    A.Print((A.BinOp(A.BinOpKind.POW, a, b, line=2, col=3),)),
    A.AugAssign(a, A.BinOpKind.FDIV, b, line=2, col=3),
    A.ExprStmt(A.Call("append", (a, b), line=2, col=3)),
    A.Print((A.Call("pop", (a,), line=2, col=3),)),
]


@pytest.mark.parametrize("stmt", PYTHON_ONLY)
def test_python_only_nodes(stmt: A.Stmt) -> None:
    m = A.Module((*DEF_AB, stmt))
    with pytest.raises(SemanticError, match="Python-only") as info:
        check_semantics(m)
    assert (info.value.line, info.value.col) == (2, 3)
    check_semantics(m, mode="python")


def test_python_mode_scoping() -> None:
    # A function reads a global it never assigns.
    check_semantics(parse("g = 1\ndef f():\n    return g\nprint(f())\n"), mode="python")
    # ... but a name it assigns is local throughout (Python's UnboundLocalError).
    with pytest.raises(SemanticError, match="undefined name 'g'"):
        check_semantics(parse("g = 1\ndef f():\n    g += 1\n    return g\n"), mode="python")
    # A name assigned nowhere at top level is undefined.
    with pytest.raises(SemanticError, match="undefined name 'h'"):
        check_semantics(parse("def f():\n    return h\n"), mode="python")
    # At top level, Python runs a def before it can be called.
    with pytest.raises(SemanticError, match="called before its definition") as info:
        check_semantics(parse("print(f())\ndef f():\n    return 1\n"), mode="python")
    assert (info.value.line, info.value.col) == (1, 7)
    check_semantics(parse("def f():\n    return g()\ndef g():\n    return 1\nprint(f())\n"), mode="python")


def test_trees_built_in_code() -> None:
    # Positions default to 0 in built trees: the error then has no position.
    with pytest.raises(SemanticError) as info:
        check_semantics(A.Module((A.Print((A.Name("q"),)),)))
    assert info.value.line is None and info.value.col is None
    with pytest.raises(SemanticError, match="keyword"):
        check_semantics(A.Module((A.Assign(A.Name("while"), A.Num(1)),)))
    with pytest.raises(SemanticError, match="out of range"):
        check_semantics(A.Module((A.Print((A.Num(2**63),)),)))
    with pytest.raises(SemanticError, match="only calls"):
        check_semantics(A.Module((A.ExprStmt(A.Num(1)),)))
    with pytest.raises(SemanticError, match="empty block"):
        check_semantics(A.Module((A.While(A.Num(1), ()),)))
    with pytest.raises(ValueError):
        check_semantics(A.Module(()), mode="c")


def test_deep_trees_are_semantic_errors_not_crashes() -> None:
    e: A.Expr = A.Num(1)
    for _ in range(5000):
        e = A.Unary(A.UnaryKind.NEG, e)
    with pytest.raises(SemanticError, match="nested too deeply"):
        check_semantics(A.Module((A.Print((e,)),)))


def test_python_mode_names() -> None:
    m = A.Module((A.Assign(A.Name("été"), A.Num(1)), A.Print((A.Name("été"),))))
    check_semantics(m, mode="python")
    with pytest.raises(SemanticError, match="not a valid identifier"):
        check_semantics(m)
