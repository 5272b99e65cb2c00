"""Dataset build throughput: verified examples per second with 1 and 2 workers, peak memory.

Builds a scaled copy of configs/data/mix.yaml (same mixture, split ratios and
dedup; `--n` examples in all, shards of n/10 examples so two workers have
work to share) in a fresh process per worker count, and reports examples/s,
peak RSS (the process and its worker children, from `resource.getrusage`)
and the time a 1,000,000-example build would take at that rate.

`--full` builds configs/data/mix.yaml itself (1,000,000 examples, dataset
card included), which is the issue's target: under 5 minutes with 2 workers.

    .venv/bin/python benchmarks/bench_data.py [--n 100000] [--workers 1 2] [--full]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MIX = ROOT / "configs" / "data" / "mix.yaml"


def scaled_config(n: int) -> dict:
    import yaml

    data = yaml.safe_load(MIX.read_text())
    total = sum(s["size"] for s in data["splits"].values()) + sum(o["size"] for o in data.get("ood", []))
    scale = n / total
    for split in data["splits"].values():
        split["size"] = max(1, round(split["size"] * scale))
    for ood in data.get("ood", []):
        ood["size"] = max(1, round(ood["size"] * scale))
    for ood in data.get("ood", []):  # a renamed split may not outgrow its base
        if "renamed" in ood:
            ood["size"] = min(ood["size"], data["splits"][ood["renamed"].get("of", "test")]["size"])
    data["shard_size"] = max(100, n // 10)
    return data


def vm_speed() -> float:
    """Millions of reference-VM (pure Python) instructions per second on a fixed loop: how fast this machine is now.

    Shared machines drift; this line lets runs taken at different times be compared.
    """
    from cadmus.lang import compile_program, parse
    from cadmus.vm import run

    program = compile_program(parse("x = 0\nfor i in range(300000):\n    x = x + i % 7\n")).program
    best = 0.0
    for _ in range(3):
        start = time.perf_counter()
        steps = run(program, backend="python").steps
        best = max(best, steps / (time.perf_counter() - start) / 1e6)
    return best


def child(n: int, workers: int, out: str) -> None:
    """One build in this process; `n` 0 builds mix.yaml as it is, card included."""
    import yaml

    from cadmus.data import build_dataset, config_from_dict, read_manifest

    config = config_from_dict(scaled_config(n) if n else yaml.safe_load(MIX.read_text()))
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    cpu0 = r0.ru_utime + r0.ru_stime
    start = time.perf_counter()
    build_dataset(config, out, workers=workers, progress=False, card=not n)
    seconds = time.perf_counter() - start
    examples = read_manifest(out)["examples"]
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    self_kb, children_kb = me.ru_maxrss, kids.ru_maxrss
    cpu = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime - cpu0
    print(
        json.dumps(
            {
                "workers": workers,
                "examples": examples,
                "seconds": seconds,
                "cpu_seconds": cpu,
                "self_mb": self_kb / 1024,
                "children_mb": children_kb / 1024,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=100_000, help="examples in all (default 100000)")
    parser.add_argument("--workers", type=int, nargs="+", default=None, help="default: 1 2 (--full: 2)")
    parser.add_argument("--full", action="store_true", help="build the whole mix.yaml (1M examples, card)")
    parser.add_argument(
        "--record",
        metavar="FILE",
        help="also write the figures here (docs/results/bench-data*.json feed the docs)",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.full:
        args.n = 0
    workers_list = args.workers or ([2] if args.full else [1, 2])
    if args.child:
        child(args.n, workers_list[0], args.out)
        return
    what = (
        "configs/data/mix.yaml as it is, card included"
        if args.full
        else f"scaled configs/data/mix.yaml, {args.n} examples"
    )
    print(f"cadmus data build: {what} (fresh process per run)")
    speed = vm_speed()
    print(f"machine speed now: {speed:.2f}M reference-VM (Python) instructions/s on one core")
    runs = []
    print(
        f"{'workers':>7} {'examples':>9} {'seconds':>8} {'ex/s':>7} {'1M est.':>9} "
        f"{'ex/CPU-s':>9} {'1M on 2 free cores':>19} {'peak RSS MB (main + max worker)':>32}"
    )
    for workers in workers_list:
        with tempfile.TemporaryDirectory() as tmp:
            proc = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    "--n",
                    str(args.n),
                    *(["--full"] if args.full else []),
                    "--workers",
                    str(workers),
                    "--out",
                    tmp + "/ds",
                ],
                capture_output=True,
                text=True,
                check=False,
            )
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr)
            raise SystemExit(proc.returncode)
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        runs.append(r)
        rate = r["examples"] / r["seconds"]
        cpu_rate = r["examples"] / r["cpu_seconds"]
        rss = f"{r['self_mb']:.0f} + {r['children_mb']:.0f}"
        est = 1_000_000 / rate
        free = 1_000_000 / cpu_rate / 2
        print(
            f"{workers:>7} {r['examples']:>9} {r['seconds']:>8.1f} {rate:>7.0f} {est / 60:>5.1f} min "
            f"{cpu_rate:>9.0f} {free / 60:>15.1f} min {rss:>32}"
        )
    print(
        "ex/CPU-s: examples per CPU-second of the build's processes (user + system), which the other "
        "load on a shared machine does not dilute; '1M on 2 free cores' = 1e6 / (2 x ex/CPU-s)."
    )
    if args.record:
        from cadmus.figures import record_result

        command = "make bench-data-full" if args.full else "make bench-data"
        record_result(
            args.record, {"command": command, "what": what, "vm_speed_minstr_s": speed, "runs": runs}
        )
        print(f"recorded: {args.record}")


if __name__ == "__main__":
    main()
