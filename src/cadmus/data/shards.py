"""The shard layout of a build: which shards a plan has, where their files
live, when a finished shard can be trusted, and how shard statistics add up.

Both the build (`build`) and its finalization (`manifest`) read this layout;
neither imports the other's internals.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cadmus.data.config import Plan
from cadmus.data.generate import n_shards, shard_range
from cadmus.files import sha256_file

STATE_DIR = ".shards"  # sidecars, program keys and the plan fingerprint of a build in progress


@dataclass(frozen=True)
class ShardTask:
    """One shard of one split: rows `[start, stop)` of the split, number `gid` in the global order."""

    gid: int  # global shard number
    split: str
    shard: int
    start: int
    stop: int

    @property
    def name(self) -> str:
        return f"shard-{self.shard:05d}.parquet"

    def path(self, out: Path) -> Path:
        return out / self.split / self.name

    def sidecar(self, out: Path) -> Path:
        return out / STATE_DIR / f"{self.split}-{self.shard:05d}.json"

    def keys_path(self, out: Path) -> Path:
        return out / STATE_DIR / f"{self.split}-{self.shard:05d}.keys"


def plan_tasks(plan: Plan) -> list[ShardTask]:
    """Every shard of `plan`, splits in plan order, numbered globally."""
    tasks: list[ShardTask] = []
    size = plan.config.shard_size
    for split in plan.splits:
        for k in range(n_shards(split.size, size)):
            start, stop = shard_range(split.size, size, k)
            tasks.append(ShardTask(len(tasks), split.name, k, start, stop))
    return tasks


def shard_done(plan: Plan, task: ShardTask, out: Path) -> dict[str, Any] | None:
    """The sidecar of a finished shard that can be trusted, else None."""
    sidecar, path = task.sidecar(out), task.path(out)
    if not sidecar.exists() or not path.exists() or not task.keys_path(out).exists():
        return None
    try:
        record = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if record.get("fingerprint") != plan.fingerprint or record.get("sha256") != sha256_file(path):
        return None
    return record


def merge_stats(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Sum shard statistics."""
    counts: dict[str, Counter[str]] = {}
    rejections: dict[str, Counter[str]] = {}
    outside: Counter[str] = Counter()
    duplicates: Counter[str] = Counter()
    attempts = 0
    for r in records:
        s = r["stats"]
        for fam, by_fmt in s["counts"].items():
            counts.setdefault(fam, Counter()).update(by_fmt)
        for fam, by_reason in s["rejections"].items():
            rejections.setdefault(fam, Counter()).update(by_reason)
        outside.update(s["outside_region"])
        duplicates.update(s["duplicates"])
        attempts += s["attempts"]
    return {
        "counts": {f: dict(sorted(c.items())) for f, c in sorted(counts.items())},
        "rejections": {f: dict(sorted(c.items())) for f, c in sorted(rejections.items())},
        "outside_region": dict(sorted(outside.items())),
        "duplicates": dict(sorted(duplicates.items())),
        "attempts": attempts,
    }
