"""Activation datasets: a checkpoint run over a split, chosen hooks at chosen positions, on disk.

`cache_activations` streams a split (Parquet record batches), annotates each
example (`targets.annotate`: positions, role labels, VM-derived targets),
runs the model on a batch at a time with hooks that keep only the chosen
positions, and writes shards of at most `shard_rows` positions as
safetensors files as soon as they fill. Memory stays bounded by one batch
plus one shard, so 100,000 examples cache like 1,000 (`make bench-probe`).

Layout of a cache directory::

    meta.json                 checkpoint, dataset, split, hooks, kinds, targets, shards, counts
    examples.parquet          one row per cached example: its metadata (id, family, features, ...)
    shard-00000.safetensors   act.<hook> [n, D]; pos.example, pos.token, pos.kinds, pos.line,
                              pos.var, pos.number, pos.token_id [n]; target.values, target.valid [n, K]

`ActivationCache(dir)` reads it back: the position table and targets are
small and read whole; activations are read per hook, shard by shard, keeping
only the rows asked for.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch
from pydantic import BaseModel, ConfigDict, Field, field_validator
from safetensors import safe_open
from safetensors.numpy import save_file

from cadmus.configio import validate
from cadmus.files import write_json
from cadmus.probe.base import ProbeError, model_device, resolve_hooks, right_padded
from cadmus.probe.report import md_table, write_report
from cadmus.probe.targets import POSITION_KINDS, TokenText, iter_annotated, kind_mask, target_names

FORMAT = "cadmus-activations"
FORMAT_VERSION = 1
POSITION_FIELDS = ("example", "token", "kinds", "line", "var", "number", "token_id")


class CacheOptions(BaseModel):
    """What to cache: hooks (families or full names), position kinds, how much, how."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hooks: tuple[str, ...] = Field(("resid",), min_length=1)
    positions: tuple[str, ...] = Field(("answer", "answer_first", "stmt_end", "variable"), min_length=1)
    limit: int | None = Field(None, ge=1, description="examples (None: the whole split)")
    batch_size: int = Field(256, ge=1)
    shard_rows: int = Field(16384, ge=1, description="positions per shard file")
    dtype: Literal["float32", "float16"] = "float32"
    max_vars: int = Field(4, ge=1, le=64)

    @field_validator("positions")
    @classmethod
    def _known_positions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for kind in value:
            if kind not in POSITION_KINDS:
                raise ValueError(f"unknown position kind {kind!r} (known: {', '.join(POSITION_KINDS)})")
        return value


def cache_options(**values: Any) -> CacheOptions:
    """Validated `CacheOptions`; a bad value raises `ProbeError` naming the key."""
    return validate(CacheOptions, values, ProbeError, what="the cache options")


class _ShardWriter:
    def __init__(self, out: Path, shard_rows: int, dtype: str) -> None:
        self.out = out
        self.shard_rows = shard_rows
        self.dtype = np.float16 if dtype == "float16" else np.float32
        self.parts: dict[str, list[np.ndarray]] = {}
        self.rows = 0
        self.shards: list[dict[str, Any]] = []

    def add(self, arrays: dict[str, np.ndarray]) -> None:
        n = len(arrays["pos.example"])
        for key, value in arrays.items():
            if key.startswith("act."):
                value = value.astype(self.dtype, copy=False)
            self.parts.setdefault(key, []).append(value)
        self.rows += n
        while self.rows >= self.shard_rows:
            self.flush(self.shard_rows)

    def flush(self, rows: int | None = None) -> None:
        """Write the first `rows` buffered positions (all when None) as the next shard."""
        if not self.rows:
            return
        take = self.rows if rows is None else rows
        joined = {k: np.concatenate(v) for k, v in self.parts.items()}
        name = f"shard-{len(self.shards):05d}.safetensors"
        save_file({k: np.ascontiguousarray(v[:take]) for k, v in joined.items()}, str(self.out / name))
        self.shards.append({"file": name, "rows": take})
        self.rows -= take
        self.parts = {k: [v[take:]] for k, v in joined.items()} if self.rows else {}


