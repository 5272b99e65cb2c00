"""`python -m cadmus.demo` (`make demo`): the main job, end to end, on this machine.

1. a glimpse of the VM (bundled example programs, a short trace);
2. build the headline dataset `configs/data/arith.yaml` (verified true
   programs, ID and OOD splits);
3. train `configs/train/tiny-cpu.yaml` on this CPU (a budget in steps, so the
   same model on a quiet or a busy machine; load only makes it slower);
4. evaluate on the test and every OOD split, each answer judged on the VM;
5. print the table, and write every figure to `OUT/results.json` (and to
   `--record FILE`, which is how docs/results/demo.json is made).

Every step resumes: an interrupted demo run again continues where it
stopped (finished shards are kept, training resumes from its last
checkpoint, a finished training is not repeated).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

# Example file, inputs, one-line description. failing_assert.asm is bundled
# for the CLI and tests, not for the showcase.
SHOWCASE: tuple[tuple[str, tuple[int, ...], str], ...] = (
    ("factorial.asm", (), "recursive factorial (call/ret with an argument)"),
    ("gcd.asm", (), "Euclid's gcd in a loop"),
    ("sort.asm", (), "insertion sort of an array (newarr/aload/astore)"),
    ("sum_inputs.asm", (4, 10, 20, 30, 40), "sum of the inputs (read)"),
)


def example_text(name: str) -> str:
    """The text of a bundled example program."""
    return resources.files("cadmus").joinpath("examples", name).read_text(encoding="utf-8")


def vm_showcase(trace_steps: int = 15) -> None:
    from cadmus.vm import assemble, format_trace, run

    print("Cadmus VM showcase: bundled example programs\n")
    for name, inputs, what in SHOWCASE:
        result = run(assemble(example_text(name)), inputs)
        shown = f" --input {','.join(map(str, inputs))}" if inputs else ""
        print(f"== {name}{shown}: {what} ({result.steps} steps, {result.status})")
        print(result.output_text())
        print()
    name = "gcd.asm"
    result = run(assemble(example_text(name)), trace=True)
    assert result.trace is not None
    print(f"== trace of {name}: first {trace_steps} of {len(result.trace)} steps")
    print(format_trace(result.trace[:trace_steps]), end="")


def _phase(title: str) -> float:
    print(f"\n=== {title}", flush=True)
    return time.perf_counter()


def _done(start: float) -> float:
    seconds = time.perf_counter() - start
    print(f"    ({seconds:.0f}s)", flush=True)
    return seconds


def _burn() -> None:  # pragma: no cover - runs in a child process until terminated
    x = 0
    while True:
        x = (x * 1103515245 + 12345) % 2147483648


@contextmanager
def cpu_load(processes: int) -> Iterator[None]:
    """Keep `processes` CPU-bound processes busy for the duration (to show load changes time, not results)."""
    workers = [multiprocessing.Process(target=_burn, daemon=True) for _ in range(processes)]
    for w in workers:
        w.start()
    try:
        yield
    finally:
        for w in workers:
            w.terminate()
            w.join()


def training_curve(run_dir: Path) -> list[dict[str, Any]]:
    """The validation points of a run's log: step, val_loss, val_accuracy."""
    curve = []
    for line in (run_dir / "log.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line) if line else {}
        if record.get("event") == "eval":
            curve.append({k: record.get(k) for k in ("step", "val_loss", "val_accuracy", "val_prompts")})
    return curve


def run_demo(
    out: Path,
    data_config: Path,
    train_config: Path,
    overrides: list[str],
    *,
    workers: int,
    showcase: bool,
    load: int = 0,
) -> dict[str, Any]:
    """Build, train and evaluate; returns the results (also written to OUT/results.json)."""
    from cadmus.data import build_dataset
    from cadmus.eval import EvalOptions, evaluate, quick_eval_hook, split_table
    from cadmus.figures import record_result
    from cadmus.files import sha256_file
    from cadmus.train import latest_checkpoint, load_config, train

    began = time.perf_counter()
    load_before = os.getloadavg()[0]
    if showcase:
        vm_showcase(trace_steps=8)
    phases: dict[str, float] = {}

    t = _phase(f"1/3 dataset: {data_config} -> {out / 'data'}")
    result = build_dataset(data_config, out / "data", workers=workers)
    if result.manifest is None:
        raise SystemExit("the dataset build did not finish; run the demo again to resume it")
    splits = json.loads(Path(result.manifest).read_text())["splits"]
    print("    examples: " + ", ".join(f"{name} {info['examples']}" for name, info in splits.items()))
    phases["data"] = _done(t)

    run_dir = out / "train"
    t = _phase(
        f"2/3 training: {train_config} -> {run_dir}" + (f" (with {load} CPU-bound processes)" if load else "")
    )
    resume = (run_dir / "checkpoints").is_dir() and any((run_dir / "checkpoints").iterdir())
    config = load_config(
        train_config,
        [*overrides, f"out_dir={run_dir}", "data.build=null", f"data.dataset={out / 'data'}"]
        + (["resume=true"] if resume else []),
    )
    val_prompts = splits[config.data.val_split]["examples"] if config.data.val_split in splits else 256
    if (run_dir / "summary.json").is_file():
        print("    already trained (delete the run directory to train again)")
    else:
        with cpu_load(load):
            train(config, on_eval=quick_eval_hook(config, n=val_prompts))
    phases["train"] = _done(t)
    summary = json.loads((run_dir / "summary.json").read_text())

    t = _phase(f"3/3 evaluation on the test and OOD splits -> {out / 'eval'}")
    evaluation = evaluate(run_dir, out / "data", out / "eval", EvalOptions(batch_size=256))
    phases["eval"] = _done(t)
    phases["total"] = time.perf_counter() - began

    print("\nAccuracy (each answer judged by running the completed program on the VM):\n")
    print(split_table(evaluation))
    weights = latest_checkpoint(run_dir / "checkpoints") / "model.safetensors"
    curve = training_curve(run_dir)
    results = {
        "data_config": str(data_config),
        "train_config": str(train_config),
        "overrides": overrides,
        "load_processes": load,
        "recipe": {  # the levers of the training config as this run resolved them
            "threads": config.threads,
            "max_steps": config.stop.max_steps,
            "schedule": config.schedule.model_dump(),
            "lr": config.optim.lr,
            "batch": config.batch.micro * config.batch.accum,
            "model": {"preset": config.model.preset, **config.model.overrides()},
        },
        "machine": {"threads": config.threads, "load_before": load_before},
        "phases_s": phases,
        "examples": {name: info["examples"] for name, info in splits.items()},
        "val_prompts": next((p["val_prompts"] for p in curve if p.get("val_prompts")), None),
        "train": {
            "steps": summary["step"],
            "max_steps": config.stop.max_steps,
            "stopped_by": summary.get("stopped_by", "budget"),
            "train_time_s": summary["train_time_s"],
            "tokens": summary["tokens"],
            "tokens_per_s": summary["tokens"] / max(summary["train_time_s"], 1e-9),
            "weights_sha256": sha256_file(weights),
        },
        "curve": curve,
        "splits": {name: entry["all"] for name, entry in evaluation["splits"].items()},
    }
    results = record_result(out / "results.json", results)
    print(f"\nreport: {out / 'eval' / 'report.md'}; figures: {out / 'results.json'}")
    print(f"total demo time: {phases['total']:.0f}s")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cadmus.demo", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", default="runs/demo", help="where the dataset, run, evaluation and results go"
    )
    parser.add_argument("--data", default="configs/data/arith.yaml", help="dataset config")
    parser.add_argument("--train", default="configs/train/tiny-cpu.yaml", help="training config")
    parser.add_argument("--workers", type=int, default=2, help="dataset build processes")
    parser.add_argument("--no-showcase", action="store_true", help="skip the VM showcase")
    parser.add_argument(
        "--load", type=int, default=0, metavar="N", help="keep N CPU-bound processes busy while training"
    )
    parser.add_argument(
        "--record", metavar="FILE", help="also write the results here (docs/results/demo.json feeds the docs)"
    )
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="training config overrides")
    args = parser.parse_args(argv)

    from cadmus.errors import CadmusError
    from cadmus.files import write_json

    try:
        results = run_demo(
            Path(args.out),
            Path(args.data),
            Path(args.train),
            args.overrides,
            workers=args.workers,
            showcase=not args.no_showcase,
            load=args.load,
        )
    except CadmusError as err:
        print(f"cadmus demo: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ncadmus demo: interrupted; run it again to resume", file=sys.stderr)
        return 130
    if args.record:
        write_json(args.record, results, sort_keys=False)  # the record run_demo made
        print(f"recorded: {args.record} (`make docs` puts its figures into the docs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
