"""One parser for every generated language, driven by its spec (`parse_generated`).

A spec-driven lexer (numbers, names with the spec's sigil and letter case,
the spec's words and longest-match symbols, comments, newlines, and
INDENT/DEDENT for an indented layout) feeds a recursive-descent parser with
the DSL's grammar and precedence (docs/language.md) over the spec's
spellings and word orders. It produces the tree the DSL parser would:
`parse_generated(to_generated(m, spec), spec) == m`.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from cadmus.lang import ast as A
from cadmus.lang.errors import ParseError
from cadmus.lang.genlang_spec import AUG_KEYS, IDENTIFIER_PATTERNS, LanguageSpec, symbol_table
from cadmus.lang.lexer import MAX_INT

NUM, NAME, TOK, NL, INDENT, DEDENT, EOF = "num", "name", "tok", "newline", "indent", "dedent", "eof"

_BINARY: dict[str, A.BinOpKind | A.CmpKind] = {
    **{k.value: k for k in A.BinOpKind if k.value in ("+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>")},
    **{k.value: k for k in A.CmpKind},
}
# The DSL's binary levels from loosest (bit or) to tightest (multiplication).
_LEVELS: tuple[tuple[str, ...], ...] = (("|",), ("^",), ("&",), ("<<", ">>"), ("+", "-"), ("*", "/", "%"))


class Token(NamedTuple):
    kind: str
    text: str
    line: int
    col: int


class _Grammar:
    """What the lexer and parser need of one spec, computed once."""

    def __init__(self, spec: LanguageSpec) -> None:
        self.spec = spec
        symbols = symbol_table(spec)
        sym = "|".join(re.escape(s) for s in symbols)
        ident = IDENTIFIER_PATTERNS[spec.names]
        parts = [r"(?P<num>[0-9]+)"]
        if spec.sigil:
            parts.append(rf"(?P<name>{re.escape(spec.sigil)}[A-Za-z0-9_]+)")
        parts += [r"(?P<word>[A-Za-z_][A-Za-z0-9_]*)", rf"(?P<sym>{sym})", r"(?P<space> +)", r"(?P<bad>.)"]
        self.pattern = re.compile("|".join(parts))
        self.ident = re.compile(ident + r"\Z")
        self.words = {t for _k, t in spec.spellings() if t[:1].isalpha()}
        ops = spec.operators
        self.binary = {ops[k]: (_BINARY[k], i) for i, level in enumerate(_LEVELS) for k in level}
        self.cmp = {ops[k.value]: k for k in A.CmpKind}
        self.aug_glued = {spec.aug(k): A.BinOpKind(k) for k in AUG_KEYS if spec.aug(k)}
        self.aug_spaced = {ops[k]: A.BinOpKind(k) for k in AUG_KEYS if not spec.aug(k)}
        self.closers = set(spec.block.closers.values()) - {""}


_CACHE: dict[int, tuple[LanguageSpec, _Grammar]] = {}


def _grammar(spec: LanguageSpec) -> _Grammar:
    hit = _CACHE.get(id(spec))
    if hit is not None and hit[0] is spec:
        return hit[1]
    if len(_CACHE) > 4096:
        _CACHE.clear()
    g = _Grammar(spec)
    _CACHE[id(spec)] = (spec, g)
    return g


def tokenize_generated(text: str, spec: LanguageSpec) -> list[Token]:
    """The tokens of `text` in `spec`'s language; names come back as DSL names."""
    g = _grammar(spec)
    indent_layout = spec.block.layout == "indent"
    comment = spec.comment
    out: list[Token] = []
    levels = [0]
    lines = text.split("\n")
    for ln, raw in enumerate(lines, 1):
        line = raw.rstrip("\r")
        if "\t" in line:
            raise ParseError("tabs are not allowed", line=ln, col=line.index("\t") + 1)
        pos = len(line) - len(line.lstrip(" "))
        row: list[Token] = []
        for m in g.pattern.finditer(line, pos):
            kind = m.lastgroup
            if kind == "space":
                continue
            word = m.group(0)
            col = m.start() + 1
            if word == comment:
                break
            if kind == "num":
                if len(word) > 1 and word[0] == "0":
                    raise ParseError(f"leading zeros in {word!r}", line=ln, col=col)
                row.append(Token(NUM, word, ln, col))
            elif kind == "sym":
                row.append(Token(TOK, word, ln, col))
            elif kind == "name":
                body = word[len(spec.sigil) :]
                if not g.ident.match(body):
                    raise ParseError(f"{word!r} is not a name in this language", line=ln, col=col)
                row.append(Token(NAME, body.lower(), ln, col))
            elif kind == "word":
                if word in g.words:
                    row.append(Token(TOK, word, ln, col))
                elif not spec.sigil and g.ident.match(word):
                    row.append(Token(NAME, word.lower(), ln, col))
                else:
                    raise ParseError(f"unknown word {word!r}", line=ln, col=col)
            else:
                raise ParseError(f"unexpected character {word!r}", line=ln, col=col)
        if not row:
            continue
        if indent_layout:
            width = len(line) - len(line.lstrip(" "))
            if width > levels[-1]:
                levels.append(width)
                out.append(Token(INDENT, "", ln, 1))
            while width < levels[-1]:
                levels.pop()
                out.append(Token(DEDENT, "", ln, 1))
            if width != levels[-1]:
                raise ParseError("unindent does not match any outer indentation level", line=ln, col=1)
        out.extend(row)
        out.append(Token(NL, "", ln, len(line) + 1))
    end = len(lines)
    for _ in levels[1:]:
        out.append(Token(DEDENT, "", end, 1))
    out.append(Token(EOF, "", end, 1))
    out.append(Token(EOF, "", end, 1))  # so that a look one token ahead never runs off the end
    return out


