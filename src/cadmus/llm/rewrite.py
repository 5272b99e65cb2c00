"""Rewriting program trees: the building blocks of other views and of alternative semantics.

Trees are frozen dataclasses, so a rewrite builds new nodes bottom-up
(children first, then the node itself) and leaves the input untouched.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from cadmus.lang import AugAssign, BinOp, BinOpKind, Expr, Node, Stmt

ExprFn = Callable[[Expr], Expr]
StmtFn = Callable[[Stmt], Stmt | tuple[Stmt, ...]]


def _map_value(value: Any, expr_fn: ExprFn | None, stmt_fn: StmtFn | None) -> Any:
    if isinstance(value, Expr):
        return map_expr(value, expr_fn) if expr_fn is not None else value
    if isinstance(value, Stmt):
        return map_stmts((value,), expr_fn, stmt_fn)
    if isinstance(value, tuple):
        if value and all(isinstance(v, Stmt) for v in value):
            return map_stmts(value, expr_fn, stmt_fn)
        return tuple(_map_value(v, expr_fn, stmt_fn) for v in value)
    return value


def _children_mapped(node: Node, expr_fn: ExprFn | None, stmt_fn: StmtFn | None) -> Node:
    changes = {}
    for f in dataclasses.fields(node):
        if f.name in ("line", "col"):
            continue
        old = getattr(node, f.name)
        new = _map_value(old, expr_fn, stmt_fn)
        if new is not old:
            changes[f.name] = new
    return dataclasses.replace(node, **changes) if changes else node


def map_expr(expr: Expr, fn: ExprFn | None) -> Expr:
    """`expr` with `fn` applied to every sub-expression, innermost first."""
    if fn is None:
        return expr
    rebuilt = _children_mapped(expr, fn, None)
    assert isinstance(rebuilt, Expr)
    return fn(rebuilt)


def map_stmts(
    body: tuple[Stmt, ...], expr_fn: ExprFn | None = None, stmt_fn: StmtFn | None = None
) -> tuple[Stmt, ...]:
    """Statements with `expr_fn` applied to every expression and `stmt_fn` to every statement
    (after its parts; it may return several statements in place of one)."""
    out: list[Stmt] = []
    for stmt in body:
        rebuilt = _children_mapped(stmt, expr_fn, stmt_fn)
        assert isinstance(rebuilt, Stmt)
        result = stmt_fn(rebuilt) if stmt_fn is not None else rebuilt
        if isinstance(result, tuple):
            out.extend(result)
        else:
            out.append(result)
    return tuple(out)


def map_children(node: Node, fn: ExprFn) -> Node:
    """`node` with `fn` applied to each direct sub-expression (not deeper: `fn` decides whether to descend)."""
    changes = {}
    for f in dataclasses.fields(node):
        if f.name in ("line", "col"):
            continue
        old = getattr(node, f.name)
        if isinstance(old, Expr):
            new: Any = fn(old)
        elif isinstance(old, tuple) and old and all(isinstance(v, Expr) for v in old):
            new = tuple(fn(v) for v in old)
        else:
            continue
        if new is not old:
            changes[f.name] = new
    return dataclasses.replace(node, **changes) if changes else node


def map_top_exprs(body: tuple[Stmt, ...], fn: ExprFn) -> tuple[Stmt, ...]:
    """Statements with `fn` applied to each whole expression a statement holds (not to their parts)."""
    out = []
    for stmt in body:
        rebuilt = map_children(stmt, fn)
        changes = {}
        for f in dataclasses.fields(rebuilt):
            value = getattr(rebuilt, f.name)
            if isinstance(value, tuple) and value and all(isinstance(v, Stmt) for v in value):
                changes[f.name] = map_top_exprs(value, fn)
        out.append(dataclasses.replace(rebuilt, **changes) if changes else rebuilt)
    return tuple(out)


def map_binops(body: tuple[Stmt, ...], fn: Callable[[BinOpKind, Expr, Expr], Expr]) -> tuple[Stmt, ...]:
    """Every binary operation `l op r` replaced by `fn(op, l, r)` (augmented assignments are left as they are)."""

    def on_expr(e: Expr) -> Expr:
        return fn(e.op, e.left, e.right) if isinstance(e, BinOp) else e

    return map_stmts(body, on_expr)


def swap_ops(body: tuple[Stmt, ...], mapping: Mapping[BinOpKind, BinOpKind]) -> tuple[Stmt, ...]:
    """Operators replaced by others (`/` by `//`, ...), in expressions and augmented assignments alike."""

    def on_expr(e: Expr) -> Expr:
        if isinstance(e, BinOp) and e.op in mapping:
            return dataclasses.replace(e, op=mapping[e.op])
        return e

    def on_stmt(s: Stmt) -> Stmt:
        if isinstance(s, AugAssign) and s.op in mapping:
            return dataclasses.replace(s, op=mapping[s.op])
        return s

    return map_stmts(body, on_expr, on_stmt)


def contains(body: tuple[Stmt, ...] | Expr, predicate: Callable[[Node], bool]) -> bool:
    """Whether any node of the statements (or expression) satisfies `predicate`."""
    stack: list[Any] = [body]
    while stack:
        node = stack.pop()
        if isinstance(node, tuple):
            stack.extend(node)
        elif isinstance(node, Node):
            if predicate(node):
                return True
            stack.extend(
                getattr(node, f.name) for f in dataclasses.fields(node) if f.name not in ("line", "col")
            )
    return False
