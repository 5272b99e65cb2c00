"""`cadmus run`, `check`, `compile`, `render`: programs in the DSL or the Python subset.

`FILE` ending in `.py` is read as the Python subset, anything else as the
DSL; `-` reads DSL text from standard input; `--mode` overrides the choice.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from cadmus.commands.vm import parse_inputs
from cadmus.errors import CadmusError

STDIN_NAME = "<stdin>"


def register(sub: argparse._SubParsersAction) -> None:
    """Add the top-level commands `run`, `check` and `compile`."""
    p = sub.add_parser("run", help="run a program (.cad DSL or .py Python subset) and print its output")
    _add_source(p)
    _add_run_options(p)
    p.add_argument("--trace", action="store_true", help="print every VM step (pc, line, instruction, top)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("check", help="judge programs: true, or why not and where")
    p.add_argument("files", nargs="+", metavar="FILE", help="program file(s); '-' reads standard input")
    p.add_argument("--mode", choices=("dsl", "python"), default=None, help="language (default: by extension)")
    _add_run_options(p)
    p.add_argument("--json", action="store_true", help="print each verdict as a JSON object")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("compile", help="show the VM assembly of a program, grouped by source line")
    _add_source(p)
    p.set_defaults(func=cmd_compile)

    p = sub.add_parser(
        "render",
        help="print a program (.cad DSL or .py Python subset) in another language, with the same meaning",
    )
    _add_source(p)
    p.add_argument("--to", required=True, metavar="LANG", help=_LanguagesHelp("the language to print in"))
    p.add_argument(
        "--seed", type=int, default=None, metavar="S", help="with --to gen:N: generated language N of seed S"
    )
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("lang", help="generated languages: a language's spec and a sample program in it")
    lang_sub = p.add_subparsers(dest="lang_command", metavar="COMMAND", required=True)
    p = lang_sub.add_parser(
        "show", help="print generated language N's spec (YAML) and a sample program in it"
    )
    p.add_argument("index", type=int, metavar="N", help="the language's index")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="the generator's seed (default 0)")
    p.set_defaults(func=cmd_lang_show)


class _LanguagesHelp(str):
    """Help text naming the languages of `cadmus.lang.RENDERERS`, looked up only when help is shown.

    argparse expands a help string with `%`; importing `cadmus.lang` to build
    the parser would slow every command down.
    """

    def __mod__(self, params: object) -> str:
        from cadmus.lang import RENDERERS

        return f"{self}: {', '.join(RENDERERS)}, gen:N (generated language N, docs/languages.md)"


def _add_source(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", help="program file (.cad, .py); '-' reads standard input")
    p.add_argument("--mode", choices=("dsl", "python"), default=None, help="language (default: by extension)")


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--input", default="", metavar="1,2,3", help="comma-separated integers for read()")
    p.add_argument("--max-steps", type=int, default=None, metavar="N", help="VM step limit")


# ---- helpers ----------------------------------------------------------------


def read_source(path: str) -> tuple[str, str]:
    """The text of `path` ('-' is standard input) and the name to report it by."""
    if path == "-":
        return sys.stdin.read(), STDIN_NAME
    try:
        with open(path, encoding="utf-8") as f:
            return f.read(), path
    except (OSError, UnicodeDecodeError) as err:
        reason = getattr(err, "strerror", None) or str(err)
        raise CadmusError(f"cannot read file: {reason}", file=path) from None


def mode_of(path: str, mode: str | None) -> str:
    if mode is not None:
        return mode
    return "python" if path.endswith(".py") else "dsl"


def _limits(args: argparse.Namespace) -> Any:
    if args.max_steps is None:
        return None
    from cadmus.vm import Limits

    try:
        return Limits(max_steps=args.max_steps)
    except CadmusError as err:
        raise CadmusError(f"--max-steps: {err.message}") from None


def _load(args: argparse.Namespace) -> tuple[Any, str, str, str]:
    """Read and parse the program: (module, text, name, mode); errors name the file."""
    from cadmus.lang import parse_program

    text, name = read_source(args.file)
    mode = mode_of(args.file, args.mode)
    try:
        module = parse_program(text, mode=mode, file=name)
    except CadmusError as err:
        raise err.with_file(name) from None
    return module, text, name, mode


def listing(compiled: Any, text: str) -> str:
    """The program's assembly (valid input for `assemble`), grouped under `# line N: source` comments."""
    from cadmus.vm import disassemble

    source = text.splitlines()
    labels: dict[int, list[str]] = {}
    instrs: list[str] = []
    for row in disassemble(compiled.program).splitlines():
        if row.endswith(":") and not row.startswith(" "):
            labels.setdefault(len(instrs), []).append(row)
        else:
            instrs.append(row.strip())
    width = max((len(s) for s in instrs), default=0) + 2
    starts = {info.entry: info for info in compiled.functions}
    out = [f"# main program; globals: {', '.join(compiled.global_names) or '(none)'}\n"]
    last = None
    for pc, ins in enumerate(instrs):
        info = starts.get(pc)
        if info is not None:
            out.append(
                f"\n# function {info.name}({', '.join(info.params)}); locals: {', '.join(info.slots)}\n"
            )
            last = None
        line = compiled.lines[pc]
        if line != last:
            src = source[line - 1].strip() if 0 < line <= len(source) else ""
            out.append(f"# line {line}: {src}\n")
            last = line
        out.extend(f"{label}\n" for label in labels.get(pc, ()))
        out.append(f"    {ins:<{width}}; pc {pc}\n")
    out.extend(f"{label}\n" for label in labels.get(len(instrs), ()))
    return "".join(out)


