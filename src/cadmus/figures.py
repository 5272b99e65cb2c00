"""Figures quoted by the docs, rendered from the result files that commands wrote.

A measured figure has one source: a JSON file in ``docs/results/`` written by
the command that measured it (``python -m cadmus.demo --record ...``,
``benchmarks/*.py --record``). Hand-written pages mark each quoted block::

    <!-- figures:demo-summary -->
    ...rendered from docs/results/demo.json...
    <!-- /figures:demo-summary -->

``python -m cadmus.figures`` (run by ``make docs``) refills every marked
block in README.md and docs/*.md; generated pages (docs/training.md) call
:func:`render_block` themselves. A test fails when any block is stale.
"""

from __future__ import annotations

import json
import os
import platform
import re
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from cadmus.errors import CadmusError
from cadmus.files import write_json

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "docs" / "results"
PAGES = ("README.md", "docs")
BLOCK = re.compile(r"(<!-- figures:(?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /figures:(?P=name) -->)", re.S)


class FiguresError(CadmusError):
    """A marked block names no known figure, or its result file is missing."""


def read_result(name: str, results: Path = RESULTS) -> dict[str, Any]:
    path = results / f"{name}.json"
    if not path.is_file():
        raise FiguresError(
            f"no result file {path}: run the command that records it (see docs/results/README.md)"
        )
    return json.loads(path.read_text(encoding="utf-8"))


def machine_facts() -> dict[str, Any]:
    """What a recorded figure depends on: the machine and how busy it was when the run began."""
    return {
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_before": os.getloadavg()[0],
    }


def record_result(path: str | os.PathLike[str], payload: dict[str, Any]) -> dict[str, Any]:
    """Write a command's results as a result file (the date and machine facts, then `payload`); returns it."""
    machine = {**machine_facts(), **payload.get("machine", {})}
    record = {"date": date.today().isoformat(), **payload, "machine": machine}
    write_json(path, record, sort_keys=False)
    return record


# ------------------------------------------------------------------ formatting


def pct(x: float, digits: int = 1) -> str:
    """A percentage; one more digit where rounding would show a rate below 1 as 100%."""
    text = f"{100 * x:.{digits}f}%"
    return f"{100 * x:.{digits + 1}f}%" if x < 1 and text.startswith("100.") else text


def interval(entry: dict[str, Any]) -> str:
    lo, hi = entry["ci95"]
    return f"{pct(entry['accuracy'])} [{100 * lo:.1f}, {100 * hi:.1f}]"


def duration(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 60} min {s % 60:02d} s" if s >= 60 else f"{s} s"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


# ------------------------------------------------------------------- the demo


def first_reaching(curve: list[dict[str, Any]], threshold: float) -> dict[str, Any] | None:
    """The first validation point whose accuracy reaches `threshold`."""
    return next(
        (p for p in curve if p.get("val_accuracy") is not None and p["val_accuracy"] >= threshold), None
    )


def demo_summary(results: Path = RESULTS) -> str:
    r = read_result("demo", results)
    t, phases, machine = r["train"], r["phases_s"], r["machine"]
    test = r["splits"]["test"]
    ood = {k: v for k, v in r["splits"].items() if k.startswith("ood")}
    worst_ood = max(v["accuracy"] for v in ood.values()) if ood else 0.0
    reach = first_reaching(r["curve"], 0.99)
    prompts = f" ({r['val_prompts']:,} prompts)" if r.get("val_prompts") else ""
    reach_text = (
        f"validation accuracy{prompts} first reached 99% at step "
        f"{reach['step']:,}, {pct(reach['step'] / t['max_steps'], 0)} of the budget"
        if reach
        else "validation accuracy never reached 99%"
    )
    return (
        f"Recorded by `make record-demo` on {r['date']} ({machine['cores']} cores, {machine['threads']} training "
        f"thread{'' if machine['threads'] == 1 else 's'}, load average {machine['load_before']:.1f} at the start): data {duration(phases['data'])}, "
        f"training {duration(phases['train'])} ({t['steps']:,} of {t['max_steps']:,} steps, "
        f"{t['tokens_per_s'] / 1e3:.1f}k tokens/s), evaluation {duration(phases['eval'])}, "
        f"{duration(phases['total'])} in all. In-distribution test accuracy "
        f"**{interval(test)}** ({test['n']:,} programs never seen in training); {reach_text}. "
        f"Every OOD split stays at or below {pct(worst_ood)}."
    )


