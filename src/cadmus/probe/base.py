"""What every instrument shares: the error type, layer points, datasets read as a stream, batches.

A *layer point* is a named place in the residual computation of a model:
``embed`` (the input of block 0) and ``L{i}`` (the output of block i) for
the residual stream, or ``L{i}`` of another hook family (``attn_out``,
``mlp_out``, ``resid_mid``, ``z``: every head's output, flattened). Hook
specs name either a family or one full TransformerLens-style hook name.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import torch

from cadmus.errors import CadmusError
from cadmus.eval import dataset_splits

HOOK_FAMILIES = ("resid", "resid_mid", "attn_out", "mlp_out", "z")
ROW_COLUMNS = (
    "id",
    "split",
    "family",
    "format",
    "prompt",
    "completion",
    "knobs",
    "index",
    "n_statements",
    "depth",
    "max_abs",
    "steps",
)


class ProbeError(CadmusError):
    """A bad instrument request: unknown hook or target, unusable split, inconsistent cache."""


@dataclass(frozen=True)
class LayerPoint:
    """One hook at one depth: its family, a short label for plots, the hook's full name."""

    family: str
    label: str
    hook: str
    depth: int  # 0 = embeddings, i + 1 = after block i (attn_out/mlp_out/z/resid_mid of block i: i + 1)


def layer_points(n_layer: int, spec: str) -> list[LayerPoint]:
    """The layer points of a hook family, or the one point of a full hook name."""
    if spec == "resid":
        points = [LayerPoint("resid", "embed", "blocks.0.hook_resid_pre", 0)]
        return points + [
            LayerPoint("resid", f"L{i}", f"blocks.{i}.hook_resid_post", i + 1) for i in range(n_layer)
        ]
    names = {
        "resid_mid": "blocks.{i}.hook_resid_mid",
        "attn_out": "blocks.{i}.hook_attn_out",
        "mlp_out": "blocks.{i}.hook_mlp_out",
        "z": "blocks.{i}.attn.hook_z",
    }
    if spec in names:
        return [LayerPoint(spec, f"L{i}", names[spec].format(i=i), i + 1) for i in range(n_layer)]
    parts = spec.split(".")
    if len(parts) >= 3 and parts[0] == "blocks" and parts[1].isdigit():
        i = int(parts[1])
        if i >= n_layer:
            raise ProbeError(f"hook {spec!r}: the model has {n_layer} blocks", key="hooks")
        return [LayerPoint(spec, f"L{i}", spec, i + 1)]
    raise ProbeError(
        f"unknown hook {spec!r}: use one of {', '.join(HOOK_FAMILIES)} or a full hook name "
        "such as blocks.0.hook_resid_post",
        key="hooks",
    )


def resolve_hooks(model: Any, specs: Sequence[str]) -> list[LayerPoint]:
    """Every layer point of `specs`, each hook once, checked against the model's hook points."""
    known = model.hook_points()
    seen: dict[str, LayerPoint] = {}
    for spec in specs:
        for point in layer_points(model.config.n_layer, spec):
            if point.hook not in known:
                raise ProbeError(f"the model has no hook point {point.hook!r}", key="hooks")
            if point.hook.endswith("hook_pattern"):
                raise ProbeError(
                    "attention patterns are not cached per position (see `attention`)", key="hooks"
                )
            seen.setdefault(point.hook, point)
    if not seen:
        raise ProbeError("no hooks chosen", key="hooks")
    return list(seen.values())


# ---- datasets -----------------------------------------------------------------------


def split_shards(dataset: str | Path, split: str) -> list[Path]:
    """The Parquet shards of one split of a built dataset (errors name what is missing)."""
    dataset = Path(dataset)
    try:
        splits = dataset_splits(dataset)
    except CadmusError as err:
        raise ProbeError(err.message, file=str(dataset)) from None
    if split not in splits:
        raise ProbeError(f"no split '{split}' (the dataset has: {', '.join(splits)})", file=str(dataset))
    shards = sorted((dataset / split).glob("shard-*.parquet"))
    if not shards:
        raise ProbeError(f"split '{split}' has no shards", file=str(dataset / split))
    return shards


def iter_rows(
    dataset: str | Path,
    split: str,
    limit: int | None = None,
    *,
    batch_size: int = 1024,
    columns: Sequence[str] = ROW_COLUMNS,
) -> Iterator[dict[str, Any]]:
    """The rows of a split, streamed a record batch at a time (memory stays bounded)."""
    left = limit
    for shard in split_shards(dataset, split):
        parquet = pq.ParquetFile(shard)
        have = [c for c in columns if c in parquet.schema_arrow.names]
        for batch in parquet.iter_batches(batch_size=batch_size, columns=have):
            for row in batch.to_pylist():
                if left is not None and left <= 0:
                    return
                yield row
                if left is not None:
                    left -= 1


def read_rows(dataset: str | Path, split: str, limit: int | None = None) -> list[dict[str, Any]]:
    """The first `limit` rows of a split as dicts."""
    return list(iter_rows(dataset, split, limit))


# ---- batches ------------------------------------------------------------------------


def right_padded(seqs: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Ids [B, T] padded on the right, and lengths [B].

    Right padding needs no attention mask under causal attention: a real
    token never sees the padding after it, and its position is unchanged.
    """
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    for row, seq in enumerate(seqs):
        ids[row, : len(seq)] = torch.as_tensor(list(seq), dtype=torch.long)
    return ids, torch.tensor([len(s) for s in seqs], dtype=torch.long)


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def model_device(model: Any) -> torch.device:
    return next(model.parameters()).device


def random_model(model: Any, seed: int = 0) -> Any:
    """A randomly initialised model of the same shape (the control of every probe)."""
    generator_state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        fresh = type(model)(model.config)
    finally:
        torch.random.set_rng_state(generator_state)
    return fresh.to(model_device(model)).eval()
