"""Verified counterfactual pairs: one element of a program resampled, everything else kept.

Activation patching needs two programs that differ in exactly one chosen
thing. `make_counterfactual` takes a sample (its body and answer
expression), picks one *site* of the requested kind and draws a new value
for it:

- ``constant``: one integer literal gets another value (by default with the
  same number of decimal digits, so the two programs have the same layout);
- ``operator``: one binary operator (in an expression or an augmented
  assignment) becomes another allowed operator;
- ``name``: one variable *read* (never an assignment target) becomes another
  variable that the main program assigns before that statement (in the
  answer expression: any variable it assigns), by default one whose name has
  the same length.

Both programs are then checked on the VM (`cadmus.lang.check`): the answer
of each comes from running ``body; print(answer)``, and the true program
``body; assert answer == value`` must hold. The pair is kept only when the
two answers differ. A site is addressed by a path from the root tuple
``(*body, answer)`` through dataclass fields and tuple indices, so a test can
walk both trees and see that they differ there and nowhere else.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from cadmus.lang import (
    Assert,
    Assign,
    AugAssign,
    BinOp,
    BinOpKind,
    CmpKind,
    Compare,
    Module,
    Name,
    Node,
    Num,
    Print,
    Stmt,
    check,
    num,
    to_dsl,
)
from cadmus.tasks.base import Sample, TaskError

COUNTERFACTUAL_KINDS = ("constant", "operator", "name")
DEFAULT_OPERATORS = ("+", "-")
_OPS = {op.value: op for op in BinOpKind}

Path = tuple[int | str, ...]


@dataclass(frozen=True)
class CounterfactualSite:
    """One place of a program that a counterfactual may change."""

    kind: str  # constant | operator | name
    index: int  # position among the sites of this kind, in program order
    path: Path  # from the root tuple (*body, answer)
    statement: int  # index into body; len(body) for the answer expression
    text: str  # the element as written: '52', '+', 'a'


@dataclass(frozen=True)
class Counterfactual:
    """Two verified programs that differ only at `site`."""

    kind: str
    site: CounterfactualSite
    clean: Sample
    corrupt: Sample
    before: str  # the element in the clean program
    after: str  # the element in the corrupted program
    clean_answer: int
    corrupt_answer: int


# ---- walking the tree -----------------------------------------------------------------


def _children(node: Any) -> Iterator[tuple[int | str, Any]]:
    """(field or index, child) for each AST node or tuple below `node`, in source order."""
    if isinstance(node, tuple):
        yield from enumerate(node)
        return
    for f in dataclasses.fields(node):
        if f.name in ("line", "col"):
            continue
        value = getattr(node, f.name)
        if isinstance(value, Node | tuple):
            yield f.name, value


def _walk(node: Any, path: Path, write: bool = False) -> Iterator[tuple[Path, Any, bool]]:
    """Every node with its path; `write` marks a plain name that is an assignment target."""
    yield path, node, write
    for key, child in _children(node):
        target = key == "target" and isinstance(node, Assign | AugAssign) and isinstance(child, Name)
        yield from _walk(child, (*path, key), target)


def get_at(root: Any, path: Path) -> Any:
    """The node at `path` below `root`."""
    node = root
    for key in path:
        node = node[key] if isinstance(key, int) else getattr(node, key)
    return node


def replace_at(root: Any, path: Path, new: Any) -> Any:
    """A copy of `root` with the node at `path` replaced by `new` (frozen nodes are rebuilt)."""
    if not path:
        return new
    key, rest = path[0], path[1:]
    if isinstance(root, tuple):
        assert isinstance(key, int)
        return (*root[:key], replace_at(root[key], rest, new), *root[key + 1 :])
    assert isinstance(key, str)
    return dataclasses.replace(root, **{key: replace_at(getattr(root, key), rest, new)})


def _root(sample: Sample) -> tuple[Any, ...]:
    return (*sample.body, sample.answer)


def _assigned_before(body: Sequence[Stmt], statement: int) -> list[str]:
    """Variables that main-program statements before `statement` assign (first assignment order)."""
    names: list[str] = []
    for stmt in body[:statement]:
        for _, node, write in _walk(stmt, ()):
            if write and node.id not in names:
                names.append(node.id)
    return names


def counterfactual_sites(sample: Sample, kind: str) -> list[CounterfactualSite]:
    """Every site of `kind` in `sample`, in program order (the answer expression last)."""
    if kind not in COUNTERFACTUAL_KINDS:
        raise TaskError(
            f"unknown counterfactual kind {kind!r} (known: {', '.join(COUNTERFACTUAL_KINDS)})", key="kind"
        )
    found: list[CounterfactualSite] = []
    root = _root(sample)
    for path, node, write in _walk(root, ()):
        if not path:
            continue
        statement = int(path[0])
        if kind == "constant" and isinstance(node, Num):
            found.append(CounterfactualSite(kind, len(found), path, statement, str(node.value)))
        elif kind == "operator" and isinstance(node, BinOp | AugAssign):
            found.append(CounterfactualSite(kind, len(found), path, statement, node.op.value))
        elif kind == "name" and isinstance(node, Name) and not write:
            found.append(CounterfactualSite(kind, len(found), path, statement, node.id))
    return found


# ---- resampling one element ---------------------------------------------------------


def _new_constant(
    rng: random.Random, old: int, values: tuple[int, int], same_width: bool, tries: int
) -> int | None:
    lo, hi = max(0, values[0]), values[1]
    if same_width:
        width = len(str(old))
        lo, hi = max(lo, 10 ** (width - 1) if width > 1 else 0), min(hi, 10**width - 1)
    if hi < lo or (hi == lo == old):
        return None
    for _ in range(tries):
        value = rng.randint(lo, hi)
        if value != old:
            return value
    return None


def _new_element(
    sample: Sample,
    site: CounterfactualSite,
    rng: random.Random,
    values: tuple[int, int],
    operators: Sequence[str],
    same_width: bool,
    tries: int,
) -> tuple[Any, str] | None:
    """A replacement node for `site` and its text, or None when the site has no alternative."""
    node = get_at(_root(sample), site.path)
    if site.kind == "constant":
        value = _new_constant(rng, node.value, values, same_width, tries)
        return None if value is None else (dataclasses.replace(node, value=value), str(value))
    if site.kind == "operator":
        allowed = [o for o in operators if o != node.op.value and o in _OPS]
        if isinstance(node, AugAssign):  # `x op= e` exists for the arithmetic and bit operators only
            allowed = [o for o in allowed if o not in ("//", "%%", "**")]
        if not allowed:
            return None
        choice = allowed[rng.randrange(len(allowed))]
        return dataclasses.replace(node, op=_OPS[choice]), choice
    names = _assigned_before(sample.body, site.statement)
    options = [n for n in names if n != node.id and (not same_width or len(n) == len(node.id))]
    if not options:
        return None
    choice = options[rng.randrange(len(options))]
    return dataclasses.replace(node, id=choice), choice


# ---- verification on the VM -----------------------------------------------------------


def verified_answer(sample: Sample) -> int | None:
    """The answer's value (the VM runs ``body; print(answer)``), or None if the program is not true."""
    verdict = check(Module((*sample.body, Print((sample.answer,)))))
    if not verdict.ok or not verdict.outputs or len(verdict.outputs[-1]) != 1:
        return None
    value = verdict.outputs[-1][0]
    # The true program itself, as the data layer would build it, must hold too.
    true_program = Module((*sample.body, Assert(Compare(CmpKind.EQ, sample.answer, num(value)))))
    return value if check(true_program).ok else None


