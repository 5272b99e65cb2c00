"""`cadmus tasks`: list the task families, show one's knobs and samples, write the docs."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add `cadmus tasks list|show|docs`."""
    parser = sub.add_parser("tasks", help="task families: list them, show knobs and sampled programs")
    actions = parser.add_subparsers(dest="tasks_command", metavar="ACTION", required=True)

    p_list = actions.add_parser("list", help="every family with its description and formats")
    p_list.set_defaults(func=_list)

    p_show = actions.add_parser("show", help="a family's knobs and a few sampled programs")
    p_show.add_argument("name", help="family name (see `cadmus tasks list`)")
    p_show.add_argument("--n", type=int, default=3, help="number of samples (default 3)")
    p_show.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p_show.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a knob (value read as YAML: 5, true, heldout; lists as [+, -, *] or +,-,*); repeatable",
    )
    p_show.set_defaults(func=_show)

    p_docs = actions.add_parser("docs", help="the Markdown reference of all families (docs/tasks.md)")
    p_docs.add_argument("--out", default=None, help="write to this file instead of stdout")
    p_docs.set_defaults(func=_docs)


def _list(args: argparse.Namespace) -> int:
    from cadmus.tasks import list_text

    print(list_text())
    return 0


def _show(args: argparse.Namespace) -> int:
    from cadmus.configio import parse_overrides
    from cadmus.tasks import TaskError, show_text

    if args.n < 0:
        raise TaskError("--n must be >= 0", key="n")
    overrides = parse_overrides(args.overrides, TaskError)
    print(show_text(args.name, n=args.n, seed=args.seed, overrides=overrides))
    return 0


def _docs(args: argparse.Namespace) -> int:
    from cadmus.tasks import tasks_markdown

    text = tasks_markdown()
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        print(text, end="")
    return 0
