"""`cadmus probe ...`: the instruments of `cadmus.probe` on a checkpoint and a dataset (thin).

Every action writes OUT/report.md (default OUT: RUN/probe/ACTION) with its
plots, its numbers as CSV/JSON and the command line that reproduces it.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _common(p: argparse.ArgumentParser, *, split: bool = True) -> None:
    p.add_argument(
        "checkpoint", metavar="RUN", help="a training run directory (its latest checkpoint) or a checkpoint"
    )
    p.add_argument("dataset", metavar="DATASET", help="a dataset directory built by `cadmus data build`")
    if split:
        p.add_argument("--split", default="test", help="split to read (default test)")
    p.add_argument("--out", default=None, metavar="DIR", help="output directory (default RUN/probe/ACTION)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, auto, ... (default cpu)")
    p.add_argument("--threads", type=int, default=None, metavar="N", help="torch CPU threads")


def _list(text: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in text.split(",") if x.strip())


def register(sub: argparse._SubParsersAction) -> None:
    """Add `cadmus probe cache|linear|lens|attention|patch|ablate`."""
    probe = sub.add_parser(
        "probe", help="instruments: activations, linear probes, logit lens, attention, patching"
    )
    psub = probe.add_subparsers(dest="probe_command", metavar="ACTION", required=True)

    p = psub.add_parser("cache", help="store chosen hooks at chosen positions with VM-derived targets")
    _common(p)
    p.add_argument(
        "--hooks", type=_list, default=("resid",), help="resid, resid_mid, attn_out, mlp_out, z or full names"
    )
    p.add_argument(
        "--positions",
        type=_list,
        default=("answer", "answer_first", "stmt_end", "variable"),
        help="every, answer, answer_first, stmt_end, variable (comma-separated)",
    )
    p.add_argument("--limit", type=int, default=None, help="examples (default: the whole split)")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--shard-rows", type=int, default=16384)
    p.add_argument("--dtype", default="float32", choices=("float32", "float16"))
    p.add_argument(
        "--random-init", action="store_true", help="a randomly initialised model of the same shape"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of --random-init")
    p.set_defaults(func=_cache, parser=p)

    p = psub.add_parser("linear", help="linear probes per layer x position x target, with controls")
    _common(p, split=False)
    p.add_argument("--train-split", default="train")
    p.add_argument("--test-split", default="test")
    p.add_argument("--train-limit", type=int, default=4000, help="examples of the training split")
    p.add_argument("--test-limit", type=int, default=2000, help="examples of the test split")
    p.add_argument("--hooks", type=_list, default=("resid",))
    p.add_argument("--targets", type=_list, default=("var0", "var1", "result", "answer"))
    p.add_argument("--features", type=_list, default=("value", "digit0", "digit1", "sign"))
    p.add_argument("--groups", type=_list, default=None, help="position groups, e.g. answer,stmt_end@1")
    p.add_argument("--max-rows", type=int, default=4000, help="training rows per probe")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_linear, parser=p)

    p = psub.add_parser("lens", help="logit lens: the answer read from every layer's residual stream")
    _common(p)
    p.add_argument("--limit", type=int, default=1000)
    p.set_defaults(func=_lens, parser=p)

    p = psub.add_parser("attention", help="attention maps of one program and per-head summaries over a split")
    _common(p)
    p.add_argument("--example", type=int, default=0, help="which program of the split to draw")
    p.add_argument("--limit", type=int, default=1000, help="programs for the per-head summary")
    p.set_defaults(func=_attention, parser=p)

    p = psub.add_parser("patch", help="activation patching with verified counterfactual pairs")
    _common(p)
    p.add_argument("--kinds", type=_list, default=("constant", "operator", "name"))
    p.add_argument("--pairs", type=int, default=300, help="pairs per (kind, site) at most")
    p.add_argument("--limit", type=int, default=2000, help="programs read from the split")
    p.add_argument("--min-pairs", type=int, default=10)
    p.add_argument("--direction", default="denoise", choices=("denoise", "noise"))
    p.add_argument("--no-head-positions", action="store_true", help="patch heads over all positions only")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_patch, parser=p)

    p = psub.add_parser("ablate", help="zero and mean ablation of heads, MLPs and layers, judged on the VM")
    _common(p)
    p.add_argument("--modes", type=_list, default=("zero", "mean"))
    p.add_argument("--components", type=_list, default=("heads", "mlps", "layers"))
    p.add_argument("--limit", type=int, default=None, help="prompts (default: the whole split)")
    p.add_argument("--mean-split", default="train")
    p.add_argument("--mean-limit", type=int, default=1000)
    p.set_defaults(func=_ablate, parser=p)


def command_line(args: argparse.Namespace) -> str:
    """The `cadmus probe ...` command that reproduces `args` (every non-default option spelled out)."""
    parts = ["cadmus", "probe", args.probe_command]
    for action in args.parser._actions:
        if action.dest in ("help",) or not hasattr(args, action.dest):
            continue
        value = getattr(args, action.dest)
        if not action.option_strings:
            parts.append(str(value))
            continue
        if value == action.default or value is None:
            continue
        flag = action.option_strings[-1]
        if isinstance(action, argparse._StoreTrueAction):
            parts.append(flag)
        elif isinstance(value, tuple | list):
            parts += [flag, ",".join(map(str, value))]
        else:
            parts += [flag, str(value)]
    return shlex.join(parts)


def _setup(args: argparse.Namespace) -> tuple[Any, Path]:
    import torch

    from cadmus.eval import load_checkpoint, resolve_device

    if args.threads:
        torch.set_num_threads(args.threads)
    ckpt = load_checkpoint(args.checkpoint, resolve_device(args.device))
    base = ckpt.run_dir if ckpt.run_dir is not None else ckpt.path
    out = Path(args.out) if args.out else base / "probe" / args.probe_command
    return ckpt, out


def _log(message: str) -> None:
    print(message, file=sys.stderr)


def _done(out: Path) -> int:
    print(f"report: {out / 'report.md'}")
    return 0


def _cache(args: argparse.Namespace) -> int:
    from cadmus.probe import cache_activations, cache_options, cache_report, random_model

    ckpt, out = _setup(args)
    opts = cache_options(
        hooks=args.hooks,
        positions=args.positions,
        limit=args.limit,
        batch_size=args.batch_size,
        shard_rows=args.shard_rows,
        dtype=args.dtype,
    )
    model = random_model(ckpt.model, seed=args.seed) if args.random_init else None
    cache = cache_activations(
        ckpt, args.dataset, args.split, out, opts, model=model, tag="random" if args.random_init else None
    )
    cache_report(cache, command=command_line(args))
    _log(f"cached {cache.n_rows} positions of {cache.n_examples} examples in {cache.meta['seconds']:.1f}s")
    return _done(out)


def _run(args: argparse.Namespace, run: Callable[..., Any], *, split: bool = True, **options: Any) -> int:
    """`run(ckpt, dataset, [split,] out, **options)` with the command line and the log, as every action calls it."""
    ckpt, out = _setup(args)
    where = (args.split,) if split else ()
    run(ckpt, args.dataset, *where, out, command=command_line(args), log=_log, **options)
    return _done(out)


def _linear(args: argparse.Namespace) -> int:
    from cadmus.probe import cache_options, linear_options, run_linear

    options = linear_options(
        targets=args.targets,
        features=args.features,
        groups=args.groups,
        max_rows=args.max_rows,
        seed=args.seed,
    )
    return _run(
        args,
        run_linear,
        split=False,
        train_split=args.train_split,
        test_split=args.test_split,
        train_limit=args.train_limit,
        test_limit=args.test_limit,
        cache=cache_options(hooks=args.hooks),
        options=options,
    )


def _lens(args: argparse.Namespace) -> int:
    from cadmus.probe import run_lens

    return _run(args, run_lens, limit=args.limit)


def _attention(args: argparse.Namespace) -> int:
    from cadmus.probe import run_attention

    return _run(args, run_attention, example=args.example, limit=args.limit)


def _patch(args: argparse.Namespace) -> int:
    from cadmus.probe import patch_options, run_patching

    options = patch_options(
        kinds=args.kinds,
        pairs=args.pairs,
        limit=args.limit,
        min_pairs=args.min_pairs,
        direction=args.direction,
        head_positions=not args.no_head_positions,
        seed=args.seed,
    )
    return _run(args, run_patching, options=options)


def _ablate(args: argparse.Namespace) -> int:
    from cadmus.probe import ablation_options, run_ablation

    options = ablation_options(
        modes=args.modes,
        components=args.components,
        limit=args.limit,
        mean_split=args.mean_split,
        mean_limit=args.mean_limit,
    )
    return _run(args, run_ablation, options=options)