def cache_activations(
    ckpt: Any,
    dataset: str | Path,
    split: str,
    out: str | Path,
    options: CacheOptions | None = None,
    *,
    model: Any = None,
    tag: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> ActivationCache:
    """Cache `options.hooks` at `options.positions` for a split; returns the cache.

    `ckpt` is a `cadmus.eval.Checkpoint` (model and tokenizer); `model`
    replaces its model (the random-init control runs the same examples
    through a fresh model of the same shape); `tag` names it in meta.json
    (default ``checkpoint``, or ``given`` for another model). Examples that
    are not of the `complete` format are skipped and counted in meta.json.
    """
    opts = options or CacheOptions()
    model = (model if model is not None else ckpt.model).eval()
    tok = ckpt.tokenizer
    points = resolve_hooks(model, opts.hooks)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("shard-*.safetensors"):
        old.unlink()
    text = TokenText(tok)
    device = model_device(model)
    block = model.config.block_size
    names = target_names(opts.max_vars)
    writer = _ShardWriter(out, opts.shard_rows, opts.dtype)
    examples_writer: pq.ParquetWriter | None = None
    skipped: dict[str, int] = {}
    n_examples = 0
    started = time.perf_counter()
    batch: list[tuple[dict[str, Any], Any]] = []

    def run_batch() -> None:
        nonlocal examples_writer, n_examples
        seqs = [a.ids for _, a in batch]
        ids, _ = right_padded(seqs, tok.pad_id)
        sel_b, sel_t, per_example = [], [], []
        for b, (_, a) in enumerate(batch):
            rows = np.flatnonzero(kind_mask(a.kinds, opts.positions))
            per_example.append(rows)
            sel_b.extend([b] * len(rows))
            sel_t.extend(rows.tolist())
        bi = torch.tensor(sel_b, dtype=torch.long, device=device)
        ti = torch.tensor(sel_t, dtype=torch.long, device=device)
        store: dict[str, np.ndarray] = {}

        def keep(tensor: torch.Tensor, *, hook: Any) -> None:
            picked = tensor[bi, ti]
            store[hook.name] = picked.reshape(len(sel_b), -1).float().cpu().numpy()

        with torch.no_grad():
            model.run_with_hooks(ids.to(device), [(p.hook, keep) for p in points])
        arrays: dict[str, np.ndarray] = {f"act.{p.hook}": store[p.hook] for p in points}
        pos_cols: dict[str, list[np.ndarray]] = {f: [] for f in POSITION_FIELDS}
        values, valid = [], []
        meta_rows = []
        for b, ((row, a), rows) in enumerate(zip(batch, per_example)):
            example = n_examples + b
            pos_cols["example"].append(np.full(len(rows), example, dtype=np.int64))
            pos_cols["token"].append(rows.astype(np.int64))
            pos_cols["kinds"].append(a.kinds[rows])
            pos_cols["line"].append(a.line[rows])
            pos_cols["var"].append(a.var[rows])
            pos_cols["number"].append(a.number[rows])
            pos_cols["token_id"].append(np.asarray(a.ids, dtype=np.int64)[rows])
            values.append(a.values[rows])
            valid.append(a.valid[rows])
            meta_rows.append(
                {
                    "example": example,
                    "id": row.get("id"),
                    "split": row.get("split", split),
                    "family": row.get("family"),
                    "index": row.get("index"),
                    "n_statements": row.get("n_statements"),
                    "depth": row.get("depth"),
                    "max_abs": row.get("max_abs"),
                    "steps": row.get("steps"),
                    "n_tokens": len(a.ids),
                    "answer": a.answer,
                    "variables": " ".join(a.variables),
                    "prompt": row["prompt"],
                    "completion": row["completion"],
                }
            )
        for f in POSITION_FIELDS:
            arrays[f"pos.{f}"] = np.concatenate(pos_cols[f])
        arrays["target.values"] = np.concatenate(values).astype(np.int64)
        arrays["target.valid"] = np.concatenate(valid).astype(np.uint8)
        writer.add(arrays)
        table = pa.Table.from_pylist(meta_rows)
        if examples_writer is None:
            examples_writer = pq.ParquetWriter(str(out / "examples.parquet"), table.schema)
        examples_writer.write_table(table.cast(examples_writer.schema))
        n_examples += len(batch)
        if progress is not None:
            progress(len(batch))
        batch.clear()

    try:
        for row, a in iter_annotated(
            text, dataset, split, opts.limit, skipped, block_size=block, max_vars=opts.max_vars
        ):
            batch.append((row, a))
            if len(batch) >= opts.batch_size:
                run_batch()
        if batch:
            run_batch()
        writer.flush()
    finally:
        if examples_writer is not None:
            examples_writer.close()
    if n_examples == 0:
        raise ProbeError(
            f"no example of split '{split}' could be cached (skipped: {skipped})", file=str(dataset)
        )
    seconds = time.perf_counter() - started
    meta = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "checkpoint": str(getattr(ckpt, "path", "")),
        "dataset": str(dataset),
        "split": split,
        "model": tag or ("checkpoint" if model is ckpt.model else "given"),
        "options": opts.model_dump(mode="json"),
        "hooks": [{"hook": p.hook, "family": p.family, "label": p.label, "depth": p.depth} for p in points],
        "positions": list(opts.positions),
        "targets": list(names),
        "examples": n_examples,
        "rows": sum(s["rows"] for s in writer.shards),
        "skipped": skipped,
        "shards": writer.shards,
        "seconds": round(seconds, 3),
    }
    write_json(out / "meta.json", meta, sort_keys=False)
    return ActivationCache(out)


