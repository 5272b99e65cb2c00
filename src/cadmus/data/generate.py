"""Generating the examples of one shard: sample, dedup, build, verify.

Example `index` of split `split` comes from attempts `0, 1, ...`, each with
its own random generator seeded by `example_seed(seed, split, index,
attempt)`: the mixture entry, the family's sample and everything after it
come from that generator alone. An attempt is skipped when its program lies
outside the split's hash region (see docs/data.md, "Splits without
leakage"), repeats a program already in the shard, or is rejected by its
format (runtime error, limit, overflow, failed verification, format not
applicable); the next attempt follows. The `seed` column stores the accepted
attempt's seed, so `regenerate` rebuilds any row from its seed alone.
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import json
import random
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from cadmus.data.canon import functions_of, key_and_max_const, max_literal, rename, rename_words, variables_of
from cadmus.data.config import Choice, Plan, SplitPlan
from cadmus.data.formats import PARTIAL_FORMATS, Built, Reject, build, shown
from cadmus.errors import CadmusError
from cadmus.lang import (
    ArrayLit,
    Assert,
    Assign,
    AugAssign,
    BinOp,
    BoolOp,
    Call,
    Compare,
    ExprStmt,
    For,
    FuncDef,
    If,
    Index,
    Num,
    Print,
    Return,
    Unary,
    While,
)

COLUMNS = (
    "id",
    "split",
    "family",
    "format",
    "language",
    "prompt",
    "completion",
    "judge",
    "knobs",
    "seed",
    "index",
    "n_statements",
    "depth",
    "max_abs",
    "steps",
    "features",
)


class DataBuildError(CadmusError):
    """A dataset that cannot be built as configured."""


def example_seed(seed: int, split: str, index: int, attempt: int) -> int:
    """The 63-bit seed of one attempt at one example (BLAKE2b of its coordinates)."""
    digest = hashlib.blake2b(f"{seed}/{split}/{index}/{attempt}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def n_shards(size: int, shard_size: int) -> int:
    return max(1, -(-size // shard_size))


def shard_range(size: int, shard_size: int, shard: int) -> tuple[int, int]:
    start = shard * shard_size
    return start, min(size, start + shard_size)


@dataclass
class ShardStats:
    """What happened while generating one shard (merged into the manifest)."""

    counts: Counter[tuple[str, str]] = field(default_factory=Counter)  # (family, format) -> kept
    rejections: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    outside_region: Counter[str] = field(default_factory=Counter)
    duplicates: Counter[str] = field(default_factory=Counter)
    languages: Counter[str] = field(default_factory=Counter)  # language -> kept
    attempts: int = 0

    def to_json(self) -> dict[str, Any]:
        counts: dict[str, dict[str, int]] = {}
        for (fam, fmt), n in sorted(self.counts.items()):
            counts.setdefault(fam, {})[fmt] = n
        return {
            "counts": counts,
            "rejections": {f: dict(sorted(c.items())) for f, c in sorted(self.rejections.items()) if c},
            "outside_region": dict(sorted(self.outside_region.items())),
            "duplicates": dict(sorted(self.duplicates.items())),
            "languages": dict(sorted(self.languages.items())),
            "attempts": self.attempts,
        }


@dataclass(frozen=True, slots=True)
class Accepted:
    index: int
    seed: int
    choice: Choice
    sample: Any
    built: Built
    key: int
    max_const: int


class _Chooser:
    def __init__(self, choices: tuple[Choice, ...]) -> None:
        self.choices = choices
        self.cum: list[float] = []
        total = 0.0
        for c in choices:
            total += c.weight
            self.cum.append(total)
        self.total = total

    def pick(self, rng: random.Random) -> Choice:
        i = bisect.bisect_right(self.cum, rng.random() * self.total)
        return self.choices[min(i, len(self.choices) - 1)]


def example_key(sample: Any, fmt: str, canonical: bool) -> tuple[int, int | None]:
    """The key of an example (dedup and split regions), from what it shows (see `formats.shown`).

    Second: the program's largest integer literal when what it shows is the
    whole program (None for formats that show less, whose literals are
    read off the built example).
    """
    nodes, text = shown(fmt, sample)
    key, max_const = key_and_max_const(nodes, rename=canonical, text=text)
    return key, None if fmt in PARTIAL_FORMATS else max_const


def generate(
    plan: Plan,
    split: SplitPlan,
    start: int,
    stop: int,
    stats: ShardStats,
) -> Iterator[Accepted]:
    """The accepted examples `start..stop-1` of an in-distribution or OOD split."""
    if split.kind == "renamed":
        yield from _generate_renamed(plan, split, start, stop, stats)
        return
    cfg = plan.config
    chooser = _Chooser(split.choices)
    lo, hi = split.region
    canonical = cfg.dedup.canonical
    seen: set[int] | None = set() if cfg.dedup.within_split else None
    # Attempts skipped for lying outside the region do not count against
    # `max_attempts`: the budget is scaled by the region's share of the space.
    budget = cfg.max_attempts * max(1, -(-(2**64) // max(1, hi - lo)))
    for index in range(start, stop):
        last: list[str] = []
        for attempt in range(budget):
            stats.attempts += 1
            seed = example_seed(cfg.seed, split.name, index, attempt)
            rng = random.Random(seed)
            choice = chooser.pick(rng)
            fam = choice.family.name
            try:
                sample = choice.family.sample(rng, choice.knobs)
            except CadmusError as err:
                stats.rejections[fam]["sample_error"] += 1
                last.append(f"{fam}: {err}")
                continue
            key, max_const = example_key(sample, choice.format, canonical)
            if not lo <= key < hi:
                stats.outside_region[fam] += 1
                continue
            if seen is not None and key in seen:
                stats.duplicates[fam] += 1
                continue
            try:
                built = build(choice.format, sample, choice.language)
            except Reject as rej:
                stats.rejections[fam][rej.reason] += 1
                last.append(f"{choice.label}: {rej.message}")
                continue
            if seen is not None:
                seen.add(key)
            stats.counts[(fam, choice.format)] += 1
            stats.languages[choice.language] += 1
            if max_const is None:
                max_const = max_literal(built.module.body if built.module is not None else ())
            yield Accepted(index, seed, choice, sample, built, key, max_const)
            break
        else:
            why = "; ".join(last[-3:]) or "every program fell outside the split's region or repeated one"
            raise DataBuildError(
                f"split '{split.name}' example {index}: no example after {budget} attempts ({why})",
                key="max_attempts",
            )


def _generate_renamed(
    plan: Plan, split: SplitPlan, start: int, stop: int, stats: ShardStats
) -> Iterator[Accepted]:
    """The same programs as `split.renamed_of`, variables renamed consistently."""
    base = plan.split(split.renamed_of or "test")
    for acc in generate(plan, base, start, stop, ShardStats()):
        stats.attempts += 1
        fam = acc.choice.family.name
        rng = random.Random(example_seed(plan.config.seed, split.name, acc.index, 0))
        try:
            sample = rename_sample(acc.sample, rng, split.renamed_names or "heldout")
            built = build(acc.choice.format, sample, acc.choice.language)
        except (Reject, CadmusError) as err:
            stats.rejections[fam][getattr(err, "reason", "rename_failed")] += 1
            continue
        stats.counts[(fam, acc.choice.format)] += 1
        stats.languages[acc.choice.language] += 1
        yield Accepted(acc.index, acc.seed, acc.choice, sample, built, acc.key, acc.max_const)


def rename_sample(sample: Any, rng: random.Random, pool: str) -> Any:
    """`sample` with every variable and parameter renamed consistently (functions keep their names)."""
    from cadmus.tasks import NamePicker

    nodes = (*sample.body, sample.answer, *(a for args in sample.test_inputs for a in args))
    old = variables_of(nodes)
    picker = NamePicker(rng, pool, avoid=tuple(functions_of(nodes)))
    mapping = {name: picker.pick() for name in old}
    instruction = rename_words(sample.instruction, mapping) if sample.instruction else sample.instruction
    return dataclasses.replace(
        sample,
        body=rename(tuple(sample.body), mapping),
        answer=rename(sample.answer, mapping),
        test_inputs=rename(tuple(tuple(a) for a in sample.test_inputs), mapping),
        instruction=instruction,
    )


# ---- rows ---------------------------------------------------------------------------


def _expr_depth(expr: Any) -> int:
    """Operators nested inside operators (a constant or a name is 0)."""
    cls = type(expr)
    if cls is BinOp or cls is Compare or cls is BoolOp:
        return 1 + max(_expr_depth(expr.left), _expr_depth(expr.right))
    if cls is Unary:
        return _expr_depth(expr.operand) + (0 if type(expr.operand) is Num else 1)
    if cls is Call or cls is ArrayLit:
        items = expr.args if cls is Call else expr.elts
        return max((_expr_depth(a) for a in items), default=0)
    if cls is Index:
        return max(_expr_depth(expr.array), _expr_depth(expr.index))
    return 0


_STMT_EXPRS = {
    Assign: ("value",),
    AugAssign: ("value",),
    If: ("cond",),
    While: ("cond",),
    For: ("start", "stop", "step"),
    Return: ("value",),
    Assert: ("test",),
    ExprStmt: ("value",),
}


def count_statements(body: tuple[Any, ...]) -> tuple[int, int]:
    """Statements (recursively) and nesting depth of a body.

    Depth is the larger of block nesting (a loop in a loop is 2) and
    expression nesting (`a + b * c` is 2), so it means something for
    straight-line code too.
    """
    n, depth = 0, 0
    for stmt in body:
        n += 1
        cls = type(stmt)
        for name in _STMT_EXPRS.get(cls, ()):
            value = getattr(stmt, name)
            if value is not None:
                depth = max(depth, _expr_depth(value))
        if cls is Print:
            depth = max(depth, *(_expr_depth(a) for a in stmt.args), 0)
        blocks = (
            (stmt.body, stmt.orelse) if cls is If else (stmt.body,) if cls in (While, For, FuncDef) else ()
        )
        for block in blocks:
            if block:
                bn, bd = count_statements(block)
                n += bn
                depth = max(depth, bd + (0 if cls is FuncDef else 1))
    return n, depth


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    return str(value)


def to_row(plan: Plan, split: str, acc: Accepted) -> dict[str, Any]:
    sample, built = acc.sample, acc.built
    features = dict(sample.features or {})
    n_statements = features.get("n_statements")
    depth = features.get("depth")
    if n_statements is None or depth is None:
        n, d = count_statements(tuple(sample.body))
        n_statements = n if n_statements is None else n_statements
        depth = d if depth is None else depth
    answer_abs = max((abs(v) for v in built.values), default=0)
    max_abs = features.get("max_abs")
    max_abs = max(int(max_abs), answer_abs) if max_abs is not None else max(acc.max_const, answer_abs)
    return {
        "id": f"{plan.config.name}/{split}/{acc.index}",
        "split": split,
        "family": acc.choice.family.name,
        "format": acc.choice.format,
        "language": acc.choice.language,
        "prompt": built.prompt,
        "completion": built.completion,
        "judge": json.dumps(built.judge_info, sort_keys=True, separators=(",", ":"))
        if built.judge_info
        else "{}",
        "knobs": acc.choice.knobs_json,
        "seed": acc.seed,
        "index": acc.index,
        "n_statements": int(n_statements),
        "depth": int(depth),
        "max_abs": min(int(max_abs), 2**63 - 1),
        "steps": int(built.steps),
        "features": json.dumps(_jsonable(features), sort_keys=True, separators=(",", ":")),
    }


def regenerate(plan: Plan, split: str, index: int, seed: int, fmt: str | None = None) -> tuple[Any, Built]:
    """Rebuild one example from its stored `seed` (renamed splits: the base program's seed)."""
    sp = plan.split(split)
    rng = random.Random(seed)
    choice = _Chooser(sp.choices).pick(rng)
    sample = choice.family.sample(rng, choice.knobs)
    if sp.kind == "renamed":
        rng2 = random.Random(example_seed(plan.config.seed, split, index, 0))
        sample = rename_sample(sample, rng2, sp.renamed_names or "heldout")
    return sample, build(fmt or choice.format, sample, choice.language)
