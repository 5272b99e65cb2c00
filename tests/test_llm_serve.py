"""`cadmus llm eval` against `cadmus serve` of a Cadmus checkpoint gives `cadmus eval`'s verdict on every example.

A small dataset and a barely trained model (so that many answers are wrong,
some of them rambling): the served model, asked through the OpenAI API with
the raw template and strict extraction, must be judged exactly like the
evaluator judges the checkpoint itself.
"""

from __future__ import annotations

import json

import pytest

from cadmus.eval import EvalOptions, answer_budget, evaluate, load_checkpoint, read_split
from cadmus.llm import LLMEvalOptions, OpenAIBackend, llm_evaluate
from cadmus.serve import ServeEngine, serve_in_thread
from cadmus.train import train
from conftest import build_tiny_dataset, tiny_train_config

DATA = {
    "name": "serve-arith",
    "seed": 5,
    "mixture": [{"family": "arith", "format": "complete", "weight": 1, "knobs": {"max_value": 9}}],
    "splits": {"train": {"size": 400}, "test": {"size": 30}},
    "ood": [{"name": "ood_values", "size": 20, "knobs": {"arith": {"min_value": 100, "max_value": 999}}}],
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("serve-eq")
    data = build_tiny_dataset(DATA, root / "data")
    cfg = tiny_train_config(
        root, data, steps=300, log_interval=1000, evaluation={"interval": 1000, "batches": 1}
    )
    return root, data, train(cfg)


def test_llm_eval_of_served_checkpoint_equals_cadmus_eval(run):
    root, data, run_dir = run
    evaluate(run_dir, data, root / "eval", EvalOptions(batch_size=16), log=lambda m: None)
    ckpt = load_checkpoint(run_dir)
    budget = max(
        answer_budget(ckpt, read_split(data, "test")) + answer_budget(ckpt, read_split(data, "ood_values"))
    )
    with ServeEngine.load(run_dir, device="cpu") as engine, serve_in_thread(engine) as url:
        backend = OpenAIBackend(f"{url}/v1", engine.name, api="completions", concurrency=4)
        options = LLMEvalOptions(template="raw", max_tokens=budget, priors=False)
        summary = llm_evaluate(backend, data, root / "llm", options, cache=None, log=lambda m: None)
    ours = [json.loads(x) for x in (root / "eval" / "answers.jsonl").read_text().splitlines()]
    theirs = [json.loads(x) for x in (root / "llm" / "answers.jsonl").read_text().splitlines()]
    assert [r["id"] for r in ours] == [r["id"] for r in theirs] and len(ours) == 50
    assert sum(not r["ok"][0] for r in ours) >= 10  # the comparison covers wrong answers
    assert len({r["answers"][0] for r in ours}) >= 3  # ... and different ones
    for a, b in zip(ours, theirs):
        assert (a["split"], a["ok"], a["verdicts"]) == (b["split"], b["ok"], b["verdicts"]), a["id"]
        assert a["answers"] == b["answers"], a["id"]
    eval_summary = json.loads((root / "eval" / "summary.json").read_text())
    assert summary["splits"] == eval_summary["splits"]
    assert summary["meta"]["extraction"] == "strict"
