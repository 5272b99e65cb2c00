"""Batches from packed token arrays, in an order fixed by the seed alone.

The packed format (written by `cadmus.tokenizer.pack`) per split:
``{split}.tokens.bin`` (uint16 ids), ``{split}.mask.bin`` (uint8, 1 on
completion tokens and the closing eos) and ``{split}.offsets.npy`` (int64,
n + 1 example starts). Each example is ``<bos> prompt <sep> completion <eos>``.

A *batcher* turns a split into numbered *items* (an example in ``rows``
mode, a block_size window in ``windows`` mode) and serves them in epochs: the
order of epoch e is a permutation drawn from ``(seed, stage, e)``. Training
consumes items ``[k * G, (k + 1) * G)`` at step k of a stage (G the global
batch in sequences), and micro-batch j of a step holds items
``[j * micro, (j + 1) * micro)`` of it; process r takes micro-batches
``a * world + r``. So the data a step sees depends on the seed and the step
only -- not on the number of processes -- and resuming needs nothing but the
step (plus the curriculum stage it started in).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cadmus.errors import CadmusError
from cadmus.model import IGNORE_INDEX


class DataError(CadmusError):
    """Packed data that is missing, inconsistent or cannot be batched."""


@dataclass
class Batch:
    x: torch.Tensor  # int64 [B, T] inputs
    y: torch.Tensor  # int64 [B, T] targets, IGNORE_INDEX (-1) where no loss is counted
    n_loss: int  # number of targets that count

    @property
    def positions(self) -> int:
        return self.x.numel()


class Batcher:
    """Deterministic batches of one split (`arrays`: a `cadmus.tokenizer.PackedSplit`,
    or anything with its ``tokens``, ``mask`` and ``offsets`` arrays).

    ``items`` restricts rows mode to some examples (curriculum filters);
    ``groups``/``weights`` make each epoch a weighted draw (with replacement)
    over groups of examples instead of a permutation.
    """

    def __init__(
        self,
        arrays: Any,
        *,
        batching: str,
        block_size: int,
        micro: int,
        pad_id: int,
        loss_on: str = "completion",
        seed: int = 0,
        stage: int = 0,
        shuffle: bool = True,
        items: np.ndarray | None = None,
        item_weights: np.ndarray | None = None,
    ) -> None:
        self.a = arrays
        self.batching = batching
        self.block_size = block_size
        self.micro = micro
        self.pad_id = pad_id
        self.loss_on = loss_on
        self.seed = seed
        self.stage = stage
        self.shuffle = shuffle
        if batching == "windows":
            if items is not None or item_weights is not None:
                raise DataError("data.where and data.weights need data.batching = rows")
            self.items = None
            self.n_items = max(0, (len(arrays.tokens) - 1) // block_size)
        elif batching == "rows":
            self.items = (
                np.arange(len(arrays.offsets) - 1) if items is None else np.asarray(items, dtype=np.int64)
            )
            self.n_items = len(self.items)
        else:
            raise DataError(f"unknown batching {batching!r}", key="data.batching")
        self.item_weights = item_weights
        if self.n_items == 0:
            raise DataError("no examples to batch (empty split, or a filter removed everything)")
        self._epoch = -1
        self._order = np.arange(0)

    def order(self, epoch: int) -> np.ndarray:
        """The item ids of `epoch`, in order (cached for the current epoch)."""
        if epoch != self._epoch:
            if not self.shuffle:
                self._order = np.arange(self.n_items)
            else:
                rng = np.random.default_rng([self.seed, self.stage, epoch])
                if self.item_weights is None:
                    self._order = rng.permutation(self.n_items)
                else:
                    p = self.item_weights / self.item_weights.sum()
                    self._order = rng.choice(self.n_items, size=self.n_items, replace=True, p=p)
            self._epoch = epoch
        return self._order

    def _item(self, k: int) -> int:
        return int(self.order(k // self.n_items)[k % self.n_items])

    def micro_batch(self, first: int) -> Batch:
        """Items ``first .. first + micro - 1`` of the stream (wrapping into new epochs)."""
        ids = [self._item(k) for k in range(first, first + self.micro)]
        if self.batching == "windows":
            return self._windows(ids)
        return self._rows(ids)

    def _targets(self, toks: np.ndarray, mask: np.ndarray) -> np.ndarray:
        y = toks[1:].astype(np.int64)
        if self.loss_on == "completion":
            y[mask[1:] == 0] = IGNORE_INDEX
        return y

    def _windows(self, ids: list[int]) -> Batch:
        T = self.block_size
        xs, ys = [], []
        for i in ids:
            toks = np.asarray(self.a.tokens[i * T : i * T + T + 1])
            mask = np.asarray(self.a.mask[i * T : i * T + T + 1])
            xs.append(toks[:-1].astype(np.int64))
            ys.append(self._targets(toks, mask))
        y = torch.from_numpy(np.stack(ys))
        return Batch(torch.from_numpy(np.stack(xs)), y, int((y != IGNORE_INDEX).sum()))

    def _rows(self, ids: list[int]) -> Batch:
        rows = []
        for i in ids:
            e = int(self.items[i])
            start, end = int(self.a.offsets[e]), int(self.a.offsets[e + 1])
            end = min(end, start + self.block_size + 1)  # truncate examples longer than the context
            toks = np.asarray(self.a.tokens[start:end])
            mask = np.asarray(self.a.mask[start:end])
            rows.append((toks[:-1].astype(np.int64), self._targets(toks, mask)))
        width = max(len(x) for x, _ in rows)
        x = np.full((len(rows), width), self.pad_id, dtype=np.int64)
        y = np.full((len(rows), width), IGNORE_INDEX, dtype=np.int64)
        for r, (xr, yr) in enumerate(rows):
            x[r, : len(xr)] = xr
            y[r, : len(yr)] = yr
        yt = torch.from_numpy(y)
        return Batch(torch.from_numpy(x), yt, int((yt != IGNORE_INDEX).sum()))


def select_items(
    metadata: dict[str, np.ndarray] | None,
    n_examples: int,
    where: dict[str, tuple[float, float]],
    weights: dict[str, float],
    weight_by: str,
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Example ids kept by `where` and their sampling weights (None when not needed)."""
    if not where and not weights:
        return None, None
    if metadata is None:
        raise DataError(
            "data.where / data.weights need the dataset's metadata (give data.dataset or data.build)"
        )
    keep = np.ones(n_examples, dtype=bool)
    for column, (lo, hi) in where.items():
        if column not in metadata:
            raise DataError(
                f"no metadata column {column!r} (have: {', '.join(sorted(metadata))})", key="data.where"
            )
        values = np.asarray(metadata[column], dtype=np.float64)
        keep &= (values >= lo) & (values <= hi)
    items = np.flatnonzero(keep)
    if not weights:
        return items, None
    if weight_by not in metadata:
        raise DataError(f"no metadata column {weight_by!r}", key="data.weight_by")
    labels = np.asarray(metadata[weight_by])[items]
    w = np.array([float(weights.get(str(v), 0.0)) for v in labels])
    # Each group's total weight is its configured weight, whatever its size.
    for value in set(labels.tolist()):
        sel = labels == value
        if w[sel].sum() > 0:
            w[sel] /= sel.sum()
    if w.sum() <= 0:
        raise DataError("data.weights give every remaining example weight 0", key="data.weights")
    return items, w


def read_metadata(dataset_dir: str | Path, split: str, columns: list[str]) -> dict[str, np.ndarray]:
    """Columns of a dataset split, rows in the order `pack` packs them (shards sorted by name)."""
    import pyarrow.parquet as pq

    shards = sorted((Path(dataset_dir) / split).glob("shard-*.parquet"))
    if not shards:
        raise DataError(f"no Parquet shards for split {split!r}", file=str(Path(dataset_dir) / split))
    parts: dict[str, list[np.ndarray]] = {c: [] for c in columns}
    for shard in shards:
        schema = pq.read_schema(shard)
        for column in columns:
            if column not in schema.names:
                raise DataError(
                    f"no column {column!r} in the dataset (have: {', '.join(schema.names)})", file=str(shard)
                )
        table = pq.read_table(shard, columns=columns)
        for column in columns:
            parts[column].append(table.column(column).to_numpy(zero_copy_only=False))
    return {c: np.concatenate(v) for c, v in parts.items()}
