"""`cadmus vm ...`: run assembly files and print the instruction set."""

from __future__ import annotations

import argparse
import sys

from cadmus.errors import CadmusError


def register(sub: argparse._SubParsersAction) -> None:
    """Add `cadmus vm run`, `cadmus vm info` and `cadmus vm isa`."""
    vm = sub.add_parser("vm", help="the integer virtual machine")
    vsub = vm.add_subparsers(dest="vm_command", metavar="ACTION", required=True)

    p = vsub.add_parser("run", help="assemble and run a .asm file")
    p.add_argument("file", metavar="FILE.asm")
    p.add_argument("--trace", action="store_true", help="print a table of every step")
    p.add_argument("--input", default="", metavar="1,2,3", help="comma-separated integers for `read`")
    p.add_argument("--max-steps", type=int, default=None, metavar="N", help="step limit")
    p.set_defaults(func=cmd_run)

    p = vsub.add_parser("info", help="say which execution path runs programs (compiled or reference)")
    p.set_defaults(func=cmd_info)

    p = vsub.add_parser("isa", help="print the instruction set")
    p.add_argument("--markdown", action="store_true", help="print docs/isa.md")
    p.set_defaults(func=cmd_isa)


def parse_inputs(text: str) -> list[int]:
    """`"1, 2,-3"` -> [1, 2, -3]; raises CadmusError naming the bad item."""
    values = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            values.append(int(item))
        except ValueError:
            raise CadmusError(f"--input: expected integers separated by commas, found '{item}'") from None
    return values


def cmd_run(args: argparse.Namespace) -> int:
    from cadmus.vm import DEFAULT_LIMITS, Limits, assemble, format_trace, run

    inputs = parse_inputs(args.input)
    try:
        with open(args.file, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as err:
        raise CadmusError(
            f"cannot read file: {getattr(err, 'strerror', None) or err}", file=args.file
        ) from None
    limits = DEFAULT_LIMITS
    if args.max_steps is not None:
        limits = Limits(max_steps=args.max_steps)
    try:
        result = run(assemble(text), inputs, limits, trace=args.trace)
    except CadmusError as err:
        raise err.with_file(args.file) from None
    if result.trace is not None:
        sys.stdout.write(format_trace(result.trace))
        sys.stdout.write("\n")
    for line in result.outputs:
        print(" ".join(map(str, line)))
    if result.error is not None:
        sys.stdout.flush()
        print(f"{args.file}: {result.error}", file=sys.stderr)
        return 1
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from cadmus.data import canon_walk_info
    from cadmus.lang import front_end_info
    from cadmus.vm import backend_info

    info = backend_info()
    print(f"backend: {info['backend']} (chosen by {info['chosen_by']})")
    print(f"compiled path: {info['compiled']}")
    front = front_end_info()
    print(
        f"DSL front end: {front['front_end']} ({front['chosen_by']}; compiled front end {front['compiled']})"
    )
    walk = canon_walk_info()
    print(f"canonical keys (data builds): {walk['walk']} (compiled walk {walk['compiled']})")
    return 0


def cmd_isa(args: argparse.Namespace) -> int:
    from cadmus.vm import isa_markdown, isa_text

    sys.stdout.write(isa_markdown() if args.markdown else isa_text())
    return 0
