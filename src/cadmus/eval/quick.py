"""A quick accuracy check during training: greedy answers to a few validation prompts, judged on the VM."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from cadmus.eval.pipeline import Checkpoint, answer_budget, generate_answers, judge_answer, read_split
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
    {"val_accuracy": ..., "val_prompts": n}. `checkpoint(model)` views the model in training as a
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
        if not rows:
            return {"val_accuracy": None, "val_prompts": 0}
        answers = generate_answers(
            ckpt,
            [r["prompt"] for r in rows],
            [r["format"] for r in rows],
            max_new_tokens=answer_budget(ckpt, rows),
            batch_size=batch_size,
        )
        ok = sum(judge_answer(r, a[0]).ok for r, a in zip(rows, answers))
        return {"val_accuracy": ok / len(rows), "val_prompts": len(rows)}

    return on_eval