def demo_table(results: Path = RESULTS) -> str:
    r = read_result("demo", results)
    rows = [
        [
            f"`{name}`",
            f"{e['n']:,}",
            f"{e['correct']:,}",
            pct(e["accuracy"]),
            f"[{100 * e['ci95'][0]:.1f}, {100 * e['ci95'][1]:.1f}]",
        ]
        for name, e in r["splits"].items()
    ]
    return table(["split", "programs", "correct", "accuracy", "95% interval"], rows)


def demo_curve(results: Path = RESULTS) -> str:
    r = read_result("demo", results)
    rows = [
        [
            f"{p['step']:,}",
            pct(p["step"] / r["train"]["max_steps"], 0),
            f"{p['val_loss']:.4f}" if p.get("val_loss") is not None else "-",
            pct(p["val_accuracy"]) if p.get("val_accuracy") is not None else "-",
        ]
        for p in r["curve"]
    ]
    return table(["step", "of budget", "val loss", "val accuracy"], rows)


def demo_load(results: Path = RESULTS) -> str:
    """Quiet against loaded: the same model, only slower."""
    quiet, loaded = read_result("demo", results), read_result("demo-loaded", results)
    rows = []
    for label, r in (
        ("quiet", quiet),
        (
            f"{loaded['load_processes']} CPU-bound process{'' if loaded['load_processes'] == 1 else 'es'} alongside",
            loaded,
        ),
    ):
        t = r["train"]
        rows.append(
            [
                label,
                f"{r['machine']['load_before']:.1f}",
                f"{t['steps']:,}",
                duration(r["phases_s"]["train"]),
                f"`{t['weights_sha256'][:16]}`",
                interval(r["splits"]["test"]),
            ]
        )
    same = quiet["train"]["weights_sha256"] == loaded["train"]["weights_sha256"]
    same_table = all(
        quiet["splits"][k]["correct"] == loaded["splits"][k]["correct"] for k in quiet["splits"]
    ) and set(quiet["splits"]) == set(loaded["splits"])
    verdict = (
        "The weights are bitwise identical and so is every split's count of correct answers."
        if same and same_table
        else "The runs differ: the weights or the accuracy table are not the same."
    )
    header = ["run", "load at start", "steps", "training time", "weights (SHA-256)", "test accuracy"]
    return table(header, rows) + "\n\n" + verdict


def schedule_text(recipe: dict[str, Any]) -> str:
    s = recipe["schedule"]
    if s["kind"] == "constant":
        text = "constant"
    elif s["kind"] == "wsd":
        text = f"wsd, decay over the last {pct(s['decay_fraction'], 0)}"
    else:
        text = "cosine"
    if s.get("decay_end", 1.0) < 1.0:
        text += f", ending at {pct(s['decay_end'], 0)} of the budget"
    return text + f", floor {s['min_lr_ratio']:g}"


def demo_levers(results: Path = RESULTS) -> str:
    """One row per recorded lever run (docs/results/levers/*.json, each a demo results file)."""
    rows = []
    for path in sorted((results / "levers").glob("*.json")):
        r = json.loads(path.read_text(encoding="utf-8"))
        t, recipe, reach = r["train"], r["recipe"], first_reaching(r["curve"], 0.99)
        rows.append(
            [
                f"`{path.stem}`",
                f"{recipe['threads']}",
                f"{recipe['lr']:g}",
                schedule_text(recipe),
                f"{t['steps']:,}",
                f"{r['val_prompts'] or '?'}, every {r['curve'][1]['step'] - r['curve'][0]['step']:,}"
                if len(r["curve"]) > 1
                else "-",
                f"{reach['step']:,} ({pct(reach['step'] / t['max_steps'], 0)})" if reach else "never",
                interval(r["splits"]["test"]),
            ]
        )
    header = ["run", "threads", "peak lr", "schedule", "steps", "val prompts", "val >= 99% at step", "test"]
    return table(header, rows)


# ----------------------------------------------------------------- benchmarks


