"""The one-page Markdown report every instrument run writes: what ran, the command, the findings, the files."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from cadmus.files import write_json


def md_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A Markdown table; floats get three decimals."""

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return "—" if math.isnan(value) else f"{value:.3f}"
        return str(value).replace("|", "\\|").replace("\n", "\\n")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def write_rows(out: Path, name: str, rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """`rows` as NAME.csv and NAME.json in `out`; returns the two file names."""
    out.mkdir(parents=True, exist_ok=True)
    fields: list[str] = []
    for row in rows:
        fields += [k for k in row if k not in fields]
    with (out / f"{name}.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _plain(v) for k, v in row.items()})
    write_json(out / f"{name}.json", [dict(r) for r in rows], sort_keys=False)
    return [f"{name}.csv", f"{name}.json"]


def _plain(value: Any) -> Any:
    if isinstance(value, float):
        return "" if math.isnan(value) else round(value, 6)
    if isinstance(value, list | tuple | dict):
        return json.dumps(value)
    return value


def write_report(
    out: Path,
    *,
    title: str,
    command: str | None,
    inputs: Mapping[str, Any],
    sections: Sequence[tuple[str, str]],
    images: Sequence[str] = (),
    files: Sequence[str] = (),
) -> Path:
    """Write OUT/report.md: title, the command that reproduces the run, inputs, sections, plots, files."""
    lines = [f"# {title}", ""]
    if command:
        lines += ["Reproduce:", "", "```sh", command, "```", ""]
    lines += [md_table(["input", "value"], [(k, v) for k, v in inputs.items()]), ""]
    for heading, body in sections:
        lines += [f"## {heading}", "", body.rstrip(), ""]
    if images:
        lines += ["## Plots", ""]
        lines += [f"![{Path(p).stem}]({p})" for p in images]
        lines += [""]
    if files:
        lines += ["## Files", ""]
        lines += [f"- [{p}]({p})" for p in files]
        lines += [""]
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path
