"""Rendering a Cadmus AST as Python source with the same meaning under CPython.

`to_python(module, mode="dsl")` keeps the DSL's meaning: truncating `/` and
`%` become calls of small helpers emitted at the top (integer operations
only), comparisons, `not`, `and` and `or` used as values are wrapped so they
give 1/0 (`int(a < b)`, `int(bool(a and b))`), an index that may be negative
is checked (`a[_ix(i)]`: the DSL has no negative indices), function
definitions come first (a DSL program may call a function defined further
down), and a function whose value is used returns 0 where the DSL returns 0.

`mode="python"` renders a tree built by the Python front end literally: its
and/or and comparisons already mean what CPython does with them, so
`from_python(to_python(m, mode="python")) == m`.

Names that Python reserves (keywords, the builtins the rendering uses, the
helper names) are renamed by appending `_` until unique.
"""

from __future__ import annotations

import keyword

from cadmus.lang.ast import (
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
    Pass,
    Print,
    Return,
    Stmt,
    Unary,
    UnaryKind,
    While,
    children,
    const_value,
)
from cadmus.lang.errors import PrintError
from cadmus.lang.flow import always_returns
from cadmus.lang.render_base import MODES, assigns, position_error, stmt_bodies, stmt_exprs
from cadmus.lang.skins import DSL_LEVELS

__all__ = ["to_python"]

INDENT = "    "

_HELPERS: dict[str, str] = {
    "_tdiv": ("def _tdiv(a, b):\n    q = abs(a) // abs(b)\n    return q if (a < 0) == (b < 0) else -q\n"),
    "_tmod": ("def _tmod(a, b):\n    return a - b * _tdiv(a, b)\n"),
    "_ix": ("def _ix(i):\n    if i < 0:\n        raise IndexError(i)\n    return i\n"),
}
_TEMP = "_k"
_RESERVED = (
    frozenset(keyword.kwlist)
    | frozenset(keyword.softkwlist)
    | frozenset({"print", "range", "len", "abs", "min", "max", "int", "input", "bool", "IndexError"})
    | frozenset(_HELPERS)
    | {_TEMP}
)

_TRUNC_KINDS = (BinOpKind.TDIV, BinOpKind.TMOD)
# Python's precedence is the DSL's (cadmus.lang.skins.DSL_LEVELS), plus its own
# operators: // and % bind like *, ** binds tighter than unary minus.
_P_OR, _P_AND, _P_NOT, _P_CMP = (
    DSL_LEVELS[k] for k in (BoolKind.OR, BoolKind.AND, UnaryKind.NOT, CmpKind.EQ)
)
_P_UNARY = DSL_LEVELS[UnaryKind.NEG]
_BIN_PREC: dict[BinOpKind, int] = {
    **{k: lvl for k, lvl in DSL_LEVELS.items() if isinstance(k, BinOpKind) and k not in _TRUNC_KINDS},
    BinOpKind.FDIV: DSL_LEVELS[BinOpKind.MUL],
    BinOpKind.FMOD: DSL_LEVELS[BinOpKind.MUL],
    BinOpKind.POW: _P_UNARY + 1,
}
_P_ATOM = _BIN_PREC[BinOpKind.POW] + 1
_BIN_TEXT: dict[BinOpKind, str] = {
    **{k: k.value for k in _BIN_PREC},
    BinOpKind.FMOD: "%",  # the AST spells Python's flooring remainder "%%"
}
_TRUNC = {BinOpKind.TDIV: "_tdiv", BinOpKind.TMOD: "_tmod"}
# The helpers a rendering in mode "dsl" defines for the DSL's truncating operators, by name: what a
# call of one computes (readers of such text turn the calls back into the operators).
TRUNCATION_HELPERS: dict[str, BinOpKind] = {name: op for op, name in _TRUNC.items()}