def bench_data(results: Path = RESULTS, name: str = "bench-data") -> str:
    r = read_result(name, results)
    rows = []
    for run in r["runs"]:
        rate, cpu_rate = run["examples"] / run["seconds"], run["examples"] / run["cpu_seconds"]
        rows.append(
            [
                str(run["workers"]),
                f"{run['examples']:,}",
                duration(run["seconds"]),
                f"{rate:,.0f}",
                f"{cpu_rate:,.0f}",
                duration(1_000_000 / rate),
                f"{run['self_mb']:.0f} + {run['children_mb']:.0f} MB",
            ]
        )
    head = (
        f"`{r['command']}` on {r['date']} ({r['machine']['cores']} cores, load average "
        f"{r['machine']['load_before']:.1f} at the start; this machine ran the reference (Python) VM at "
        f"{r['vm_speed_minstr_s']:.2f}M instructions/s on one core): {r['what']}.\n\n"
    )
    header = [
        "workers",
        "examples",
        "wall time",
        "examples/s",
        "examples per CPU-s",
        "1M at this rate",
        "peak RSS (main + worker)",
    ]
    return head + table(header, rows)


def bench_data_stages(results: Path = RESULTS) -> str:
    r = read_result("bench-data-stages", results)
    rows = []
    for s in r["stages"]:
        per = s["seconds"] / s["calls"] * 1e6 if s["calls"] else 0.0
        rows.append(
            [
                s["stage"],
                f"{s['seconds']:.2f} s",
                f"{s['seconds'] / r['seconds']:.1%}",
                f"{s['calls']:,}",
                f"{per:,.1f} µs",
                "yes" if s["verifies_or_keys"] else "no",
            ]
        )
    head = (
        f"`{r['command']}` on {r['date']} ({r['machine']['cores']} cores, load average "
        f"{r['machine']['load_before']:.1f} at the start; the reference (Python) VM ran at "
        f"{r['vm_speed_minstr_s']:.2f}M instructions/s): {r['what']}, {duration(r['seconds'])} with "
        f"the timers; {r['drawn'] / r['examples']:.2f} programs drawn per example kept.\n\n"
    )
    tail = (
        f"\n\nThe stages that neither verify (check, compile, run) nor key a program take "
        f"{r['rest_share']:.0%} of the build: on this machine they alone would take "
        f"{duration(r['rest_1m_2_cores_s'])} of a 1,000,000-example build on 2 cores, whatever verifying "
        "and keying cost.\n"
    )
    header = ["stage (exclusive time)", "time", "share", "calls", "per call", "verifies or keys programs"]
    return head + table(header, rows) + tail


def bench_vm(results: Path = RESULTS) -> str:
    r = read_result("bench-vm", results)
    rows = []
    for run in r["runs"]:
        rows.append(
            [
                run["program"],
                f"{run['steps']:,}",
                f"{run['vm_s'] * 1e3:.1f} ms",
                f"{run['steps'] / run['vm_s'] / 1e6:,.0f}M",
                f"{run['cpython_s'] * 1e3:.1f} ms",
                f"{run['vm_s'] / run['cpython_s']:.2f}",
            ]
        )
    head = (
        f"`{r['command']}` on {r['date']} ({r['machine']['cores']} cores, load average "
        f"{r['machine']['load_before']:.1f} at the start; VM path `{r['backend']}`; CPU time, best of 7):\n\n"
    )
    header = ["program", "VM steps", "VM time", "instructions/s", "CPython time", "VM / CPython"]
    return head + table(header, rows)


def bench_judge(results: Path = RESULTS) -> str:
    r = read_result("bench-judge", results)
    base = r["paths"][0]["verdicts_per_s"]
    rows = [
        [f"`{p['path']}`", f"{p['verdicts_per_s']:,.0f}", f"{base / p['verdicts_per_s']:.1f}x"]
        for p in r["paths"]
    ]
    head = (
        f"`{r['command']}` on {r['date']} ({r['machine']['cores']} cores, load average "
        f"{r['machine']['load_before']:.1f} at the start): {r['rows']:,} rows of the demo dataset (test and OOD "
        f"splits), each judged with its answer and with a wrong one ({r['verdicts']:,} verdicts per pass, best "
        f"of 3); the same verdicts on every path: {'yes' if r['same'] else 'NO'}.\n\n"
    )
    return head + table(["path", "verdicts/s", "default is faster by"], rows)


def bench_threads(results: Path = RESULTS) -> str:
    r = read_result("bench-threads", results)
    rows = [
        [
            str(run["threads"]),
            "quiet" if not run["load_processes"] else f"{run['load_processes']} CPU-bound process",
            f"{run['steps_per_s']:.1f}",
        ]
        for run in r["runs"]
    ]
    head = (
        f"`{r['command']}` on {r['date']} ({r['machine']['cores']} cores, load average "
        f"{r['machine']['load_before']:.1f} at the start; {r['steps']} steps of the demo recipe per run):\n\n"
    )
    return head + table(["threads", "machine", "training steps/s"], rows)


