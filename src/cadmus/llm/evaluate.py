"""An LLM baseline run: prompts from a dataset, answers from a backend, verdicts from the VM.

The outputs are those of `cadmus eval` (`answers.jsonl`, `summary.json`
with Wilson intervals per split, family, format and difficulty bin,
`report.md`, plots), so `cadmus report` sets an LLM beside a Cadmus model.
An LLM run adds, per answer, the model's raw text, the extraction rule
that read it, whether it came from the cache, and for a wrong answer the
priors that explain it; the summary adds token counts, cost and the priors
table per split.

A split shown in a view other than the DSL is reported as `SPLIT@VIEW`
(`test@python`, `test@skin:words`), so one run holds the DSL, Python and
skin columns of the same test programs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cadmus.eval import (
    FEATURES,
    Judged,
    dataset_splits,
    default_splits,
    markdown_report,
    plot_feature_curves,
    read_split,
    summarize_judged,
)
from cadmus.files import write_json
from cadmus.llm.backends import Backend, Request, complete_all
from cadmus.llm.cache import RequestCache, request_key
from cadmus.llm.cost import Estimate, PriceTable, Usage, estimate, estimate_tokens, load_prices
from cadmus.llm.errors import LLMError, NotShown
from cadmus.llm.extract import MODES as EXTRACTION_MODES
from cadmus.llm.extract import extract_answer
from cadmus.llm.priors import Classification, classify, prior_outcomes, priors_table, summarize_priors
from cadmus.llm.prompts import Shot, build_request, pick_shots, stop_strings
from cadmus.llm.views import Item, Program, View, get_view, row_language

SHOT_POOL = 5000  # training rows read to draw few-shot examples from
MIN_TOKENS = 16


@dataclass
class LLMEvalOptions:
    """What to evaluate and how to ask (see `cadmus llm eval --help`)."""

    splits: Sequence[str] | None = None
    views: Sequence[str] = ("dsl",)
    limit: int | None = None
    shots: int = 0
    template: str = "rules"
    extraction: str | None = None  # None: strict with the raw template, else lenient
    max_tokens: int | None = None  # None: per format, from the reference answers
    temperature: float = 0.0
    samples: int = 1
    seed: int = 0
    priors: bool = True
    shot_pool: int = SHOT_POOL
    pass_ks: Sequence[int] = field(default_factory=tuple)

    @property
    def extraction_mode(self) -> str:
        if self.extraction is not None:
            return self.extraction
        return "strict" if self.template == "raw" else "lenient"


@dataclass
class Planned:
    """One prompt of one split in one view, and the request that asks it."""

    split: str  # as reported: SPLIT or SPLIT@VIEW
    row: dict[str, Any]
    view: View
    item: Item
    request: Request
    stop: tuple[str, ...]


def token_budget(rows: Sequence[dict[str, Any]], api: str) -> dict[str, int]:
    """Per format: twice its longest reference answer in characters (at least 16; 512 for chat, which explains)."""
    longest: dict[str, int] = {}
    for row in rows:
        longest[row["format"]] = max(longest.get(row["format"], 0), len(row["completion"]) + 1)
    floor = 512 if api == "chat" else MIN_TOKENS
    return {fmt: max(floor, 2 * n) for fmt, n in longest.items()}


class ShotSource:
    """Few-shot examples: training rows of the same family and format, rendered in the view, drawn by seed."""

    def __init__(self, dataset: Path, pool_size: int) -> None:
        splits = dataset_splits(dataset)
        if "train" not in splits:
            raise LLMError("few-shot prompts need the dataset's train split", file=str(dataset))
        self.pool: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        for row in read_split(dataset, "train", pool_size):
            self.pool.setdefault((row["family"], row["format"], row_language(row)), []).append(row)
        self._rendered: dict[tuple[str, str], Shot] = {}

    def shots(self, row: dict[str, Any], view: View, k: int, seed: int) -> list[Shot]:
        out = []
        for chosen in pick_shots(self.pool, row, k, seed):
            key = (view.name, chosen["id"])
            if key not in self._rendered:
                try:
                    item = view.item(dict(chosen))
                except NotShown:
                    continue
                self._rendered[key] = Shot(item.prompt, item.reference)
            out.append(self._rendered[key])
        return out


def plan_requests(
    dataset: str | Path, api: str, options: LLMEvalOptions, *, left_out: dict[str, int] | None = None
) -> list[Planned]:
    """Every request of a run, in order: split by split, view by view, row by row.

    A row a view cannot show (its Python reading divides by zero, say) is left out of that view's
    split and counted in `left_out`.
    """
    dataset = Path(dataset)
    if options.samples < 1:
        raise LLMError("--samples must be at least 1")
    if options.samples > 1 and options.temperature <= 0:
        raise LLMError("several samples per prompt need a temperature above 0 (greedy answers are identical)")
    if options.shots < 0:
        raise LLMError("--shots must be 0 or more")
    if options.extraction_mode not in EXTRACTION_MODES:
        raise LLMError(f"extraction must be one of {', '.join(EXTRACTION_MODES)}")
    views = [get_view(name) for name in options.views]
    splits = list(options.splits or default_splits(dataset))
    known = dataset_splits(dataset)
    for split in splits:
        if split not in known:
            raise LLMError(f"no split '{split}' (the dataset has: {', '.join(known)})", file=str(dataset))
    shots = ShotSource(dataset, options.shot_pool) if options.shots > 0 else None
    planned: list[Planned] = []
    for split in splits:
        rows = read_split(dataset, split, options.limit)
        budgets = token_budget(rows, api)
        for view in views:
            for fmt in sorted({r["format"] for r in rows}):
                view.check_format(fmt)
            name = split if view.name == "dsl" else f"{split}@{view.name}"
            for row in rows:
                try:
                    item = view.item(row)
                except NotShown:  # e.g. a quotient that differs in Python leads to a division by zero
                    if left_out is not None:
                        left_out[name] = left_out.get(name, 0) + 1
                    continue
                examples = shots.shots(row, view, options.shots, options.seed) if shots is not None else []
                fmt = row["format"]
                request = build_request(
                    item.prompt,
                    fmt,
                    view,
                    api=api,
                    template=options.template,
                    shots=examples,
                    max_tokens=options.max_tokens or budgets[fmt],
                    temperature=options.temperature,
                    seed=options.seed if options.temperature > 0 else None,
                    n=options.samples,
                )
                planned.append(Planned(name, row, view, item, request, stop_strings(fmt, api, len(examples))))
    return planned


@dataclass
class DryRun:
    """What a run would send and cost."""

    planned: list[Planned]
    cached: int
    estimate: Estimate
    counted_by: str


def dry_run(
    backend: Backend,
    dataset: str | Path,
    options: LLMEvalOptions,
    *,
    cache: RequestCache | None = None,
    prices: PriceTable | None = None,
) -> DryRun:
    """The requests of a run and their estimated cost; nothing is sent."""
    prices = prices if prices is not None else load_prices()
    planned = plan_requests(dataset, backend.api, options)
    identity = backend.identity()
    todo = []
    cached = 0
    for p in planned:
        if cache is not None and cache.path(request_key(identity, p.request.body())).is_file():
            cached += 1
        else:
            todo.append(p)
    counted = backend.count_tokens("x") is not None

    def count(text: str) -> int:
        n = backend.count_tokens(text) if counted else None
        return n if n is not None else estimate_tokens(text)

    est = estimate(
        prices,
        backend.name,
        [count(p.request.text) for p in todo],
        [count(p.item.reference) * p.request.n for p in todo],
        [_budget(backend, p.request) * p.request.n for p in todo],
    )
    return DryRun(planned, cached, est, "the model's tokenizer" if counted else "4 characters a token")


def _budget(backend: Backend, request: Request) -> int:
    """The most output tokens a request may cost (reasoning models: `max_completion_tokens` when set)."""
    params = getattr(backend, "params", None) or {}
    cap = params.get("max_completion_tokens") or params.get("max_tokens")
    return int(cap) if isinstance(cap, int) and cap > 0 else request.max_tokens


def _features(row: dict[str, Any]) -> dict[str, int]:
    return {f: row[f] for f in FEATURES if row.get(f) is not None}


def llm_evaluate(
    backend: Backend,
    dataset: str | Path,
    out_dir: str | Path,
    options: LLMEvalOptions | None = None,
    *,
    cache: RequestCache | None = None,
    prices: PriceTable | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Ask `backend` every prompt, judge every answer on the VM, write the outputs of `cadmus eval`."""
    opts = options or LLMEvalOptions()
    dataset = Path(dataset)
    out = Path(out_dir)
    prices = prices if prices is not None else load_prices()
    left_out: dict[str, int] = {}
    planned = plan_requests(dataset, backend.api, opts, left_out=left_out)
    for split, n in left_out.items():
        log(f"{split}: {n} program{'s' * (n != 1)} left out (they do not run in this view)")
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    done = [0]
    last = [time.perf_counter()]

    def progress(n: int) -> None:
        done[0] += n
        now = time.perf_counter()
        if now - last[0] >= 10 or done[0] == len(planned):
            last[0] = now
            log(f"answered {done[0]}/{len(planned)} ({now - started:.0f}s)")

    log(f"{len(planned)} prompts for {backend.name}")
    responses = complete_all(backend, [p.request for p in planned], cache, progress=progress)
    usage = Usage()
    items: list[Judged] = []
    records: list[dict[str, Any]] = []
    wrong: dict[str, list[tuple[dict[str, Any], Program | None, str]]] = {p.split: [] for p in planned}
    mode = opts.extraction_mode
    for p, response in zip(planned, responses):
        usage.add(response.prompt_tokens, response.completion_tokens, cached=response.cached)
        extracted = [extract_answer(t, p.row["format"], mode=mode, stop=p.stop) for t in response.texts]
        answers = [a for a, _ in extracted]
        verdicts = [p.item.judge(a) for a in answers]
        feats = _features(p.row)
        items.append(
            Judged(
                p.row["id"], p.split, p.row["family"], p.row["format"], feats, tuple(v.ok for v in verdicts)
            )
        )
        record: dict[str, Any] = {
            "id": p.row["id"],
            "split": p.split,
            "family": p.row["family"],
            "format": p.row["format"],
            "view": p.view.name,
            "prompt": p.item.prompt,
            "reference": p.item.reference,
            "answers": answers,
            "ok": [v.ok for v in verdicts],
            "verdicts": [str(v) for v in verdicts],
            **feats,
            "raw": response.texts,
            "extraction": [rule for _, rule in extracted],
            "cached": response.cached,
        }
        records.append(record)
        if not verdicts[0].ok:
            wrong[p.split].append((record, p.item.program, answers[0]))
    if opts.priors:
        for found in wrong.values():
            classify_wrong(found)
    with (out / "answers.jsonl").open("w", encoding="utf-8") as sink:
        for record in records:
            sink.write(json.dumps(record) + "\n")
    elapsed = time.perf_counter() - started
    for split in dict.fromkeys(p.split for p in planned):
        entry = [it for it in items if it.split == split]
        acc = sum(it.first_ok for it in entry) / max(1, len(entry))
        log(f"{split}: {len(entry)} prompts, accuracy {100 * acc:.1f}%")
    summary = summarize_judged(items, ks=[k for k in opts.pass_ks if k <= opts.samples])
    if opts.priors:
        summary["priors"] = {split: _summary_of([r for r, _, _ in found]) for split, found in wrong.items()}
    summary["usage"] = usage.to_json(prices, backend.name)
    summary["meta"] = {
        "model": backend.name,
        "backend": backend.identity(),
        "api": backend.api,
        "dataset": str(dataset),
        "views": list(opts.views),
        "template": opts.template,
        "shots": opts.shots,
        "extraction": mode,
        "samples": opts.samples,
        "temperature": opts.temperature,
        "seed": opts.seed,
        "answers": sum(len(r.texts) for r in responses),
        "retried_requests": getattr(backend, "retried", 0),
        "left_out": left_out,
        "seconds": round(elapsed, 2),
    }
    write_json(out / "summary.json", summary, sort_keys=False)
    plots = plot_feature_curves(summary, out)
    meta = {
        "model": backend.name,
        "dataset": str(dataset),
        "prompt": f"{opts.template}, {opts.shots}-shot, {backend.api} API, {mode} extraction",
        "samples": opts.samples,
        "temperature": opts.temperature,
        "tokens": f"{usage.input_tokens} in, {usage.output_tokens} out ({usage.cached} of {usage.requests} requests cached)",
        "cost": _cost_text(summary["usage"]),
        "seconds": summary["meta"]["seconds"],
    }
    report = markdown_report(summary, title=f"LLM baseline: {backend.name}", meta=meta, plots=plots)
    if opts.priors:
        report += "\n" + priors_report(summary["priors"])
    (out / "report.md").write_text(report, encoding="utf-8")
    return summary


