"""Fold named constants into a hot function, once, at import.

The interpreter's dispatch is written against the ISA table (`op == Op.ADD`,
`op < _FIRST_ARITH`), so the opcode numbering lives only in `isa.py`. Read
as written, every comparison would look up an attribute or a global. `fold`
recompiles the function from its own source with each such name replaced by
its integer value, so the loop compares against constants, exactly as fast
as numeric literals. Where the source cannot be read (a frozen install) the
function is returned unchanged: slower, still correct.
"""

from __future__ import annotations
import __future__

import ast
import inspect
import linecache
import textwrap
from collections.abc import Callable, Mapping
from enum import IntEnum
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def _constant(node: ast.expr, enum: type[IntEnum], names: Mapping[str, int]) -> ast.expr:
    """`node` as a constant when it names one, else `node` itself."""
    if isinstance(node, ast.Attribute):
        value = node.value
        if isinstance(value, ast.Name) and value.id == enum.__name__:
            return ast.copy_location(ast.Constant(int(enum[node.attr])), node)
    elif isinstance(node, ast.Name) and node.id in names:
        return ast.copy_location(ast.Constant(names[node.id]), node)
    return node


def _parse(fn: Callable[..., Any]) -> tuple[str, ast.Module] | None:
    """(file, tree) of a function's definition, line numbers as in the file; or None.

    The code object says where the definition starts and its last line, so
    the file's lines are sliced directly (inspect.getsourcelines tokenizes
    the whole file, a cost every `import cadmus` would pay); if the slice is
    not the whole definition, inspect decides.
    """
    code = fn.__code__
    filename, first = code.co_filename, code.co_firstlineno
    last = max((line for _, _, line in code.co_lines() if line is not None), default=first)
    text = "".join(linecache.getlines(filename)[first - 1 : last])
    if text:
        try:  # blank lines in front keep the file's line numbers
            return filename, ast.parse("\n" * (first - 1) + textwrap.dedent(text))
        except SyntaxError:
            pass  # the last line of code is not the end of the definition
    try:
        lines, first = inspect.getsourcelines(fn)
    except (OSError, TypeError):
        return None
    return filename, ast.parse("\n" * (first - 1) + textwrap.dedent("".join(lines)))


def fold(fn: F, enum: type[IntEnum], names: Mapping[str, int] | None = None) -> F:
    """`fn` recompiled with `Enum.MEMBER` and the given global `names` as constants.

    Folded where they are compared against (`op == Op.ADD`, `op < _FIRST`)
    or listed in a tuple (`op in (Op.LOAD, Op.STORE)`), which is how an
    interpreter's dispatch uses them. `fn` must be a plain module-level
    function without decorators; its line numbers (tracebacks) and globals
    are kept.
    """
    parsed = _parse(fn)
    if parsed is None:
        return fn
    filename, tree = parsed
    names = names or {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            node.left = _constant(node.left, enum, names)
            node.comparators = [_constant(c, enum, names) for c in node.comparators]
        elif isinstance(node, ast.Tuple) and isinstance(node.ctx, ast.Load):
            node.elts = [_constant(e, enum, names) for e in node.elts]
    # postponed annotations: the signature's names need not exist yet
    code = compile(tree, filename, "exec", flags=__future__.annotations.compiler_flag, dont_inherit=True)
    space: dict[str, Any] = {}
    exec(code, fn.__globals__, space)
    folded = space[fn.__name__]
    folded.__module__ = fn.__module__
    folded.__qualname__ = fn.__qualname__
    return folded  # type: ignore[no-any-return]
