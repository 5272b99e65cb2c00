"""The instruments' figures: heat maps, curves and attention maps as small PNG files.

Figures are built with matplotlib's object API (`matplotlib.figure.Figure`),
never through pyplot, so drawing a probe's plot neither needs a display nor
changes the backend of a notebook that imports `cadmus.probe`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

DPI = 90


def _figure(width: float, height: float) -> tuple[Figure, Any]:
    fig = Figure(figsize=(width, height))
    return fig, fig.add_subplot()


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    return path


def heatmap(
    matrix: np.ndarray,
    rows: Sequence[str],
    cols: Sequence[str],
    path: str | Path,
    *,
    title: str,
    cells: Sequence[Sequence[str]] | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
    cmap: str = "viridis",
    xlabel: str = "",
    ylabel: str = "",
    colorbar: str = "",
) -> Path:
    """A matrix as colours with one text per cell (the value, unless `cells` says otherwise); NaN is blank."""
    matrix = np.asarray(matrix, dtype=float)
    n_rows, n_cols = matrix.shape
    width = min(16.0, 1.6 + 0.62 * n_cols + (0.25 if cells is not None else 0.0) * n_cols)
    height = min(12.0, 1.3 + 0.42 * n_rows + (0.2 if cells is not None else 0.0) * n_rows)
    fig, ax = _figure(width, height)
    shown = np.ma.masked_invalid(matrix)
    im = ax.imshow(shown, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    tilt = n_cols > 6 or max((len(str(c)) for c in cols), default=0) * n_cols > 36
    ax.set_xticks(
        range(n_cols), labels=list(cols), rotation=60 if tilt else 0, ha="right" if tilt else "center"
    )
    ax.set_yticks(range(n_rows), labels=list(rows))
    ax.set_title(title, fontsize=10)
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    small = n_cols > 14 or n_rows > 14
    for r in range(n_rows):
        for c in range(n_cols):
            value = matrix[r, c]
            text = cells[r][c] if cells is not None else ("" if np.isnan(value) else f"{value:.2f}")
            if not text:
                continue
            red, green, blue, _ = im.cmap(im.norm(value)) if np.isfinite(value) else (1, 1, 1, 1)
            light = 0.299 * red + 0.587 * green + 0.114 * blue > 0.5
            ax.text(
                c,
                r,
                text,
                ha="center",
                va="center",
                fontsize=5.5 if small else 7,
                color="black" if light else "white",
            )
    bar = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.02)
    if colorbar:
        bar.set_label(colorbar)
    return _save(fig, Path(path))


def curves(
    x: Sequence[str],
    series: Mapping[str, Sequence[float]],
    path: str | Path,
    *,
    title: str,
    ylabel: str,
    xlabel: str = "",
    ylim: tuple[float, float] | None = None,
) -> Path:
    """One line per series over categorical x."""
    fig, ax = _figure(5.2, 3.4)
    for name, ys in series.items():
        ax.plot(range(len(x)), list(ys), marker="o", label=name)
    ax.set_xticks(range(len(x)), labels=list(x))
    ax.set_title(title, fontsize=10)
    ax.set_ylabel(ylabel)
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return _save(fig, Path(path))


def bars(
    labels: Sequence[str],
    groups: Mapping[str, Sequence[float]],
    path: str | Path,
    *,
    title: str,
    ylabel: str,
    baseline: float | None = None,
) -> Path:
    """Grouped bars (one colour per group) with an optional horizontal baseline."""
    fig, ax = _figure(max(4.0, 0.45 * len(labels) * max(1, len(groups)) + 1.5), 3.4)
    n = max(1, len(groups))
    width = 0.8 / n
    for k, (name, ys) in enumerate(groups.items()):
        ax.bar(np.arange(len(labels)) + (k - (n - 1) / 2) * width, list(ys), width, label=name)
    if baseline is not None:
        ax.axhline(baseline, color="black", linestyle="--", linewidth=1, label="no ablation")
    ax.set_xticks(range(len(labels)), labels=list(labels), rotation=45 if len(labels) > 6 else 0)
    ax.set_title(title, fontsize=10)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, Path(path))


def pattern_map(pattern: np.ndarray, tokens: Sequence[str], path: str | Path, *, title: str) -> Path:
    """One head's attention pattern [T, T] with the tokens on both axes."""
    n = len(tokens)
    size = min(7.0, 1.2 + 0.22 * n)
    fig, ax = _figure(size + 0.6, size)
    im = ax.imshow(np.asarray(pattern), cmap="Blues", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(n), labels=list(tokens), rotation=90, fontsize=7)
    ax.set_yticks(range(n), labels=list(tokens), fontsize=7)
    ax.set_xlabel("key (attended to)")
    ax.set_ylabel("query")
    ax.set_title(title, fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.02)
    return _save(fig, Path(path))


def show_token(token: str) -> str:
    """A token as a readable tick label."""
    if token == "\n":
        return "\\n"
    if token.strip() == "":
        return "sp" if len(token) < 4 else "indent"
    return token.strip()
