"""`cadmus eval`, `cadmus report` and `cadmus complete`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="generate answers for a dataset's splits and judge them on the VM")
    p.add_argument("checkpoint", help="a training run directory (its latest checkpoint) or a checkpoint")
    p.add_argument("dataset", help="a dataset directory built by `cadmus data build`")
    p.add_argument(
        "--split",
        action="append",
        dest="splits",
        help="split to evaluate (repeatable; default: all but train/val)",
    )
    p.add_argument("--samples", type=int, default=1, help="answers per prompt (k for pass@k)")
    p.add_argument("--temperature", type=float, default=0.0, help="0 = greedy")
    p.add_argument("--top-k", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--limit", type=int, default=None, help="at most this many prompts per split")
    p.add_argument("--no-cache", action="store_true", help="generate without the KV cache")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ...")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="output directory (default: RUN/eval/DATASET_NAME)")
    p.set_defaults(func=_eval)

    p = sub.add_parser("report", help="compare evaluations side by side")
    p.add_argument("runs", nargs="+", help="evaluation directories (with summary.json)")
    p.set_defaults(func=_report)

    p = sub.add_parser("complete", help="let a model complete a program prefix and judge it on the VM")
    p.add_argument("checkpoint")
    p.add_argument("text", nargs="?", help="the prefix (default: --file, or stdin)")
    p.add_argument("--file", help="read the prefix from this file")
    p.add_argument("--max-new-tokens", type=int, default=64)
    p.add_argument("--temperature", type=float, default=0.0)
    p.add_argument("--device", default="auto")
    p.set_defaults(func=_complete)


def _load(path: str, device: str):
    """A checkpoint of either kind: a Cadmus model, or a fine-tuned Hugging Face one."""
    from cadmus.eval import resolve_device
    from cadmus.hf import open_checkpoint  # light: torch and transformers are imported on use

    return open_checkpoint(path, resolve_device(device))


def _eval(args: argparse.Namespace) -> int:
    from cadmus.eval import EvalOptions, evaluate, split_table

    ckpt = _load(args.checkpoint, args.device)
    dataset = Path(args.dataset)
    base = ckpt.run_dir if ckpt.run_dir is not None else ckpt.path
    out = Path(args.out) if args.out else base / "eval" / dataset.resolve().name
    options = EvalOptions(
        splits=args.splits,
        samples=args.samples,
        temperature=args.temperature,
        top_k=args.top_k,
        batch_size=args.batch_size,
        limit=args.limit,
        use_cache=not args.no_cache,
        device=args.device,
        seed=args.seed,
        pass_ks=tuple(k for k in (1, 5, 10, args.samples) if k <= args.samples),
    )
    summary = evaluate(
        args.checkpoint, dataset, out, options, ckpt=ckpt, log=lambda m: print(m, file=sys.stderr)
    )
    print(split_table(summary))
    print(f"\nreport: {out / 'report.md'}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from cadmus.eval import comparison_table

    print(comparison_table([Path(r) for r in args.runs]))
    return 0


def _complete(args: argparse.Namespace) -> int:
    from cadmus.errors import CadmusError
    from cadmus.eval import complete

    if args.text is not None:
        prefix = args.text
    elif args.file:
        try:
            prefix = Path(args.file).read_text()
        except OSError as err:
            raise CadmusError(f"cannot read: {err.strerror}", file=args.file) from None
    else:
        prefix = sys.stdin.read()
    ckpt = _load(args.checkpoint, args.device)
    result = complete(ckpt, prefix, max_new_tokens=args.max_new_tokens, temperature=args.temperature)
    print(result.program, end="" if result.program.endswith("\n") else "\n")
    print(f"# verdict: {result.verdict}")
    return 0 if result.verdict.ok else 1
