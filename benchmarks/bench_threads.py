"""Training speed of the demo recipe with 1 and 2 threads, on a quiet machine and beside a CPU-bound process.

Why the demo trains with one thread: the tiny model's operations are small,
and with two threads each one waits for the slower thread, which on a busy
machine shares its core with another process. A figure, not a test:

    .venv/bin/python benchmarks/bench_threads.py [--steps 300] [--record docs/results/bench-threads.json]

It trains `configs/train/tiny-cpu.yaml` on the demo's dataset (`runs/demo/data`,
built first when missing) for `--steps` steps in each setting, in a fresh
process each, and reports steps/s of training time.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "train" / "tiny-cpu.yaml"
DATA_CONFIG = ROOT / "configs" / "data" / "arith.yaml"


def child(threads: int, steps: int, dataset: str, out: str) -> None:
    from cadmus.train import load_config, train

    overrides = [
        f"threads={threads}",
        f"stop.max_steps={steps}",
        "stop.max_time_s=null",
        f"out_dir={out}",
        "data.build=null",
        f"data.dataset={dataset}",
        "eval.interval=null",
        "eval.at_end=false",
        "checkpoint.interval=null",
        "checkpoint.at_end=false",
        "log.progress=false",
        "log.tensorboard=false",
    ]
    summary = json.loads((train(load_config(CONFIG, overrides)) / "summary.json").read_text())
    print(json.dumps({"steps": summary["step"], "train_time_s": summary["train_time_s"]}))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--dataset", default=str(ROOT / "runs" / "demo" / "data"))
    parser.add_argument("--record", metavar="FILE", help="also write the figures here")
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.steps, args.dataset, args.out)
        return

    from cadmus.data import build_dataset
    from cadmus.demo import cpu_load

    if not (Path(args.dataset) / "manifest.json").is_file():
        build_dataset(DATA_CONFIG, args.dataset, workers=2, progress=False)
    runs = []
    print(f"demo recipe, {args.steps} steps per run (fresh process each)")
    print(f"{'threads':>7} {'load':>5} {'steps/s':>8}")
    for load in (0, 1):
        for threads in (1, 2):
            with tempfile.TemporaryDirectory() as tmp, cpu_load(load):
                cmd = [sys.executable, __file__, "--child", str(threads), "--steps", str(args.steps)]
                cmd += ["--dataset", args.dataset, "--out", tmp]
                proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                sys.stderr.write(proc.stderr)
                raise SystemExit(proc.returncode)
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            rate = r["steps"] / r["train_time_s"]
            runs.append({"threads": threads, "load_processes": load, **r, "steps_per_s": rate})
            print(f"{threads:>7} {load:>5} {rate:>8.1f}")
    if args.record:
        from cadmus.figures import record_result

        record_result(args.record, {"command": "make bench-threads", "steps": args.steps, "runs": runs})
        print(f"recorded: {args.record}")


if __name__ == "__main__":
    main()
