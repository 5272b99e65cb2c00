"""The canonical printer: one text per AST, through a `Skin`.

Canonical DSL text: one statement per line, 4 spaces per block level, single
spaces around binary operators and after commas, the fewest parentheses that
keep the tree (precedence and left associativity), no blank lines, no
comments, and a newline after every line (the empty module prints as "").
`parse(to_dsl(m)) == m` for every tree the parser produces and every
well-formed tree built in code; a tree the DSL cannot express raises
`PrintError` at the node's position.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import Enum

from cadmus.lang import ast as A
from cadmus.lang.errors import PrintError
from cadmus.lang.lexer import MAX_INT
from cadmus.lang.skins import ATOM_LEVEL, DSL_SKIN, Skin

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _fail(message: str, node: A.Node) -> PrintError:
    return PrintError(message, line=node.line or None, col=node.col or None)


class ExprPrinter:
    """Expression printing shared by the DSL printer and the generated-language printer.

    A subclass supplies the spelling tables `ops` (binary, comparison and
    boolean operator kind -> (spelling, level)) and `unary` (kind -> (spelling
    with its trailing space if it is a word, level)), `parens` (whether
    conditions are parenthesized) and `name()`; it may override `number()`
    (a literal whose value is not exactly an `int`), `prefix()` and `wrap_prefix()`.
    """

    __slots__ = ("ops", "out", "parens", "unary")

    # Completes "operator '**' is Python-only and ..." when `ops` has no spelling.
    no_spelling = "has no DSL spelling"

    ops: dict[Enum, tuple[str, int]]
    unary: dict[A.UnaryKind, tuple[str, int]]
    out: list[str]
    parens: bool

    def name(self, name: str, node: A.Node) -> str:
        raise NotImplementedError

    def number(self, e: A.Num) -> int:
        """The value of a literal whose value is not exactly an `int`."""
        v = e.value
        if not isinstance(v, int):
            raise _fail(f"number {v!r} is not an integer", e)
        return int(v)  # bool or an int subclass: print its integer value

    def prefix(self, e: A.Unary) -> tuple[str, int]:
        """The (spelling, level) of `e`'s operator."""
        info = self.unary.get(e.op)
        if info is None:
            raise _fail(f"operator '{e.op.value}' has no spelling in this syntax", e)
        return info

    def wrap_prefix(self, op: A.UnaryKind, inner: A.UnaryKind) -> bool:
        """Whether prefix `op` parenthesizes an operand that is prefix `inner`: `-(-x)`, never `--x`."""
        return inner is op and op is not A.UnaryKind.NOT

    def expr(self, e: A.Expr, min_level: int = 0) -> None:
        """Append `e`, parenthesized if it binds looser than `min_level`."""
        out = self.out
        cls = e.__class__
        if cls is A.Name:
            out.append(self.name(e.id, e))
        elif cls is A.Num:
            v = e.value
            if v.__class__ is not int:
                v = self.number(e)
            if v > MAX_INT:
                raise _fail(f"integer literal {v} is out of range (the largest is {MAX_INT})", e)
            out.append(str(v))
        elif cls is A.BinOp or cls is A.Compare or cls is A.BoolOp:
            info = self.ops.get(e.op)
            if info is None:
                raise _fail(f"operator '{e.op.value}' is Python-only and {self.no_spelling}", e)
            spelling, level = info
            paren = level < min_level
            if paren:
                out.append("(")
            # Left associative: the left operand may share the level, the right may not.
            # Comparisons do not chain: neither operand may be a comparison.
            self.expr(e.left, level + 1 if cls is A.Compare else level)
            out.append(f" {spelling} ")
            self.expr(e.right, level + 1)
            if paren:
                out.append(")")
        elif cls is A.Call:
            func = e.func
            if func in A.PYTHON_ONLY_BUILTINS:
                raise _fail(f"'{func}' is a Python-only builtin", e)
            out.append(self.name(func, e))
            self.args(e.args, "(", ")")
        elif cls is A.Unary:
            spelling, level = self.prefix(e)
            paren = level < min_level
            if paren:
                out.append("(")
            out.append(spelling)
            operand = e.operand
            if operand.__class__ is A.Unary and self.wrap_prefix(e.op, operand.op):
                self.expr(operand, ATOM_LEVEL)
            else:
                self.expr(operand, level)
            if paren:
                out.append(")")
        elif cls is A.Index:
            self.expr(e.array, ATOM_LEVEL)
            out.append("[")
            self.expr(e.index)
            out.append("]")
        elif cls is A.ArrayLit:
            self.args(e.elts, "[", "]")
        else:
            raise _fail(f"cannot print {type(e).__name__} as an expression", e)

    def args(self, items: Sequence[A.Expr], left: str, right: str) -> None:
        """Append `items` comma-separated between `left` and `right`."""
        out = self.out
        out.append(left)
        first = True
        for item in items:
            if not first:
                out.append(", ")
            first = False
            self.expr(item)
        out.append(right)

    def range_args(self, s: A.For) -> None:
        """Append the arguments of `s`'s `range`: the stop alone when it counts from 0 by 1."""
        out = self.out
        start = s.start
        if s.step is None and start.__class__ is A.Num and start.value == 0:
            self.expr(s.stop)
        else:
            self.expr(start)
            out.append(", ")
            self.expr(s.stop)
            if s.step is not None:
                out.append(", ")
                self.expr(s.step)

    def cond(self, e: A.Expr) -> None:
        if self.parens:
            self.out.append("(")
            self.expr(e)
            self.out.append(")")
        else:
            self.expr(e)


