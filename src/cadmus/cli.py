"""The `cadmus` command: parses arguments and hands them to the packages.

Each area registers its sub-commands from `cadmus.commands.<area>`; handlers
import their packages lazily so `cadmus --help` stays fast. A `CadmusError`
becomes one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from cadmus import __version__
from cadmus.errors import CadmusError

COMMAND_AREAS = ("vm", "lang", "tasks", "data", "train", "eval", "serve", "llm", "probe", "export")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cadmus",
        description="Cadmus: integer VM, DSL, true-program datasets, small models trained and judged by execution.",
    )
    parser.add_argument("--version", action="version", version=f"cadmus {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for area in COMMAND_AREAS:
        importlib.import_module(f"cadmus.commands.{area}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CadmusError as err:
        print(f"cadmus: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("cadmus: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
