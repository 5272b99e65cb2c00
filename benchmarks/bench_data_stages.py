"""Where a dataset build's time goes: each stage's exclusive share of a 1-worker build.

Builds a scaled copy of configs/data/mix.yaml (`--n` examples, the same
mixture, split ratios and dedup as `make bench-data`) in one process, with
a timer around each stage of the pipeline (generate.py, formats.py,
verdict.py, build.py). Times are exclusive: a stage's row leaves out the
stages it calls (a trace example's compile is in "compiling", not in
"trace examples"), so the rows and "the loop" add up to the build. It also
reports how many programs were drawn per example kept, and the share of
the stages that neither verify (check, compile, run) nor key a program
(drawing programs, printing them, rows, Parquet, the loop): their time on
this machine bounds what any faster VM, compiler or key could make of a
1,000,000-example build.

    .venv/bin/python benchmarks/bench_data_stages.py [--n 20000] [--record FILE]

The timers cost a little (about 0.3 us a call); shares, not absolute
times, are the figure to compare across runs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_data import scaled_config, vm_speed

SAMPLERS = "every family's sample"
# (label, what is timed as "module:attribute", whether it verifies or keys programs), in the order printed.
STAGES = (
    ("drawing programs (family samplers)", (SAMPLERS,), False),
    ("canonical keys (dedup, split regions)", ("cadmus.data.generate:example_key",), True),
    ("semantic checks", ("cadmus.lang.verdict:_semantics",), True),
    ("compiling", ("cadmus.lang.verdict:compile_program",), True),
    ("VM runs", ("cadmus.lang.verdict:run",), True),
    ("printing DSL text", ("cadmus.data.formats:_to_dsl",), False),
    ("trace examples (parse, trace text)", ("cadmus.data.formats:_trace_of",), True),
    ("building examples (the rest: formats.py, verdicts)", ("cadmus.data.generate:build",), True),
    ("rows (columns, JSON)", ("cadmus.data.build:to_row",), False),
    (
        "Parquet (tables, compression, files)",
        ("cadmus.data.build:_table", "pyarrow.parquet:ParquetWriter.write_table"),
        False,
    ),
)
LOOP = "the loop (seeds, mixture, dedup, stats)"


class Clock:
    """Exclusive time per label: a timed call's time, less that of the timed calls inside it."""

    def __init__(self) -> None:
        self.seconds: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self.inner: list[float] = []

    def wrap(self, fn: Callable[..., Any], label: str) -> Callable[..., Any]:
        seconds, calls, inner, clock = self.seconds, self.calls, self.inner, time.perf_counter

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = clock()
            inner.append(0.0)
            try:
                return fn(*args, **kwargs)
            finally:
                elapsed = clock() - start
                seconds[label] += elapsed - inner.pop()
                calls[label] += 1
                if inner:
                    inner[-1] += elapsed

        return timed


def instrument(clock: Clock) -> None:
    import importlib

    from cadmus.tasks import all_families

    for label, targets, _ in STAGES:
        for target in targets:
            if target == SAMPLERS:
                owners = [(cls, "sample") for cls in {type(f) for f in all_families().values()}]
            else:
                module, path = target.split(":")
                *parents, attr = path.split(".")
                owner = importlib.import_module(module)
                for name in parents:
                    owner = getattr(owner, name)
                owners = [(owner, attr)]
            for owner, attr in owners:  # AttributeError here: a stage was renamed
                setattr(owner, attr, clock.wrap(getattr(owner, attr), label))


def measure(n: int) -> dict[str, Any]:
    from cadmus.data import build_dataset, config_from_dict, read_manifest

    clock = Clock()
    instrument(clock)
    config = config_from_dict(scaled_config(n))
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        build_dataset(config, tmp + "/ds", workers=1, progress=False, card=False)
        total = time.perf_counter() - start
        manifest = read_manifest(tmp + "/ds")
    drawn = clock.calls[STAGES[0][0]]  # every program sampled (a renamed split's base programs too)
    stages = [
        {
            "stage": label,
            "seconds": clock.seconds[label],
            "calls": clock.calls[label],
            "verifies_or_keys": runs,
        }
        for label, _, runs in STAGES
    ]
    loop = total - sum(s["seconds"] for s in stages)
    stages.append({"stage": LOOP, "seconds": loop, "calls": manifest["examples"], "verifies_or_keys": False})
    examples = manifest["examples"]
    rest = sum(s["seconds"] for s in stages if not s["verifies_or_keys"])
    return {
        "examples": examples,
        "drawn": drawn,
        "seconds": total,
        "stages": stages,
        # the stages that neither verify nor key programs: their share, and a 1M build's time in them on 2 cores
        "rest_share": rest / total,
        "rest_1m_2_cores_s": rest / examples * 1_000_000 / 2,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=20_000, help="examples in all (default 20000)")
    parser.add_argument("--record", metavar="FILE", help="also write the figures here (docs/results/...)")
    args = parser.parse_args()
    speed = vm_speed()
    print(f"machine speed now: {speed:.2f}M reference-VM (Python) instructions/s on one core")
    r = measure(args.n)
    print(f"scaled configs/data/mix.yaml, {r['examples']} examples, 1 worker: {r['seconds']:.1f} s")
    print(f"{'stage':<52} {'seconds':>8} {'share':>6} {'calls':>8} {'us/call':>8}")
    for s in r["stages"]:
        per = s["seconds"] / s["calls"] * 1e6 if s["calls"] else 0.0
        share = s["seconds"] / r["seconds"]
        print(f"{s['stage']:<52} {s['seconds']:>8.2f} {share:>6.1%} {s['calls']:>8} {per:>8.1f}")
    print(f"programs drawn per example kept: {r['drawn'] / r['examples']:.2f}")
    print(
        f"stages that neither verify nor key programs: 1M examples on 2 cores take at least {r['rest_1m_2_cores_s']:.0f} s "
        "on this machine even if every other stage took no time"
    )
    if args.record:
        from cadmus.figures import record_result

        record_result(
            args.record,
            {
                "command": "make bench-data-stages",
                "what": f"scaled configs/data/mix.yaml, {r['examples']} examples, 1 worker",
                "vm_speed_minstr_s": speed,
                **r,
            },
        )
        print(f"recorded: {args.record}")


if __name__ == "__main__":
    main()