class _Printer(ExprPrinter):
    __slots__ = (
        "aug",
        "closer",
        "ind",
        "joined_else",
        "kw",
        "ok_names",
        "openers",
        "reserved",
        "skin",
        "term",
    )

    def __init__(self, skin: Skin) -> None:
        t = skin.tables
        self.skin = skin
        self.kw = t.kw
        self.ops = t.ops
        self.unary = t.unary
        self.aug = t.aug
        self.openers = t.openers
        self.closer = t.closer
        self.joined_else = t.joined_else
        self.reserved = t.reserved
        self.ok_names = t.ok_names
        self.ind = skin.indent
        self.term = skin.terminator
        self.parens = skin.cond_parens
        self.out = []

    def name(self, name: str, node: A.Node) -> str:
        if name in self.ok_names:
            return name
        if not isinstance(name, str) or not _IDENT.match(name):
            raise _fail(f"{name!r} is not a valid identifier", node)
        if name in self.reserved:
            raise _fail(f"'{name}' is a keyword and cannot be used as a name", node)
        if len(self.ok_names) > 100_000:
            self.ok_names.clear()
        self.ok_names.add(name)
        return name

    # ---- statements ----------------------------------------------------

    def block(self, body: Sequence[A.Stmt], depth: int, owner: A.Node, what: str) -> None:
        if not body:
            raise _fail(f"empty block in '{what}' (use pass)", owner)
        for s in body:
            self.stmt(s, depth)

    def close(self, depth: int) -> None:
        if self.closer:
            self.out.append(f"{self.ind * depth}{self.closer}\n")

    def stmt(self, s: A.Stmt, depth: int) -> None:
        out = self.out
        kw = self.kw
        pad = self.ind * depth
        cls = s.__class__
        if cls is A.Assign:
            out.append(pad)
            self.target(s.target, s)
            out.append(f" {self.skin.assign} ")
            self.expr(s.value)
        elif cls is A.AugAssign:
            out.append(pad)
            self.target(s.target, s)
            spelling = self.aug.get(s.op)
            if spelling is None:
                raise _fail(f"augmented operator '{s.op.value}=' is Python-only", s)
            out.append(f" {spelling} ")
            self.expr(s.value)
        elif cls is A.Print:
            out.append(f"{pad}{kw['print']}")
            self.args(s.args, "(", ")")
        elif cls is A.If:
            self.if_stmt(s, depth)
            return
        elif cls is A.While:
            out.append(f"{pad}{kw['while']} ")
            self.cond(s.cond)
            out.append(f"{self.openers['while']}\n")
            self.block(s.body, depth + 1, s, "while")
            self.close(depth)
            return
        elif cls is A.For:
            self.for_stmt(s, depth)
            return
        elif cls is A.FuncDef:
            out.append(f"{pad}{kw['def']} {self.name(s.name, s)}(")
            out.append(", ".join([self.name(p, s) for p in s.params]))
            out.append(f"){self.openers['def']}\n")
            self.block(s.body, depth + 1, s, "def")
            self.close(depth)
            return
        elif cls is A.Return:
            if s.value is None:
                out.append(f"{pad}{kw['return']}")
            else:
                out.append(f"{pad}{kw['return']} ")
                self.expr(s.value)
        elif cls is A.Assert:
            out.append(f"{pad}{kw['assert']} ")
            self.expr(s.test)
        elif cls is A.ExprStmt:
            if s.value.__class__ is not A.Call:
                raise _fail("only calls can be used as statements", s)
            out.append(pad)
            self.expr(s.value)
        elif cls is A.Break:
            out.append(f"{pad}{kw['break']}")
        elif cls is A.Continue:
            out.append(f"{pad}{kw['continue']}")
        elif cls is A.Pass:
            out.append(f"{pad}{kw['pass']}")
        else:
            raise _fail(f"cannot print {type(s).__name__} as a statement", s)
        out.append(f"{self.term}\n")

    def target(self, t: A.Expr, s: A.Stmt) -> None:
        if t.__class__ is not A.Name and t.__class__ is not A.Index:
            raise _fail("assignment target must be a name or an indexed element", s)
        self.expr(t)

    def if_stmt(self, s: A.If, depth: int) -> None:
        out = self.out
        kw = self.kw
        pad = self.ind * depth
        openers = self.openers
        out.append(f"{pad}{kw['if']} ")
        self.cond(s.cond)
        out.append(f"{openers['if']}\n")
        node = s
        while True:
            self.block(node.body, depth + 1, node, "if")
            orelse = node.orelse
            if not orelse:
                break
            lead = f"{pad}{self.closer} " if self.joined_else else pad
            if len(orelse) == 1 and orelse[0].__class__ is A.If:
                node = orelse[0]
                out.append(f"{lead}{kw['elif']} ")
                self.cond(node.cond)
                out.append(f"{openers['elif']}\n")
                continue
            out.append(f"{lead}{kw['else']}{openers['else']}\n")
            self.block(orelse, depth + 1, node, "else")
            break
        self.close(depth)

    def for_stmt(self, s: A.For, depth: int) -> None:
        out = self.out
        kw = self.kw
        out.append(f"{self.ind * depth}{kw['for']} ")
        if self.parens:
            out.append("(")
        out.append(f"{self.name(s.var, s)} {kw['in']} {kw['range']}(")
        self.range_args(s)
        out.append(")")
        if self.parens:
            out.append(")")
        out.append(f"{self.openers['for']}\n")
        self.block(s.body, depth + 1, s, "for")
        self.close(depth)


def to_dsl(node: A.Node | Sequence[A.Stmt], skin: Skin = DSL_SKIN) -> str:
    """Canonical text of a module, statement(s) or expression in `skin` (the DSL by default).

    A module or statements print as lines, each ending in a newline; an
    expression prints without a newline. Raises `PrintError` for constructs
    the skin cannot express (Python-only operators and builtins, keywords used
    as names, empty blocks, non-call expression statements).
    """
    p = _Printer(skin)
    try:
        if isinstance(node, A.Module):
            for s in node.body:
                p.stmt(s, 0)
        elif isinstance(node, A.Stmt):
            p.stmt(node, 0)
        elif isinstance(node, A.Expr):
            p.expr(node)
        elif isinstance(node, tuple | list):
            for s in node:
                if not isinstance(s, A.Stmt):
                    raise PrintError(f"expected a statement, found {type(s).__name__}")
                p.stmt(s, 0)
        else:
            raise PrintError(f"cannot print {type(node).__name__}")
    except RecursionError:
        raise PrintError("tree too deep to print") from None
    return "".join(p.out)
