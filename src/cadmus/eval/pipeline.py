"""Evaluation by execution: generate answers, judge each on the VM, aggregate, report.

A model's answer is never compared with the dataset's text: the format's
judge (`cadmus.data.judge`) rebuilds the program from prompt and answer and
asks the VM, so every correct answer counts.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import torch

from cadmus.data import STOP, judge, read_manifest
from cadmus.errors import CadmusError
from cadmus.eval.aggregate import FEATURES, Judged, aggregate
from cadmus.eval.report import markdown_report, plot_feature_curves, plot_training_curves
from cadmus.model import GPT, generate, load_model
from cadmus.tokenizer import Tokenizer

MIN_NEW_TOKENS = 16


class EvalError(CadmusError):
    """A checkpoint or dataset that cannot be evaluated."""


@dataclass(frozen=True)
class Checkpoint:
    """A model with its tokenizer, and how to prompt it and decode from it.

    For a Cadmus model the last two fields stay None: a prompt is ``<bos> prompt <sep>`` and
    decoding is `cadmus.model.generate`. Another model family (a fine-tuned Hugging Face model,
    `cadmus.hf`) gives its own: `prompt_ids(text)` returns the ids a prompt is given to the model
    as (the framing used in training), and `generate` has `cadmus.model.generate`'s signature and
    contract (left-padded rows with an attention mask, greedy at temperature 0, stop at `eos_id`,
    at most ``model.config.block_size`` tokens in all).
    """

    model: GPT | Any
    tokenizer: Tokenizer | Any
    path: Path
    run_dir: Path | None
    generate: Callable[..., torch.Tensor] | None = None
    prompt_ids: Callable[[str], list[int]] | None = None

    def encode_prompt(self, text: str) -> list[int]:
        """The ids of a prompt as the model reads it before its answer."""
        if self.prompt_ids is not None:
            return self.prompt_ids(text)
        tok = self.tokenizer
        return [tok.bos_id, *tok.encode(text), tok.sep_id]


def find_checkpoint(path: str | Path) -> tuple[Path, Path | None]:
    """The checkpoint directory for `path` (a checkpoint, or a run dir: its latest)."""
    from cadmus.train import BACKEND

    path = Path(path)
    model_file = (path / "model.safetensors").is_file() or (path / BACKEND).is_file()
    if (path / "tokenizer.json").is_file() and model_file:
        run = path.parent.parent if path.parent.name == "checkpoints" else None
        return path, run
    ckpts = path / "checkpoints"
    if ckpts.is_dir():
        from cadmus.train import latest_checkpoint

        found = latest_checkpoint(ckpts)
        if found is not None:
            return found, path
    raise EvalError(
        "no checkpoint found (expected a run directory or a checkpoint directory)", file=str(path)
    )


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> Checkpoint:
    """A Cadmus checkpoint (or a run's latest). Another kind (`cadmus.train.checkpoint_kind`) is
    refused with one line: `cadmus.hf.open_checkpoint` loads fine-tuned Hugging Face models too."""
    from cadmus.train import checkpoint_kind

    ckpt, run = find_checkpoint(path)
    kind = checkpoint_kind(ckpt)
    if kind != "cadmus":
        hint = (
            " (a fine-tuned Hugging Face model: load it with cadmus.hf.open_checkpoint)"
            if kind == "hf"
            else ""
        )
        raise EvalError(f"not a Cadmus model checkpoint but a {kind!r} one{hint}", file=str(ckpt))
    tokenizer = Tokenizer.load(ckpt / "tokenizer.json")
    model = load_model(ckpt, device=device).eval()
    if model.config.vocab_size != tokenizer.vocab_size:
        raise EvalError(
            f"model vocabulary ({model.config.vocab_size}) and tokenizer ({tokenizer.vocab_size}) differ",
            file=str(ckpt),
        )
    return Checkpoint(model, tokenizer, ckpt, run)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


# ---- dataset ----------------------------------------------------------------


def dataset_splits(dataset: Path) -> list[str]:
    """The splits a built dataset's manifest lists."""
    try:
        return list(read_manifest(dataset)["splits"])
    except CadmusError as err:
        raise EvalError(err.message, file=str(dataset)) from None


def default_splits(dataset: Path) -> list[str]:
    """Every held-out split: `test` first, then the OOD splits."""
    held_out = [s for s in dataset_splits(dataset) if s not in ("train", "val")]
    return sorted(held_out, key=lambda s: (s != "test", s))


def read_split(
    dataset: Path, split: str, limit: int | None = None, *, where: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The rows of a split, in order; with `where`, only those whose metadata column values lie in
    the `[lo, hi]` given for each (the training data's filter)."""
    shards = sorted((dataset / split).glob("shard-*.parquet"))
    if not shards:
        raise EvalError(f"split '{split}' has no shards", file=str(dataset))
    where = where or {}
    base = ["id", "split", "family", "format", "language", "prompt", "completion", "judge", *FEATURES]
    columns = base + [c for c in where if c not in base]
    rows: list[dict[str, Any]] = []
    for shard in shards:
        names = set(pq.read_schema(shard).names)
        missing = [c for c in where if c not in names]
        if missing:
            raise EvalError(f"no metadata column {missing[0]!r} to filter on", file=str(shard))
        filters = [f for c, (lo, hi) in where.items() for f in ((c, ">=", lo), (c, "<=", hi))]
        table = pq.read_table(shard, columns=[c for c in columns if c in names], filters=filters or None)
        rows.extend(table.to_pylist())
        if limit is not None and len(rows) >= limit:
            return rows[:limit]
    return rows


# ---- generation -------------------------------------------------------------


def _batches(order: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(order), size):
        yield order[start : start + size]


def cut_answer(text: str, fmt: str) -> str:
    """The answer a format reads from generated text (up to its stop string)."""
    stop = STOP.get(fmt)
    if stop and stop in text:
        return text[: text.index(stop)]
    return text


@torch.no_grad()
def generate_answers(
    ckpt: Checkpoint,
    prompts: Sequence[str],
    formats: Sequence[str],
    *,
    max_new_tokens: Sequence[int],
    samples: int = 1,
    temperature: float = 0.0,
    top_k: int | None = None,
    batch_size: int = 128,
    use_cache: bool = True,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
) -> list[list[str | None]]:
    """`samples` answers per prompt; prompts are batched by length, left-padded.

    A prompt too long for the model's context gets `None` answers.
    """
    model, tok = ckpt.model, ckpt.tokenizer
    device = next(model.parameters()).device
    decode = ckpt.generate if ckpt.generate is not None else generate
    encoded = [ckpt.encode_prompt(p) for p in prompts]
    block = model.config.block_size
    gen = torch.Generator(device=device).manual_seed(seed)
    answers: list[list[str | None]] = [[] for _ in prompts]
    # A prompt that leaves no room for an answer in the context gets None (judged wrong).
    order = sorted((i for i in range(len(prompts)) if len(encoded[i]) < block), key=lambda i: len(encoded[i]))
    for i in range(len(prompts)):
        if len(encoded[i]) >= block:
            answers[i] = [None] * samples
    for _ in range(samples):
        for chunk in _batches(order, batch_size):
            width = max(len(encoded[i]) for i in chunk)
            idx = torch.full((len(chunk), width), tok.pad_id, dtype=torch.long)
            mask = torch.zeros((len(chunk), width), dtype=torch.long)
            for row, i in enumerate(chunk):
                ids = encoded[i]
                idx[row, width - len(ids) :] = torch.tensor(ids)
                mask[row, width - len(ids) :] = 1
            new = min(max(max_new_tokens[i] for i in chunk), block - width)
            out = decode(
                model,
                idx.to(device),
                new,
                temperature=temperature,
                top_k=top_k,
                eos_id=tok.eos_id,
                use_cache=use_cache,
                attention_mask=mask.to(device),
                generator=gen,
            )
            for row, i in enumerate(chunk):
                ids = out[row, width:].tolist()
                if tok.eos_id in ids:
                    ids = ids[: ids.index(tok.eos_id)]
                text = tok.decode(ids, skip_special_tokens=True)
                answers[i].append(cut_answer(text, formats[i]))
            if progress is not None:
                progress(len(chunk))
    return answers


def answer_budget(ckpt: Checkpoint, rows: Sequence[dict[str, Any]]) -> list[int]:
    """New-token budget per prompt: twice the longest reference completion of its format."""
    longest: dict[str, int] = {}
    for row in rows:
        n = len(ckpt.tokenizer.encode(row["completion"])) + 1
        longest[row["format"]] = max(longest.get(row["format"], 0), n)
    return [max(MIN_NEW_TOKENS, 2 * longest[row["format"]]) for row in rows]


# ---- the whole evaluation ---------------------------------------------------


@dataclass(frozen=True)
class _NoRoom:
    """The verdict on a prompt the model's context cannot hold."""

    ok: bool = False

    def __str__(self) -> str:
        return "no answer: the prompt does not fit the model's context"


def count_correct(ckpt: Checkpoint, rows: Sequence[dict[str, Any]], batch_size: int = 256) -> int:
    """How many of `rows` the checkpoint answers right: greedy answers, each judged on the VM."""
    answers = generate_answers(
        ckpt,
        [r["prompt"] for r in rows],
        [r["format"] for r in rows],
        max_new_tokens=answer_budget(ckpt, rows),
        batch_size=batch_size,
    )
    return sum(bool(judge_answer(r, a[0]).ok) for r, a in zip(rows, answers))


def judge_answer(row: dict[str, Any], answer: str | None) -> Any:
    if answer is None:
        return _NoRoom()
    return judge(row["format"], row["prompt"], answer, row["judge"])


@dataclass
class EvalOptions:
    splits: Sequence[str] | None = None
    samples: int = 1
    temperature: float = 0.0
    top_k: int | None = None
    batch_size: int = 128
    limit: int | None = None
    use_cache: bool = True
    device: str = "auto"
    seed: int = 0
    pass_ks: Sequence[int] = field(default_factory=tuple)


def evaluate(
    checkpoint: str | Path,
    dataset: str | Path,
    out_dir: str | Path,
    options: EvalOptions | None = None,
    *,
    ckpt: Checkpoint | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Judge a checkpoint on a dataset's splits; writes answers.jsonl, summary.json, report.md, plots."""
    opts = options or EvalOptions()
    if opts.samples < 1:
        raise EvalError("--samples must be at least 1")
    if opts.samples > 1 and opts.temperature <= 0:
        raise EvalError(
            "several samples per prompt need a temperature above 0 (greedy answers are identical)"
        )
    dataset = Path(dataset)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if ckpt is None:
        ckpt = load_checkpoint(checkpoint, resolve_device(opts.device))
    splits = list(opts.splits or default_splits(dataset))
    items: list[Judged] = []
    started = time.perf_counter()
    n_answers = 0
    with (out / "answers.jsonl").open("w") as sink:
        for split in splits:
            rows = read_split(dataset, split, opts.limit)
            t0 = time.perf_counter()
            answers = generate_answers(
                ckpt,
                [r["prompt"] for r in rows],
                [r["format"] for r in rows],
                max_new_tokens=answer_budget(ckpt, rows),
                samples=opts.samples,
                temperature=opts.temperature,
                top_k=opts.top_k,
                batch_size=opts.batch_size,
                use_cache=opts.use_cache,
                seed=opts.seed,
            )
            gen_s = time.perf_counter() - t0
            for row, outs in zip(rows, answers):
                verdicts = [judge_answer(row, a) for a in outs]
                feats = {f: row[f] for f in FEATURES if row.get(f) is not None}
                items.append(
                    Judged(
                        row["id"], split, row["family"], row["format"], feats, tuple(v.ok for v in verdicts)
                    )
                )
                record = {
                    "id": row["id"],
                    "split": split,
                    "family": row["family"],
                    "format": row["format"],
                    **({"language": row["language"]} if row.get("language", "dsl") != "dsl" else {}),
                    "prompt": row["prompt"],
                    "reference": row["completion"],
                    "answers": outs,
                    "ok": [v.ok for v in verdicts],
                    "verdicts": [str(v) for v in verdicts],
                    **feats,
                }
                sink.write(json.dumps(record) + "\n")
                n_answers += len(outs)
            acc = sum(it.first_ok for it in items if it.split == split) / max(1, len(rows))
            log(f"{split}: {len(rows)} prompts, accuracy {100 * acc:.1f}% (generation {gen_s:.1f}s)")
    elapsed = time.perf_counter() - started
    summary = aggregate(items, ks=[k for k in opts.pass_ks if k <= opts.samples])
    summary["meta"] = {
        "checkpoint": str(ckpt.path),
        "dataset": str(dataset),
        "samples": opts.samples,
        "temperature": opts.temperature,
        "answers": n_answers,
        "seconds": round(elapsed, 2),
        "answers_per_second": round(n_answers / elapsed, 1) if elapsed > 0 else None,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    plots = plot_feature_curves(summary, out)
    if ckpt.run_dir is not None:
        plots += plot_training_curves(ckpt.run_dir / "log.jsonl", out)
    meta = {k: summary["meta"][k] for k in ("checkpoint", "dataset", "samples", "temperature", "seconds")}
    (out / "report.md").write_text(
        markdown_report(summary, title="Cadmus evaluation", meta=meta, plots=plots)
    )
    return summary


def comparison_table(runs: Sequence[Path]) -> str:
    """Accuracy per split of several evaluations side by side (Markdown)."""
    summaries = []
    for run in runs:
        path = run / "summary.json" if run.is_dir() else run
        if not path.is_file():
            raise EvalError("no summary.json (run `cadmus eval` first)", file=str(run))
        try:
            summaries.append(json.loads(path.read_text()))
        except json.JSONDecodeError as err:
            raise EvalError(
                f"summary.json is not valid JSON: {err.msg}", file=str(path), line=err.lineno
            ) from None
    splits: list[str] = []
    for s in summaries:
        splits += [name for name in s["splits"] if name not in splits]
    lines = ["| split | " + " | ".join(str(r) for r in runs) + " |", "|---|" + "---|" * len(runs)]
    for split in splits:
        cells = []
        for s in summaries:
            e = s["splits"].get(split, {}).get("all")
            cells.append(
                f"{100 * e['accuracy']:.1f}% [{100 * e['ci95'][0]:.1f}, {100 * e['ci95'][1]:.1f}] (n={e['n']})"
                if e and e["n"]
                else "—"
            )
        lines.append(f"| {split} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
