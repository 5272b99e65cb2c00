"""Record a finished study's runs as a result file and plots, for `make docs` to quote.

    python scripts/record_study.py levers [runs/levers]   # docs/results/levers-study.json, docs/generalization/*.png
    python scripts/record_study.py langs [runs/langs]     # docs/results/langs-study.json, docs/languages/*.png
    python scripts/record_study.py mix [runs/mix]         # docs/results/mix-study.json, docs/training/*.png
    python scripts/record_study.py hf [runs/hf]           # docs/results/hf-study.json, docs/hf/*.png

The runs are those `scripts/{levers,langs,mix,hf}_study.sh` leave: a training
run directory (log.jsonl, summary.json) with its evaluation in eval/NAME/ (summary.json,
answers.jsonl); the hf study's untuned model has only an evaluation (`cadmus llm eval`).
Missing runs are left out and listed, so a partial study records what it has.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from cadmus.eval import wilson_interval
from cadmus.figures import HF_ARMS, HF_DATA, LEVER_SPLITS, RESULTS, ROOT, record_result, runs_by_arm
from cadmus.llm import priors_of_run

ARMS = ("baseline", "abacus", "coupling", "randpos", "fire")
SEEDS = (1, 2, 3)
DIGITS = {"test": 2, "ood_digits_3": 3, "ood_digits_4": 4, "ood_digits_6": 6}
LANG_NS = (1, 10, 200)
LANG_SPLITS = ("test", "heldout_gen", "real_python")
MIX_SPLITS = ("test", "ood_names", "ood_renamed")


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _entry(e: dict[str, Any]) -> dict[str, Any]:
    return {k: e[k] for k in ("n", "correct", "accuracy", "ci95")}


def _log(run: Path) -> dict[str, Any]:
    """A run's training figures from its log.jsonl, read once: the end record's steps, training
    time and parameters, and the curve (step and every accuracy of each evaluation)."""
    records = [json.loads(line) for line in (run / "log.jsonl").read_text(encoding="utf-8").splitlines()]
    end = next(r for r in reversed(records) if r.get("event") == "end")
    curve = [
        {k: v for k, v in r.items() if k == "step" or k.endswith("_accuracy")}
        for r in records
        if r.get("event") == "eval"
    ]
    return {
        "steps": end["step"],
        "train_time_s": end["train_time_s"],
        "params": end["n_params"],
        "curve": curve,
    }


def _counted(rows: Iterable[bool]) -> dict[str, Any]:
    rows = list(rows)
    n, correct = len(rows), sum(rows)
    lo, hi = wilson_interval(correct, n)
    return {"n": n, "correct": correct, "accuracy": correct / n if n else 0.0, "ci95": [lo, hi]}


def _payload(study: str, found: list[dict[str, Any]], missing: list[str], plots: list[str]) -> dict[str, Any]:
    return {
        "command": f"scripts/{study}_study.sh && python scripts/record_study.py {study}",
        "runs": found,
        "missing": missing,
        "plots": plots,
    }


# -------------------------------------------------------------------- levers


def record_levers(runs: Path, plots: Path) -> dict[str, Any]:
    found, missing = [], []
    for seed in SEEDS:
        for arm in ARMS:
            run = runs / f"{arm}-s{seed}"
            summary_path = run / "eval" / "digits-ood" / "summary.json"
            if not summary_path.is_file():
                missing.append(run.name)
                continue
            splits = _read_json(summary_path)["splits"]
            by_statements = {}
            for split in ("test", "ood_statements_3", "ood_statements_4_8"):
                by_statements.update({k: _entry(e) for k, e in splits[split].get("n_statements", {}).items()})
            found.append(
                {
                    "arm": arm,
                    "seed": seed,
                    **_log(run),
                    "splits": {s: _entry(splits[s]["all"]) for s in LEVER_SPLITS if s in splits},
                    "n_statements": dict(sorted(by_statements.items(), key=lambda kv: int(kv[0]))),
                    "low_digits": _low_digits(summary_path.parent / "answers.jsonl"),
                }
            )
    return _payload("levers", found, missing, _plot_levers(found, plots) if found else [])


def _low_digits(answers: Path) -> dict[str, dict[str, float]]:
    """Per split, the share of answers whose last one and last two digits (units, tens) are the
    reference's: partial credit that shows where a wrong answer goes wrong."""
    counts: dict[str, list[int]] = {}
    for line in answers.read_text(encoding="utf-8").splitlines():
        a = json.loads(line)
        ref, got = a["reference"].strip(), (a["answers"][0] or "").strip()
        c = counts.setdefault(a["split"], [0, 0, 0])
        c[0] += 1
        c[1] += ref[-1:] == got[-1:] != ""
        c[2] += ref[-2:] == got[-2:] != ""
    return {split: {"units": u / n, "last_two": t / n} for split, (n, u, t) in counts.items()}