def bench_train(results: Path = RESULTS) -> str:
    r = read_result("bench-train", results)
    rows = [
        [
            run["preset"],
            f"{run['params_non_embedding']:,}",
            f"{run['batch']} x {run['seq']}",
            f"{run['tokens_per_s']:,.0f}",
            f"{run['flops_per_s'] / 1e9:.1f}",
            pct(run["mfu"]) if run.get("mfu") is not None else "?",
        ]
        for run in r["results"]
    ]
    head = (
        f"`{r['command']}` on {r['date']} ({r['device']}; peak {r['peak_flops'] / 1e9:.1f} GFLOP/s; "
        f"load average {r['machine']['load_before']:.1f} at the start):\n\n"
    )
    header = ["preset", "non-embedding params", "batch x seq", "tokens/s", "achieved GFLOP/s", "MFU"]
    return head + table(header, rows)


# ------------------------------------------------------------------- studies


def _spread(values: list[float]) -> str:
    """Mean over seeds, with the range when there is more than one."""
    mean = sum(values) / len(values)
    if len(values) == 1:
        return pct(mean)
    return f"{pct(mean)} ({100 * min(values):.1f}-{100 * max(values):.1f})"


LEVER_SPLITS = (
    "test",
    "ood_digits_3",
    "ood_digits_4",
    "ood_digits_6",
    "ood_statements_3",
    "ood_statements_4_8",
)
"""The splits of the positional-levers study (configs/data/digits-ood.yaml), in table order."""


