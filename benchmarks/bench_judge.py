"""Judge throughput: verdicts per second on the demo dataset, by path, in the same run.

Judges every test and OOD row of the demo dataset (`runs/demo/data` when it
exists, else configs/data/arith.yaml built here with its train and val splits
cut to one example: the same test and OOD distributions), once with the
dataset's answer and once with a wrong one (the value plus one), through
`cadmus.data.judge` on three paths:

- default: the compiled DSL front end (`cadmus.lang.fastpath`) and the compiled VM;
- CADMUS_FRONT=python: the reference front end (parse, checks, compile) and the compiled VM;
- CADMUS_VM=python: the reference front end and the reference interpreter.

Best of three passes each; prints verdicts/s and same-run ratios. It is not a test.

    .venv/bin/python benchmarks/bench_judge.py [--data DIR] [--record docs/results/bench-judge.json]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import yaml

import cadmus.lang.fastpath as fastpath
import cadmus.vm.native as native
from cadmus.data import build_dataset, config_from_dict, judge
from cadmus.eval import default_splits, read_split

ROOT = Path(__file__).resolve().parents[1]
ARITH = ROOT / "configs" / "data" / "arith.yaml"
PATHS = (
    ("default", {}),
    ("CADMUS_FRONT=python", {"CADMUS_FRONT": "python"}),
    ("CADMUS_VM=python", {"CADMUS_VM": "python"}),
)


def demo_rows(data: Path) -> list[dict]:
    if not (data / "manifest.json").is_file():
        config = yaml.safe_load(ARITH.read_text())
        config["splits"]["train"]["size"] = config["splits"]["val"]["size"] = 1
        data = Path(tempfile.mkdtemp(prefix="cadmus-bench-judge-")) / "data"
        build_dataset(config_from_dict(config), data, progress=False, card=False)
    return [row for split in default_splits(data) for row in read_split(data, split)]


def wrong(answer: str) -> str:
    text = answer.rstrip("\n")
    return str(int(text) + 1) if text.lstrip("-").isdigit() else text + "0"


def switch(env: dict[str, str]) -> None:
    for key in ("CADMUS_FRONT", "CADMUS_VM"):
        os.environ.pop(key, None)
    os.environ.update(env)
    native.refresh()
    fastpath.refresh()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="runs/demo/data")
    parser.add_argument("--record", help="also write the figures here (JSON)")
    args = parser.parse_args()
    rows = demo_rows(Path(args.data))
    cases = [
        (r["format"], r["prompt"], a, r["judge"])
        for r in rows
        for a in (r["completion"], wrong(r["completion"]))
    ]
    print(f"{len(rows)} rows (test and OOD splits), {len(cases)} verdicts per pass\n")
    rates: dict[str, float] = {}
    verdicts: dict[str, list] = {}
    for name, env in PATHS:
        switch(env)
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            out = [judge(*case) for case in cases]
            best = min(best, time.perf_counter() - start)
        rates[name], verdicts[name] = len(cases) / best, out
        print(f"{name:22s} {rates[name]:10,.0f} verdicts/s")
    switch({})
    same = all(verdicts[name] == verdicts["default"] for name, _ in PATHS)
    right = sum(v.ok for v in verdicts["default"][::2])
    print(f"\nsame verdicts on every path: {same}; dataset answers judged true: {right}/{len(rows)}")
    for name, _ in PATHS[1:]:
        print(f"default vs {name}: {rates['default'] / rates[name]:.1f}x")
    if args.record:
        from cadmus.figures import record_result

        paths = [{"path": name, "verdicts_per_s": rates[name]} for name, _ in PATHS]
        payload = {"command": "make bench-judge", "rows": len(rows), "verdicts": len(cases), "same": same}
        record_result(args.record, {**payload, "paths": paths})
        print(f"recorded: {args.record}")


if __name__ == "__main__":
    main()
