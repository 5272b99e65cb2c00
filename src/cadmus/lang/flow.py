"""Control-flow facts about statement lists, shared by the Python front end and renderer."""

from __future__ import annotations

from cadmus.lang.ast import Break, If, Return, Stmt, While, const_value


def always_returns(body: tuple[Stmt, ...]) -> bool:
    """True when control can never run off the end of `body`.

    A statement ends the list for good when it is a `return` (bare or with a
    value), an `if` whose branches both always return, or a `while` whose
    condition is a non-zero constant (`while True`) with no `break` of its
    own: such a loop is left only by `return`. `for` loops may run zero
    times, so they never count.
    """
    return any(_never_falls_through(stmt) for stmt in body)


def _never_falls_through(stmt: Stmt) -> bool:
    if isinstance(stmt, Return):
        return True
    if isinstance(stmt, If):
        return always_returns(stmt.body) and always_returns(stmt.orelse)
    if isinstance(stmt, While):
        value = const_value(stmt.cond)
        return value is not None and value != 0 and not breaks_loop(stmt.body)
    return False


def breaks_loop(body: tuple[Stmt, ...]) -> bool:
    """Whether `body` holds a `break` of its own loop (one inside a nested loop does not count)."""
    for stmt in body:
        if isinstance(stmt, Break):
            return True
        if isinstance(stmt, If) and (breaks_loop(stmt.body) or breaks_loop(stmt.orelse)):
            return True
    return False
