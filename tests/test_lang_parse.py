"""DSL lexer and parser: the trees they build, round trips, and error positions."""

from __future__ import annotations

import pytest

from cadmus.lang import ParseError, parse, parse_expr, to_dsl
from cadmus.lang import ast as A
from cadmus.lang.lexer import DEDENT, EOF, INDENT, NAME, NEWLINE, NUM, tokenize
from cadmus.lang.parser import MAX_DEPTH

N, Num = A.Name, A.Num


def one(text: str) -> A.Stmt:
    body = parse(text).body
    assert len(body) == 1
    return body[0]


def ex(text: str) -> A.Expr:
    return parse_expr(text)


# ---- lexer ----------------------------------------------------------------


def test_tokens_and_layout() -> None:
    toks = tokenize("if x:\n    y = 10  # note\n\n# only a comment\nz = 1")
    kinds = [t[0] for t in toks]
    assert kinds == [
        *("if", NAME, ":", NEWLINE),
        *(INDENT, NAME, "=", NUM, NEWLINE),
        *(DEDENT, NAME, "=", NUM, NEWLINE, EOF),
    ]
    assert toks[7] == (NUM, "10", 2, 9)
    assert toks[8][2:] == (2, 11)  # the newline sits right after the last token


def test_crlf_and_any_consistent_indent() -> None:
    m = parse("if 1:\r\n  x = 1\r\n  if 2:\r\n         y = 2\r\n")
    assert to_dsl(m) == "if 1:\n    x = 1\n    if 2:\n        y = 2\n"


def test_builtin_names_are_identifiers_keywords_are_not() -> None:
    kinds = [t[0] for t in tokenize("len print range elif_ _x9")]
    assert kinds[:5] == [NAME, "print", "range", NAME, NAME]


# ---- trees ----------------------------------------------------------------


def test_precedence_and_associativity() -> None:
    S = A.BinOpKind
    assert ex("a - b - c") == A.BinOp(S.SUB, A.BinOp(S.SUB, N("a"), N("b")), N("c"))
    assert ex("a - (b - c)") == A.BinOp(S.SUB, N("a"), A.BinOp(S.SUB, N("b"), N("c")))
    assert ex("a + b * c") == A.BinOp(S.ADD, N("a"), A.BinOp(S.MUL, N("b"), N("c")))
    assert ex("a | b ^ c & d << e + f") == A.BinOp(
        S.BOR,
        N("a"),
        A.BinOp(
            S.BXOR, N("b"), A.BinOp(S.BAND, N("c"), A.BinOp(S.SHL, N("d"), A.BinOp(S.ADD, N("e"), N("f"))))
        ),
    )
    assert ex("-a * b") == A.BinOp(S.MUL, A.Unary(A.UnaryKind.NEG, N("a")), N("b"))
    assert ex("-5") == A.Unary(A.UnaryKind.NEG, Num(5))
    assert ex("--5") == A.Unary(A.UnaryKind.NEG, A.Unary(A.UnaryKind.NEG, Num(5)))
    assert ex("not a == b") == A.Unary(A.UnaryKind.NOT, A.Compare(A.CmpKind.EQ, N("a"), N("b")))
    assert ex("not a and b or c") == A.BoolOp(
        A.BoolKind.OR,
        A.BoolOp(A.BoolKind.AND, A.Unary(A.UnaryKind.NOT, N("a")), N("b")),
        N("c"),
    )
    assert ex("a or b and c") == A.BoolOp(A.BoolKind.OR, N("a"), A.BoolOp(A.BoolKind.AND, N("b"), N("c")))
    assert ex("a < b + 1") == A.Compare(A.CmpKind.LT, N("a"), A.BinOp(S.ADD, N("b"), Num(1)))
    assert ex("(a < b) < c") == A.Compare(A.CmpKind.LT, A.Compare(A.CmpKind.LT, N("a"), N("b")), N("c"))
    assert ex("-a[i][j]") == A.Unary(A.UnaryKind.NEG, A.Index(A.Index(N("a"), N("i")), N("j")))
    assert ex("f(x, g())[0]") == A.Index(A.Call("f", (N("x"), A.Call("g", ()))), Num(0))
    assert ex("[]") == A.ArrayLit(())
    assert ex("[1, -2]") == A.ArrayLit((Num(1), A.Unary(A.UnaryKind.NEG, Num(2))))


