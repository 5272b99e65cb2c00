"""Human-readable views of the registry: knob tables, sample listings, docs/tasks.md.

The `cadmus tasks` commands and the generated documentation both come from
here, so what the CLI prints and what the docs say cannot drift apart.
"""

from __future__ import annotations

import random
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from cadmus.tasks.base import Family, Sample, TaskError, all_families, get_family


def type_name(annotation: Any) -> str:
    """A short readable name for a knob's type: int, bool, `+ | -`, list of (...)."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return " | ".join(str(a) for a in args)
    if origin is tuple:
        return f"list of ({type_name(args[0])})"
    if origin in (typing.Union, types.UnionType):
        return " or ".join(type_name(a) for a in args)
    return getattr(annotation, "__name__", str(annotation))


def _default_text(value: Any) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def knob_rows(family: Family) -> list[tuple[str, str, str, str]]:
    """(name, type, default, description) for every knob, family-specific ones first."""
    rows = []
    fields = family.Knobs.model_fields
    base = ("names", "pool_size")
    for name in [*(n for n in fields if n not in base), *base]:
        info = fields[name]
        rows.append((name, type_name(info.annotation), _default_text(info.default), info.description or ""))
    return rows


def parse_overrides(items: Iterable[str]) -> dict[str, Any]:
    """`key=value` strings to a dict; values are read as YAML (`5`, `true`, `[+, -]`, `+,-,*`)."""
    out: dict[str, Any] = {}
    for text in items:
        key, sep, raw = text.partition("=")
        key = key.strip()
        if not sep or not key:
            raise TaskError(f"expected key=value, got '{text}'", key=key or None)
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw.strip()
        if isinstance(value, list) and not all(isinstance(x, (int, float, str)) for x in value):
            value = raw.strip()  # e.g. `-` or `[+, -, *]` read as YAML structure
        if isinstance(value, str) and ("," in value or value.startswith("[")):
            # a list written loosely: [+, -, *] or +,-,* (YAML reads * as an alias)
            inner = value.strip().removeprefix("[").removesuffix("]")
            value = [_scalar(part) for part in inner.split(",") if part.strip()]
        if isinstance(value, list):
            value = tuple(value)
        out[key] = value
    return out


def _scalar(raw: str) -> Any:
    """YAML's reading of one value, or the stripped text where YAML refuses it."""
    text = raw.strip()
    try:
        value = yaml.safe_load(text) if text else ""
    except yaml.YAMLError:
        return text.strip("'\"")
    return value if isinstance(value, (int, float, str)) else text


def samples(family: Family, knobs: Any, n: int, seed: int) -> list[Sample]:
    """`n` samples from one generator seeded with `seed` (deterministic)."""
    rng = random.Random(seed)
    return [family.sample(rng, knobs) for _ in range(n)]


def render_sample(sample: Sample) -> str:
    """The program in canonical DSL, the answer expression, and (for functions) the task."""
    from cadmus.lang import Module, to_dsl

    lines = [to_dsl(Module(sample.body)).rstrip("\n"), f"# answer: {to_dsl(sample.answer).strip()}"]
    if sample.function:
        lines.append(f"# instruction: {sample.instruction}")
        calls = ", ".join(
            f"{sample.function}({', '.join(to_dsl(a).strip() for a in args)})" for args in sample.test_inputs
        )
        lines.append(f"# tests: {calls}")
    if sample.features:
        lines.append("# features: " + ", ".join(f"{k}={v}" for k, v in sample.features.items()))
    return "\n".join(lines)


def list_text() -> str:
    fams = all_families()
    width = max(len(n) for n in fams)
    lines = []
    for name, fam in fams.items():
        formats = ",".join(
            f for f in ("complete", "output", "synthesize", "instruct", "trace") if f in fam.formats
        )
        lines.append(f"{name:<{width}}  {fam.description}  [{formats}]")
    return "\n".join(lines)


def show_text(name: str, n: int = 3, seed: int = 0, overrides: Mapping[str, Any] | None = None) -> str:
    family = get_family(name)
    knobs = family.knobs(overrides or {})
    out = [
        f"{family.name}: {family.description}",
        f"formats: {', '.join(sorted(family.formats))}",
        "",
        "knobs:",
    ]
    values = knobs.model_dump()
    for key, kind, default, desc in knob_rows(family):
        current = _default_text(values[key])
        shown = current if current == default else f"{current} (default {default})"
        out.append(f"  {key} ({kind}) = {shown}")
        if desc:
            out.append(f"      {desc}")
    for i, sample in enumerate(samples(family, knobs, n, seed)):
        out += ["", f"--- sample {i} (seed {seed}) ---", render_sample(sample)]
    return "\n".join(out)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def tasks_markdown() -> str:
    """docs/tasks.md: every family, its knobs and one sample (regenerate with `cadmus tasks docs`)."""
    fams = all_families()
    out = [
        "# Task families",
        "",
        "<!-- Generated by `cadmus tasks docs --out docs/tasks.md` from the registry; do not edit. -->",
        "",
        "A family samples natural programs from typed knobs. A sample is a program body plus an",
        "*answer expression*; the data layer gets the answer's value by running the program on the",
        "VM (families never compute answers). Function-shaped families also name the function under",
        "test, give 8-12 argument tuples for tests, and an English instruction, so they support the",
        "`synthesize` and `instruct` formats. Every family draws identifiers through the `names` pool",
        "(`letters`, `short`, `words`, `mixed`, `heldout`, `random`; `heldout` shares no name with the",
        "others) and `pool_size` limits how many distinct names it uses.",
        "",
        "Overflow cannot happen: every knob has bounds, validators reject combinations whose values",
        "could leave 64 bits or whose loops could run long (the error names the key), and the",
        "straight-line families keep every intermediate value within `max_abs` while sampling.",
        "",
        f"{len(fams)} families:",
        "",
        "| family | formats | description |",
        "|---|---|---|",
    ]
    for name, fam in fams.items():
        out.append(f"| [`{name}`](#{name}) | {', '.join(sorted(fam.formats))} | {_cell(fam.description)} |")
    for name, fam in fams.items():
        out += ["", f"## {name}", "", fam.description[0].upper() + fam.description[1:] + ".", ""]
        out += ["| knob | type | default | description |", "|---|---|---|---|"]
        for key, kind, default, desc in knob_rows(fam):
            out.append(f"| `{key}` | {_cell(kind)} | `{_cell(default)}` | {_cell(desc)} |")
        sample = samples(fam, fam.knobs({}), 1, 0)[0]
        out += ["", "Example (seed 0, default knobs):", "", "```", render_sample(sample), "```"]
    return "\n".join(out) + "\n"