class ActivationCache:
    """A cache directory written by `cache_activations`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        meta_path = self.path / "meta.json"
        try:
            self.meta: dict[str, Any] = json.loads(meta_path.read_text())
        except FileNotFoundError:
            raise ProbeError("not an activation cache (no meta.json)", file=str(self.path)) from None
        except json.JSONDecodeError as err:
            raise ProbeError(f"meta.json is not JSON ({err.msg})", file=str(meta_path)) from None
        if self.meta.get("format") != FORMAT or self.meta.get("version") != FORMAT_VERSION:
            raise ProbeError(f"not a {FORMAT} v{FORMAT_VERSION} cache", file=str(meta_path))
        self._positions: dict[str, np.ndarray] | None = None
        self._values: np.ndarray | None = None
        self._valid: np.ndarray | None = None

    # ---- facts

    @property
    def hooks(self) -> list[str]:
        return [h["hook"] for h in self.meta["hooks"]]

    @property
    def hook_info(self) -> list[dict[str, Any]]:
        return list(self.meta["hooks"])

    @property
    def targets(self) -> list[str]:
        return list(self.meta["targets"])

    @property
    def n_rows(self) -> int:
        return int(self.meta["rows"])

    @property
    def n_examples(self) -> int:
        return int(self.meta["examples"])

    def _shard_paths(self) -> list[Path]:
        return [self.path / s["file"] for s in self.meta["shards"]]

    # ---- small tables, read whole

    def _read_small(self) -> None:
        cols: dict[str, list[np.ndarray]] = {f: [] for f in POSITION_FIELDS}
        values, valid = [], []
        for shard in self._shard_paths():
            with safe_open(str(shard), framework="numpy") as f:
                for field in POSITION_FIELDS:
                    cols[field].append(f.get_tensor(f"pos.{field}"))
                values.append(f.get_tensor("target.values"))
                valid.append(f.get_tensor("target.valid").astype(bool))
        self._positions = {k: np.concatenate(v) for k, v in cols.items()}
        self._values = np.concatenate(values)
        self._valid = np.concatenate(valid)

    @property
    def positions(self) -> dict[str, np.ndarray]:
        """The position table: example, token, kinds, line, var, number, token_id (one entry per row)."""
        if self._positions is None:
            self._read_small()
        assert self._positions is not None
        return self._positions

    def target(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(values, valid) of one target for every row."""
        if name not in self.targets:
            raise ProbeError(f"unknown target {name!r} (cached: {', '.join(self.targets)})", key="targets")
        if self._values is None:
            self._read_small()
        assert self._values is not None and self._valid is not None
        k = self.targets.index(name)
        return self._values[:, k], self._valid[:, k]

    def select(self, kind: str | Sequence[str] | None = None, line: int | None = None) -> np.ndarray:
        """A boolean row mask: rows of a position kind (any of several) and, optionally, one source line."""
        pos = self.positions
        mask = np.ones(len(pos["example"]), dtype=bool)
        if kind is not None:
            mask &= kind_mask(pos["kinds"], tuple([kind] if isinstance(kind, str) else kind))
        if line is not None:
            mask &= pos["line"] == line
        return mask

    def load(self, hook: str, mask: np.ndarray | None = None) -> np.ndarray:
        """Activations of `hook` at the rows of `mask` (all rows when None), float32 [n, D]."""
        if hook not in self.hooks:
            raise ProbeError(f"hook {hook!r} is not in this cache ({', '.join(self.hooks)})", key="hooks")
        parts = []
        start = 0
        for shard, info in zip(self._shard_paths(), self.meta["shards"]):
            rows = info["rows"]
            with safe_open(str(shard), framework="numpy") as f:
                if mask is None:
                    parts.append(f.get_tensor(f"act.{hook}").astype(np.float32))
                else:
                    local = mask[start : start + rows]
                    if local.any():
                        parts.append(f.get_tensor(f"act.{hook}")[local].astype(np.float32))
            start += rows
        if not parts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.concatenate(parts)

    def examples(self) -> list[dict[str, Any]]:
        """The metadata of every cached example."""
        return pq.read_table(self.path / "examples.parquet").to_pylist()


