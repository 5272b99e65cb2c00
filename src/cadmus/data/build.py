"""The sharded, deterministic, resumable dataset build.

Work is cut into shards: split `s` has `ceil(size / shard_size)` shards and
the shards of all splits are numbered in one global order (train, val, test,
then the OOD splits in config order). `--shard i/n` builds the shards whose
global number is `i` modulo `n`; `--workers N` builds them in N processes.
A shard's rows depend only on the config and its coordinates, so any number
of workers or jobs gives the same bytes.

Each shard is streamed to `DIR/{split}/.shard-00000.parquet.tmp` in row
groups, then renamed atomically; then its sidecar
`DIR/.shards/{split}-00000.json` records its SHA-256, row count, generation
statistics and the config fingerprint, and `.keys` holds the 8-byte program
keys of its rows (used for the leakage report). A resumed build trusts a
shard whose file hashes to its sidecar's SHA-256 and skips it. When every
shard exists, the build writes `manifest.json` and the dataset card.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing as mp
import os
import queue
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from cadmus.data.config import DataConfig, Plan, config_from_dict, load_config, resolve
from cadmus.data.generate import COLUMNS, DataBuildError, ShardStats, generate, to_row
from cadmus.data.manifest import finalize
from cadmus.data.shards import STATE_DIR, ShardTask, plan_tasks, shard_done
from cadmus.errors import CadmusError
from cadmus.files import sha256_file, write_json

SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("split", pa.string()),
        ("family", pa.string()),
        ("format", pa.string()),
        ("language", pa.string()),
        ("prompt", pa.string()),
        ("completion", pa.string()),
        ("judge", pa.string()),
        ("knobs", pa.string()),
        ("seed", pa.int64()),
        ("index", pa.int64()),
        ("n_statements", pa.int64()),
        ("depth", pa.int64()),
        ("max_abs", pa.int64()),
        ("steps", pa.int64()),
        ("features", pa.string()),
    ]
)
assert tuple(SCHEMA.names) == COLUMNS
ROW_GROUP = 4096  # rows per Parquet row group (fixed: part of the byte-identical output)
PROGRESS_EVERY = 256


def heaviest_first(plan: Plan, tasks: list[ShardTask]) -> list[ShardTask]:
    """`tasks` ordered by expected attempts, most first, so no worker is left alone with a long shard.

    An example of a split whose hash region covers a share `s` of the space
    takes about `1 / s` attempts (a renamed split regenerates its base split).
    """
    space = float(2**64)

    def attempts(task: ShardTask) -> float:
        split = plan.split(task.split)
        if split.kind == "renamed":
            split = plan.split(split.renamed_of or "test")
        lo, hi = split.region
        return (task.stop - task.start) * space / max(1, hi - lo)

    return sorted(tasks, key=attempts, reverse=True)


def _table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pydict({c: [r[c] for r in rows] for c in COLUMNS}, schema=SCHEMA)


def _writer(path: Path) -> pq.ParquetWriter:
    # Fixed options only: no timestamps exist in Parquet metadata; `created_by`
    # names the pyarrow version, so identical installs write identical bytes.
    return pq.ParquetWriter(
        str(path),
        SCHEMA,
        compression="zstd",
        compression_level=3,
        use_dictionary=["split", "family", "format", "language", "knobs"],
        write_statistics=False,
        store_schema=True,
    )


def build_shard(
    plan: Plan, task: ShardTask, out: Path, progress: Callable[[int], None] | None = None
) -> dict[str, Any]:
    """Generate, verify and write one shard; return its sidecar record."""
    path = task.path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    (out / STATE_DIR).mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    stats = ShardStats()
    keys: list[int] = []
    rows: list[dict[str, Any]] = []
    pending = 0
    writer = _writer(tmp)
    try:
        for acc in generate(plan, plan.split(task.split), task.start, task.stop, stats):
            rows.append(to_row(plan, task.split, acc))
            keys.append(acc.key)
            pending += 1
            if progress is not None and pending >= PROGRESS_EVERY:
                progress(pending)
                pending = 0
            if len(rows) >= ROW_GROUP:
                writer.write_table(_table(rows), row_group_size=ROW_GROUP)
                rows = []
        if rows or not keys:
            writer.write_table(_table(rows), row_group_size=ROW_GROUP)
    finally:
        writer.close()
    if progress is not None and pending:
        progress(pending)
    import numpy as np

    keys_tmp = task.keys_path(out).with_suffix(".keys.tmp")
    np.asarray(keys, dtype="<u8").tofile(keys_tmp)
    os.replace(keys_tmp, task.keys_path(out))
    os.replace(tmp, path)
    record = {
        "split": task.split,
        "shard": task.shard,
        "file": f"{task.split}/{task.name}",
        "rows": len(keys),
        "sha256": sha256_file(path),
        "fingerprint": plan.fingerprint,
        "stats": stats.to_json(),
    }
    write_json(task.sidecar(out), record)
    return record


# ---- workers --------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _init_worker(config: dict[str, Any], file: str | None, out: str, progress_queue: Any) -> None:
    _WORKER["plan"] = resolve(config_from_dict(config, file=file), file=file)
    _WORKER["out"] = Path(out)
    _WORKER["queue"] = progress_queue


def _run_task(task: ShardTask) -> dict[str, Any] | str:
    """Build one shard in a worker; a CadmusError comes back as its one-line text."""
    q = _WORKER["queue"]
    try:
        return build_shard(_WORKER["plan"], task, _WORKER["out"], q.put if q is not None else None)
    except CadmusError as err:
        return str(err)


def _context() -> Any:
    methods = mp.get_all_start_methods()
    return mp.get_context("fork" if "fork" in methods else "spawn")


def _run_parallel(plan: Plan, tasks: list[ShardTask], out: Path, workers: int, bar: Any) -> None:
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    ctx = _context()
    progress_queue = ctx.Queue() if bar is not None else None
    config = plan.config.model_dump(mode="json")
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=ctx,
        initializer=_init_worker,
        initargs=(config, plan.file, str(out), progress_queue),
    ) as pool:
        pending = {pool.submit(_run_task, t) for t in tasks}
        while pending:
            done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            if progress_queue is not None:
                with contextlib.suppress(queue.Empty):
                    while True:
                        bar.update(progress_queue.get_nowait())
            for fut in done:
                outcome = fut.result()  # a worker's crash re-raises here
                if isinstance(outcome, str):
                    for other in pending:
                        other.cancel()
                    raise DataBuildError(outcome)
    if progress_queue is not None:
        with contextlib.suppress(queue.Empty, OSError, ValueError):
            while True:
                bar.update(progress_queue.get(timeout=0.05))


@dataclass
class BuildResult:
    out: Path
    built: list[str]
    skipped: list[str]
    remaining: int  # shards of the dataset not yet built (other jobs' or future runs')
    manifest: Path | None


def _check_state(out: Path, plan: Plan) -> None:
    state = out / STATE_DIR / "plan.json"
    if state.exists():
        try:
            previous = json.loads(state.read_text(encoding="utf-8")).get("fingerprint")
        except (OSError, ValueError):
            previous = None
        if previous != plan.fingerprint:
            raise DataBuildError(
                f"{out} holds a build of a different config; use another --out or delete it",
                file=str(out),
            )
        return
    (out / STATE_DIR).mkdir(parents=True, exist_ok=True)
    write_json(state, {"fingerprint": plan.fingerprint, "config": plan.config.model_dump(mode="json")})


def build_dataset(
    config: str | Path | DataConfig | Plan,
    out: str | Path,
    *,
    workers: int = 1,
    shard: tuple[int, int] | None = None,
    progress: bool = True,
    card: bool = True,
) -> BuildResult:
    """Build (or resume) the dataset of `config` into `out`; finalize when all shards exist."""
    if isinstance(config, Plan):
        plan = config
    elif isinstance(config, DataConfig):
        plan = resolve(config)
    else:
        plan = resolve(load_config(config), file=str(config))
    if shard is not None:
        i, n = shard
        if n < 1 or not 0 <= i < n:
            raise DataBuildError(f"--shard {i}/{n}: need 0 <= i < n", key="shard")
    if workers < 1:
        raise DataBuildError("--workers must be >= 1", key="workers")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _check_state(out, plan)
    tasks = plan_tasks(plan)
    mine = [t for t in tasks if shard is None or t.gid % shard[1] == shard[0]]
    todo: list[ShardTask] = []
    skipped: list[str] = []
    for t in mine:
        if shard_done(plan, t, out) is None:
            todo.append(t)
        else:
            skipped.append(f"{t.split}/{t.name}")
    bar = None
    if progress and todo:
        from tqdm import tqdm

        tqdm.monitor_interval = 0  # no monitor thread: worker processes are forked
        # A log file gets a line every 10 s, not hundreds of carriage-return updates.
        bar = tqdm(
            total=sum(t.stop - t.start for t in todo),
            unit="ex",
            file=sys.stderr,
            desc=plan.config.name,
            mininterval=0.1 if sys.stderr.isatty() else 10.0,
        )
    try:
        if workers == 1 or len(todo) <= 1:
            for t in todo:
                build_shard(plan, t, out, bar.update if bar is not None else None)
        else:
            _run_parallel(plan, heaviest_first(plan, todo), out, min(workers, len(todo)), bar)
    finally:
        if bar is not None:
            bar.close()
    remaining = sum(1 for t in tasks if shard_done(plan, t, out) is None)
    manifest = None
    if remaining == 0:
        manifest = finalize(plan, out, tasks, card=card)
    return BuildResult(out, [f"{t.split}/{t.name}" for t in todo], skipped, remaining, manifest)