def to_python(module: Module, *, mode: str = "dsl") -> str:
    """Python source that does under CPython what `module` does on the VM in `mode`.

    Raises `PrintError` for a tree that has no Python rendering (an `append`
    used as a value, an unknown node).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be 'dsl' or 'python', not {mode!r}")
    try:
        return _Renderer(module, mode == "dsl").render()
    except RecursionError:
        raise PrintError("the tree is nested too deeply to render") from None


def _names(module: Module) -> set[str]:
    found: set[str] = set()

    def expr(e: Expr) -> None:
        if isinstance(e, Name):
            found.add(e.id)
        elif isinstance(e, Call):
            found.add(e.func)
        for child in children(e):
            expr(child)

    def stmts(body: tuple[Stmt, ...]) -> None:
        for s in body:
            if isinstance(s, FuncDef):
                found.add(s.name)
                found.update(s.params)
            elif isinstance(s, For):
                found.add(s.var)
            for e in stmt_exprs(s):
                expr(e)
            for sub in stmt_bodies(s):
                stmts(sub)

    stmts(module.body)
    return found


def _nonneg(e: Expr, names: frozenset[str] = frozenset()) -> bool:
    """True when `e` can be seen to be >= 0 without running it (conservative).

    `names` are variables known to be >= 0 here (loop variables counting up
    from a non-negative start that the loop body never assigns).
    """
    if isinstance(e, Num):
        return True
    if isinstance(e, Name):
        return e.id in names
    if isinstance(e, Call):
        if e.func in ("len", "abs"):
            return True
        if e.func == "max":
            return _nonneg(e.args[0], names) or _nonneg(e.args[1], names)
        if e.func == "min":
            return _nonneg(e.args[0], names) and _nonneg(e.args[1], names)
        return False
    if isinstance(e, BinOp):
        if e.op in (BinOpKind.ADD, BinOpKind.MUL, BinOpKind.TDIV, BinOpKind.FDIV, BinOpKind.SHR):
            return _nonneg(e.left, names) and _nonneg(e.right, names)
        if e.op is BinOpKind.TMOD:
            return _nonneg(e.left, names)
        if e.op is BinOpKind.FMOD:
            return _nonneg(e.right, names)
        if e.op is BinOpKind.BAND:
            return _nonneg(e.left, names) or _nonneg(e.right, names)
        return False
    return isinstance(e, Compare | BoolOp) or (isinstance(e, Unary) and e.op is UnaryKind.NOT)


class _Renderer:
    def __init__(self, module: Module, dsl: bool) -> None:
        self.module = module
        self.dsl = dsl
        self.helpers: set[str] = set()
        self.nonneg_vars: frozenset[str] = frozenset()
        self.current: str | None = None
        self.funcs = {s.name for s in module.body if isinstance(s, FuncDef)}
        used = _names(module)
        self.rename: dict[str, str] = {}
        taken = set(used) | _RESERVED
        for name in sorted(used):
            if name in _RESERVED or not name.isidentifier():
                new = name + "_"
                while new in taken or not new.isidentifier():
                    new += "_"
                taken.add(new)
                self.rename[name] = new
        # DSL functions whose value is used: they must return 0, never None.
        self.valued: set[str] = set()
        if dsl:
            self._find_valued(module.body)

    def _find_valued(self, body: tuple[Stmt, ...]) -> None:
        def expr(e: Expr, discarded: bool) -> None:
            if isinstance(e, Call) and e.func in self.funcs and not discarded:
                self.valued.add(e.func)
            for child in children(e):
                expr(child, False)

        for s in body:
            for e in stmt_exprs(s):
                expr(e, isinstance(s, ExprStmt))
            for sub in stmt_bodies(s):
                self._find_valued(sub)

    def name(self, ident: str) -> str:
        return self.rename.get(ident, ident)

    # ---- module and statements ----------------------------------------------

    def render(self) -> str:
        body = self.module.body
        if self.dsl:
            defs = tuple(s for s in body if isinstance(s, FuncDef))
            body = defs + tuple(s for s in body if not isinstance(s, FuncDef))
        lines: list[str] = []
        self.block(body, 0, lines)
        parts = [_HELPERS[h] for h in ("_tdiv", "_tmod", "_ix") if h in self.helpers]
        if "_tmod" in self.helpers and "_tdiv" not in self.helpers:
            parts.insert(0, _HELPERS["_tdiv"])
        text = "\n".join(lines) + "\n" if lines else ""
        if parts:
            text = "\n".join(parts) + ("\n" + text if text else "")
        return text

    def block(self, body: tuple[Stmt, ...], depth: int, out: list[str]) -> None:
        if not body:
            out.append(INDENT * depth + "pass")
            return
        for stmt in body:
            self.stmt(stmt, depth, out)

    def stmt(self, s: Stmt, depth: int, out: list[str]) -> None:
        pad = INDENT * depth
        if isinstance(s, Assign):
            out.append(f"{pad}{self.target(s.target)} = {self.value(s.value)}")
        elif isinstance(s, AugAssign):
            self.aug_assign(s, pad, out)
        elif isinstance(s, If):
            self.if_(s, depth, out, "if")
        elif isinstance(s, While):
            out.append(f"{pad}while {self.cond(s.cond)}:")
            self.block(s.body, depth + 1, out)
        elif isinstance(s, For):
            args = [self.value(s.stop)]
            if s.step is not None or not (isinstance(s.start, Num) and s.start.value == 0):
                args.insert(0, self.value(s.start))
            if s.step is not None:
                args.append(self.value(s.step))
            out.append(f"{pad}for {self.name(s.var)} in range({', '.join(args)}):")
            saved = self.nonneg_vars
            step = 1 if s.step is None else const_value(s.step)
            if step is not None and step > 0 and _nonneg(s.start, saved) and not assigns(s.body, s.var):
                self.nonneg_vars = saved | {s.var}
            else:
                self.nonneg_vars = saved - {s.var}
            self.block(s.body, depth + 1, out)
            self.nonneg_vars = saved
        elif isinstance(s, FuncDef):
            params = ", ".join(self.name(p) for p in s.params)
            out.append(f"{pad}def {self.name(s.name)}({params}):")
            self.current = s.name
            self.block(s.body, depth + 1, out)
            if s.name in self.valued and not always_returns(s.body):
                out.append(f"{pad}{INDENT}return 0")
            self.current = None
        elif isinstance(s, Return):
            if s.value is not None:
                out.append(f"{pad}return {self.value(s.value)}")
            elif self.dsl and self.current in self.valued:
                out.append(f"{pad}return 0")
            else:
                out.append(f"{pad}return")
        elif isinstance(s, Print):
            out.append(f"{pad}print({', '.join(self.value(a) for a in s.args)})")
        elif isinstance(s, Assert):
            out.append(f"{pad}assert {self.cond(s.test)}")
        elif isinstance(s, ExprStmt):
            out.append(f"{pad}{self.expr_stmt(s.value)}")
        elif isinstance(s, Break):
            out.append(f"{pad}break")
        elif isinstance(s, Continue):
            out.append(f"{pad}continue")
        elif isinstance(s, Pass):
            out.append(f"{pad}pass")
        else:
            raise position_error(s, f"cannot render {type(s).__name__} as Python")

    def if_(self, s: If, depth: int, out: list[str], word: str) -> None:
        pad = INDENT * depth
        out.append(f"{pad}{word} {self.cond(s.cond)}:")
        self.block(s.body, depth + 1, out)
        if not s.orelse:
            return
        if len(s.orelse) == 1 and isinstance(s.orelse[0], If):
            self.if_(s.orelse[0], depth, out, "elif")
        else:
            out.append(f"{pad}else:")
            self.block(s.orelse, depth + 1, out)

    def aug_assign(self, s: AugAssign, pad: str, out: list[str]) -> None:
        helper = _TRUNC.get(s.op)
        if helper is None:
            text = _BIN_TEXT[s.op]
            out.append(f"{pad}{self.target(s.target)} {text}= {self.value(s.value)}")
            return
        self.use_helper(helper)
        target = s.target
        if isinstance(target, Index) and not isinstance(target.index, Num | Name):
            # evaluate the index once, before the value (Python's order)
            out.append(f"{pad}{_TEMP} = {self.index_text(target.index)}")
            ref = f"{self.expr(target.array, _P_ATOM)}[{_TEMP}]"
        else:
            ref = self.target(target)
        out.append(f"{pad}{ref} = {helper}({ref}, {self.value(s.value)})")

    def expr_stmt(self, e: Expr) -> str:
        if isinstance(e, Call) and e.func == "append" and e.func not in self.funcs:
            return f"{self.expr(e.args[0], _P_ATOM)}.append({self.value(e.args[1])})"
        return self.value(e)

    def target(self, t: Expr) -> str:
        if isinstance(t, Name):
            return self.name(t.id)
        if isinstance(t, Index):
            return self.index(t)
        raise position_error(t, f"cannot assign to {type(t).__name__}")

    # ---- expressions --------------------------------------------------------

    def use_helper(self, name: str) -> None:
        self.helpers.add(name)
        if name == "_tmod":
            self.helpers.add("_tdiv")

    def value(self, e: Expr) -> str:
        return self.expr(e, 0)

    def cond(self, e: Expr) -> str:
        return self.expr(e, 0, cond=True)

    def expr(self, e: Expr, need: int, cond: bool = False) -> str:
        text, prec = self.expr_prec(e, cond)
        return f"({text})" if prec < need else text

    def index_text(self, index: Expr) -> str:
        if self.dsl and not _nonneg(index, self.nonneg_vars):
            self.use_helper("_ix")
            return f"_ix({self.value(index)})"
        return self.value(index)

    def index(self, e: Index) -> str:
        return f"{self.expr(e.array, _P_ATOM)}[{self.index_text(e.index)}]"

    def expr_prec(self, e: Expr, cond: bool) -> tuple[str, int]:
        dsl = self.dsl
        if isinstance(e, Num):
            return str(e.value), _P_ATOM
        if isinstance(e, Name):
            return self.name(e.id), _P_ATOM
        if isinstance(e, Unary):
            if e.op is UnaryKind.NOT:
                text = f"not {self.expr(e.operand, _P_NOT, cond=True)}"
                if dsl and not cond:
                    return f"int({text})", _P_ATOM
                return text, _P_NOT
            sign = "-" if e.op is UnaryKind.NEG else "~"
            return sign + self.expr(e.operand, _P_UNARY + 1), _P_UNARY
        if isinstance(e, BinOp):
            helper = _TRUNC.get(e.op)
            if helper is not None:
                self.use_helper(helper)
                return f"{helper}({self.value(e.left)}, {self.value(e.right)})", _P_ATOM
            prec = _BIN_PREC[e.op]
            if e.op is BinOpKind.POW:
                left = self.expr(e.left, _P_ATOM)
                right = self.expr(e.right, _P_UNARY)
            else:
                left = self.expr(e.left, prec)
                right = self.expr(e.right, prec + 1)
            return f"{left} {_BIN_TEXT[e.op]} {right}", prec
        if isinstance(e, Compare):
            text = f"{self.expr(e.left, _P_CMP + 1)} {e.op.value} {self.expr(e.right, _P_CMP + 1)}"
            if dsl and not cond:
                return f"int({text})", _P_ATOM
            return text, _P_CMP
        if isinstance(e, BoolOp):
            prec = _P_AND if e.op is BoolKind.AND else _P_OR
            # In mode dsl only the operands' truth matters (the result is 1/0).
            sub = dsl or cond
            text = f"{self.expr(e.left, prec, sub)} {e.op.value} {self.expr(e.right, prec + 1, sub)}"
            if dsl and not cond:
                return f"int(bool({text}))", _P_ATOM
            return text, prec
        if isinstance(e, Call):
            return self.call(e)
        if isinstance(e, Index):
            return self.index(e), _P_ATOM
        if isinstance(e, ArrayLit):
            return "[" + ", ".join(self.value(x) for x in e.elts) + "]", _P_ATOM
        raise position_error(e, f"cannot render {type(e).__name__} as Python")

    def call(self, e: Call) -> tuple[str, int]:
        name = e.func
        if name not in self.funcs:
            if name == "array" and len(e.args) == 1:
                return f"[0] * {self.expr(e.args[0], _P_UNARY)}", _BIN_PREC[BinOpKind.MUL]
            if name == "read" and not e.args:
                return "int(input())", _P_ATOM
            if name == "pop" and len(e.args) == 1:
                return f"{self.expr(e.args[0], _P_ATOM)}.pop()", _P_ATOM
            if name == "append":
                raise position_error(e, "append() used as a value has no Python rendering")
            if name in ("len", "abs", "min", "max"):
                return f"{name}({', '.join(self.value(a) for a in e.args)})", _P_ATOM
        return f"{self.name(name)}({', '.join(self.value(a) for a in e.args)})", _P_ATOM