def _plot_levers(found: list[dict[str, Any]], out: Path) -> list[str]:
    plt = _pyplot()
    out.mkdir(parents=True, exist_ok=True)
    arms = runs_by_arm(found)
    names = []

    fig, ax = plt.subplots(figsize=(6, 4))
    for arm, rs in arms.items():
        xs = list(DIGITS.values())
        accs = [[r["splits"][s]["accuracy"] for r in rs] for s in DIGITS]
        ax.errorbar(
            xs,
            [100 * statistics.mean(a) for a in accs],
            yerr=[
                [100 * (statistics.mean(a) - min(a)) for a in accs],
                [100 * (max(a) - statistics.mean(a)) for a in accs],
            ],
            marker="o",
            capsize=3,
            label=arm,
        )
    ax.set(xlabel="digits per constant (trained on at most 2)", ylabel="accuracy (%)", xticks=[2, 3, 4, 6])
    ax.set_title("Magnitude: mean over seeds, bars = min..max")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "levers-digits.png", dpi=100)
    names.append("levers-digits.png")

    fig, ax = plt.subplots(figsize=(6, 4))
    for arm, rs in arms.items():
        counts = sorted({int(k) for r in rs for k in r["n_statements"]})
        means = [statistics.mean(r["n_statements"][str(k)]["accuracy"] for r in rs) for k in counts]
        ax.plot(counts, [100 * m for m in means], marker="o", label=arm)
    ax.set(xlabel="statements (trained on 2-3)", ylabel="accuracy (%)")
    ax.set_title("Length: mean over seeds")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "levers-statements.png", dpi=100)
    names.append("levers-statements.png")

    keys = ["val_accuracy", *(f"{s}_accuracy" for s in LEVER_SPLITS[1:])]
    mean_curves = {
        arm: [
            {"step": p["step"], **{k: statistics.mean(r["curve"][i][k] for r in rs) for k in keys if k in p}}
            for i, p in enumerate(rs[0]["curve"])
        ]
        for arm, rs in arms.items()
    }
    panels = {k: k.removesuffix("_accuracy") for k in keys}
    _curve_panels(out / "levers-curves.png", panels, mean_curves, "accuracy (%), mean over seeds", 7)
    names.append("levers-curves.png")
    plt.close("all")
    return names


def _curve_panels(
    path: Path, panels: dict[str, str], curves: dict[str, list[dict[str, Any]]], ylabel: str, legend: int
) -> None:
    """One panel per logged accuracy (key: title), one line per run (label: its curve), saved at `path`."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(max(10, 3.2 * len(panels)), 3.2), sharey=True)
    for ax, (key, title) in zip(axes, panels.items()):
        for label, curve in curves.items():
            pts = [p for p in curve if key in p]
            ax.plot([p["step"] for p in pts], [100 * p[key] for p in pts], label=label)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("step")
    axes[0].set_ylabel(ylabel)
    axes[-1].legend(fontsize=legend)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


# --------------------------------------------------------------------- langs


def _no_else_false(eval_dir: Path, dataset: Path) -> dict[str, dict[str, Any]]:
    """Per split, tier 2's if-without-else whose condition is false (has_else = 0, taken = 0)."""
    wanted: set[str] = set()
    for shard in sorted(dataset.glob("*/shard-*.parquet")):
        for r in pq.read_table(shard, columns=["id", "family", "features"]).to_pylist():
            features = json.loads(r["features"] or "{}") if r["family"] == "tier2" else {}
            if features.get("has_else") == 0 and features.get("taken") == 0:
                wanted.add(r["id"])
    per_split: dict[str, list[bool]] = {}
    for line in (eval_dir / "answers.jsonl").read_text(encoding="utf-8").splitlines():
        a = json.loads(line)
        if a["id"] in wanted:
            per_split.setdefault(a["split"], []).append(bool(a["ok"][0]))
    return {split: _counted(oks) for split, oks in per_split.items()}


