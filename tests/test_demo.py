"""The demo's own path at a reduced size: it records every figure it prints, and the docs render from that file."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from cadmus.demo import run_demo
from cadmus.figures import render_block
from cadmus.files import sha256_file
from cadmus.train import latest_checkpoint

DATA = {
    "name": "tiny-arith",
    "seed": 5,
    "mixture": [{"family": "arith", "format": "complete", "weight": 1, "knobs": {"max_value": 9}}],
    "splits": {"train": {"size": 300}, "val": {"size": 24}, "test": {"size": 24}},
    "ood": [{"name": "ood_values", "size": 12, "knobs": {"arith": {"min_value": 100, "max_value": 999}}}],
}
TRAIN = {
    "seed": 0,
    "device": "cpu",
    "threads": 1,
    "data": {"tokenizer": {"numbers": "reversed"}},
    "model": {"preset": "tiny", "n_layer": 1, "n_embd": 32, "n_head": 2, "block_size": 48},
    "optim": {"lr": 3e-3},
    "batch": {"micro": 16},
    "stop": {"max_steps": 20, "max_time_s": 3600},
    "eval": {"interval": 10, "batches": 1},
    "log": {"interval": 10, "tensorboard": False, "progress": False},
}


def test_demo_records_its_figures_and_resumes(tmp_path: Path, capsys) -> None:
    data_cfg, train_cfg = tmp_path / "data.yaml", tmp_path / "train.yaml"
    data_cfg.write_text(yaml.safe_dump(DATA))
    train_cfg.write_text(yaml.safe_dump(TRAIN))
    out = tmp_path / "demo"
    results = run_demo(out, data_cfg, train_cfg, [], workers=1, showcase=False)

    assert json.loads((out / "results.json").read_text()) == results
    assert results["train"]["steps"] == results["train"]["max_steps"] == 20
    assert results["train"]["stopped_by"] == "budget"
    weights = latest_checkpoint(out / "train" / "checkpoints") / "model.safetensors"
    assert results["train"]["weights_sha256"] == sha256_file(weights)
    assert [p["step"] for p in results["curve"]] == [10, 20]
    assert all(p["val_prompts"] == 24 for p in results["curve"])
    assert results["val_prompts"] == 24
    assert results["examples"] == {"train": 300, "val": 24, "test": 24, "ood_values": 12}
    assert set(results["splits"]) == {"test", "ood_values"} and results["splits"]["test"]["n"] == 24
    assert set(results["phases_s"]) == {"data", "train", "eval", "total"}

    # the docs' blocks render from the file the demo wrote
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "demo.json").write_text(json.dumps(results))
    summary = render_block("demo-summary", tmp_path / "results")
    assert "20 of 20 steps" in summary and "validation accuracy never reached 99%" in summary

    # a second run resumes: nothing is trained again, and the model is the same
    again = run_demo(out, data_cfg, train_cfg, [], workers=1, showcase=False)
    assert "already trained" in capsys.readouterr().out
    assert again["train"]["weights_sha256"] == results["train"]["weights_sha256"]
    assert again["splits"] == results["splits"]