def test_statements() -> None:
    assert one("x = 1\n") == A.Assign(N("x"), Num(1))
    assert one("a[i] = 1\n") == A.Assign(A.Index(N("a"), N("i")), Num(1))
    for text, op in [("+=", A.BinOpKind.ADD), ("<<=", A.BinOpKind.SHL), ("%=", A.BinOpKind.TMOD)]:
        assert one(f"a[0] {text} 2\n") == A.AugAssign(A.Index(N("a"), Num(0)), op, Num(2))
    assert one("for i in range(n):\n    pass\n") == A.For("i", Num(0), N("n"), None, (A.Pass(),))
    assert one("for i in range(0, n):\n    pass\n") == A.For("i", Num(0), N("n"), None, (A.Pass(),))
    assert one("for i in range(1, n, -1):\n    break\n") == A.For(
        "i", Num(1), N("n"), A.Unary(A.UnaryKind.NEG, Num(1)), (A.Break(),)
    )
    elif_ = one("if a:\n    pass\nelif b:\n    pass\nelse:\n    continue\n")
    assert elif_ == A.If(N("a"), (A.Pass(),), (A.If(N("b"), (A.Pass(),), (A.Continue(),)),))
    assert one("def f():\n    return\n") == A.FuncDef("f", (), (A.Return(),))
    assert one("def f(a, b):\n    return a\n") == A.FuncDef("f", ("a", "b"), (A.Return(N("a")),))
    assert one("print()\n") == A.Print(())
    assert one("print(1, x)\n") == A.Print((Num(1), N("x")))
    assert one("assert x == 1\n") == A.Assert(A.Compare(A.CmpKind.EQ, N("x"), Num(1)))
    assert one("f(1)\n") == A.ExprStmt(A.Call("f", (Num(1),)))
    assert parse("") == A.Module(())
    assert parse("\n\n# nothing\n   \n") == A.Module(())


def test_positions() -> None:
    m = parse("x = 1\nif x:\n    y = a + f(b)[2]\n")
    assign = m.body[1].body[0]
    assert (assign.line, assign.col) == (3, 5)
    binop = assign.value
    assert (binop.line, binop.col) == (3, 11)  # the operator
    index = binop.right
    assert (index.line, index.col) == (3, 17)  # the '['
    call = index.array
    assert (call.line, call.col) == (3, 13)


ROUND_TRIP_PROGRAMS = [
    "x = 1\n",
    "x = -9223372036854775807\ny = 9223372036854775807\n",
    "a = [1, 2, 3]\na[0] = a[1] * (a[2] - 1)\nprint(len(a), a[0])\n",
    "x = read()\ny = abs(x) + min(x, 3) - max(x, 4)\nz = array(y)\nprint(z[0])\n",
    "def f(n):\n    if n < 2:\n        return n\n    return f(n - 1) + f(n - 2)\nprint(f(10))\n",
    "print(g(1))\ndef g(x):\n    return x\n",
    "i = 0\nwhile i < 10:\n    i += 1\n    if i % 2 == 0:\n        continue\n    if i > 7:\n        break\n",
    "for i in range(10, 0, -1):\n    for j in range(i):\n        pass\n",
    "x = 5\nif x > 3:\n    y = 1\nelif x > 2:\n    y = 2\nelif x > 1:\n    y = 3\nelse:\n    y = 4\n",
    "x = 1\nif x:\n    pass\nelse:\n    if x:\n        pass\n    x = 2\n",
    "x = 1\nx -= 1\nx *= 2\nx /= 3\nx %= 4\nx &= 5\nx |= 6\nx ^= 7\nx <<= 1\nx >>= 1\n",
    "x = not 1 and (2 or 3) or not (4 and 5)\n",
    "x = (not 1) + 2\ny = -(-x)\nz = ~(~x)\nw = -~x\nv = -(x + 1)\n",
    "x = 7 / -2 % 3\ny = (1 < 2) == (3 > 4)\nz = 1 != 2 and 3 <= 4 and 5 >= 6\n",
    "x = [1, 2][0]\ny = (1 + 2) * 3\nz = 1 << 2 >> 3\n",
    "def f():\n    return\nf()\n",
    "assert 1 == 1\nassert 2\n",
    "x = 1 - (2 - 3) - 4\ny = 2 * (3 * 4)\nz = 1 + 2 + 3\n",
]


