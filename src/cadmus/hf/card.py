"""The model card (README.md) of an exported model: what it is, what it was trained and judged on.

Provenance is read from the training run, never guessed: the dataset
manifests' SHA-256 from each packed split's ``pack.json`` (written when the
run packed its data), evaluation summaries from ``RUN/eval/*/summary.json``
(where `cadmus eval` writes by default) or from the paths given. A fact the
run does not record is stated as unknown.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cadmus.hf.archmap import ArchMapping
from cadmus.hf.errors import HFError


@dataclass(frozen=True)
class DatasetRecord:
    dataset: str  # the dataset directory the run packed
    manifest_sha256: str | None  # SHA-256 of its manifest.json
    dataset_sha256: str | None  # SHA-256 over the manifest and every shard


@dataclass(frozen=True)
class EvalRecord:
    path: Path  # the summary.json
    summary: dict[str, Any]


def training_datasets(run_dir: Path | None) -> list[DatasetRecord]:
    """The datasets a run trained on, from its packed data's ``pack.json`` files."""
    if run_dir is None:
        return []
    packs = sorted(run_dir.glob("packed-*/pack.json"))
    config = run_dir / "config.json"
    if config.is_file():
        try:
            data = json.loads(config.read_text()).get("data") or {}
        except (json.JSONDecodeError, AttributeError):
            data = {}
        if data.get("packed"):
            packs.insert(0, Path(data["packed"]) / "pack.json")
    records, seen = [], set()
    for pack in packs:
        if not pack.is_file() or pack.resolve() in seen:
            continue
        seen.add(pack.resolve())
        try:
            meta = json.loads(pack.read_text())
        except json.JSONDecodeError:
            continue
        records.append(
            DatasetRecord(str(meta.get("dataset")), meta.get("manifest_sha256"), meta.get("dataset_sha256"))
        )
    return records


def find_evaluations(base: Path | None, given: list[str | Path]) -> list[EvalRecord]:
    """Summaries given explicitly (a summary.json or its directory), else ``base/eval/*/summary.json``."""
    if given:
        paths = [Path(p) / "summary.json" if Path(p).is_dir() else Path(p) for p in given]
    elif base is not None:
        paths = sorted((base / "eval").glob("*/summary.json"))
    else:
        paths = []
    records = []
    for path in paths:
        try:
            summary = json.loads(path.read_text())
        except FileNotFoundError:
            raise HFError("no evaluation summary here (run `cadmus eval` first)", file=str(path)) from None
        except json.JSONDecodeError as err:
            raise HFError(
                f"summary.json is not valid JSON: {err.msg}", file=str(path), line=err.lineno
            ) from None
        if not isinstance(summary, dict) or "splits" not in summary:
            raise HFError("not a `cadmus eval` summary (no splits)", file=str(path))
        records.append(EvalRecord(path, summary))
    return records


def _pct(entry: dict[str, Any]) -> str:
    lo, hi = entry["ci95"]
    return f"{100 * entry['accuracy']:.2f}% [{100 * lo:.1f}, {100 * hi:.1f}]"


def _eval_section(evals: list[EvalRecord], checkpoint: Path) -> list[str]:
    if not evals:
        return ["No evaluation summary was found for this run (`cadmus eval RUN DATASET` writes one)."]
    lines = []
    for record in evals:
        meta = record.summary.get("meta", {})
        judged = meta.get("checkpoint")
        same = judged is not None and Path(judged).resolve() == checkpoint.resolve()
        lines += [
            f"From `{record.path}`: dataset `{meta.get('dataset', 'unknown')}`, "
            f"{meta.get('samples', 1)} sample(s) per prompt at temperature {meta.get('temperature', 0.0)}, "
            "every answer judged by running the program on the Cadmus VM.",
        ]
        if not same:
            lines.append(
                f"Note: that evaluation judged checkpoint `{judged}`, not the exported `{checkpoint}`."
            )
        lines += ["", "| split | prompts | correct | accuracy [95% interval] |", "|---|---:|---:|---|"]
        for split, entry in record.summary["splits"].items():
            e = entry.get("all") if isinstance(entry, dict) else None
            if e and e.get("n"):
                lines.append(f"| `{split}` | {e['n']:,} | {e['correct']:,} | {_pct(e)} |")
        lines.append("")
    return lines


