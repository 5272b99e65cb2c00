"""The dataset card: `DIR/README.md` with statistics tables and `DIR/plots/*.png`.

Statistics are read back from the shards (a few integer columns and the text
lengths, one shard at a time), so the card describes the files as written;
at most `MAX_ROWS` rows per split are read (spread evenly over its shards), so
memory does not grow with the dataset.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

METRICS = (
    ("length", "program length (characters of prompt + completion)", True),
    ("n_statements", "statements", False),
    ("depth", "nesting depth", False),
    ("max_abs", "largest absolute value", True),
    ("steps", "VM steps", True),
)


MAX_ROWS = 200_000  # statistics of a split use at most this many rows, spread evenly over its shards
_GENERATED = re.compile(r"gen:([0-9]+)(@[0-9]+)?\Z")


def language_groups(names: Any) -> list[tuple[str, list[str]]]:
    """Languages as card rows: generated languages in runs of consecutive indices (`gen:0-199`)."""
    groups: list[tuple[str, list[str]]] = []
    runs: dict[str, list[tuple[int, str]]] = {}
    for name in names:
        m = _GENERATED.match(name)
        if m is None:
            groups.append((name, [name]))
        else:
            runs.setdefault(m.group(2) or "", []).append((int(m.group(1)), name))
    for seed, items in sorted(runs.items()):
        items.sort()
        start = 0
        for i in range(1, len(items) + 1):
            if i == len(items) or items[i][0] != items[i - 1][0] + 1:
                lo, hi = items[start][0], items[i - 1][0]
                label = f"gen:{lo}{seed}" if lo == hi else f"gen:{lo}-{hi}{seed}"
                groups.append((label, [n for _, n in items[start:i]]))
                start = i
    return groups


def _split_frame(out: Path, info: dict[str, Any]) -> Any:
    import pandas as pd
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    frames = []
    quota = -(-MAX_ROWS // max(1, len(info["shards"])))
    for shard in info["shards"]:
        table = pq.read_table(
            out / shard["file"],
            columns=["family", "format", "prompt", "completion", "n_statements", "depth", "max_abs", "steps"],
        )
        if table.num_rows > quota:
            step = table.num_rows / quota
            table = table.take([int(i * step) for i in range(quota)])
        length = pc.add(pc.utf8_length(table["prompt"]), pc.utf8_length(table["completion"]))
        table = table.drop_columns(["prompt", "completion"]).append_column("length", length)
        frames.append(table.to_pandas())
    if not frames:
        return pd.DataFrame(
            columns=["family", "format", "n_statements", "depth", "max_abs", "steps", "length"]
        )
    return pd.concat(frames, ignore_index=True)


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(x) for x in row) + " |" for row in rows]
    return "\n".join(lines)


def _plots(out: Path, frame: Any, split: str) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    plots = out / "plots"
    plots.mkdir(exist_ok=True)
    names: list[str] = []
    if frame.empty:
        return names
    families = sorted(frame["family"].unique())
    for metric, label, log in METRICS:
        height = max(3.5, 0.28 * len(families) + 1.2)
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, height), gridspec_kw={"width_ratios": [1, 1.3]})
        # Fixed margins in inches: `tight_layout` measured every label and took a third of the card's time.
        fig.subplots_adjust(left=0.07, right=0.98, bottom=0.6 / height, top=1 - 0.35 / height, wspace=0.24)
        values = frame[metric].to_numpy()
        if log:
            shifted = values + 1
            bins = np.unique(np.geomspace(1, max(2, shifted.max()) + 1, 40).astype(int))
            ax1.hist(shifted, bins=bins, color="#4c72b0")
            ax1.set_xscale("log")
            ax1.set_xlabel(f"{label} + 1")
        else:
            hi = int(values.max()) if len(values) else 1
            ax1.hist(values, bins=np.arange(-0.5, hi + 1.5, 1), color="#4c72b0")
            ax1.set_xlabel(label)
        ax1.set_ylabel("examples")
        ax1.set_title(f"{split}: {label}")
        data = [frame.loc[frame["family"] == f, metric].to_numpy() + (1 if log else 0) for f in families]
        ax2.boxplot(data, orientation="horizontal", tick_labels=families, showfliers=False)
        if log:
            ax2.set_xscale("log")
        ax2.set_title("per family")
        ax2.tick_params(axis="y", labelsize=7)
        name = f"{split}_{metric}.png"
        fig.savefig(plots / name, dpi=80, metadata={"Software": None})
        plt.close(fig)
        names.append(name)
    return names


def write_card(out: Path, manifest: dict[str, Any]) -> Path:
    cfg = manifest["config"]
    lines = [
        f"# Dataset `{manifest['name']}`",
        "",
        manifest.get("description") or "A Cadmus dataset of verified true programs.",
        "",
        f"Built by Cadmus {manifest['cadmus_version']} from config `{manifest['config_sha256'][:12]}` "
        f"(seed {manifest['seed']}). Every example was verified on the VM by its format's judge; "
        "formats and judges are documented in Cadmus's `docs/data.md`. Load with "
        '`datasets.load_dataset("parquet", data_files={"train": "train/*.parquet", ...})` or pandas.',
        "",
        "## Splits",
        "",
    ]
    rows = []
    for name, info in manifest["splits"].items():
        rows.append(
            [
                name,
                info["kind"],
                ", ".join(label for label, _ in language_groups(info.get("languages", {}))) or "-",
                info["examples"],
                len(info["shards"]),
                sum(sum(r.values()) for r in info["rejections"].values()),
                manifest["leakage"]["overlap_with_train"].get(name, "-"),
                info["description"]
                or ", ".join(info["mixture"][:4]) + (" ..." if len(info["mixture"]) > 4 else ""),
            ]
        )
    lines += [
        _table(
            [
                "split",
                "kind",
                "languages",
                "examples",
                "shards",
                "rejected",
                "programs also in train",
                "about",
            ],
            rows,
        ),
        "",
    ]
    ood = cfg.get("ood") or []
    if ood:
        lines += ["## Out-of-distribution splits", ""]
        for o in ood:
            detail = []
            if o.get("knobs"):
                detail.append(f"knobs {o['knobs']}")
            if o.get("names"):
                detail.append(f"names from pool `{o['names']}`")
            if o.get("mixture"):
                detail.append(
                    "own mixture "
                    + ", ".join(
                        f"{m['family']}/{m.get('format') or m.get('formats')}"
                        + (
                            f"/{m.get('language') or m.get('languages')}"
                            if m.get("language") or m.get("languages")
                            else ""
                        )
                        for m in o["mixture"]
                    )
                )
            if o.get("language"):
                detail.append(f"shown in `{o['language']}`, a language the training mixture does not use")
            if o.get("renamed"):
                detail.append(
                    f"the programs of `{o['renamed']['of']}` with variables renamed from `{o['renamed']['names']}`"
                )
            lines.append(f"- `{o['name']}` ({o['size']}): " + "; ".join(detail))
        lines.append("")
    lines += ["## Families and formats (examples per split)", ""]
    split_names = list(manifest["splits"])
    pairs = sorted(
        {(fam, fmt) for info in manifest["splits"].values() for fam, d in info["counts"].items() for fmt in d}
    )
    lines += [
        _table(
            ["family", "format", *split_names],
            [
                [fam, fmt, *(manifest["splits"][s]["counts"].get(fam, {}).get(fmt, 0) for s in split_names)]
                for fam, fmt in pairs
            ],
        ),
        "",
    ]
    languages = manifest.get("languages", [])
    if languages != ["dsl"]:
        lines += [
            "## Languages (examples per split)",
            "",
            "Programs are shown in these surface languages; every one was verified on the VM as DSL "
            '(`docs/data.md`, "Languages").',
            "",
            _table(
                ["language", *split_names],
                [
                    [
                        label,
                        *(
                            sum(manifest["splits"][s].get("languages", {}).get(n, 0) for n in members)
                            for s in split_names
                        ),
                    ]
                    for label, members in language_groups(languages)
                ],
            ),
            "",
        ]
    lines += ["## Rejected samples (all splits)", ""]
    reasons = sorted({r for d in manifest["rejections"].values() for r in d})
    if reasons:
        lines += [
            _table(
                ["family", *reasons],
                [[fam, *(d.get(r, 0) for r in reasons)] for fam, d in manifest["rejections"].items()],
            ),
            "",
        ]
    else:
        lines += ["None.", ""]
    leak = manifest["leakage"]
    lines += [
        "## Leakage",
        "",
        f"Method: {leak['method']}. Programs of each split also found in train: "
        + ", ".join(f"{k} {v}" for k, v in leak["overlap_with_train"].items())
        + ". Repeated programs within a split: "
        + ", ".join(f"{k} {v}" for k, v in leak["repeated_within_split"].items())
        + ".",
        "",
        "## Statistics",
        "",
    ]
    out = Path(out)
    for name, info in manifest["splits"].items():
        frame = _split_frame(out, info)
        if frame.empty:
            continue
        lines += [f"### {name}", ""]
        stat_rows = []
        for fam, group in frame.groupby("family", sort=True):
            stat_rows.append(
                [
                    fam,
                    len(group),
                    *(
                        f"{group[m].mean():.1f} / {int(group[m].median())} / {int(group[m].max())}"
                        for m, _, _ in METRICS
                    ),
                ]
            )
        sampled = len(frame) < info["examples"]
        lines += [
            "Mean / median / max per family"
            + (
                f" (over {len(frame)} of {info['examples']} rows, spread evenly over the shards)."
                if sampled
                else "."
            ),
            "",
            _table(["family", "examples", *(label for _, label, _ in METRICS)], stat_rows),
            "",
        ]
        if name in ("train", "test"):
            for plot in _plots(out, frame, name):
                lines.append(f"![{plot}](plots/{plot})")
            lines.append("")
    path = out / "README.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
