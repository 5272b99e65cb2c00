"""Printing a DSL tree in a generated language (`to_generated`).

Expressions follow the DSL's precedence levels (`skins.DSL_LEVELS`) and its
parenthesization rules (left associative, no chained comparisons,
`-(-x)`), with the spec's spellings; statements follow the spec's word
orders and block layout. Names are written as sigil + the name in the
spec's letter case, so only DSL-shaped names (`[a-z_][a-z0-9_]*`, which
every task family draws) can be shown; anything else is a `PrintError`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from cadmus.lang import ast as A
from cadmus.lang.errors import PrintError
from cadmus.lang.genlang_spec import AUG_KEYS, LanguageSpec
from cadmus.lang.parser import parse
from cadmus.lang.printer import ExprPrinter
from cadmus.lang.skins import DSL_LEVELS

_DSL_NAME = re.compile(r"[a-z_][a-z0-9_]*\Z")
_BINARY_KEYS = {**{k: k.value for k in A.BinOpKind}, **{k: k.value for k in A.CmpKind}}
_BINARY_KEYS.update({A.BoolKind.AND: "and", A.BoolKind.OR: "or"})
_UNARY_KEYS = {A.UnaryKind.NEG: "neg", A.UnaryKind.NOT: "not", A.UnaryKind.INVERT: "~"}


def _fail(message: str, node: A.Node) -> PrintError:
    return PrintError(message, line=node.line or None, col=node.col or None)


def is_word(text: str) -> bool:
    """A spelling made of letters (printed with spaces around it)."""
    return text[:1].isalpha()


def spell_name(spec: LanguageSpec, name: str) -> str | None:
    """`name` as written in `spec` (sigil and letter case), or None if it is not DSL-shaped."""
    if not _DSL_NAME.match(name):
        return None
    if spec.names == "upper":
        name = name.upper()
    elif spec.names == "capital":
        lead = len(name) - len(name.lstrip("_"))
        if lead == len(name) or not name[lead].isalpha():
            return None
        name = name[:lead] + name[lead].upper() + name[lead + 1 :]
    return spec.sigil + name


class _Printer(ExprPrinter):
    """Expressions as `ExprPrinter` prints them, with the spec's spellings; statements per the spec."""

    no_spelling = "has no spelling here"

    def __init__(self, spec: LanguageSpec) -> None:
        self.spec = spec
        self.kw = spec.keywords
        self.out = []
        ops = spec.operators
        self.ops = {k: (ops[v], DSL_LEVELS[k]) for k, v in _BINARY_KEYS.items() if v in ops}
        self.unary = {}
        for k, v in _UNARY_KEYS.items():
            s = ops[v]
            self.unary[k] = (s + " " if is_word(s) else s, DSL_LEVELS[k])
        self.parens = spec.cond_parens
        self.ind = " " * spec.block.indent
        self.term = spec.terminator
        opener = spec.block.opener
        self.opener = "" if not opener else (opener if opener == ":" else " " + opener)

    def name(self, name: str, node: A.Node) -> str:
        spelled = spell_name(self.spec, name) if isinstance(name, str) else None
        if spelled is None:
            raise _fail(f"{name!r} is not a name a generated language can write ([a-z_][a-z0-9_]*)", node)
        return spelled

    def number(self, e: A.Num) -> int:
        return int(e.value)

    def prefix(self, e: A.Unary) -> tuple[str, int]:
        return self.unary[e.op]  # every UnaryKind is spelled

    def wrap_prefix(self, op: A.UnaryKind, inner: A.UnaryKind) -> bool:
        return op is not A.UnaryKind.NOT  # `-(-x)`, `-(~x)`: never two prefix symbols in a row

    # ---- statements -------------------------------------------------------------

    def block(self, body: Sequence[A.Stmt], depth: int, owner: A.Node) -> None:
        if not body:
            raise _fail("empty block (use pass)", owner)
        self.out.append(f"{self.opener}\n")
        for s in body:
            self.stmt(s, depth + 1)

    def close(self, construct: str, depth: int) -> None:
        closer = self.spec.block.closers[construct]
        if closer:
            self.out.append(f"{self.ind * depth}{closer}\n")

    def assign(self, target: A.Expr, op: A.BinOpKind | None, value: A.Expr, s: A.Stmt) -> None:
        if target.__class__ is not A.Name and target.__class__ is not A.Index:
            raise _fail("assignment target must be a name or an indexed element", s)
        spec = self.spec
        token = spec.assign.op
        if op is not None:
            if op.value not in AUG_KEYS:
                raise _fail(f"augmented operator '{op.value}=' is Python-only", s)
            token = spec.aug(op.value) or f"{spec.operators[op.value]} {token}"
        out = self.out
        if spec.assign.form == "reversed":
            self.expr(value)
            out.append(f" {token} ")
            self.expr(target)
            return
        if spec.assign.form == "prefix":
            out.append(f"{spec.assign.lead} ")
        self.expr(target)
        out.append(f" {token} ")
        self.expr(value)

    def stmt(self, s: A.Stmt, depth: int) -> None:
        out = self.out
        kw = self.kw
        pad = self.ind * depth
        cls = s.__class__
        if cls is A.If:
            self.if_stmt(s, depth)
            return
        if cls is A.While:
            out.append(f"{pad}{kw['while']} ")
            self.cond(s.cond)
            self.block(s.body, depth, s)
            self.close("while", depth)
            return
        if cls is A.For:
            self.for_stmt(s, depth)
            return
        if cls is A.FuncDef:
            out.append(f"{pad}{kw['def']} {self.name(s.name, s)}(")
            out.append(", ".join([self.name(p, s) for p in s.params]))
            out.append(")")
            self.block(s.body, depth, s)
            self.close("def", depth)
            return
        out.append(pad)
        if cls is A.Assign:
            self.assign(s.target, None, s.value, s)
        elif cls is A.AugAssign:
            self.assign(s.target, s.op, s.value, s)
        elif cls is A.Print:
            if self.spec.print_parens:
                out.append(kw["print"])
                self.args(s.args, "(", ")")
            else:
                out.append(kw["print"])
                for i, arg in enumerate(s.args):
                    out.append(", " if i else " ")
                    self.expr(arg)
        elif cls is A.Return:
            out.append(kw["return"])
            if s.value is not None:
                out.append(" ")
                self.expr(s.value)
        elif cls is A.Assert:
            out.append(f"{kw['assert']} ")
            self.expr(s.test)
        elif cls is A.ExprStmt:
            if s.value.__class__ is not A.Call:
                raise _fail("only calls can be used as statements", s)
            self.expr(s.value)
        elif cls is A.Break:
            out.append(kw["break"])
        elif cls is A.Continue:
            out.append(kw["continue"])
        elif cls is A.Pass:
            out.append(kw["pass"])
        else:
            raise _fail(f"cannot print {type(s).__name__} as a statement", s)
        out.append(f"{self.term}\n")

    def if_stmt(self, s: A.If, depth: int) -> None:
        out = self.out
        kw = self.kw
        pad = self.ind * depth
        closer = self.spec.block.closers["if"]
        each = self.spec.block.else_style == "close_each" and closer
        out.append(f"{pad}{kw['if']} ")
        self.cond(s.cond)
        node = s
        while True:
            self.block(node.body, depth, node)
            orelse = node.orelse
            if not orelse:
                break
            lead = f"{pad}{closer} " if each else pad
            if len(orelse) == 1 and orelse[0].__class__ is A.If:
                node = orelse[0]
                out.append(f"{lead}{kw['elif']} ")
                self.cond(node.cond)
                continue
            out.append(f"{lead}{kw['else']}")
            self.block(orelse, depth, node)
            break
        self.close("if", depth)

    def for_stmt(self, s: A.For, depth: int) -> None:
        out = self.out
        kw = self.kw
        out.append(f"{self.ind * depth}{kw['for']} {self.name(s.var, s)} ")
        if self.spec.for_style == "from_to":
            out.append(f"{kw['from']} ")
            self.expr(s.start)
            out.append(f" {kw['to']} ")
            self.expr(s.stop)
            if s.step is not None:
                out.append(f" {kw['step']} ")
                self.expr(s.step)
        else:
            out.append(f"{kw['in']} {kw['range']}(")
            self.range_args(s)
            out.append(")")
        self.block(s.body, depth, s)
        self.close("for", depth)


