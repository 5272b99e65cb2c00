"""Canonical forms of programs (for deduplication) and consistent renaming.

Two programs are *the same program* when they differ only in the names of
their variables, parameters and functions. The canonical form walks the tree
once and writes it out with every user identifier replaced by its order of
first appearance (`v0, v1, ...` for variables, `f0, f1, ...` for functions);
built-in names stay. It is a structural serialization that is one-to-one
with the DSL text of the renamed program (same tree, same text), but costs a
single walk with no tree rebuilt and no printing. `program_key` hashes it to
8 bytes (BLAKE2b), which is what dedup and the split regions use.

A dataset build writes the form of every program it samples, so the walk
has a compiled twin (`cadmus.data._ccanon`, C, optional like the VM's
extension) that writes exactly the same form; this module is its
definition, used wherever the extension is not built or meets a value it
does not know. Tests compare the two on the trees of every family.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import re
from collections.abc import Callable, Iterable, Mapping
from enum import Enum
from functools import lru_cache
from typing import Any

from cadmus.lang import (
    BUILTINS,
    NODE_CLASSES,
    ArrayLit,
    Assert,
    Assign,
    BinOp,
    Call,
    Compare,
    For,
    FuncDef,
    Name,
    Node,
    Num,
    Unary,
)

_FIELDS: dict[type, tuple[str, ...]] = {}


def _fields(cls: type) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = tuple(f.name for f in dataclasses.fields(cls) if f.name not in ("line", "col"))
        _FIELDS[cls] = names
    return names


class _Namer:
    __slots__ = ("funcs", "rename", "vars")

    def __init__(self, rename: bool) -> None:
        self.vars: dict[str, str] = {}
        self.funcs: dict[str, str] = {}
        self.rename = rename

    def var(self, name: str) -> str:
        if not self.rename:
            return name
        got = self.vars.get(name)
        if got is None:
            got = self.vars[name] = f"v{len(self.vars)}"
        return got

    def func(self, name: str) -> str:
        if not self.rename or name in BUILTINS:
            return name
        got = self.funcs.get(name)
        if got is None:
            got = self.funcs[name] = f"f{len(self.funcs)}"
        return got


def _walk(node: Any, out: list[str], namer: _Namer) -> None:
    cls = type(node)
    if cls is Name:
        out.append(namer.var(node.id))
        return
    if cls is Num:
        out.append(str(node.value))
        return
    if cls is BinOp or cls is Compare:  # the commonest nodes, spelled out for speed
        out.append(cls.__name__)
        out.append(node.op.value)
        _walk(node.left, out, namer)
        _walk(node.right, out, namer)
        return
    if cls is Assign:
        out.append("Assign")
        _walk(node.target, out, namer)
        _walk(node.value, out, namer)
        return
    if cls is ArrayLit:  # test inputs: mostly constants
        out.append("ArrayLit")
        out.append("(")
        for item in node.elts:
            if type(item) is Num:
                out.append(str(item.value))
            else:
                _walk(item, out, namer)
        out.append(")")
        return
    if cls is Unary:
        out.append("Unary")
        out.append(node.op.value)
        _walk(node.operand, out, namer)
        return
    if cls is tuple:
        out.append("(")
        for item in node:
            _walk(item, out, namer)
        out.append(")")
        return
    if node is None:
        out.append("_")
        return
    if isinstance(node, Enum):
        out.append(node.value)
        return
    out.append(cls.__name__)
    if cls is FuncDef:
        out.append(namer.func(node.name))
        out.append("(")
        out.extend(namer.var(p) for p in node.params)
        out.append(")")
        _walk(node.body, out, namer)
        return
    if cls is Call:
        out.append(namer.func(node.func))
        _walk(node.args, out, namer)
        return
    if cls is For:
        out.append(namer.var(node.var))
        _walk(node.start, out, namer)
        _walk(node.stop, out, namer)
        _walk(node.step, out, namer)
        _walk(node.body, out, namer)
        return
    if cls is Assert:  # a front end's check message (`error`) is not program text: written as absent
        _walk(node.test, out, namer)
        out.append("_")
        return
    for name in _fields(cls):
        _walk(getattr(node, name), out, namer)


def _serialize(nodes: Iterable[Any], rename: bool) -> tuple[list[str], _Namer]:
    out: list[str] = []
    namer = _Namer(rename)
    for node in nodes:
        _walk(node, out, namer)
    return out, namer


def _load_compiled() -> tuple[Any, str]:
    """The compiled walk, set up with the AST's classes and fields (None where it is not built), and its status."""
    try:
        # optional: built where a C compiler was found
        module = importlib.import_module("cadmus.data._ccanon")
    except ImportError as err:
        return None, f"not built ({err})"
    spelled = (Name, Num, BinOp, Compare, Assign, ArrayLit, Unary, FuncDef, Call, For, Assert)
    module.setup(
        {cls.__name__: cls for cls in spelled},
        {cls: (cls.__name__, _fields(cls)) for cls in NODE_CLASSES},
        Enum,
        frozenset(BUILTINS),
    )
    return module, "built"