@pytest.mark.parametrize("text", ROUND_TRIP_PROGRAMS)
def test_canonical_text_round_trips(text: str) -> None:
    m = parse(text)
    assert to_dsl(m) == text
    assert parse(to_dsl(m)) == m


def test_noncanonical_text_prints_canonically() -> None:
    text = "x=(1+2)*3 # c\nif  (x):\n  y=[ 1,2 ] [0]\nfor i in range(0 , 4):\n      print( i,y )\n"
    assert to_dsl(parse(text)) == (
        "x = (1 + 2) * 3\nif x:\n    y = [1, 2][0]\nfor i in range(4):\n    print(i, y)\n"
    )


# ---- errors -------------------------------------------------------------

BAD = [
    ("if x\n    y = 1\n", 1, 5, "expected ':' after if condition, found newline"),
    ("while x\n    pass\n", 1, 8, "expected ':' after while condition, found newline"),
    ("if x:\n    pass\nelif y\n    pass\n", 3, 7, "expected ':' after elif condition, found newline"),
    ("if x:\n    pass\nelse\n    pass\n", 3, 5, "expected ':' after 'else', found newline"),
    ("x = (1 +\n", 1, 9, "expected expression, found newline"),
    ("x = (1 + 2\n", 1, 11, "expected ')' to close '(' at line 1, col 5, found newline"),
    ("x = (1 + 2", 1, 11, "expected ')' to close '(' at line 1, col 5, found end of input"),
    ("a < b < c\n", 1, 7, "chained comparisons are not supported (use 'and')"),
    ("x = a == b != c\n", 1, 12, "chained comparisons are not supported (use 'and')"),
    ("x = 1\n  y = 2\n", 2, 3, "unexpected indent"),
    ("if x:\n    y = 1\n  z = 2\n", 3, 3, "unindent does not match any outer indentation level"),
    ("x = 007\n", 1, 5, "leading zeros in integer literal '007' are not allowed"),
    ("x = 12ab\n", 1, 5, "invalid integer literal '12ab'"),
    ("x = 9223372036854775808\n", 1, 5, "integer literal too large (the largest is 9223372036854775807)"),
    ("\tx = 1\n", 1, 1, "tab characters are not allowed; indent with spaces"),
    ("x =\t1\n", 1, 4, "tab characters are not allowed; use spaces"),
    ("x = y $ 2\n", 1, 7, "unexpected character '$'"),
    ("x = 1; y = 2\n", 1, 6, "unexpected character ';' (one statement per line)"),
    ("x = !y\n", 1, 5, "unexpected character '!' (use 'not', or '!=')"),
    ("x = a && b\n", 1, 8, "expected expression, found '&' ('&&' is not a DSL operator: use 'and')"),
    ("x = a & & b\n", 1, 9, "expected expression, found '&'"),
    ("x + 1\n", 1, 6, "expected '=' after expression, found newline (only calls can be used as statements)"),
    ("f(x) = 3\n", 1, 1, "cannot assign to a function call"),
    ("1 = x\n", 1, 1, "cannot assign to a number"),
    ("x = y = 1\n", 1, 7, "expected newline after statement, found '='"),
    ("print 1\n", 1, 7, "expected '(' after 'print', found '1'"),
    ("print(1 2)\n", 1, 9, "expected ',' or ')' in print(...), found '2'"),
    ("f(1,)\n", 1, 5, "expected expression, found ')'"),
    ("x = f(1 2)\n", 1, 9, "expected ',' or ')' in call to 'f', found '2'"),
    ("x = a[1\n", 1, 8, "expected ']' after index, found newline"),
    ("x = [1, 2\n", 1, 10, "expected ',' or ']' in array literal, found newline"),
    ("for i in range(1, 2, 3, 4):\n    pass\n", 1, 10, "range() takes 1 to 3 arguments, found 4"),
    ("for i in range():\n    pass\n", 1, 16, "expected expression, found ')'"),
    ("for i in [1, 2]:\n    pass\n", 1, 10, "expected 'range' after 'in', found '['"),
    ("for i range(3):\n    pass\n", 1, 7, "expected 'in' after loop variable, found 'range'"),
    ("for if in range(3):\n    pass\n", 1, 5, "expected loop variable name after 'for', found keyword 'if'"),
    ("for i in range(3)\n    pass\n", 1, 18, "expected ':' after range(...), found newline"),
    ("def f(a,):\n    pass\n", 1, 9, "expected parameter name, found ')'"),
    ("def f(a b):\n    pass\n", 1, 9, "expected ',' or ')' after parameter, found 'b'"),
    ("def (a):\n    pass\n", 1, 5, "expected function name after 'def', found '('"),
    ("def f:\n    pass\n", 1, 6, "expected '(' after function name, found ':'"),
    ("def f()\n    pass\n", 1, 8, "expected ':' after function signature, found newline"),
    ("else:\n    pass\n", 1, 1, "unexpected 'else' without a matching 'if'"),
    ("x = a == not b\n", 1, 10, "expected expression, found 'not' (put the 'not' expression in parentheses)"),
    ("x = print\n", 1, 5, "expected expression, found keyword 'print'"),
    ("if x:\n", 2, 1, "expected an indented block after 'if' on line 1, found end of input"),
    ("if x:\nprint(1)\n", 2, 1, "expected an indented block after 'if' on line 1, found 'print'"),
    ("if x: pass\n", 1, 7, "expected newline after ':' of 'if' on line 1, found 'pass'"),
    (")\n", 1, 1, "expected statement, found ')'"),
    ("return 1 2\n", 1, 10, "expected newline after statement, found '2'"),
    (
        "x = 1 // 2\n",
        1,
        8,
        "expected expression, found '/' ('//' is not a DSL operator: '/' divides, truncating toward zero)",
    ),
    ("x = 2 ** 3\n", 1, 8, "expected expression, found '*' ('**' is not a DSL operator)"),
    ("break 1\n", 1, 7, "expected newline after statement, found '1'"),
    ("x = é\n", 1, 5, "unexpected character 'é'"),
]