def to_generated(node: A.Module | A.Expr, spec: LanguageSpec) -> str:
    """The text of a DSL module (or expression) in the language `spec`.

    Raises `PrintError` for what the language cannot write: Python-only
    operators and builtins, names outside `[a-z_][a-z0-9_]*`, empty blocks.
    """
    p = _Printer(spec)
    try:
        if isinstance(node, A.Module):
            for s in node.body:
                p.stmt(s, 0)
        elif isinstance(node, A.Expr):
            p.expr(node)
        else:
            raise PrintError(f"cannot print {type(node).__name__}")
    except RecursionError:
        raise PrintError("tree too deep to print") from None
    return "".join(p.out)


# The program `cadmus lang show` prints in a language: every construct the task families use.
SAMPLE_DSL = """\
def gcd(a, b):
    while b != 0:
        t = a % b
        a = b
        b = t
    return a
total = 0
for i in range(1, 7):
    total += gcd(i, 6)
    if total > 10 and not i == 5:
        break
    elif i % 2 == 0:
        continue
    else:
        pass
xs = [3, -1, 4]
xs[1] = len(xs) * 2
print(total, xs[1])
assert total == 12
"""


def sample_text(spec: LanguageSpec) -> str:
    """`SAMPLE_DSL` written in the language `spec`."""
    return to_generated(parse(SAMPLE_DSL), spec)
