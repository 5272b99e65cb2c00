"""Same config and seed, same model: a busy machine makes training slower, never different."""

from __future__ import annotations

import json
from pathlib import Path

from cadmus.demo import cpu_load
from cadmus.train import config_from_dict, latest_checkpoint, train
from test_train import base_config, losses, make_dataset


def _run(dataset: Path, out: Path) -> tuple[bytes, dict[int, float], dict]:
    # Two threads and a generous wall-clock guard: the case in which the clock could leak into results.
    raw = base_config(dataset, out, threads=2, stop__max_steps=12, stop__max_time_s=3600.0)
    raw["schedule"] = {"kind": "wsd", "warmup_steps": 2, "decay_fraction": 0.5}
    run_dir = train(config_from_dict(raw))
    weights = (latest_checkpoint(run_dir / "checkpoints") / "model.safetensors").read_bytes()
    return weights, losses(run_dir), json.loads((run_dir / "summary.json").read_text())


def test_training_under_load_gives_the_same_model(tmp_path: Path) -> None:
    dataset = make_dataset(tmp_path / "data", n_train=128, n_val=16)
    quiet = _run(dataset, tmp_path / "quiet")
    with cpu_load(2):
        loaded = _run(dataset, tmp_path / "loaded")
    assert quiet[2]["step"] == loaded[2]["step"] == 12
    assert quiet[1] == loaded[1]
    assert quiet[0] == loaded[0], "the weights differ between the quiet and the loaded run"


def test_the_time_guard_stops_early_and_says_so(tmp_path: Path, capsys) -> None:
    dataset = make_dataset(tmp_path / "data", n_train=128, n_val=16)
    raw = base_config(dataset, tmp_path / "run", stop__max_steps=100_000, stop__max_time_s=0.5)
    raw["log"]["progress"] = True
    run_dir = train(config_from_dict(raw))
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["stopped_by"] == "time_guard" and 0 < summary["step"] < 100_000
    assert "wall-clock guard" in capsys.readouterr().out
    assert latest_checkpoint(run_dir / "checkpoints") is not None
