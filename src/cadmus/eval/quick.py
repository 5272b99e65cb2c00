"""A quick accuracy check during training: greedy answers to a few validation prompts, judged on the VM."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from cadmus.eval.pipeline import Checkpoint, EvalError, count_correct, read_split
from cadmus.tokenizer import Tokenizer


def quick_eval_hook(
    config: Any,
    n: int = 256,
    split: str | None = None,
    *,
    checkpoint: Callable[[Any], Checkpoint] | None = None,
    batch_size: int = 256,
):
    """An `on_eval(model, step, where=...)` for `cadmus.train.train`, or None when the run has no
    dataset dir.

    It judges the first `n` prompts of the validation split that the curriculum stage's
    `where` filter keeps (the same prompts at every evaluation of a stage) and returns
    {"val_accuracy": ..., "val_prompts": n}, plus `{split}_accuracy` for each split named in
    ``config.eval.splits`` (its first `n` prompts, unfiltered). `checkpoint(model)` views the model in training as a
    `Checkpoint` (tokenizer, prompt framing, decoding); by default a Cadmus model with the run's
    ``tokenizer.json``.
    """
    data = config.data
    if data.dataset:
        dataset = Path(data.dataset)
    elif data.build:
        dataset = Path(config.out_dir) / "data"
    else:
        return None
    split = split or data.val_split
    if not split:
        return None
    extra = list(config.eval.splits)
    if dataset.is_dir():  # a dataset the run builds first is checked at its first evaluation
        for name in extra:
            if not any((dataset / name).glob("shard-*.parquet")):
                raise EvalError(f"eval.splits: split '{name}' has no shards", file=str(dataset))
    state: dict[str, Any] = {}

    def on_eval(model: Any, step: int, where: dict[str, Any] | None = None) -> dict[str, Any]:
        if checkpoint is not None:
            ckpt = checkpoint(model)
        else:
            if "tokenizer" not in state:
                state["tokenizer"] = Tokenizer.load(Path(config.out_dir) / "tokenizer.json")
            ckpt = Checkpoint(model, state["tokenizer"], Path(config.out_dir), None)
        key = repr(sorted((where or {}).items()))
        if key not in state:
            state[key] = read_split(dataset, split, n, where=where)
        rows = state[key]
        record: dict[str, Any] = (
            {"val_accuracy": _accuracy(ckpt, rows, batch_size), "val_prompts": len(rows)}
            if rows
            else {"val_accuracy": None, "val_prompts": 0}
        )
        for name in extra:
            if name not in state:
                state[name] = read_split(dataset, name, n)
            record[f"{name}_accuracy"] = _accuracy(ckpt, state[name], batch_size)
        return record

    return on_eval


def _accuracy(ckpt: Checkpoint, rows: list[dict[str, Any]], batch_size: int) -> float:
    return count_correct(ckpt, rows, batch_size) / len(rows)