@pytest.mark.parametrize(("text", "line", "col", "message"), BAD)
def test_parse_error_positions(text: str, line: int, col: int, message: str) -> None:
    with pytest.raises(ParseError) as info:
        parse(text, file="prog.cad")
    err = info.value
    assert (err.line, err.col, err.message) == (line, col, message)
    assert str(err) == f"prog.cad:{line}:{col}: {message}"


def test_nesting_is_bounded() -> None:
    ok = "x = " + "(" * (MAX_DEPTH - 5) + "1" + ")" * (MAX_DEPTH - 5) + "\n"
    assert parse(ok).body[0].value == Num(1)
    for text in [
        "x = " + "(" * 1000 + "1" + ")" * 1000 + "\n",
        "x = " + "-" * 5000 + "1\n",
        "x = " + "not " * 5000 + "1\n",
        "x = " + "[" * 1000 + "]" * 1000 + "\n",
        "x = a" + "[0" * 1000 + "]" * 1000 + "\n",
        "".join("    " * i + "if 1:\n" for i in range(400)) + "    " * 400 + "pass\n",
    ]:
        with pytest.raises(ParseError, match="nesting too deep"):
            parse(text)


def test_long_flat_chains_are_fine() -> None:
    text = "x = " + " + ".join(["1"] * 3000) + "\n"
    m = parse(text)
    assert isinstance(m.body[0].value, A.BinOp)


def test_long_elif_chains() -> None:
    n = 150
    lines = ["x = read()\n", "if x == 0:\n    y = 0\n"]
    lines += [f"elif x == {i}:\n    y = {i}\n" for i in range(1, n)]
    lines.append("else:\n    y = -1\n")
    text = "".join(lines)
    m = parse(text)
    assert to_dsl(m) == text
    node, depth = m.body[1], 0
    while node.orelse and isinstance(node.orelse[0], A.If):
        assert (node.line, node.col) == (2 + 2 * depth, 1)
        node, depth = node.orelse[0], depth + 1
    assert depth == n - 1 and node.orelse == (A.Assign(N("y"), A.Unary(A.UnaryKind.NEG, Num(1))),)
