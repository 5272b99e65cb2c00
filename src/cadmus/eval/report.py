"""Markdown tables and PNG plots from an evaluation summary (and training logs)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cadmus.eval.aggregate import FEATURES

FEATURE_TITLES = {
    "max_abs": "largest |value|",
    "n_statements": "statements",
    "depth": "nesting depth",
    "steps": "VM steps",
}


def _pct(entry: Mapping[str, Any]) -> str:
    if not entry.get("n"):
        return "n/a"
    low, high = entry["ci95"]
    return f"{100 * entry['accuracy']:.1f}% [{100 * low:.1f}, {100 * high:.1f}]"


def _table(title: str, rows: Mapping[str, Mapping[str, Any]], ks: Sequence[int]) -> list[str]:
    head = f"| {title} | n | accuracy [95% CI] |" + "".join(f" pass@{k} |" for k in ks)
    lines = [head, "|" + "---|" * (3 + len(ks))]
    for name, entry in rows.items():
        passes = "".join(
            f" {100 * entry['pass_at'][str(k)]:.1f}% |" if str(k) in entry.get("pass_at", {}) else " |"
            for k in ks
        )
        lines.append(f"| {name} | {entry['n']} | {_pct(entry)} |{passes}")
    return lines


def _ks(summary: Mapping[str, Any]) -> list[int]:
    return sorted(int(k) for k in summary["overall"].get("pass_at", {}))


def split_table(summary: Mapping[str, Any]) -> str:
    """The headline table: one row per split."""
    rows = {split: entry["all"] for split, entry in summary["splits"].items()}
    return "\n".join(_table("split", rows, _ks(summary)))


def markdown_report(
    summary: Mapping[str, Any], *, title: str, meta: Mapping[str, Any], plots: Sequence[str]
) -> str:
    ks = _ks(summary)
    out = [f"# {title}", ""]
    out += [f"- {key}: {value}" for key, value in meta.items()]
    out += ["", "## Accuracy by split", "", split_table(summary), ""]
    for split, entry in summary["splits"].items():
        out += [f"## {split}", ""]
        for name in ("family", "format", *FEATURES):
            if entry.get(name):
                out += [*_table(FEATURE_TITLES.get(name, name), entry[name], ks), ""]
    if plots:
        out += ["## Plots", ""] + [f"![{Path(p).stem}]({p})" for p in plots] + [""]
    return "\n".join(out)


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_feature_curves(summary: Mapping[str, Any], out_dir: Path) -> list[str]:
    """Accuracy against each difficulty feature, one line per split; returns file names."""
    plt = _plt()
    written = []
    for feat in FEATURES:
        series = {s: e[feat] for s, e in summary["splits"].items() if e.get(feat)}
        if not series:
            continue
        fig, ax = plt.subplots(figsize=(6.4, 3.6))
        labels: list[str] = []
        for entry in series.values():
            labels += [b for b in entry if b not in labels]
        for split, entry in series.items():
            xs = [labels.index(b) for b in entry]
            ys = [100 * entry[b]["accuracy"] for b in entry]
            err = [
                [max(0.0, 100 * (entry[b]["accuracy"] - entry[b]["ci95"][0])) for b in entry],
                [max(0.0, 100 * (entry[b]["ci95"][1] - entry[b]["accuracy"])) for b in entry],
            ]
            ax.errorbar(xs, ys, yerr=err, marker="o", capsize=3, label=split)
        ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
        ax.set_ylim(-2, 102)
        ax.set_xlabel(FEATURE_TITLES[feat])
        ax.set_ylabel("accuracy (%)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        name = f"accuracy_vs_{feat}.png"
        fig.savefig(out_dir / name, dpi=110)
        plt.close(fig)
        written.append(name)
    return written


def plot_training_curves(log_path: Path, out_dir: Path) -> list[str]:
    """Train (and validation) loss against step from a run's `log.jsonl`."""
    if not log_path.is_file():
        return []
    train, val = [], []
    for line in log_path.read_text().splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if "step" not in rec:
            continue
        if rec.get("loss") is not None:
            train.append((rec["step"], rec["loss"]))
        if rec.get("val_loss") is not None:
            val.append((rec["step"], rec["val_loss"]))
    if not train:
        return []
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    ax.plot(*zip(*train), label="train loss", lw=1)
    if val:
        ax.plot(*zip(*val), marker="o", label="val loss")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_dir / "training_curves.png", dpi=110)
    plt.close(fig)
    return ["training_curves.png"]
