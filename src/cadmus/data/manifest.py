"""Finalizing a build: `manifest.json`, the leakage report, the dataset card.

The leakage report is measured, not assumed: it loads every shard's 8-byte
program keys (`.shards/*.keys`), so its memory is 8 bytes per example of the
dataset (8 MB for a million examples), and counts programs of each
evaluation split that also occur in train (and in val for test), plus
repeated programs inside each split.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cadmus.data.card import write_card
from cadmus.data.config import Plan
from cadmus.data.formats import OUTPUT_SEPARATOR, TRACE_SEPARATOR, output_separator
from cadmus.data.generate import COLUMNS, DataBuildError
from cadmus.data.shards import STATE_DIR, ShardTask, merge_stats, shard_done
from cadmus.files import write_json

MANIFEST = "manifest.json"


def _keys(out: Path, tasks: list[ShardTask]) -> Any:
    import numpy as np

    parts = [np.fromfile(t.keys_path(out), dtype="<u8") for t in tasks]
    return np.concatenate(parts) if parts else np.zeros(0, dtype="<u8")


def leakage_report(plan: Plan, out: Path, tasks: list[ShardTask]) -> dict[str, Any]:
    import numpy as np

    by_split: dict[str, list[ShardTask]] = {}
    for t in tasks:
        by_split.setdefault(t.split, []).append(t)
    train = np.unique(_keys(out, by_split.get("train", [])))
    val = np.unique(_keys(out, by_split["val"])) if "val" in by_split else None
    report: dict[str, Any] = {
        "method": "canonical program keys (identifiers renamed v0, v1, ...; BLAKE2b-64)"
        if plan.config.dedup.canonical
        else "exact program keys (BLAKE2b-64)",
        "overlap_with_train": {},
        "overlap_with_val": {},
        "repeated_within_split": {},
    }
    for split in plan.splits:
        keys = _keys(out, by_split[split.name])
        uniq = np.unique(keys)
        report["repeated_within_split"][split.name] = int(len(keys) - len(uniq))
        if split.name == "train":
            continue
        report["overlap_with_train"][split.name] = int(np.isin(uniq, train, assume_unique=True).sum())
        if val is not None and split.name != "val" and split.kind != "renamed":
            report["overlap_with_val"][split.name] = int(np.isin(uniq, val, assume_unique=True).sum())
    return report


def finalize(plan: Plan, out: Path, tasks: list[ShardTask], *, card: bool = True) -> Path:
    """Write manifest.json (and README.md + plots) once every shard exists."""
    from cadmus import __version__

    records: dict[str, list[dict[str, Any]]] = {}
    for t in tasks:
        record = shard_done(plan, t, out)
        if record is None:
            raise DataBuildError(
                f"shard {t.split}/{t.name} is missing or does not match its sidecar", file=str(out)
            )
        records.setdefault(t.split, []).append(record)
    cfg = plan.config
    splits: dict[str, Any] = {}
    for split in plan.splits:
        recs = records[split.name]
        merged = merge_stats(recs)
        languages: dict[str, int] = {}
        for r in recs:
            for name, n in r["stats"].get("languages", {}).items():
                languages[name] = languages.get(name, 0) + n
        splits[split.name] = {
            "kind": split.kind,
            "description": split.description,
            "size": split.size,
            "examples": sum(r["rows"] for r in recs),
            "counts": merged["counts"],
            "languages": dict(sorted(languages.items())),
            "rejections": merged["rejections"],
            "outside_region": merged["outside_region"],
            "duplicates_skipped": merged["duplicates"],
            "attempts": merged["attempts"],
            "mixture": sorted({c.label for c in split.choices}),
            "renamed_of": split.renamed_of,
            "shards": [{"file": r["file"], "rows": r["rows"], "sha256": r["sha256"]} for r in recs],
        }
    rejections: dict[str, dict[str, int]] = {}
    for info in splits.values():
        for fam, reasons in info["rejections"].items():
            slot = rejections.setdefault(fam, {})
            for reason, n in reasons.items():
                slot[reason] = slot.get(reason, 0) + n
    used = sorted({name for info in splits.values() for name in info["languages"]})
    manifest = {
        "name": cfg.name,
        "description": cfg.description,
        "cadmus_version": __version__,
        "seed": cfg.seed,
        "config": cfg.model_dump(mode="json"),
        "config_sha256": plan.fingerprint,
        "columns": list(COLUMNS),
        "formats": {
            "output_separator": OUTPUT_SEPARATOR,
            "trace_separator": TRACE_SEPARATOR,
            "output_separators": {name: output_separator(name) for name in used},
            "doc": "docs/data.md",
        },
        "dedup": {
            "canonical": cfg.dedup.canonical,
            "holdout": cfg.dedup.holdout,
            "regions": {s.name: [str(s.region[0]), str(s.region[1])] for s in plan.splits},
        },
        "languages": used,
        "examples": sum(info["examples"] for info in splits.values()),
        "splits": splits,
        "rejections": dict(sorted(rejections.items())),
        "leakage": leakage_report(plan, out, tasks),
    }
    path = out / MANIFEST
    write_json(path, manifest, sort_keys=False)  # splits in config order
    if card:
        write_card(out, manifest)
    return path


def read_manifest(out: str | Path) -> dict[str, Any]:
    path = Path(out) / MANIFEST
    if not path.exists():
        raise DataBuildError(
            f"no {MANIFEST}: not a dataset, or its build is unfinished (run `cadmus data build`)",
            file=str(out),
        )
    return json.loads(path.read_text(encoding="utf-8"))


def state_dir(out: Path) -> Path:
    return out / STATE_DIR