class _Parser:
    def __init__(self, text: str, spec: LanguageSpec) -> None:
        self.spec = spec
        self.g = _grammar(spec)
        self.kw = spec.keywords
        self.ops = spec.operators
        self.toks = tokenize_generated(text, spec)
        self.pos = 0
        self.assign = spec.assign.op
        self.depth = 0

    # ---- helpers ----------------------------------------------------------------

    @property
    def tok(self) -> Token:
        return self.toks[self.pos]

    def error(self, message: str, tok: Token | None = None) -> ParseError:
        t = tok or self.tok
        return ParseError(message, line=t.line, col=t.col)

    def at(self, text: str, offset: int = 0) -> bool:
        t = self.toks[self.pos + offset]
        return t.text == text and t.kind == TOK

    def at_kw(self, key: str) -> bool:
        return self.at(self.kw[key])

    def take(self) -> Token:
        t = self.toks[self.pos]
        if t.kind != EOF:
            self.pos += 1
        return t

    def expect(self, text: str, what: str) -> Token:
        if not self.at(text):
            raise self.error(f"expected {text!r} {what}, found {_describe(self.tok)}")
        return self.take()

    def expect_kind(self, kind: str, what: str) -> Token:
        if self.tok.kind != kind:
            raise self.error(f"expected {what}, found {_describe(self.tok)}")
        return self.take()

    def end_of_statement(self) -> None:
        if self.spec.terminator:
            self.expect(self.spec.terminator, "at the end of the statement")
        self.expect_kind(NL, "the end of the line")

    # ---- statements -------------------------------------------------------------

    def module(self) -> A.Module:
        body: list[A.Stmt] = []
        while self.tok.kind != EOF:
            body.append(self.statement())
        return A.Module(tuple(body))

    def statement(self) -> A.Stmt:
        t = self.tok
        if t.kind == TOK:
            kw = self.kw
            text = t.text
            if text == kw["if"]:
                return self.if_stmt()
            if text == kw["while"]:
                self.take()
                cond = self.expr()
                body = self.body()
                self.close("while")
                return A.While(cond, body, line=t.line, col=t.col)
            if text == kw["for"]:
                return self.for_stmt()
            if text == kw["def"]:
                self.take()
                name = self.expect_kind(NAME, "a function name").text
                self.expect("(", "after the function name")
                params: list[str] = []
                if not self.at(")"):
                    params.append(self.expect_kind(NAME, "a parameter").text)
                    while self.at(","):
                        self.take()
                        params.append(self.expect_kind(NAME, "a parameter").text)
                self.expect(")", "after the parameters")
                body = self.body()
                self.close("def")
                return A.FuncDef(name, tuple(params), body, line=t.line, col=t.col)
            stmt = self.simple_keyword(t)
            if stmt is not None:
                self.end_of_statement()
                return stmt
        stmt = self.assignment_or_call(t)
        self.end_of_statement()
        return stmt

    def simple_keyword(self, t: Token) -> A.Stmt | None:
        kw = self.kw
        text = t.text
        if text == kw["print"]:
            self.take()
            if self.spec.print_parens:
                args = self.args("(", ")")
            else:
                args = ()
                if self.tok.kind != NL and not self.at(self.spec.terminator or "\0"):
                    items = [self.expr()]
                    while self.at(","):
                        self.take()
                        items.append(self.expr())
                    args = tuple(items)
            return A.Print(args, line=t.line, col=t.col)
        if text == kw["return"]:
            self.take()
            if self.tok.kind == NL or (self.spec.terminator and self.at(self.spec.terminator)):
                return A.Return(None, line=t.line, col=t.col)
            return A.Return(self.expr(), line=t.line, col=t.col)
        if text == kw["assert"]:
            self.take()
            return A.Assert(self.expr(), line=t.line, col=t.col)
        for key, cls in (("break", A.Break), ("continue", A.Continue), ("pass", A.Pass)):
            if text == kw[key]:
                self.take()
                return cls(line=t.line, col=t.col)
        return None

    def aug_op(self) -> A.BinOpKind | None:
        """The augmented operator at the cursor (consumed with the assignment token), if any."""
        t = self.tok
        if t.kind != TOK:
            return None
        if t.text in self.g.aug_glued:
            self.take()
            return self.g.aug_glued[t.text]
        if t.text in self.g.aug_spaced and self.at(self.assign, 1):
            self.take()
            self.take()
            return self.g.aug_spaced[t.text]
        return None

    def assignment_or_call(self, t: Token) -> A.Stmt:
        form = self.spec.assign.form
        if form == "prefix":
            if not self.at(self.spec.assign.lead):
                return self.call_statement(t)
            self.take()
            target = self.target(self.expr())
            return self.assign_rest(target, t)
        first = self.expr()
        if form == "reversed":
            if self.at(self.assign):
                self.take()
                return A.Assign(self.target(self.postfix()), first, line=t.line, col=t.col)
            op = self.aug_op()
            if op is not None:
                return A.AugAssign(self.target(self.postfix()), op, first, line=t.line, col=t.col)
            return self.as_call(first, t)
        if self.at(self.assign) or (self.tok.kind == TOK and self.tok.text in self.g.aug_glued):
            return self.assign_rest(self.target(first), t)
        if self.tok.kind == TOK and self.tok.text in self.g.aug_spaced and self.at(self.assign, 1):
            return self.assign_rest(self.target(first), t)
        return self.as_call(first, t)

    def assign_rest(self, target: A.Name | A.Index, t: Token) -> A.Stmt:
        if self.at(self.assign):
            self.take()
            return A.Assign(target, self.expr(), line=t.line, col=t.col)
        op = self.aug_op()
        if op is None:
            raise self.error(f"expected {self.assign!r} in an assignment, found {_describe(self.tok)}")
        return A.AugAssign(target, op, self.expr(), line=t.line, col=t.col)

    def call_statement(self, t: Token) -> A.Stmt:
        return self.as_call(self.expr(), t)

    def as_call(self, e: A.Expr, t: Token) -> A.Stmt:
        if not isinstance(e, A.Call):
            raise self.error("expected a statement (only calls can be used as statements)", t)
        return A.ExprStmt(e, line=t.line, col=t.col)

    def target(self, e: A.Expr) -> A.Name | A.Index:
        if not isinstance(e, A.Name | A.Index):
            raise self.error("assignment target must be a name or an indexed element")
        return e

    def body(self) -> tuple[A.Stmt, ...]:
        """A block's opener, newline and statements (through its DEDENT when indented)."""
        block = self.spec.block
        if block.opener:
            self.expect(block.opener, "to open the block")
        self.expect_kind(NL, "a new line after the block's header")
        stmts: list[A.Stmt] = []
        if block.layout == "indent":
            self.expect_kind(INDENT, "an indented block")
            while self.tok.kind != DEDENT:
                if self.tok.kind == EOF:
                    raise self.error("unexpected end of text in a block")
                stmts.append(self.statement())
            self.take()
        else:
            stops = self.g.closers | {self.kw["elif"], self.kw["else"]}
            while not (self.tok.kind == TOK and self.tok.text in stops):
                if self.tok.kind == EOF:
                    raise self.error("unexpected end of text in a block")
                stmts.append(self.statement())
        if not stmts:
            raise self.error("empty block")
        return tuple(stmts)

    def close(self, construct: str) -> None:
        closer = self.spec.block.closers[construct]
        if closer:
            self.expect(closer, f"to close the {construct} block")
            self.expect_kind(NL, "a new line after the block's closer")

    def if_stmt(self) -> A.If:
        spec = self.spec
        closer = spec.block.closers["if"]
        each = spec.block.else_style == "close_each" and bool(closer)
        heads: list[tuple[Token, A.Expr, tuple[A.Stmt, ...]]] = []
        orelse: tuple[A.Stmt, ...] = ()
        t = self.take()
        cond = self.expr()
        while True:
            body = self.body()
            heads.append((t, cond, body))
            if each:
                self.expect(closer, "to close the if block")
                if not (self.at_kw("elif") or self.at_kw("else")):
                    self.expect_kind(NL, "a new line after the block's closer")
                    break
            if self.at_kw("elif"):
                t = self.take()
                cond = self.expr()
                continue
            if self.at_kw("else"):
                self.take()
                orelse = self.body()
                if each:
                    self.expect(closer, "to close the else block")
                    self.expect_kind(NL, "a new line after the block's closer")
                else:
                    self.close("if")
            elif not each:
                self.close("if")
            break
        for t, cond, body in reversed(heads):
            orelse = (A.If(cond, body, orelse, line=t.line, col=t.col),)
        return orelse[0]  # type: ignore[return-value]

    def for_stmt(self) -> A.For:
        t = self.take()
        kw = self.kw
        var = self.expect_kind(NAME, "a loop variable").text
        step: A.Expr | None = None
        if self.spec.for_style == "from_to":
            self.expect(kw["from"], "after the loop variable")
            start = self.expr()
            self.expect(kw["to"], "after the start")
            stop = self.expr()
            if self.at_kw("step"):
                self.take()
                step = self.expr()
        else:
            self.expect(kw["in"], "after the loop variable")
            rng = self.expect(kw["range"], f"after {kw['in']!r}")
            args = self.args("(", ")")
            if not 1 <= len(args) <= 3:
                raise self.error(f"{kw['range']}(...) takes 1 to 3 arguments, found {len(args)}", rng)
            if len(args) == 1:
                start, stop = A.Num(0, line=rng.line, col=rng.col), args[0]
            else:
                start, stop = args[0], args[1]
                step = args[2] if len(args) == 3 else None
        body = self.body()
        self.close("for")
        return A.For(var, start, stop, step, body, line=t.line, col=t.col)

    # ---- expressions ------------------------------------------------------------

    def args(self, left: str, right: str) -> tuple[A.Expr, ...]:
        self.expect(left, "")
        items: list[A.Expr] = []
        if not self.at(right):
            items.append(self.expr())
            while self.at(","):
                self.take()
                items.append(self.expr())
        self.expect(right, "to close the list")
        return tuple(items)

    def expr(self) -> A.Expr:
        self.depth += 1
        if self.depth > 200:
            raise self.error("expression nested too deeply")
        try:
            return self.bool_level(0)
        finally:
            self.depth -= 1

    def before_assign(self) -> bool:
        """An operator followed by the assignment token starts an augmented assignment, not an operand."""
        return self.at(self.assign, 1)

    def bool_level(self, which: int) -> A.Expr:
        key, kind = (("or", A.BoolKind.OR), ("and", A.BoolKind.AND))[which]
        sub = (lambda: self.bool_level(1)) if which == 0 else self.not_expr
        e = sub()
        spelled = self.ops[key]
        while self.at(spelled) and not self.before_assign():
            t = self.take()
            e = A.BoolOp(kind, e, sub(), line=t.line, col=t.col)
        return e

    def not_expr(self) -> A.Expr:
        if self.at(self.ops["not"]):
            t = self.take()
            self.depth += 1
            if self.depth > 200:
                raise self.error("expression nested too deeply")
            try:
                return A.Unary(A.UnaryKind.NOT, self.not_expr(), line=t.line, col=t.col)
            finally:
                self.depth -= 1
        left = self.binary(0)
        t = self.tok
        if t.kind == TOK and t.text in self.g.cmp and not self.before_assign():
            self.take()
            e = A.Compare(self.g.cmp[t.text], left, self.binary(0), line=t.line, col=t.col)
            t2 = self.tok
            if t2.kind == TOK and t2.text in self.g.cmp and not self.before_assign():
                raise self.error("chained comparisons are not supported")
            return e
        return left

    def binary(self, min_level: int) -> A.Expr:
        """Precedence climbing over the bit and arithmetic levels (all left associative)."""
        e = self.unary()
        table = self.g.binary
        toks = self.toks
        while True:
            t = toks[self.pos]
            info = table.get(t.text) if t.kind == TOK else None
            if info is None or info[1] < min_level or self.before_assign():
                return e
            self.pos += 1
            e = A.BinOp(info[0], e, self.binary(info[1] + 1), line=t.line, col=t.col)  # type: ignore[arg-type]

    def unary(self) -> A.Expr:
        t = self.tok
        if t.kind != TOK:
            return self.postfix()
        for kind, key in ((A.UnaryKind.NEG, "neg"), (A.UnaryKind.INVERT, "~")):
            if t.text == self.ops[key]:
                self.take()
                self.depth += 1
                if self.depth > 200:
                    raise self.error("expression nested too deeply")
                try:
                    return A.Unary(kind, self.unary(), line=t.line, col=t.col)
                finally:
                    self.depth -= 1
        return self.postfix()

    def postfix(self) -> A.Expr:
        e = self.atom()
        while self.at("["):
            t = self.take()
            index = self.expr()
            self.expect("]", "to close the index")
            e = A.Index(e, index, line=t.line, col=t.col)
        return e

    def atom(self) -> A.Expr:
        t = self.tok
        if t.kind == NUM:
            self.take()
            value = int(t.text)
            if value > MAX_INT:
                raise self.error(f"integer literal {value} is out of range", t)
            return A.Num(value, line=t.line, col=t.col)
        if t.kind == NAME:
            self.take()
            if self.at("("):
                return A.Call(t.text, self.args("(", ")"), line=t.line, col=t.col)
            return A.Name(t.text, line=t.line, col=t.col)
        if self.at("("):
            self.take()
            e = self.expr()
            self.expect(")", "to close the parenthesis")
            return e
        if self.at("["):
            return A.ArrayLit(self.args("[", "]"), line=t.line, col=t.col)
        raise self.error(f"expected an expression, found {_describe(t)}")


def _describe(t: Token) -> str:
    if t.kind == TOK:
        return repr(t.text)
    if t.kind in (NUM, NAME):
        return f"{t.kind} {t.text!r}"
    return {NL: "the end of the line", INDENT: "an indent", DEDENT: "a dedent", EOF: "the end of the text"}[
        t.kind
    ]


def parse_generated(text: str, spec: LanguageSpec) -> A.Module:
    """The DSL tree of `text` written in the language `spec` (`ParseError` with line and column)."""
    return _Parser(text, spec).module()
