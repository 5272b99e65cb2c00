"""`cadmus data ...`: build, verify and show datasets (thin: the work is in `cadmus.data`)."""

from __future__ import annotations

import argparse
import sys

from cadmus.errors import CadmusError


def register(sub: argparse._SubParsersAction) -> None:
    """Add `cadmus data build`, `cadmus data verify` and `cadmus data show`."""
    data = sub.add_parser("data", help="build, verify and show datasets of true programs")
    dsub = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    p = dsub.add_parser("build", help="build (or resume) a dataset from a YAML config")
    p.add_argument("config", metavar="CONFIG.yaml")
    p.add_argument("--out", required=True, metavar="DIR", help="dataset folder")
    p.add_argument("--workers", type=int, default=1, metavar="N", help="processes (default 1)")
    p.add_argument(
        "--shard", default=None, metavar="i/n", help="build only shards whose number is i modulo n"
    )
    p.add_argument("--no-card", action="store_true", help="skip the dataset card and plots")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_build)

    p = dsub.add_parser("verify", help="check shard hashes and re-judge a sample of examples on the VM")
    p.add_argument("dir", metavar="DIR")
    p.add_argument("--sample", type=int, default=200, metavar="N", help="examples to re-judge (default 200)")
    p.add_argument("--all", action="store_true", help="re-judge every example (overrides --sample)")
    p.add_argument("--workers", type=int, default=1, metavar="N", help="processes (default 1)")
    p.set_defaults(func=cmd_verify)

    p = dsub.add_parser("show", help="print examples (prompt | completion)")
    p.add_argument("dir", metavar="DIR")
    p.add_argument("--split", default=None)
    p.add_argument("--family", default=None)
    p.add_argument("--format", default=None)
    p.add_argument("-n", type=int, default=3, metavar="N", help="how many (default 3)")
    p.set_defaults(func=cmd_show)


def parse_shard(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise CadmusError(f"--shard: expected i/n (e.g. 0/4), found '{text}'") from None
    if n < 1 or not 0 <= i < n:
        raise CadmusError(f"--shard: need 0 <= i < n, found '{text}'")
    return i, n


def cmd_build(args: argparse.Namespace) -> int:
    from cadmus.data import build_dataset

    result = build_dataset(
        args.config,
        args.out,
        workers=args.workers,
        shard=parse_shard(args.shard),
        progress=not args.quiet,
        card=not args.no_card,
    )
    done = f"built {len(result.built)} shard(s), skipped {len(result.skipped)} finished"
    if result.manifest is not None:
        print(f"{done}; dataset complete: {result.manifest}", file=sys.stderr)
    else:
        print(
            f"{done}; {result.remaining} shard(s) of the dataset still missing: the manifest is written "
            f"when they exist (`cadmus data build {args.config} --out {args.out}` builds the rest)",
            file=sys.stderr,
        )
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from cadmus.data import verify_dataset

    sample = None if args.all else args.sample
    problems = verify_dataset(args.dir, sample=sample, workers=args.workers)
    for line in problems:
        print(f"{args.dir}: {line}")
    if problems:
        return 1
    print(f"{args.dir}: ok", file=sys.stderr)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from cadmus.data import format_example, iter_examples

    shown = 0
    for row in iter_examples(args.dir, split=args.split, family=args.family, format=args.format):
        if shown >= args.n:
            break
        if shown:
            sys.stdout.write("\n")
        sys.stdout.write(format_example(row))
        shown += 1
    if shown == 0:
        print("no matching examples", file=sys.stderr)
        return 1
    return 0