def cache_report(cache: ActivationCache, *, command: str | None = None) -> Path:
    """Write the cache's report.md: what was cached, how much, how fast, and how to read it back."""
    meta = cache.meta
    pos = cache.positions
    counts = [(kind, int(kind_mask(pos["kinds"], kind).sum())) for kind in meta["positions"]]
    seconds = float(meta["seconds"])
    return write_report(
        cache.path,
        title="Activation cache",
        command=command,
        inputs={
            "checkpoint": meta["checkpoint"],
            "model": meta["model"],
            "dataset": meta["dataset"],
            "split": f"{meta['split']} ({meta['examples']} examples, skipped: {meta['skipped'] or 'none'})",
            "positions stored": f"{meta['rows']} ({meta['rows'] / max(seconds, 1e-9):.0f}/s, {seconds:.1f}s)",
            "dtype": meta["options"]["dtype"],
        },
        sections=[
            (
                "Hooks",
                md_table(
                    ["layer", "hook", "family"], [(h["label"], h["hook"], h["family"]) for h in meta["hooks"]]
                ),
            ),
            ("Positions by kind", md_table(["kind", "rows"], counts)),
            ("Targets (from the VM)", ", ".join(f"`{t}`" for t in meta["targets"])),
            (
                "Reading it back",
                "```python\nfrom cadmus.probe import ActivationCache\n"
                f"cache = ActivationCache({str(cache.path)!r})\n"
                'rows = cache.select("stmt_end", line=1)          # a boolean mask over positions\n'
                f"X = cache.load({meta['hooks'][-1]['hook']!r}, rows)\n"
                'values, valid = cache.target("var1")\n```',
            ),
        ],
        files=["meta.json", "examples.parquet", *(s["file"] for s in meta["shards"])],
    )