def record_langs(runs: Path, plots: Path) -> dict[str, Any]:
    found, missing = [], []
    for n in LANG_NS:
        run, eval_dir = runs / f"n{n}", runs / f"n{n}" / "eval" / "langs"
        if not (eval_dir / "summary.json").is_file():
            missing.append(run.name)
            continue
        splits = _read_json(eval_dir / "summary.json")["splits"]
        found.append(
            {
                "languages": n,
                **_log(run),
                "splits": {
                    s: {
                        "all": _entry(splits[s]["all"]),
                        "tiers": {t: _entry(e) for t, e in sorted(splits[s]["family"].items())},
                    }
                    for s in LANG_SPLITS
                    if s in splits
                },
                "if_without_else_false": _no_else_false(eval_dir, runs / f"data-n{n}"),
            }
        )
    return _payload("langs", found, missing, _plot_langs(found, plots) if found else [])


def _plot_langs(found: list[dict[str, Any]], out: Path) -> list[str]:
    plt = _pyplot()
    out.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 4))
    labels = {"test": "seen languages", "heldout_gen": "unseen generated", "real_python": "Python (unseen)"}
    for split, label in labels.items():
        xs = [r["languages"] for r in found if split in r["splits"]]
        ys = [100 * r["splits"][split]["all"]["accuracy"] for r in found if split in r["splits"]]
        ax.plot(xs, ys, marker="o", label=label)
    ax.set(xscale="log", xlabel="training languages N", ylabel="accuracy (%)", xticks=list(LANG_NS))
    ax.set_xticklabels([str(n) for n in LANG_NS])
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "langs-vs-n.png", dpi=100)

    panels = {
        "val_accuracy": "seen (val)",
        "heldout_gen_accuracy": "unseen generated",
        "real_python_accuracy": "Python",
    }
    curves = {f"N = {r['languages']}": r["curve"] for r in found}
    _curve_panels(out / "langs-curves.png", panels, curves, "accuracy (%)", 8)
    plt.close("all")
    return ["langs-vs-n.png", "langs-curves.png"]


# ----------------------------------------------------------------------- mix


def record_mix(runs: Path, plots: Path) -> dict[str, Any]:
    run, eval_dir = runs / "cpu", runs / "cpu" / "eval" / "mix"
    if not (eval_dir / "summary.json").is_file():
        return _payload("mix", [], [run.name], [])
    splits = _read_json(eval_dir / "summary.json")["splits"]
    cells: dict[str, dict[str, list[bool]]] = {}
    for line in (eval_dir / "answers.jsonl").read_text(encoding="utf-8").splitlines():
        a = json.loads(line)
        cells.setdefault(a["split"], {}).setdefault(f"{a['family']}/{a['format']}", []).append(
            bool(a["ok"][0])
        )
    found = {
        **_log(run),
        "splits": {
            s: {
                "all": _entry(splits[s]["all"]),
                "format": {f: _entry(e) for f, e in sorted(splits[s]["format"].items())},
                "family": {f: _entry(e) for f, e in sorted(splits[s]["family"].items())},
                "cells": {k: _counted(oks) for k, oks in sorted(cells[s].items())},
            }
            for s in MIX_SPLITS
            if s in splits
        },
    }
    return _payload("mix", [found], [], _plot_mix(found, plots))