# ---- commands ---------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    from cadmus.lang import execute
    from cadmus.vm import format_trace

    inputs = parse_inputs(args.input)
    limits = _limits(args)
    module, _text, name, mode = _load(args)
    try:
        ex = execute(module, mode=mode, inputs=inputs, limits=limits, file=name, trace=args.trace)
    except CadmusError as err:
        raise err.with_file(name) from None
    verdict = ex.verdict
    if args.trace and ex.result is not None and ex.result.trace is not None:
        sys.stdout.write(format_trace(ex.result.trace, ex.compiled))
        sys.stdout.write("\n")
    if verdict.outputs:
        sys.stdout.write(verdict.output_text + "\n")
    if verdict.ok:
        return 0
    sys.stdout.flush()
    where = name if verdict.line is None else f"{name}:{verdict.line}"
    if verdict.line is not None and verdict.col is not None:
        where += f":{verdict.col}"
    print(f"{where}: {verdict.message}", file=sys.stderr)
    return 1


def cmd_check(args: argparse.Namespace) -> int:
    from cadmus.lang import check

    inputs = parse_inputs(args.input)
    limits = _limits(args)
    all_true = True
    for path in args.files:
        text, name = read_source(path)
        try:
            verdict = check(text, mode=mode_of(path, args.mode), inputs=inputs, limits=limits, file=name)
        except CadmusError as err:
            raise err.with_file(name) from None
        all_true = all_true and verdict.ok
        if args.json:
            print(json.dumps({"file": name, **verdict.to_dict()}))
        else:
            print(f"{name}: {verdict}")
    return 0 if all_true else 1


def cmd_compile(args: argparse.Namespace) -> int:
    from cadmus.lang import compile_program

    module, text, name, mode = _load(args)
    try:
        compiled = compile_program(module, mode)
    except CadmusError as err:
        raise err.with_file(name) from None
    sys.stdout.write(listing(compiled, text))
    return 0


def _language_arg(to: str, seed: int | None) -> str:
    """`--to` with `--seed` applied: `gen:N` and seed S name `gen:N@S`."""
    if seed is None:
        return to
    from cadmus.lang import GENERATED_PREFIX, language_name

    index = to[len(GENERATED_PREFIX) :]
    if not to.startswith(GENERATED_PREFIX) or not index.isdigit():
        raise CadmusError(f"--seed applies to a generated language (--to gen:N), not {to!r}")
    if seed < 0:
        raise CadmusError("--seed must be >= 0")
    return language_name(int(index), seed)


def cmd_render(args: argparse.Namespace) -> int:
    from cadmus.lang import get_renderer

    renderer = get_renderer(_language_arg(args.to, args.seed))
    module, _text, name, mode = _load(args)
    try:
        text = renderer.render(module, mode)
    except CadmusError as err:
        raise err.with_file(name) from None
    sys.stdout.write(text)
    return 0


def cmd_lang_show(args: argparse.Namespace) -> int:
    from cadmus.lang import dump_spec, generate_language, sample_text

    if args.index < 0 or args.seed < 0:
        raise CadmusError("N and --seed must be >= 0")
    spec = generate_language(args.index, args.seed)
    sys.stdout.write(f"# {spec.name}: spec (cadmus.lang.load_spec reads it back)\n")
    sys.stdout.write(dump_spec(spec))
    sys.stdout.write(f"\n# a sample program in {spec.name}:\n")
    sys.stdout.write(sample_text(spec))
    return 0
