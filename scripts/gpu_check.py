"""The GPU check: one short run that says whether Cadmus's CUDA path works and how fast it is.

Phases, each timed:

1. tests      -- tests/test_device.py on the device (bf16 autocast vs fp32, torch.compile on
                 vs off, the KV cache, a training step);
2. data       -- a scaled-down `configs/data/mix.yaml` (every family and format);
3. train      -- `configs/train/mix-85m.yaml` for a fixed number of steps (bf16, compiled);
4. evaluate   -- a sample of the test split, every answer judged on the VM;
5. throughput -- a few steps of `configs/train/cadmus-280m.yaml`, to price the 280m recipe.

It prints tokens/s, MFU against the device's bf16 peak, accuracy, and what the 280m
recipe's token budget would cost at the measured throughput, and writes them to
OUT/gpu_check.json. `--cpu` runs the same code path at tiny sizes on the CPU (the
test suite does this). `scripts/gpu_check.sh` sets up a GPU machine and calls this.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]

# What differs between the real check and its CPU rehearsal: sizes only.
SIZES = {
    "gpu": {"train": 200_000, "test": 500, "steps": 200, "throughput_steps": 12},
    "cpu": {"train": 1_000, "test": 40, "steps": 20, "throughput_steps": 4},
}
CPU_TRAIN = [
    "device=cpu",
    "dtype=fp32",
    "compile=false",
    "model.preset=tiny",
    "model.n_layer=1",
    "model.n_embd=32",
    "model.n_head=2",
    "model.block_size=128",
    "batch.micro=4",
    "batch.accum=1",
    "schedule.warmup_steps=2",
]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cpu", action="store_true", help="tiny sizes on the CPU: the same code path")
    p.add_argument("--out", default="runs/gpu-check", help="output folder (default runs/gpu-check)")
    p.add_argument("--steps", type=int, help="training steps of the 85m preset")
    p.add_argument("--train-size", type=int, help="training examples of the scaled mix")
    p.add_argument("--test-size", type=int, help="test examples judged")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="dataset build processes")
    p.add_argument("--no-tests", action="store_true", help="skip phase 1 (the suite runs it itself)")
    return p.parse_args(argv)


def timed(results: dict[str, Any], name: str, fn: Callable[[], Any]) -> Any:
    print(f"gpu_check: {name} ...", flush=True)
    start = time.perf_counter()
    value = fn()
    results["seconds"][name] = round(time.perf_counter() - start, 1)
    print(f"gpu_check: {name} done in {results['seconds'][name]} s", flush=True)
    return value


def run_device_tests(device: str) -> int:
    env = {**os.environ, "CADMUS_TEST_DEVICE": device}
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(ROOT / "tests/test_device.py")]
    code = subprocess.call(cmd, env=env, cwd=ROOT)
    if code != 0:
        raise SystemExit(f"gpu_check: the device tests failed (exit {code})")
    return code


def build_mix(out: Path, train_size: int, test_size: int, workers: int) -> Path:
    from cadmus.data import build_dataset, config_from_dict

    raw = yaml.safe_load((ROOT / "configs/data/mix.yaml").read_text())
    raw["name"] = f"mix-{train_size}"
    raw["splits"] = {"train": {"size": train_size}, "val": {"size": test_size}, "test": {"size": test_size}}
    for ood in raw.get("ood", []):
        if "size" in ood:
            ood["size"] = test_size
    build_dataset(config_from_dict(raw), out, workers=workers, progress=False, card=False)
    return out


def train_steps(config: str, out: Path, dataset: Path, steps: int, extra: list[str]) -> Path:
    from cadmus.train import load_config, train

    overrides = [
        f"out_dir={out}",
        "data.build=null",
        f"data.dataset={dataset}",
        f"stop.max_steps={steps}",
        "stop.max_tokens=null",
        "schedule.warmup_steps=10",
        "eval.interval=null",
        "eval.batches=5",
        "checkpoint.interval=null",
        "log.interval=1",
        "log.tensorboard=false",
        "log.progress=false",
        *extra,
    ]
    return train(load_config(ROOT / config, overrides))


def throughput(run: Path, skip: int) -> dict[str, Any]:
    """Median tokens/s and MFU of the logged steps after the first `skip` (compilation, warm-up)."""
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    steps = [r for r in records if r["event"] == "train" and r["step"] > skip]
    summary = json.loads((run / "summary.json").read_text())
    mfus = [r["mfu"] for r in steps if r["mfu"] is not None]
    return {
        "tokens_per_s": statistics.median(r["tokens_per_s"] for r in steps),
        "mfu": statistics.median(mfus) if mfus else None,
        "loss_first": records_loss(records, first=True),
        "loss_last": records_loss(records, first=False),
        "n_params": summary["n_params"],
        "device_hours": summary["device_hours"],
        "cost": summary["cost"],
    }


def records_loss(records: list[dict[str, Any]], *, first: bool) -> float:
    losses = [r["loss"] for r in records if r["event"] == "train"]
    return losses[0] if first else losses[-1]


def evaluate_sample(run: Path, dataset: Path, out: Path, limit: int) -> dict[str, Any]:
    from cadmus.eval import EvalOptions, evaluate

    summary = evaluate(
        run, dataset, out, EvalOptions(splits=["test"], limit=limit, batch_size=256), log=lambda m: None
    )
    test = summary["splits"]["test"]["all"]
    return {"n": test["n"], "accuracy": test["accuracy"], "interval": test["ci95"]}


def recipe_cost(tokens_per_s: float, config: str) -> dict[str, Any]:
    """What the recipe's whole token budget costs at a measured throughput."""
    raw = yaml.safe_load((ROOT / config).read_text())
    tokens = raw["stop"]["max_tokens"]
    hours = tokens / tokens_per_s / 3600
    return {
        "config": config,
        "tokens": tokens,
        "device_hours": hours,
        "price_per_hour": raw["price_per_hour"],
        "cost": hours * raw["price_per_hour"],
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    mode = "cpu" if args.cpu else "gpu"
    if mode == "gpu" and not torch.cuda.is_available():
        raise SystemExit("gpu_check: no CUDA device (use --cpu for the CPU rehearsal)")
    sizes = dict(SIZES[mode])
    sizes.update(
        {k: v for k, v in (("train", args.train_size), ("test", args.test_size), ("steps", args.steps)) if v}
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    device = "cuda" if mode == "gpu" else "cpu"
    results: dict[str, Any] = {
        "mode": mode,
        "torch": torch.__version__,
        "device_name": torch.cuda.get_device_name() if mode == "gpu" else "cpu",
        "sizes": sizes,
        "seconds": {},
    }
    extra = CPU_TRAIN if mode == "cpu" else []
    if not args.no_tests:
        timed(results, "tests", lambda: run_device_tests(device))
    dataset = timed(
        results, "data", lambda: build_mix(out / "data", sizes["train"], sizes["test"], args.workers)
    )
    run = timed(
        results,
        "train",
        lambda: train_steps("configs/train/mix-85m.yaml", out / "mix-85m", dataset, sizes["steps"], extra),
    )
    results["train"] = throughput(run, skip=2)
    results["eval"] = timed(
        results, "evaluate", lambda: evaluate_sample(run, dataset, out / "eval", sizes["test"])
    )
    big = timed(
        results,
        "throughput",
        lambda: train_steps(
            "configs/train/cadmus-280m.yaml",
            out / "cadmus-280m",
            dataset,
            sizes["throughput_steps"],
            [*extra, "checkpoint.at_end=false", "eval.at_end=false"],
        ),
    )
    results["throughput_280m"] = throughput(big, skip=2)
    results["cost_280m"] = recipe_cost(
        results["throughput_280m"]["tokens_per_s"], "configs/train/cadmus-280m.yaml"
    )
    (out / "gpu_check.json").write_text(json.dumps(results, indent=2) + "\n")
    report(results)
    return 0


def report(r: dict[str, Any]) -> None:
    t, b, e, c = r["train"], r["throughput_280m"], r["eval"], r["cost_280m"]

    def pct(x: float | None) -> str:
        return "?" if x is None else f"{x * 100:.1f}%"

    print(f"gpu_check ({r['mode']}, {r['device_name']}, torch {r['torch']})")
    print(
        f"  85m on the mix: {t['tokens_per_s']:,.0f} tokens/s, MFU {pct(t['mfu'])}, loss {t['loss_first']:.3f} -> {t['loss_last']:.3f}"
    )
    print(
        f"  test sample: {pct(e['accuracy'])} of {e['n']} [{pct(e['interval'][0])}, {pct(e['interval'][1])}]"
    )
    print(f"  280m: {b['tokens_per_s']:,.0f} tokens/s, MFU {pct(b['mfu'])}")
    print(
        f"  280m recipe ({c['tokens']:,} tokens): {c['device_hours']:,.1f} device-hours, "
        f"{c['cost']:,.0f} at {c['price_per_hour']}/device-hour"
    )
    print("  phases (s): " + ", ".join(f"{k} {v}" for k, v in r["seconds"].items()))


if __name__ == "__main__":
    sys.exit(main())
