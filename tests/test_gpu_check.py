"""The GPU check's CPU rehearsal: the same code path as on a GPU, at tiny sizes."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_check_cpu_mode_trains_evaluates_and_prices(tmp_path):
    out = tmp_path / "check"
    cmd = [
        sys.executable,
        str(ROOT / "scripts/gpu_check.py"),
        "--cpu",
        "--no-tests",
        "--out",
        str(out),
        "--workers",
        "1",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads((out / "gpu_check.json").read_text())
    assert result["mode"] == "cpu"
    assert set(result["seconds"]) == {"data", "train", "evaluate", "throughput"}
    train = result["train"]
    assert train["tokens_per_s"] > 0 and train["loss_last"] < train["loss_first"]
    assert result["eval"]["n"] == 40 and 0.0 <= result["eval"]["accuracy"] <= 1.0
    cost = result["cost_280m"]
    assert cost["tokens"] == 20_000_000_000
    assert (
        abs(cost["device_hours"] - cost["tokens"] / result["throughput_280m"]["tokens_per_s"] / 3600) < 1e-6
    )
    assert "280m recipe" in done.stdout and "tokens/s" in done.stdout


def test_gpu_check_refuses_without_cuda_unless_cpu(tmp_path):
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}  # no GPU, on any machine
    cmd = [sys.executable, str(ROOT / "scripts/gpu_check.py"), "--out", str(tmp_path)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert done.returncode != 0 and "no CUDA device" in done.stderr