def make_counterfactual(
    sample: Sample,
    kind: str,
    rng: random.Random,
    *,
    site: int | None = None,
    values: tuple[int, int] = (0, 99),
    operators: Sequence[str] = DEFAULT_OPERATORS,
    same_width: bool = True,
    tries: int = 16,
) -> Counterfactual | None:
    """`sample` with one element of `kind` resampled, both programs verified; None if none fits.

    `site` picks the site by its index among the sites of that kind (None:
    a random one). `values` bounds a new constant's value, `operators` the
    operators an operator may become. `same_width` keeps a constant's
    number of digits and a name's length. Up to `tries` draws are made
    until both programs are true and their answers differ.
    """
    candidates = counterfactual_sites(sample, kind)
    if site is not None:
        candidates = [s for s in candidates if s.index == site]
    if not candidates:
        return None
    clean_answer = verified_answer(sample)
    if clean_answer is None:
        raise TaskError("the clean program is not true: " + to_dsl(Module(tuple(sample.body))).strip())
    for _ in range(tries):
        chosen = candidates[rng.randrange(len(candidates))]
        made = _new_element(sample, chosen, rng, values, operators, same_width, tries)
        if made is None:
            continue
        node, text = made
        root = replace_at(_root(sample), chosen.path, node)
        corrupt = dataclasses.replace(sample, body=tuple(root[:-1]), answer=root[-1])
        corrupt_answer = verified_answer(corrupt)
        if corrupt_answer is None or corrupt_answer == clean_answer:
            continue
        return Counterfactual(kind, chosen, sample, corrupt, chosen.text, text, clean_answer, corrupt_answer)
    return None


def counterfactual_pairs(
    family: Any,
    knobs: Any,
    kind: str,
    n: int,
    *,
    seed: int = 0,
    site: int | None = None,
    same_width: bool = True,
    max_attempts: int | None = None,
) -> list[Counterfactual]:
    """`n` verified pairs from a family (a `Family`) sampled with `knobs`; deterministic in `seed`.

    New constants are drawn from the knobs' ``min_value..max_value`` and new
    operators from their ``operators`` when the family has those knobs.
    """
    if kind not in COUNTERFACTUAL_KINDS:
        raise TaskError(
            f"unknown counterfactual kind {kind!r} (known: {', '.join(COUNTERFACTUAL_KINDS)})", key="kind"
        )
    rng = random.Random(seed)
    values = (getattr(knobs, "min_value", 0), getattr(knobs, "max_value", 99))
    operators = tuple(getattr(knobs, "operators", DEFAULT_OPERATORS))
    pairs: list[Counterfactual] = []
    budget = max_attempts if max_attempts is not None else 20 * n + 20
    for _ in range(budget):
        if len(pairs) >= n:
            break
        sample = family.sample(rng, knobs)
        pair = make_counterfactual(
            sample, kind, rng, site=site, values=values, operators=operators, same_width=same_width
        )
        if pair is not None:
            pairs.append(pair)
    return pairs


def tree_differences(a: Any, b: Any, path: Path = ()) -> list[Path]:
    """Paths of the outermost nodes where trees `a` and `b` differ (node type, field or leaf value)."""
    if a == b:
        return []
    if type(a) is not type(b) or (isinstance(a, tuple) and len(a) != len(b)):
        return [path]
    if isinstance(a, tuple):
        return [p for i in range(len(a)) for p in tree_differences(a[i], b[i], (*path, i))]
    if not isinstance(a, Node):
        return [path]
    kids_a = dict(_children(a))
    kids_b = dict(_children(b))
    own = [
        f.name
        for f in dataclasses.fields(a)
        if f.name not in ("line", "col") and f.name not in kids_a and getattr(a, f.name) != getattr(b, f.name)
    ]
    if own:
        return [path]
    return [p for key in kids_a for p in tree_differences(kids_a[key], kids_b[key], (*path, key))]