def model_card(
    *,
    mapping: ArchMapping,
    cadmus_config: dict[str, Any],
    tokenizer: Any,
    n_params: int,
    checkpoint: Path,
    datasets: list[DatasetRecord],
    evals: list[EvalRecord],
    max_logit_diff: float,
    version: str,
) -> str:
    """The README.md text of an exported model directory."""
    c = cadmus_config
    front = [
        "---",
        "library_name: transformers",
        "pipeline_tag: text-generation",
        "tags:",
        "- cadmus",
        "- program-synthesis",
        "---",
        "",
        f"# Cadmus model ({mapping.architecture})",
        "",
        "A small decoder-only transformer trained from scratch with "
        f"Cadmus {version} on verified programs, exported to the "
        f"standard `{mapping.architecture}` architecture: it loads with `AutoModelForCausalLM` and "
        "`AutoTokenizer`, without `trust_remote_code`.",
        "",
        f"Exported from checkpoint `{checkpoint}`. Checked at export on dataset prompts (when the run's "
        "dataset was found) and random token sequences: the exported model's logits differ from Cadmus's "
        f"by at most {max_logit_diff:.1e} of max(1, |logit|).",
        "",
        "## Architecture",
        "",
        f"{n_params:,} parameters (every distinct tensor once). Cadmus config:",
        "",
        "| knob | value |",
        "|---|---|",
        *(f"| `{k}` | `{v}` |" for k, v in c.items()),
        "",
        f"Mapping onto `{mapping.architecture}`: {mapping.how}.",
        "",
        "## Training data",
        "",
    ]
    if datasets:
        front += [
            "| dataset | manifest.json SHA-256 | dataset SHA-256 (manifest + shards) |",
            "|---|---|---|",
        ]
        front += [f"| `{d.dataset}` | `{d.manifest_sha256}` | `{d.dataset_sha256}` |" for d in datasets]
    else:
        front.append("Unknown: the checkpoint was exported without its training run (no `pack.json` found).")
    front += ["", "## Evaluation", "", *_eval_section(evals, checkpoint), ""]
    numbers = tokenizer.numbers
    scheme = {
        "digits": "one token per digit",
        "whole": f"one token per number below {tokenizer.bound}, digits beyond",
        "fixed": f"digits left-padded with `<npad>` to a multiple of {tokenizer.width} "
        "(exported as the private-use character U+E0FF, decoded to nothing)",
        "reversed": "one token per digit, least significant first; the exported tokenizer reverses "
        "numbers of up to 40 digits and refuses (raises) on longer digit runs",
    }[numbers]
    front += [
        "## Tokenizer",
        "",
        f"Cadmus vocabulary version {tokenizer.version}, {tokenizer.vocab_size} tokens, numbers=`{numbers}` "
        f"({scheme}), identifiers=`{tokenizer.identifiers}`. The Hugging Face tokenizer gives the same ids "
        "as Cadmus's (checked at export); `cadmus_tokenizer.json` is the Cadmus tokenizer itself. Only "
        "printable ASCII and newlines encode: there is no unknown token.",
        "",
        "## Use",
        "",
        "The model was trained on `<bos> prompt <sep> completion <eos>`. Calling the tokenizer on a prompt "
        "gives exactly the generation input `<bos> prompt <sep>` (pass `add_special_tokens=False` for bare "
        "text); greedy decoding until `<eos>` is what `cadmus complete` and `cadmus eval` do.",
        "",
        "```python",
        "from transformers import AutoModelForCausalLM, AutoTokenizer",
        "",
        'tok = AutoTokenizer.from_pretrained("DIR")',
        'model = AutoModelForCausalLM.from_pretrained("DIR")',
        'inputs = tok("a = 5\\nb = a + 7\\nassert b == ", return_tensors="pt")',
        "out = model.generate(**inputs)  # greedy, until <eos> or the end of the context",
        'print(tok.decode(out[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True))',
        "```",
        "",
        f"The context is {c['block_size']} tokens (prompt and answer together); batches are left-padded "
        "with `<pad>`. An answer is judged by running the program it completes on the Cadmus VM "
        "(`cadmus check`), never by comparing strings.",
        "",
    ]
    return "\n".join(front)
