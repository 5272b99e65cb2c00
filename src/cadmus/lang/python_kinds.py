"""The Python front end's static pass: what CPython would print or do differently.

The VM has one kind of value, the 64-bit integer; CPython also has `True`
and `False` (printed as words) and lists (printed in brackets, compared by
content, true when not empty). `check_kinds` tracks, per scope and without
regard to the order of statements, which variables, parameters (from every
call site), function results and expressions *may* hold a bool, a list or
an int, and rejects with `UnsupportedPython` what the VM cannot reproduce:
printing a bool or a list, storing a bool in a list, lists of lists,
arithmetic on or comparison of lists, the truth value of a list, a negative
constant exponent, a function used as a value that can end without
returning one (CPython gives `None`), and iterating over (or calling a list
method on) a value that may not be a list.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from cadmus.lang.ast import (
    ArrayLit,
    Assert,
    Assign,
    AugAssign,
    BinOp,
    BinOpKind,
    BoolOp,
    Call,
    Compare,
    Expr,
    ExprStmt,
    For,
    FuncDef,
    If,
    Index,
    Module,
    Name,
    Num,
    Print,
    Return,
    Stmt,
    Unary,
    UnaryKind,
    While,
    children,
    const_value,
)
from cadmus.lang.errors import UnsupportedPython
from cadmus.lang.flow import always_returns

__all__ = ["Marks", "check_kinds"]

_SUFFIX = "not supported in the Cadmus Python subset"
_BOOL, _LIST, _INT = 1, 2, 4  # "may be a bool", "may be a list", "may be an int"
_CHECKED = (BinOp, Compare, Unary, BoolOp, ArrayLit, Call)  # the expressions check_expr looks at


@dataclass
class Marks:
    """What the translation knows about expressions, by identity, for the static pass."""

    bool_ids: set[int] = field(default_factory=set)  # True/False literals (and flags standing for them)
    int_ids: set[int] = field(default_factory=set)  # int(...) results: ints even when the operand is a bool
    lists: dict[int, str] = field(default_factory=dict)  # expressions that must be lists -> who needs it

    def is_bool(self, expr: Expr) -> bool:
        return id(expr) in self.bool_ids


def check_kinds(module: Module, marks: Marks, file: str | None) -> None:
    """Raise `UnsupportedPython` where CPython's meaning differs from the VM's (see the module doc)."""
    _KindCheck(module, marks, file).run()


def _exprs_of(stmt: Stmt) -> list[Expr]:
    if isinstance(stmt, Assign | AugAssign):
        out = [stmt.value]
        if isinstance(stmt.target, Index):
            out += [stmt.target.array, stmt.target.index]
        return out
    if isinstance(stmt, If | While):
        return [stmt.cond]
    if isinstance(stmt, For):
        return [e for e in (stmt.start, stmt.stop, stmt.step) if e is not None]
    if isinstance(stmt, Return):
        return [] if stmt.value is None else [stmt.value]
    if isinstance(stmt, Print):
        return list(stmt.args)
    if isinstance(stmt, Assert):
        return [stmt.test]
    if isinstance(stmt, ExprStmt):
        return [stmt.value]
    return []


def _walk_stmts(body: tuple[Stmt, ...]) -> Iterator[Stmt]:
    for stmt in body:
        yield stmt
        if isinstance(stmt, If):
            yield from _walk_stmts(stmt.body)
            yield from _walk_stmts(stmt.orelse)
        elif isinstance(stmt, While | For):
            yield from _walk_stmts(stmt.body)


def _walk_expr(expr: Expr) -> Iterator[Expr]:
    yield expr
    for child in children(expr):
        yield from _walk_expr(child)


class _KindCheck:
    """Flow-insensitive kind masks per scope, then the checks."""

    def __init__(self, module: Module, marks: Marks, file: str | None) -> None:
        self.marks = marks
        self.file = file
        self.funcs = {s.name: s for s in module.body if isinstance(s, FuncDef)}
        self.top = tuple(s for s in module.body if not isinstance(s, FuncDef))
        self.env: dict[str | None, dict[str, int]] = {None: {}}
        self.local_names: dict[str, set[str]] = {}
        self.ret: dict[str, int] = {}
        for name, fd in self.funcs.items():
            self.env[name] = {}
            self.ret[name] = 0
            names = set(fd.params)
            for stmt in _walk_stmts(fd.body):
                if isinstance(stmt, Assign | AugAssign) and isinstance(stmt.target, Name):
                    names.add(stmt.target.id)
                elif isinstance(stmt, For):
                    names.add(stmt.var)
            self.local_names[name] = names

    def scopes(self) -> Iterator[tuple[str | None, tuple[Stmt, ...]]]:
        yield None, self.top
        for name, fd in self.funcs.items():
            yield name, fd.body

    def collect(self) -> None:
        """The facts the fixpoint iterates over, gathered in one walk."""
        self.assigns: list[tuple[str | None, str, Expr]] = []
        self.returns: list[tuple[str, Expr]] = []
        self.calls: list[tuple[str | None, Call]] = []
        self.stmts: list[tuple[str | None, Stmt, list[Expr]]] = []
        for scope, body in self.scopes():
            env = self.env[scope]
            for stmt in _walk_stmts(body):
                if isinstance(stmt, Assign) and isinstance(stmt.target, Name):
                    self.assigns.append((scope, stmt.target.id, stmt.value))
                elif isinstance(stmt, AugAssign) and isinstance(stmt.target, Name):
                    self.join(env, stmt.target.id, _INT)
                elif isinstance(stmt, For):
                    self.join(env, stmt.var, _INT)
                elif isinstance(stmt, Return) and scope is not None and stmt.value is not None:
                    self.returns.append((scope, stmt.value))
                exprs = [e for top in _exprs_of(stmt) for e in _walk_expr(top)]
                self.stmts.append((scope, stmt, exprs))
                for e in exprs:
                    if isinstance(e, Call) and e.func in self.funcs:
                        self.calls.append((scope, e))

    def lookup(self, name: str, scope: str | None) -> int:
        if scope is not None and name in self.local_names[scope]:
            return self.env[scope].get(name, 0)
        return self.env[None].get(name, 0)

    def kind(self, e: Expr, scope: str | None) -> int:
        if id(e) in self.marks.int_ids:
            return _INT
        if isinstance(e, Num):
            return _BOOL if id(e) in self.marks.bool_ids else _INT
        if isinstance(e, Name):
            return self.lookup(e.id, scope)
        if isinstance(e, Compare):
            return _BOOL
        if isinstance(e, Unary):
            return _BOOL if e.op is UnaryKind.NOT else _INT
        if isinstance(e, BoolOp):
            return self.kind(e.left, scope) | self.kind(e.right, scope)
        if isinstance(e, BinOp):
            if e.op in (BinOpKind.BAND, BinOpKind.BOR, BinOpKind.BXOR):
                return (self.kind(e.left, scope) & self.kind(e.right, scope) & _BOOL) | _INT
            return _INT
        if isinstance(e, ArrayLit):
            return _LIST
        if isinstance(e, Call):
            if e.func in self.funcs:
                return self.ret[e.func]
            if e.func == "array":
                return _LIST
            if e.func in ("min", "max"):
                return self.kind(e.args[0], scope) | self.kind(e.args[1], scope)
            return _INT
        return _INT

    def join(self, table: dict[str, int], key: str, mask: int) -> bool:
        old = table.get(key, 0)
        if old | mask != old:
            table[key] = old | mask
            return True
        return False

    def propagate(self) -> bool:
        changed = False
        for scope, name, value in self.assigns:
            changed |= self.join(self.env[scope], name, self.kind(value, scope))
        for scope, value in self.returns:
            changed |= self.join(self.ret, scope, self.kind(value, scope))
        for scope, call in self.calls:
            env = self.env[call.func]
            for param, arg in zip(self.funcs[call.func].params, call.args, strict=False):
                changed |= self.join(env, param, self.kind(arg, scope))
        return changed

    def fail(self, node: Expr | Stmt, message: str) -> UnsupportedPython:
        return UnsupportedPython(message, file=self.file, line=node.line, col=node.col)

    def run(self) -> None:
        self.collect()
        for _ in range(50):
            if not self.propagate():
                break
        used_as_value: set[str] = set()
        for _scope, stmt, exprs in self.stmts:
            for e in exprs:
                discarded = isinstance(stmt, ExprStmt) and e is stmt.value
                if isinstance(e, Call) and e.func in self.funcs and not discarded:
                    used_as_value.add(e.func)
        for name in sorted(used_as_value):
            fd = self.funcs[name]
            bare = next((s for s in _walk_stmts(fd.body) if isinstance(s, Return) and s.value is None), None)
            if bare is not None or not always_returns(fd.body):
                where = bare if bare is not None else fd
                raise self.fail(
                    where,
                    f"function '{name}' is used as a value but can end without returning one "
                    "(CPython would give None)",
                )
        for scope, stmt, exprs in self.stmts:
            self.check_stmt(stmt, exprs, scope)

    def check_stmt(self, stmt: Stmt, exprs: list[Expr], scope: str | None) -> None:
        kind = self.kind
        if isinstance(stmt, Print):
            for arg in stmt.args:
                k = kind(arg, scope)
                if k & _BOOL:
                    raise self.fail(
                        arg,
                        "printing a comparison or boolean value is not supported: CPython prints "
                        "True/False (wrap it in int(...))",
                    )
                if k & _LIST:
                    raise self.fail(arg, "printing a list is not supported in the Cadmus Python subset")
        elif isinstance(stmt, Assign) and isinstance(stmt.target, Index):
            self.element(stmt.value, scope)
        elif isinstance(stmt, AugAssign):
            if kind(stmt.target, scope) & _LIST or kind(stmt.value, scope) & _LIST:
                raise self.fail(stmt, f"augmented assignment on a list is {_SUFFIX}")
        elif isinstance(stmt, If | While):
            self.truth(stmt.cond, scope)
        elif isinstance(stmt, Assert):
            self.truth(stmt.test, scope)
        lists = self.marks.lists
        for e in exprs:
            if type(e) in _CHECKED or id(e) in lists:
                self.check_expr(e, scope)

    def element(self, value: Expr, scope: str | None) -> None:
        k = self.kind(value, scope)
        if k & _BOOL:
            raise self.fail(
                value,
                "storing a comparison or boolean value in a list is not supported: CPython keeps "
                "True/False (wrap it in int(...))",
            )
        if k & _LIST:
            raise self.fail(value, f"lists of lists are {_SUFFIX}")

    def truth(self, cond: Expr, scope: str | None) -> None:
        if self.kind(cond, scope) & _LIST:
            raise self.fail(cond, f"the truth value of a list is {_SUFFIX} (use len(...) > 0)")

    def check_expr(self, e: Expr, scope: str | None) -> None:
        kind = self.kind
        need = self.marks.lists.get(id(e))
        if need is not None and kind(e, scope) & (_INT | _BOOL):
            raise self.fail(e, f"{need} a value that may not be a list is {_SUFFIX}")
        if isinstance(e, BinOp):
            if kind(e.left, scope) & _LIST or kind(e.right, scope) & _LIST:
                raise self.fail(e, f"arithmetic on lists is {_SUFFIX}")
            if e.op is BinOpKind.POW:
                k = const_value(e.right)
                if k is not None and k < 0:
                    raise self.fail(e, f"negative exponents (CPython gives a float) are {_SUFFIX}")
        elif isinstance(e, Compare):
            if kind(e.left, scope) & _LIST or kind(e.right, scope) & _LIST:
                raise self.fail(e, f"comparing lists is {_SUFFIX}")
        elif isinstance(e, Unary):
            if kind(e.operand, scope) & _LIST:
                if e.op is UnaryKind.NOT:
                    raise self.fail(e, f"the truth value of a list is {_SUFFIX} (use len(...) > 0)")
                raise self.fail(e, f"arithmetic on lists is {_SUFFIX}")
        elif isinstance(e, BoolOp):
            self.truth(e.left, scope)
            self.truth(e.right, scope)
        elif isinstance(e, ArrayLit):
            for elt in e.elts:
                self.element(elt, scope)
        elif isinstance(e, Call):
            if e.func == "append" and e.func not in self.funcs:
                self.element(e.args[1], scope)
            elif e.func in ("abs", "min", "max") and e.func not in self.funcs:
                for arg in e.args:
                    if kind(arg, scope) & _LIST:
                        raise self.fail(arg, f"{e.func}() of a list is {_SUFFIX}")