def _plot_mix(run: dict[str, Any], out: Path) -> list[str]:
    plt = _pyplot()
    out.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 4))
    for key, label in {"val_accuracy": "val (first prompts)", "ood_names_accuracy": "held-out names"}.items():
        pts = [p for p in run["curve"] if key in p]
        ax.plot([p["step"] for p in pts], [100 * p[key] for p in pts], marker="o", label=label)
    ax.set(xlabel="step", ylabel="accuracy (%)", title="The mix on the CPU: accuracy against steps")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "mix-cpu-curve.png", dpi=100)
    plt.close("all")
    return ["mix-cpu-curve.png"]


# ------------------------------------------------------------------------ hf


def record_hf(runs: Path, plots: Path) -> dict[str, Any]:
    """Each arm on each dataset: accuracy per split, the priors behind its wrong answers, and (trained
    arms) its training figures. The untuned model's evaluation is the run directory itself."""
    found, missing = [], []
    for data in HF_DATA:
        for arm in HF_ARMS:
            run = runs / f"{arm}-{data}"
            eval_dir = run if arm == "untuned" else run / "eval" / "study"
            if not (eval_dir / "summary.json").is_file():
                missing.append(run.name)
                continue
            splits = _read_json(eval_dir / "summary.json")["splits"]
            priors = priors_of_run(eval_dir)
            found.append(
                {
                    "arm": arm,
                    "data": data,
                    **(_log(run) if arm != "untuned" else {"steps": 0}),
                    "splits": {s: _entry(e["all"]) for s, e in splits.items()},
                    "priors": {s: priors[s] for s in splits if s in priors},
                }
            )
    return _payload("hf", found, missing, _plot_hf(found, plots) if found else [])


def _plot_hf(found: list[dict[str, Any]], out: Path) -> list[str]:
    plt = _pyplot()
    out.mkdir(parents=True, exist_ok=True)
    datasets = [d for d in HF_DATA if any(r["data"] == d for r in found)]
    fig, axes = plt.subplots(len(datasets), 1, figsize=(9, 3.6 * len(datasets)), squeeze=False)
    for ax, data in zip(axes[:, 0], datasets):
        mine = [r for r in found if r["data"] == data]
        splits = list(dict.fromkeys(s for r in mine for s in r["splits"]))
        width = 0.8 / len(mine)
        for k, r in enumerate(mine):
            xs = [i + k * width for i in range(len(splits))]
            ys = [100 * r["splits"][s]["accuracy"] if s in r["splits"] else 0.0 for s in splits]
            ax.bar(xs, ys, width, label=HF_ARMS[r["arm"]])
        ax.set_xticks([i + 0.4 - width / 2 for i in range(len(splits))], splits, rotation=20, fontsize=8)
        ax.set(ylabel="accuracy (%)", ylim=(0, 100), title=f"{data}: accuracy per split")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "hf-study.png", dpi=100)
    plt.close("all")
    return ["hf-study.png"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


PLOTS = {
    "levers": ROOT / "docs" / "generalization",
    "langs": ROOT / "docs" / "languages",
    "mix": ROOT / "docs" / "training",
    "hf": ROOT / "docs" / "hf",
}
RECORDERS = {"levers": record_levers, "langs": record_langs, "mix": record_mix, "hf": record_hf}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study", choices=tuple(RECORDERS))
    parser.add_argument("runs", nargs="?", type=Path, help="the study's runs (default runs/STUDY)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where STUDY-study.json goes")
    parser.add_argument(
        "--plots", type=Path, help="where the PNG plots go (default: the study's docs folder)"
    )
    args = parser.parse_args(argv)
    runs = args.runs or Path("runs") / args.study
    if not runs.is_dir():
        print(f"record_study: error: no runs directory {runs}", file=sys.stderr)
        return 2
    plots = args.plots or PLOTS[args.study]
    payload = RECORDERS[args.study](runs, plots)
    if not payload["runs"]:
        print(f"record_study: error: no finished run under {runs}", file=sys.stderr)
        return 2
    args.results.mkdir(parents=True, exist_ok=True)
    path = args.results / f"{args.study}-study.json"
    record_result(path, payload)
    print(f"wrote {path} ({len(payload['runs'])} runs; missing: {', '.join(payload['missing']) or 'none'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