def classify_wrong(wrong: Sequence[tuple[dict[str, Any], Program | None, str]]) -> None:
    """Set `priors` (and `priors_control`) on the records of a split's wrong answers.

    The control pairs each program with the wrong answer given to the next prompt of the split:
    how often each prior "explains" an answer by coincidence (small values, many priors).
    """
    n = len(wrong)
    for i, (record, program, answer) in enumerate(wrong):
        if program is None:
            record["priors"] = record["priors_control"] = None
            continue
        outcomes = prior_outcomes(program)
        record["priors"] = classify(program, answer, outcomes).to_json()
        other = wrong[(i + 1) % n][2] if n > 1 else None
        record["priors_control"] = classify(program, other, outcomes).to_json() if other is not None else None


def _classification(data: dict[str, Any] | None) -> Classification | None:
    if data is None:
        return None
    return Classification(tuple(data["explained"]), tuple(data["applicable"]), data["answer"])


def _summary_of(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    controls = [_classification(r.get("priors_control")) for r in records]
    return summarize_priors(
        [_classification(r.get("priors")) for r in records],
        controls if any(c is not None for c in controls) else None,
    )


def _cost_text(usage: dict[str, Any]) -> str:
    from cadmus.llm.cost import money

    if usage["cost_usd"] is None:
        return money(None)
    return f"{money(usage['cost_usd'])} ({money(usage['spent_usd_this_run'])} spent by this run)"


def priors_report(priors: dict[str, dict[str, Any]]) -> str:
    """The priors section of a report: per split, the share of wrong answers each prior explains."""
    out = ["## Priors: which known prior explains each wrong answer", ""]
    for split, summary in priors.items():
        errors = summary["errors"]
        out.append(f"### {split} ({errors} wrong answer{'s' * (errors != 1)})")
        out.append("")
        if not errors:
            out += ["No wrong answers.", ""]
            continue
        if not summary["analysed"]:
            out += ["The priors read only `complete` and `output` answers.", ""]
            continue
        out += [priors_table(summary), ""]
    return "\n".join(out)


def priors_of_run(run: str | Path) -> dict[str, dict[str, Any]]:
    """The priors summary per split of an evaluation directory (`cadmus eval` or `cadmus llm eval`).

    Wrong answers already classified by `cadmus llm eval` keep their record; the others (a Cadmus
    model's evaluation) are classified now, reading the program from the DSL prompt.
    """
    path = Path(run) / "answers.jsonl"
    if not path.is_file():
        raise LLMError("no answers.jsonl (run `cadmus eval` or `cadmus llm eval` first)", file=str(run))
    dsl = get_view("dsl")
    wrong: dict[str, list[tuple[dict[str, Any], Program | None, str]]] = {}
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as err:
                raise LLMError(f"not JSON: {err.msg}", file=str(path), line=n) from None
            entry = wrong.setdefault(rec["split"], [])
            if rec["ok"][0]:
                continue
            program = dsl.program(rec) if "priors" not in rec and rec.get("view", "dsl") == "dsl" else None
            entry.append((rec, program, rec["answers"][0] or ""))
    out = {}
    for split, found in wrong.items():
        todo = [w for w in found if "priors" not in w[0]]
        if todo:
            classify_wrong(todo)
        out[split] = _summary_of([r for r, _, _ in found])
    return out
