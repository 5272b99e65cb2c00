"""The DSL parser: tokens to the typed AST (plain recursive descent).

Statements are parsed by one function each; expressions by precedence
climbing over one table, so a level of parentheses costs two Python frames
and flat operator chains cost none. Nesting (blocks, parentheses, unary
operators, brackets) is bounded by `MAX_DEPTH`; deeper text is a
`ParseError` ("nesting too deep"), never a `RecursionError`.

Positions: a statement is at its first token; a name, number, call, array
literal or unary expression at its first token; a binary operation,
comparison, boolean operation or indexing at its operator token (`+`, `<`,
`and`, `[`).
"""

from __future__ import annotations

from cadmus.lang import ast as A
from cadmus.lang.errors import ParseError
from cadmus.lang.lexer import DEDENT, EOF, INDENT, NAME, NEWLINE, NUM, Token, describe, tokenize

MAX_DEPTH = 200

# Binary operator token -> (precedence level, node class, operator kind).
# Levels: or 1 < and 2 < not 3 < comparisons 4 < | 5 < ^ 6 < & 7 < shifts 8
# < + - 9 < * / % 10 < unary - ~ 11 < postfix and atoms.
_CMP = 4
_NOT = 3
_UNARY = 11
_BINARY: dict[str, tuple[int, type, object]] = {
    "or": (1, A.BoolOp, A.BoolKind.OR),
    "and": (2, A.BoolOp, A.BoolKind.AND),
    "==": (_CMP, A.Compare, A.CmpKind.EQ),
    "!=": (_CMP, A.Compare, A.CmpKind.NE),
    "<": (_CMP, A.Compare, A.CmpKind.LT),
    "<=": (_CMP, A.Compare, A.CmpKind.LE),
    ">": (_CMP, A.Compare, A.CmpKind.GT),
    ">=": (_CMP, A.Compare, A.CmpKind.GE),
    "|": (5, A.BinOp, A.BinOpKind.BOR),
    "^": (6, A.BinOp, A.BinOpKind.BXOR),
    "&": (7, A.BinOp, A.BinOpKind.BAND),
    "<<": (8, A.BinOp, A.BinOpKind.SHL),
    ">>": (8, A.BinOp, A.BinOpKind.SHR),
    "+": (9, A.BinOp, A.BinOpKind.ADD),
    "-": (9, A.BinOp, A.BinOpKind.SUB),
    "*": (10, A.BinOp, A.BinOpKind.MUL),
    "/": (10, A.BinOp, A.BinOpKind.TDIV),
    "%": (10, A.BinOp, A.BinOpKind.TMOD),
}
_AUGMENTED: dict[str, A.BinOpKind] = {
    "+=": A.BinOpKind.ADD,
    "-=": A.BinOpKind.SUB,
    "*=": A.BinOpKind.MUL,
    "/=": A.BinOpKind.TDIV,
    "%=": A.BinOpKind.TMOD,
    "&=": A.BinOpKind.BAND,
    "|=": A.BinOpKind.BOR,
    "^=": A.BinOpKind.BXOR,
    "<<=": A.BinOpKind.SHL,
    ">>=": A.BinOpKind.SHR,
}
_DOUBLED = {
    "/": " ('//' is not a DSL operator: '/' divides, truncating toward zero)",
    "*": " ('**' is not a DSL operator)",
    "&": " ('&&' is not a DSL operator: use 'and')",
    "|": " ('||' is not a DSL operator: use 'or')",
}
_EXPR_START = frozenset({NAME, NUM, "(", "[", "-", "~", "not"})


def _what(expr: A.Expr) -> str:
    if isinstance(expr, A.Call):
        return "a function call"
    if isinstance(expr, A.Num):
        return "a number"
    if isinstance(expr, A.ArrayLit):
        return "an array literal"
    if isinstance(expr, A.Compare):
        return "a comparison"
    return "an expression"


