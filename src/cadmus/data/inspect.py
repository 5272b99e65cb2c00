"""Checking and reading a built dataset: `verify_dataset`, `iter_examples`, `format_example`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cadmus.data.formats import judge
from cadmus.data.generate import COLUMNS, DataBuildError
from cadmus.data.manifest import read_manifest
from cadmus.files import sha256_file


def verify_dataset(
    out: str | Path, *, sample: int | None = 200, check_hashes: bool = True, workers: int = 1
) -> list[str]:
    """Problems found in a dataset (empty when sound): one line each.

    Checks that every shard listed in the manifest exists, hashes to its
    recorded SHA-256 and holds the recorded number of rows with the expected
    columns, and that the manifest's leakage report shows no program of an
    evaluation split in train; then re-judges about `sample` examples (spread
    evenly over every shard; `None`: every example) on the VM through their
    format's judge with the dataset's own completion as the answer. Shards are
    checked in `workers` processes.
    """
    if workers < 1:
        raise DataBuildError("--workers must be >= 1", key="workers")
    out = Path(out)
    problems: list[str] = []
    try:
        manifest = read_manifest(out)
    except Exception as err:  # a missing or unreadable manifest is one problem line
        return [str(err)]
    for split, n in manifest.get("leakage", {}).get("overlap_with_train", {}).items():
        if n:
            problems.append(f"leakage: {n} program(s) of '{split}' also occur in train")
    shards = [(name, s) for name, info in manifest["splits"].items() for s in info["shards"]]
    if sample is None:
        per_shard: int | None = None
    else:
        per_shard = max(1, -(-sample // max(1, len(shards)))) if sample > 0 else 0
    jobs = [(str(out), split, shard, per_shard, check_hashes) for split, shard in shards]
    if workers > 1 and len(jobs) > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
            for found in pool.map(_verify_shard, jobs):
                problems.extend(found)
    else:
        for job in jobs:
            problems.extend(_verify_shard(job))
    return problems


def _verify_shard(job: tuple[str, str, dict[str, Any], int | None, bool]) -> list[str]:
    """The problems of one shard: file, hash, rows, columns, then re-judged examples."""
    import pyarrow.parquet as pq

    out, split, shard, per_shard, check_hashes = job
    path = Path(out) / shard["file"]
    if not path.exists():
        return [f"{shard['file']}: missing"]
    if check_hashes and sha256_file(path) != shard["sha256"]:
        return [f"{shard['file']}: SHA-256 differs from the manifest (file changed or corrupted)"]
    try:
        meta = pq.read_metadata(path)
    except Exception as err:
        return [f"{shard['file']}: unreadable Parquet ({err})"]
    problems: list[str] = []
    if meta.num_rows != shard["rows"]:
        problems.append(f"{shard['file']}: {meta.num_rows} rows, manifest says {shard['rows']}")
    names = tuple(meta.schema.to_arrow_schema().names)
    if names != COLUMNS:
        return [*problems, f"{shard['file']}: columns {names} differ from {COLUMNS}"]
    if per_shard == 0 or meta.num_rows == 0:
        return problems
    table = pq.read_table(path, columns=["id", "split", "format", "prompt", "completion", "judge"])
    n = table.num_rows
    if per_shard is not None:
        table = table.take(list(range(0, n, max(1, n // per_shard))[:per_shard]))
    for row in table.to_pylist():
        if row["split"] != split:
            problems.append(f"{shard['file']}: row {row['id']} says split '{row['split']}'")
        verdict = judge(row["format"], row["prompt"], row["completion"], row["judge"])
        if not verdict.ok:
            problems.append(
                f"{shard['file']}: {row['id']} ({row['format']}) judged {verdict.kind}: {verdict}"
            )
    return problems


def iter_examples(
    out: str | Path,
    *,
    split: str | None = None,
    family: str | None = None,
    format: str | None = None,
) -> Iterator[dict[str, Any]]:
    """Rows of a built dataset, filtered, one shard at a time."""
    import pyarrow.parquet as pq

    out = Path(out)
    manifest = read_manifest(out)
    for name, info in manifest["splits"].items():
        if split is not None and name != split:
            continue
        for shard in info["shards"]:
            table = pq.read_table(out / shard["file"])
            for batch in table.to_batches():
                for row in batch.to_pylist():
                    if family is not None and row["family"] != family:
                        continue
                    if format is not None and row["format"] != format:
                        continue
                    yield row


def format_example(row: dict[str, Any]) -> str:
    """An example for reading: a header, then prompt `|` completion."""
    head = f"=== {row['id']}  {row['family']}/{row['format']}  steps={row['steps']} max_abs={row['max_abs']}"
    return f"{head}\n{row['prompt']}|{row['completion']}"
