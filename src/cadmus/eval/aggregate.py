"""From judged answers to metric tables: per split, family, format and difficulty bin."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cadmus.eval.metrics import Rate, pass_at_k, rate

# Difficulty features every example carries (columns of the dataset).
FEATURES = ("max_abs", "n_statements", "depth", "steps")


@dataclass(frozen=True)
class Judged:
    """One prompt with its k sampled answers and their verdicts."""

    id: str
    split: str
    family: str
    format: str
    features: Mapping[str, int]
    oks: tuple[bool, ...]

    @property
    def first_ok(self) -> bool:
        return self.oks[0]


@dataclass
class Group:
    """Metrics of one group of prompts."""

    accuracy: Rate
    pass_at: dict[int, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "n": self.accuracy.n,
            "correct": self.accuracy.k,
            "accuracy": self.accuracy.value if self.accuracy.n else None,
            "ci95": [self.accuracy.low, self.accuracy.high],
        }
        if self.pass_at:
            out["pass_at"] = {str(k): v for k, v in self.pass_at.items()}
        return out


def magnitude_bin(value: int) -> str:
    """Decimal order of magnitude: '0-9', '10-99', '100-999', ..."""
    digits = len(str(abs(int(value))))
    low = 0 if digits == 1 else 10 ** (digits - 1)
    return f"{low}-{10**digits - 1}"


def steps_bin(value: int) -> str:
    """Powers of two of VM steps: '<=16', '17-32', ..."""
    if value <= 16:
        return "<=16"
    hi = 1 << math.ceil(math.log2(value))
    return f"{hi // 2 + 1}-{hi}"


BINNERS: dict[str, Callable[[int], str]] = {
    "max_abs": magnitude_bin,
    "n_statements": str,
    "depth": str,
    "steps": steps_bin,
}


def _bin_sort_key(label: str) -> tuple[int, str]:
    digits = "".join(ch if ch.isdigit() else " " for ch in label).split()
    return (int(digits[0]) if digits else -1, label)


def summarize(items: Sequence[Judged], ks: Iterable[int] = ()) -> Group:
    ks = sorted(k for k in set(ks) if k > 1)
    group = Group(rate(sum(it.first_ok for it in items), len(items)))
    for k in ks:
        usable = [it for it in items if len(it.oks) >= k]
        if usable:
            group.pass_at[k] = sum(pass_at_k(len(it.oks), sum(it.oks), k) for it in usable) / len(usable)
    return group


def group_by(items: Iterable[Judged], key: Callable[[Judged], str]) -> dict[str, list[Judged]]:
    groups: dict[str, list[Judged]] = defaultdict(list)
    for it in items:
        groups[key(it)].append(it)
    return dict(groups)


def aggregate(items: Sequence[Judged], ks: Iterable[int] = ()) -> dict[str, Any]:
    """The summary: overall, by split, by split x family / format / each feature bin."""
    ks = list(ks)
    out: dict[str, Any] = {"overall": summarize(items, ks).to_json(), "splits": {}}
    for split, members in group_by(items, lambda it: it.split).items():  # evaluation order
        entry: dict[str, Any] = {"all": summarize(members, ks).to_json()}
        for name, key in (("family", lambda it: it.family), ("format", lambda it: it.format)):
            entry[name] = {g: summarize(m, ks).to_json() for g, m in sorted(group_by(members, key).items())}
        for feat in FEATURES:
            have = [it for it in members if feat in it.features]
            if not have:
                continue
            binner = BINNERS[feat]
            bins = group_by(have, lambda it, f=feat, b=binner: b(it.features[f]))
            entry[feat] = {g: summarize(bins[g], ks).to_json() for g in sorted(bins, key=_bin_sort_key)}
        out["splits"][split] = entry
    return out