class _Parser:
    __slots__ = ("depth", "file", "pos", "tok", "tokens")

    def __init__(self, tokens: list[Token], file: str | None) -> None:
        self.tokens = tokens
        self.pos = 0
        self.tok = tokens[0]
        self.file = file
        self.depth = 0

    # ---- helpers -------------------------------------------------------

    def error(self, message: str, tok: Token | None = None) -> ParseError:
        tok = self.tok if tok is None else tok
        return ParseError(message, file=self.file, line=tok[2], col=tok[3])

    def advance(self) -> Token:
        tok = self.tok
        self.pos += 1
        self.tok = self.tokens[self.pos]
        return tok

    def expect(self, kind: str, context: str) -> Token:
        tok = self.tok
        if tok[0] != kind:
            shown = "newline" if kind == NEWLINE else f"'{kind}'"
            raise self.error(f"expected {shown} {context}, found {describe(tok)}")
        self.pos += 1
        self.tok = self.tokens[self.pos]
        return tok

    def expect_name(self, what: str) -> Token:
        tok = self.tok
        if tok[0] != NAME:
            found = describe(tok)
            if tok[0] not in (NEWLINE, EOF, INDENT, DEDENT) and tok[1].isidentifier():
                found = f"keyword {found}"
            raise self.error(f"expected {what}, found {found}")
        return self.advance()

    def doubled_hint(self) -> str:
        """A hint when the bad token repeats the operator right before it (`//`, `**`, `&&`, `||`)."""
        tok = self.tok
        prev = self.tokens[self.pos - 1] if self.pos else None
        if prev is None or prev[0] != tok[0] or prev[2] != tok[2] or prev[3] + 1 != tok[3]:
            return ""
        return _DOUBLED.get(tok[0], "")

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"nesting too deep (more than {MAX_DEPTH} levels)")

    # ---- statements ----------------------------------------------------

    def module(self) -> A.Module:
        body = []
        while self.tok[0] != EOF:
            body.append(self.statement())
        return A.Module(tuple(body), line=1, col=1)

    def block(self, keyword: str, line: int) -> tuple[A.Stmt, ...]:
        """After the ':' of the `keyword` statement on `line`: NEWLINE INDENT statement+ DEDENT."""
        if self.tok[0] != NEWLINE:
            raise self.error(
                f"expected newline after ':' of '{keyword}' on line {line}, found {describe(self.tok)}"
            )
        self.advance()
        if self.tok[0] != INDENT:
            raise self.error(
                f"expected an indented block after '{keyword}' on line {line}, found {describe(self.tok)}"
            )
        self.advance()
        self.enter()
        body = []
        while self.tok[0] != DEDENT:
            body.append(self.statement())
        self.advance()
        self.depth -= 1
        return tuple(body)

    def end_simple(self) -> None:
        tok = self.tok
        if tok[0] != NEWLINE:
            raise self.error(f"expected newline after statement, found {describe(tok)}")
        self.advance()

    def statement(self) -> A.Stmt:
        tok = self.tok
        kind = tok[0]
        method = _STATEMENTS.get(kind)
        if method is not None:
            return method(self)
        if kind in _EXPR_START:
            return self.simple()
        if kind == INDENT:
            raise self.error("unexpected indent")
        if kind in ("elif", "else"):
            raise self.error(f"unexpected '{kind}' without a matching 'if'")
        raise self.error(f"expected statement, found {describe(tok)}")

    def simple(self) -> A.Stmt:
        start = self.tok
        line, col = start[2], start[3]
        target = self.expr(1)
        kind = self.tok[0]
        if kind == "=" or kind in _AUGMENTED:
            if not isinstance(target, A.Name | A.Index):
                raise self.error(f"cannot assign to {_what(target)}", start)
            self.advance()
            value = self.expr(1)
            self.end_simple()
            if kind == "=":
                return A.Assign(target, value, line=line, col=col)
            return A.AugAssign(target, _AUGMENTED[kind], value, line=line, col=col)
        if not isinstance(target, A.Call):
            raise self.error(
                f"expected '=' after expression, found {describe(self.tok)} "
                "(only calls can be used as statements)"
            )
        self.end_simple()
        return A.ExprStmt(target, line=line, col=col)

    def if_stmt(self) -> A.If:
        start = self.advance()
        cond = self.expr(1)
        self.expect(":", "after if condition")
        body = self.block("if", start[2])
        # elif chains are read in a loop and nested from the last one back.
        arms = [(start, cond, body)]
        orelse: tuple[A.Stmt, ...] = ()
        while True:
            tok = self.tok
            if tok[0] == "elif":
                self.advance()
                cond = self.expr(1)
                self.expect(":", "after elif condition")
                arms.append((tok, cond, self.block("elif", tok[2])))
            elif tok[0] == "else":
                self.advance()
                self.expect(":", "after 'else'")
                orelse = self.block("else", tok[2])
                break
            else:
                break
        for tok, cond, body in reversed(arms):
            node = A.If(cond, body, orelse, line=tok[2], col=tok[3])
            orelse = (node,)
        return node

    def while_stmt(self) -> A.While:
        start = self.advance()
        cond = self.expr(1)
        self.expect(":", "after while condition")
        body = self.block("while", start[2])
        return A.While(cond, body, line=start[2], col=start[3])

    def for_stmt(self) -> A.For:
        start = self.advance()
        var = self.expect_name("loop variable name after 'for'")[1]
        self.expect("in", "after loop variable")
        rng = self.expect("range", "after 'in'")
        self.expect("(", "after 'range'")
        args = [self.expr(1)]
        while self.tok[0] == ",":
            self.advance()
            args.append(self.expr(1))
        if self.tok[0] != ")":
            raise self.error(f"expected ',' or ')' in range(...), found {describe(self.tok)}")
        if len(args) > 3:
            raise self.error(f"range() takes 1 to 3 arguments, found {len(args)}", rng)
        self.advance()
        self.expect(":", "after range(...)")
        body = self.block("for", start[2])
        if len(args) == 1:
            begin: A.Expr = A.Num(0, line=rng[2], col=rng[3])
            stop, step = args[0], None
        else:
            begin, stop = args[0], args[1]
            step = args[2] if len(args) == 3 else None
        return A.For(var, begin, stop, step, body, line=start[2], col=start[3])

    def def_stmt(self) -> A.FuncDef:
        start = self.advance()
        name = self.expect_name("function name after 'def'")[1]
        self.expect("(", "after function name")
        params = []
        if self.tok[0] != ")":
            params.append(self.expect_name("parameter name")[1])
            while self.tok[0] == ",":
                self.advance()
                params.append(self.expect_name("parameter name")[1])
            if self.tok[0] != ")":
                raise self.error(f"expected ',' or ')' after parameter, found {describe(self.tok)}")
        self.advance()
        self.expect(":", "after function signature")
        body = self.block("def", start[2])
        return A.FuncDef(name, tuple(params), body, line=start[2], col=start[3])

    def return_stmt(self) -> A.Return:
        start = self.advance()
        value = None if self.tok[0] == NEWLINE else self.expr(1)
        self.end_simple()
        return A.Return(value, line=start[2], col=start[3])

    def print_stmt(self) -> A.Print:
        start = self.advance()
        self.expect("(", "after 'print'")
        args = self.arguments(None)
        self.end_simple()
        return A.Print(args, line=start[2], col=start[3])

    def assert_stmt(self) -> A.Assert:
        start = self.advance()
        test = self.expr(1)
        self.end_simple()
        return A.Assert(test, line=start[2], col=start[3])

    def break_stmt(self) -> A.Break:
        start = self.advance()
        self.end_simple()
        return A.Break(line=start[2], col=start[3])

    def continue_stmt(self) -> A.Continue:
        start = self.advance()
        self.end_simple()
        return A.Continue(line=start[2], col=start[3])

    def pass_stmt(self) -> A.Pass:
        start = self.advance()
        self.end_simple()
        return A.Pass(line=start[2], col=start[3])

    # ---- expressions ---------------------------------------------------

    def arguments(self, func: str | None) -> tuple[A.Expr, ...]:
        """After '(' of a call of `func` (None: `print`): expressions up to and including ')'."""
        if self.tok[0] == ")":
            self.advance()
            return ()
        args = [self.expr(1)]
        while self.tok[0] == ",":
            self.advance()
            args.append(self.expr(1))
        if self.tok[0] != ")":
            where = "print(...)" if func is None else f"call to '{func}'"
            raise self.error(f"expected ',' or ')' in {where}, found {describe(self.tok)}")
        self.advance()
        return tuple(args)

    def expr(self, min_level: int) -> A.Expr:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"nesting too deep (more than {MAX_DEPTH} levels)")
        tok = self.tok
        kind = tok[0]
        if kind == "-" or kind == "~":
            self.advance()
            operand = self.expr(_UNARY)
            op = A.UnaryKind.NEG if kind == "-" else A.UnaryKind.INVERT
            left: A.Expr = A.Unary(op, operand, line=tok[2], col=tok[3])
        elif kind == "not":
            if min_level > _NOT:
                raise self.error("expected expression, found 'not' (put the 'not' expression in parentheses)")
            self.advance()
            left = A.Unary(A.UnaryKind.NOT, self.expr(_NOT), line=tok[2], col=tok[3])
        else:
            left = self.postfix()
        binary = _BINARY
        while True:
            op_tok = self.tok
            info = binary.get(op_tok[0])
            if info is None:
                break
            level, cls, op = info
            if level < min_level:
                break
            self.pos += 1
            self.tok = self.tokens[self.pos]
            right = self.expr(level + 1)
            left = cls(op, left, right, line=op_tok[2], col=op_tok[3])
            if level == _CMP:
                nxt = binary.get(self.tok[0])
                if nxt is not None and nxt[0] == _CMP:
                    raise self.error("chained comparisons are not supported (use 'and')")
        self.depth -= 1
        return left

    def postfix(self) -> A.Expr:
        tok = self.tok
        kind = tok[0]
        tokens = self.tokens
        if kind == NAME:
            self.pos += 1
            self.tok = tokens[self.pos]
            if self.tok[0] == "(":
                self.advance()
                node: A.Expr = A.Call(tok[1], self.arguments(tok[1]), line=tok[2], col=tok[3])
            else:
                node = A.Name(tok[1], line=tok[2], col=tok[3])
        elif kind == NUM:
            self.pos += 1
            self.tok = tokens[self.pos]
            node = A.Num(int(tok[1]), line=tok[2], col=tok[3])
        elif kind == "(":
            self.advance()
            node = self.expr(1)
            if self.tok[0] != ")":
                raise self.error(
                    f"expected ')' to close '(' at line {tok[2]}, col {tok[3]}, found {describe(self.tok)}"
                )
            self.advance()
        elif kind == "[":
            self.advance()
            self.enter()
            elts = []
            if self.tok[0] != "]":
                elts.append(self.expr(1))
                while self.tok[0] == ",":
                    self.advance()
                    elts.append(self.expr(1))
                if self.tok[0] != "]":
                    raise self.error(f"expected ',' or ']' in array literal, found {describe(self.tok)}")
            self.advance()
            self.depth -= 1
            node = A.ArrayLit(tuple(elts), line=tok[2], col=tok[3])
        else:
            found = describe(tok)
            if kind not in (NEWLINE, EOF, INDENT, DEDENT) and tok[1].isidentifier():
                found = f"keyword {found}"
            raise self.error(f"expected expression, found {found}{self.doubled_hint()}")
        while self.tok[0] == "[":
            br = self.advance()
            index = self.expr(1)
            if self.tok[0] != "]":
                raise self.error(f"expected ']' after index, found {describe(self.tok)}")
            self.advance()
            node = A.Index(node, index, line=br[2], col=br[3])
        return node


