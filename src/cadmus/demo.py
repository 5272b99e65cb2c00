"""`python -m cadmus.demo` (`make demo`): the main job, end to end, on this machine.

1. a glimpse of the VM (bundled example programs, a short trace);
2. build the headline dataset `configs/data/arith.yaml` (verified true
   programs, ID and OOD splits);
3. train `configs/train/tiny-cpu.yaml` on this CPU (a wall-clock budget);
4. evaluate on the test and every OOD split, each answer judged on the VM;
5. print the table and the path of the report.

Every step resumes: an interrupted demo run again continues where it
stopped (finished shards are kept, training resumes from its last
checkpoint, a finished training is not repeated).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from importlib import resources
from pathlib import Path

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
    from cadmus.commands.vm import format_trace
    from cadmus.vm import assemble, run

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


def _done(start: float) -> None:
    print(f"    ({time.perf_counter() - start:.0f}s)", flush=True)


def run_demo(
    out: Path, data_config: Path, train_config: Path, overrides: list[str], *, workers: int, showcase: bool
) -> dict:
    """Build, train and evaluate; returns the evaluation summary."""
    from cadmus.data import build_dataset
    from cadmus.eval import EvalOptions, evaluate, split_table
    from cadmus.train import load_config, train

    began = time.perf_counter()
    if showcase:
        vm_showcase(trace_steps=8)

    t = _phase(f"1/3 dataset: {data_config} -> {out / 'data'}")
    result = build_dataset(data_config, out / "data", workers=workers)
    if result.manifest is None:
        raise SystemExit("the dataset build did not finish; run the demo again to resume it")
    splits = json.loads(Path(result.manifest).read_text())["splits"]
    print("    examples: " + ", ".join(f"{name} {info['examples']}" for name, info in splits.items()))
    _done(t)

    run_dir = out / "train"
    t = _phase(f"2/3 training: {train_config} -> {run_dir}")
    if (run_dir / "summary.json").is_file():
        print("    already trained (delete the run directory to train again)")
    else:
        resume = (run_dir / "checkpoints").is_dir() and any((run_dir / "checkpoints").iterdir())
        config = load_config(
            train_config,
            [*overrides, f"out_dir={run_dir}", "data.build=null", f"data.dataset={out / 'data'}"]
            + (["resume=true"] if resume else []),
        )
        from cadmus.eval import quick_eval_hook

        train(config, on_eval=quick_eval_hook(config))
    _done(t)

    t = _phase(f"3/3 evaluation on the test and OOD splits -> {out / 'eval'}")
    summary = evaluate(run_dir, out / "data", out / "eval", EvalOptions(batch_size=256))
    _done(t)

    print("\nAccuracy (each answer judged by running the completed program on the VM):\n")
    print(split_table(summary))
    print(f"\nreport: {out / 'eval' / 'report.md'}")
    print(f"total demo time: {time.perf_counter() - began:.0f}s")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cadmus.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/demo", help="where the dataset, run and evaluation go")
    parser.add_argument("--data", default="configs/data/arith.yaml", help="dataset config")
    parser.add_argument("--train", default="configs/train/tiny-cpu.yaml", help="training config")
    parser.add_argument("--workers", type=int, default=2, help="dataset build processes")
    parser.add_argument("--no-showcase", action="store_true", help="skip the VM showcase")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="training config overrides")
    args = parser.parse_args(argv)

    from cadmus.errors import CadmusError

    try:
        run_demo(
            Path(args.out),
            Path(args.data),
            Path(args.train),
            args.overrides,
            workers=args.workers,
            showcase=not args.no_showcase,
        )
    except CadmusError as err:
        print(f"cadmus demo: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ncadmus demo: interrupted; run it again to resume", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