def runs_by_arm(runs: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """A study's runs grouped by arm, arms in first-seen order."""
    arms: dict[str, list[dict[str, Any]]] = {}
    for r in runs:
        arms.setdefault(r["arm"], []).append(r)
    return arms


def levers_study(results: Path = RESULTS) -> str:
    """The positional-levers study: accuracy per arm and split, mean (min-max) over seeds."""
    r = read_result("levers-study", results)
    rows = []
    for arm, runs in runs_by_arm(r["runs"]).items():
        rows.append(
            [f"`{arm}`", ", ".join(str(x["seed"]) for x in runs)]
            + [
                _spread([x["splits"][s]["accuracy"] for x in runs]) if s in runs[0]["splits"] else "-"
                for s in LEVER_SPLITS
            ]
            + [duration(sum(x["train_time_s"] for x in runs) / len(runs))]
        )
    header = [
        "arm",
        "seeds",
        "test",
        "3 digits",
        "4 digits",
        "6 digits",
        "3 statements",
        "4-8 statements",
        "training",
    ]
    steps = sorted({x["steps"] for x in r["runs"]})
    head = (
        f"Recorded on {r['date']} by `{r['command']}` ({r['machine']['cores']} cores, two runs at a time, "
        f"one thread each; {', '.join(f'{s:,}' for s in steps)} steps per run; "
        f"mean over seeds (min-max); {r['runs'][0]['splits']['test']['n']:,} test programs "
        f"and up to 1,000 per OOD split per run). Missing runs: {', '.join(r['missing']) or 'none'}.\n\n"
    )
    return head + table(header, rows)


def levers_statements(results: Path = RESULTS) -> str:
    """Length generalization: accuracy per statement count (2 trained), mean over seeds."""
    r = read_result("levers-study", results)
    counts = sorted({int(k) for x in r["runs"] for k in x["n_statements"]})
    rows = []
    for arm, runs in runs_by_arm(r["runs"]).items():
        rows.append(
            [f"`{arm}`"]
            + [
                pct(sum(x["n_statements"][str(k)]["accuracy"] for x in runs) / len(runs))
                if all(str(k) in x["n_statements"] for x in runs)
                else "-"
                for k in counts
            ]
        )
    return table(["arm", *(f"{k} statements" for k in counts)], rows)


def levers_low_digits(results: Path = RESULTS) -> str:
    """Partial credit on the digit splits: units digit (and units + tens) right, mean over seeds."""
    r = read_result("levers-study", results)
    rows = []
    for arm, runs in runs_by_arm(r["runs"]).items():
        cells = []
        for s in LEVER_SPLITS[:4]:  # test and the three digit splits
            got = [x["low_digits"][s] for x in runs if s in x.get("low_digits", {})]
            cells.append(
                f"{pct(sum(g['units'] for g in got) / len(got))} / {pct(sum(g['last_two'] for g in got) / len(got))}"
                if got
                else "-"
            )
        rows.append([f"`{arm}`", *cells])
    return table(["arm", "test", "3 digits", "4 digits", "6 digits"], rows)


def langs_study(results: Path = RESULTS) -> str:
    """The languages experiment: accuracy per N, split and tier, and tier 2's false if-without-else."""
    r = read_result("langs-study", results)
    names = {"test": "seen (test)", "heldout_gen": "unseen generated", "real_python": "Python"}
    rows = []
    for run in r["runs"]:
        for split, entry in run["splits"].items():
            tiers = entry["tiers"]
            lone = run["if_without_else_false"].get(split)
            rows.append(
                [
                    str(run["languages"]),
                    names.get(split, split),
                    *(interval(tiers[t]) if t in tiers else "-" for t in ("tier1", "tier2", "tier3")),
                    interval(entry["all"]),
                    f"{interval(lone)} (n = {lone['n']})" if lone else "-",
                ]
            )
    header = ["N", "languages", "tier 1", "tier 2", "tier 3", "all tiers", "tier 2: if without else, false"]
    gaps = []
    for run in r["runs"]:
        s = run["splits"]
        if "test" in s and "heldout_gen" in s:
            gap = s["test"]["all"]["accuracy"] - s["heldout_gen"]["all"]["accuracy"]
            gaps.append(f"N = {run['languages']}: {100 * gap:+.1f} pts")
    steps = ", ".join(f"{s:,}" for s in sorted({x["steps"] for x in r["runs"]}))
    times = ", ".join(duration(x["train_time_s"]) for x in r["runs"])
    head = (
        f"Recorded on {r['date']} by `{r['command']}` ({r['machine']['cores']} cores, two runs at a time, "
        f"one thread each; {steps} steps, {times} of training per model; "
        f"{r['runs'][0]['params']:,} non-embedding parameters). Missing runs: {', '.join(r['missing']) or 'none'}.\n\n"
    )
    tail = "\n\nSeen minus unseen (generated), all tiers: " + "; ".join(gaps) + "." if gaps else ""
    return head + table(header, rows) + tail


def mix_study(results: Path = RESULTS) -> str:
    """The mix on the CPU: test accuracy per family and format, the OOD splits per family."""
    r = read_result("mix-study", results)
    (run,) = r["runs"]
    splits = run["splits"]
    test = splits["test"]["cells"]
    families = sorted({k.split("/")[0] for k in test})
    formats = sorted({k.split("/")[1] for k in test})
    ood = [s for s in ("ood_names", "ood_renamed") if s in splits]
    rows = []
    for family in families:
        cells = [interval(test[f"{family}/{f}"]) if f"{family}/{f}" in test else "-" for f in formats]
        pooled = [splits[s]["family"].get(family) for s in ood]
        rows.append([family, *cells, *(interval(p) if p else "-" for p in pooled)])
    rows.append(
        [
            "**all**",
            *(interval(splits["test"]["format"][f]) for f in formats),
            *(interval(splits[s]["all"]) for s in ood),
        ]
    )
    reached = sum(
        all(test[k]["accuracy"] >= 0.9 for k in test if k.split("/")[0] == family) for family in families
    )
    head = (
        f"Recorded on {r['date']} by `{r['command']}` ({r['machine']['cores']} cores; one thread beside "
        f"another one-thread job; {run['steps']:,} steps, {duration(run['train_time_s'])} of training; "
        f"{run['params']:,} non-embedding parameters). Test overall: {interval(splits['test']['all'])}; "
        f"families at 90% or more in every format: {reached} of {len(families)}.\n\n"
    )
    header = ["family", *(f"test, {f}" for f in formats), *(f"{s} (all formats)" for s in ood)]
    return head + table(header, rows)


HF_DATA = ("arith", "negdiv")
HF_ARMS = {
    "tiny": "tiny from scratch",
    "m5": "~5M from scratch",
    "lora": "SmolLM2-135M, LoRA",
    "untuned": "SmolLM2-135M, untuned",
}


def hf_study(results: Path = RESULTS) -> str:
    """From scratch against SmolLM2 fine-tuned and untuned: accuracy per dataset, arm and split."""
    r = read_result("hf-study", results)
    out = [
        f"Recorded on {r['date']} by `{r['command']}` ({r['machine']['cores']} cores, two lanes of one "
        f"thread each). Missing runs: {', '.join(r['missing']) or 'none'}.\n"
    ]
    for data in HF_DATA:
        mine = [x for x in r["runs"] if x["data"] == data]
        if not mine:
            continue
        splits = list(dict.fromkeys(s for x in mine for s in x["splits"]))
        rows = [
            [
                HF_ARMS[x["arm"]],
                f"{x['steps']:,}",
                duration(x["train_time_s"]) if "train_time_s" in x else "-",
                *(interval(x["splits"][s]) if s in x["splits"] else "-" for s in splits),
            ]
            for x in mine
        ]
        n = mine[0]["splits"][splits[0]]["n"]
        out.append(
            f"**{data}** ({n} prompts per split)\n\n" + table(["arm", "steps", "training", *splits], rows)
        )
    return "\n".join(out)


def hf_priors(results: Path = RESULTS) -> str:
    """What explains the wrong answers of each arm: errors, the semantic priors' and patterns' shares."""
    r = read_result("hf-study", results)
    rows = []
    for x in r["runs"]:
        for split, p in x["priors"].items():
            if not p["errors"]:
                continue
            named = sorted(p["priors"].items(), key=lambda kv: -kv[1]["explained"])[:3]
            top = ", ".join(
                f"`{name}` {pct(e['share'])} ({pct(e.get('control_share', 0.0))})"
                for name, e in named
                if e["explained"]
            )
            floor = p["priors"].get("floor_division")
            rows.append(
                [
                    x["data"],
                    HF_ARMS[x["arm"]],
                    split,
                    str(p["errors"]),
                    f"{floor['explained']} of {floor['applicable']} ({pct(floor['share'])}; chance "
                    f"{pct(floor.get('control_share', 0.0))})"
                    if floor
                    else "-",
                    pct(p["explained_by_any"] / p["errors"]),
                    top or "-",
                ]
            )
    header = [
        "data",
        "arm",
        "split",
        "wrong",
        "`floor_division` explains (share; by chance)",
        "explained by anything",
        "most frequent (share; by chance)",
    ]
    return table(header, rows)


BLOCKS: dict[str, Callable[[Path], str]] = {
    "bench-train": bench_train,
    "bench-threads": bench_threads,
    "bench-data": bench_data,
    "bench-vm": bench_vm,
    "bench-judge": bench_judge,
    "bench-data-full": lambda results: bench_data(results, "bench-data-full"),
    "bench-data-stages": bench_data_stages,
    "demo-summary": demo_summary,
    "demo-table": demo_table,
    "demo-curve": demo_curve,
    "demo-load": demo_load,
    "demo-levers": demo_levers,
    "levers-study": levers_study,
    "levers-statements": levers_statements,
    "levers-low-digits": levers_low_digits,
    "langs-study": langs_study,
    "mix-study": mix_study,
    "hf-study": hf_study,
    "hf-priors": hf_priors,
}


def render_block(name: str, results: Path = RESULTS) -> str:
    if name not in BLOCKS:
        raise FiguresError(f"unknown figures block {name!r} (known: {', '.join(sorted(BLOCKS))})")
    return BLOCKS[name](results).rstrip("\n") + "\n"


def fill(text: str, results: Path = RESULTS) -> str:
    """`text` with every marked block re-rendered."""
    return BLOCK.sub(lambda m: m.group(1) + render_block(m.group("name"), results) + m.group(4), text)


def pages(root: Path = ROOT) -> list[Path]:
    """The hand-written pages that may hold marked blocks."""
    found = []
    for entry in PAGES:
        path = root / entry
        found += sorted(path.glob("*.md")) if path.is_dir() else [path]
    return [p for p in found if p.is_file()]


def stale_pages(root: Path = ROOT, results: Path = RESULTS) -> list[Path]:
    stale = []
    for page in pages(root):
        text = page.read_text(encoding="utf-8")
        if fill(text, results) != text:
            stale.append(page)
    return stale


def main(argv: list[str] | None = None) -> int:
    """Refill the marked blocks of every page in place."""
    del argv
    try:
        for page in pages():
            text = page.read_text(encoding="utf-8")
            new = fill(text)
            if new != text:
                page.write_text(new, encoding="utf-8")
                print(f"updated {page.relative_to(ROOT)}")
    except FiguresError as err:
        print(f"cadmus figures: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
