"""A quick accuracy check during training: greedy answers to a few validation prompts, judged on the VM."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cadmus.eval.pipeline import Checkpoint, answer_budget, generate_answers, judge_answer, read_split
from cadmus.tokenizer import Tokenizer


def quick_eval_hook(config: Any, n: int = 256, split: str | None = None):
    """An `on_eval(model, step)` for `cadmus.train.train`, or None when the run has no dataset dir.

    It judges `n` prompts of the validation split (the first n, the same at
    every evaluation) and returns {"val_accuracy": ..., "val_prompts": n}.
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

    def on_eval(model: Any, step: int) -> dict[str, Any]:
        if "rows" not in state:
            state["rows"] = read_split(dataset, split, n)
            state["tokenizer"] = Tokenizer.load(Path(config.out_dir) / "tokenizer.json")
        rows = state["rows"]
        ckpt = Checkpoint(model, state["tokenizer"], Path(config.out_dir), None)
        answers = generate_answers(
            ckpt,
            [r["prompt"] for r in rows],
            [r["format"] for r in rows],
            max_new_tokens=answer_budget(ckpt, rows),
            batch_size=256,
        )
        ok = sum(judge_answer(r, a[0]).ok for r, a in zip(rows, answers))
        return {"val_accuracy": ok / len(rows), "val_prompts": len(rows)}

    return on_eval