_COMPILED, _STATUS = _load_compiled()


def form_python(nodes: Iterable[Any], rename: bool) -> tuple[bytes, int, tuple[str, ...], tuple[str, ...]]:
    """The canonical form (UTF-8), the largest integer literal, and the user variables and
    functions in order of first appearance: this module's walk."""
    out, namer = _serialize(nodes, rename)
    return " ".join(out).encode(), _biggest(out), tuple(namer.vars), tuple(namer.funcs)


def form(nodes: Iterable[Any], rename: bool) -> tuple[bytes, int, tuple[str, ...], tuple[str, ...]]:
    """`form_python`, from the compiled walk where it is built and knows every value."""
    if _COMPILED is not None:
        if not isinstance(nodes, (tuple, list)):
            nodes = tuple(nodes)
        try:
            got = _COMPILED.serialize(nodes, rename)
        except RecursionError:  # the C walk's depth limit is its own from Python 3.12 on
            got = None
        if got is not None:
            return got  # type: ignore[no-any-return]
    return form_python(nodes, rename)


def walk_info() -> dict[str, str]:
    """What `cadmus vm info` reports of the canonical form's walk: which one, and the build."""
    return {"walk": "c" if _COMPILED is not None else "python", "compiled": _STATUS}


def canonical_form(nodes: Iterable[Any], *, rename: bool = True) -> str:
    """The canonical serialization of a sequence of statements/expressions."""
    return form(nodes, rename)[0].decode()


def program_key(nodes: Iterable[Any], *, rename: bool = True) -> int:
    """An unsigned 64-bit hash of the canonical form (what dedup compares)."""
    return key_and_max_const(nodes, rename=rename)[0]


def key_and_max_const(nodes: Iterable[Any], *, rename: bool = True, text: str = "") -> tuple[int, int]:
    """`program_key` and the largest integer literal of the program, in one walk.

    `text` (free text shown with the program, such as an instruction) joins
    the key with the program's identifiers in it renamed like the program's.
    """
    written, biggest, variables, functions = form(nodes, rename)
    if text:
        if rename:
            mapping = {name: f"v{i}" for i, name in enumerate(variables)}
            mapping.update({name: f"f{i}" for i, name in enumerate(functions)})
            text = rename_words(text, mapping)
        written += b" | " + text.encode()
    digest = hashlib.blake2b(written, digest_size=8).digest()
    return int.from_bytes(digest, "little"), biggest


def max_literal(nodes: Iterable[Any]) -> int:
    """The largest integer literal in a sequence of statements/expressions (0 if none)."""
    return form(nodes, False)[1]


def _biggest(tokens: list[str]) -> int:
    return max((int(t) for t in tokens if t.isdigit()), default=0)


# ---- renaming ----------------------------------------------------------------


def variables_of(nodes: Iterable[Any]) -> list[str]:
    """User variable and parameter names in order of first appearance."""
    return list(form(nodes, True)[2])


def functions_of(nodes: Iterable[Any]) -> list[str]:
    """User function names in order of first appearance."""
    return list(form(nodes, True)[3])


_WORD = re.compile(r"\w+")


def rename_words(text: str, mapping: Mapping[str, str]) -> str:
    """`text` with every whole word that is a key of `mapping` replaced by its value."""
    if not mapping:
        return text
    if all(_WORD.fullmatch(name) for name in mapping):
        # A whole word made of word characters is a maximal run of them: one
        # fixed pattern does, where a pattern of the names would be compiled
        # anew for nearly every program of a build.
        return _WORD.sub(lambda m: mapping.get(m.group(), m.group()), text)
    return _words(tuple(sorted(mapping, key=len, reverse=True))).sub(lambda m: mapping[m.group(1)], text)


@lru_cache(maxsize=4096)
def _words(names: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")


def rename(node: Any, variables: Mapping[str, str], functions: Mapping[str, str] | None = None) -> Any:
    """A copy of `node` (a tree, tuple of trees or None) with identifiers mapped.

    Variables and parameters are looked up in `variables`, user functions in
    `functions`; names absent from a mapping stay. Positions are kept.
    """
    funcs = functions or {}
    return _rename(node, variables.get, funcs.get)


def _rename(node: Any, var: Callable[[str, str], str], func: Callable[[str, str], str]) -> Any:
    if node is None or isinstance(node, (int, str, Enum)):
        return node
    if isinstance(node, tuple):
        return tuple(_rename(x, var, func) for x in node)
    cls = type(node)
    if cls is Name:
        return dataclasses.replace(node, id=var(node.id, node.id))
    changes: dict[str, Any] = {}
    for name in _fields(cls):
        value = getattr(node, name)
        if isinstance(value, (Node, tuple)):
            changes[name] = _rename(value, var, func)
    if cls is FuncDef:
        changes["name"] = func(node.name, node.name)
        changes["params"] = tuple(var(p, p) for p in node.params)
    elif cls is Call and node.func not in BUILTINS:
        changes["func"] = func(node.func, node.func)
    elif cls is For:
        changes["var"] = var(node.var, node.var)
    return dataclasses.replace(node, **changes)