_STATEMENTS = {
    "if": _Parser.if_stmt,
    "while": _Parser.while_stmt,
    "for": _Parser.for_stmt,
    "def": _Parser.def_stmt,
    "return": _Parser.return_stmt,
    "print": _Parser.print_stmt,
    "assert": _Parser.assert_stmt,
    "break": _Parser.break_stmt,
    "continue": _Parser.continue_stmt,
    "pass": _Parser.pass_stmt,
}


def parse(text: str, file: str | None = None) -> A.Module:
    """Parse DSL source text into a `Module`; raises `ParseError` (line, col, what, found)."""
    parser = _Parser(tokenize(text, file), file)
    try:
        return parser.module()
    except RecursionError:
        raise parser.error("nesting too deep") from None


def parse_expr(text: str, file: str | None = None) -> A.Expr:
    """Parse one expression (the whole text, on one line)."""
    parser = _Parser(tokenize(text, file), file)
    try:
        tok = parser.tok
        if tok[0] == INDENT:
            raise parser.error("unexpected indent")
        node = parser.expr(1)
        if parser.tok[0] != NEWLINE or parser.tokens[parser.pos + 1][0] != EOF:
            raise parser.error(f"expected end of expression, found {describe(parser.tok)}")
        return node
    except RecursionError:
        raise parser.error("nesting too deep") from None
