"""`cadmus export RUN --hf DIR`: a Cadmus checkpoint as a standard transformers model directory.

The directory holds ``config.json`` and ``model.safetensors`` of the standard
architecture `cadmus.hf.archmap` chose, the tokenizer files (exact for every
number scheme, `cadmus.hf.hftokenizer`), ``generation_config.json``,
``README.md`` (the model card: training data manifest hashes, evaluation
summary, how to prompt) and ``cadmus_export.json`` (provenance). It loads
with ``AutoModelForCausalLM.from_pretrained(DIR)`` and
``AutoTokenizer.from_pretrained(DIR)``, without ``trust_remote_code``.

Nothing is written unless the converted model and tokenizer agree with
Cadmus: before saving, the transformers model's logits are compared with
Cadmus's on dataset prompts (or random ids) and the tokenizer's ids and
decoded text on sample texts. The files are written to a temporary folder
and renamed into place, so DIR is never left half written.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cadmus import __version__
from cadmus.hf.archmap import ArchMapping, choose_mapping
from cadmus.hf.card import find_evaluations, model_card, training_datasets
from cadmus.hf.errors import HFError
from cadmus.hf.hftokenizer import build_hf_tokenizer, check_tokenizer
from cadmus.hf.pretrained import quiet_transformers

LOGIT_TOLERANCE = 1e-4  # max |HF - Cadmus| per logit, relative to max(1, largest |logit|)
EXPORT_FORMAT = "cadmus-hf-export"
SAMPLE_TEXTS = (
    "a = 5\nb = a + 7\nassert b == ",
    "x1 = 0\nfor i in range(120):\n    x1 += i * 7 - 3\nassert x1 == 0042\n",
    "def f(n):\n    if n <= 1:\n        return 1\n    return n * f(n - 1)\nprint(f(12))\n",
    "total = 9876543210 - 12 + 3\nvalue_2 = total // 1000000007\nprint(value_2, 0, 10, 100)\n",
    "Write a function that returns the sum of the digits of n.\n",
    "<bos> is spelled, not special: 1<sep>2 <pad> <npad> x_9 9x 0 00 000 0000 00000\n",
)


@dataclass(frozen=True)
class ExportResult:
    directory: Path
    mapping: ArchMapping
    checkpoint: Path
    max_logit_diff: float  # HF against Cadmus on the probe batch
    n_params: int
    files: tuple[str, ...]


def _probe_batch(ckpt: Any, prompts: Sequence[str]) -> list[list[int]]:
    """Token ids to compare logits on: `<bos> prompt <sep>` of dataset prompts, else seeded random ids."""
    import torch

    tok, block = ckpt.tokenizer, ckpt.model.config.block_size
    rows = [[tok.bos_id, *tok.encode(p), tok.sep_id][:block] for p in prompts[:8]]
    gen = torch.Generator().manual_seed(0)
    for length in (min(block, 48), min(block, 17)):
        rows.append(torch.randint(0, tok.vocab_size, (length,), generator=gen).tolist())
    return rows


def _compare_logits(hf_model: Any, model: Any, rows: list[list[int]]) -> float:
    """Largest |logit difference| relative to max(1, |logit|), each row run on its own."""
    import torch

    worst = 0.0
    with torch.no_grad():
        for row in rows:
            idx = torch.tensor([row])
            mine = model(idx)[0].float()
            theirs = hf_model(input_ids=idx).logits.float()
            diff = (mine - theirs).abs().max().item() / max(1.0, mine.abs().max().item())
            worst = max(worst, diff)
    return worst


def _dataset_prompts(datasets: Sequence[Any], n: int = 32) -> list[str]:
    from cadmus.errors import CadmusError
    from cadmus.eval import read_split

    for record in datasets:
        path = Path(record.dataset)
        for split in ("test", "val", "train"):
            if (path / split).is_dir():
                try:
                    return [r["prompt"] for r in read_split(path, split, n)]
                except CadmusError:
                    break
    return []


def _prepare_dir(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise HFError("exists and is not a directory", file=str(out))
    if out.is_dir() and any(out.iterdir()) and not force:
        raise HFError("directory is not empty (pass --force to replace it)", file=str(out))


def export_hf(
    source: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    force: bool = False,
    evals: Sequence[str | os.PathLike[str]] = (),
) -> ExportResult:
    """Export the checkpoint `source` (a run directory: its latest checkpoint) to `out_dir`.

    Raises `HFError` naming the knob when no standard architecture computes
    the model, and when the converted model or tokenizer disagrees with Cadmus.
    `evals`: evaluation summaries for the model card (default: ``RUN/eval/*``).
    """
    with quiet_transformers():
        return _export(Path(source), Path(out_dir), force, list(evals))


def _export(source: Path, out: Path, force: bool, evals: list[str | os.PathLike[str]]) -> ExportResult:
    import torch
    import transformers

    from cadmus.eval import load_checkpoint

    ckpt = load_checkpoint(source, "cpu")
    _prepare_dir(out, force)
    model = ckpt.model.eval()  # float32, as `cadmus.model.load_model` builds every model
    try:
        mapping = choose_mapping(model.config)
    except HFError as err:
        raise err.with_file(str(ckpt.path / "config.json")) from None
    datasets = training_datasets(ckpt.run_dir)
    evaluations = find_evaluations(ckpt.run_dir or ckpt.path, evals)
    prompts = _dataset_prompts(datasets)

    from cadmus.hf.weights import hf_config, hf_state

    config = hf_config(mapping, model, ckpt.tokenizer)
    hf_model = getattr(transformers, mapping.architecture)(config).eval()
    state = hf_state(mapping, model)
    missing, unexpected = hf_model.load_state_dict(state, strict=False)
    if missing or unexpected:  # pragma: no cover - a transformers release that renamed tensors
        raise HFError(
            f"{mapping.architecture} does not take the converted weights "
            f"(missing: {', '.join(missing) or 'none'}; unexpected: {', '.join(unexpected) or 'none'})"
        )
    if model.config.tie_embeddings:
        hf_model.tie_weights()
    diff = _compare_logits(hf_model, model, _probe_batch(ckpt, prompts))
    if not diff <= LOGIT_TOLERANCE:
        raise HFError(
            f"the converted {mapping.architecture} disagrees with Cadmus (relative logit difference "
            f"{diff:.2e} > {LOGIT_TOLERANCE:g}); nothing was written"
        )
    hf_tok = build_hf_tokenizer(ckpt.tokenizer, max_length=model.config.block_size)
    check_tokenizer(hf_tok, ckpt.tokenizer, [*SAMPLE_TEXTS, *prompts])

    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        hf_model.save_pretrained(str(tmp))
        hf_tok.save_pretrained(str(tmp))
        tok = ckpt.tokenizer
        transformers.GenerationConfig(
            bos_token_id=tok.bos_id,
            eos_token_id=tok.eos_id,
            pad_token_id=tok.pad_id,
            do_sample=False,
            max_length=model.config.block_size,
        ).save_pretrained(str(tmp))
        tok.save(tmp / "cadmus_tokenizer.json")
        n_params = model.n_params(embeddings=True)
        card = model_card(
            mapping=mapping,
            cadmus_config=model.config.to_dict(),
            tokenizer=tok,
            n_params=n_params,
            checkpoint=ckpt.path,
            datasets=datasets,
            evals=evaluations,
            max_logit_diff=diff,
            version=__version__,
        )
        (tmp / "README.md").write_text(card)
        provenance = {
            "format": EXPORT_FORMAT,
            "cadmus_version": __version__,
            "transformers_version": transformers.__version__,
            "torch_version": torch.__version__,
            "checkpoint": str(ckpt.path),
            "architecture": mapping.architecture,
            "model_type": mapping.name,
            "cadmus_config": model.config.to_dict(),
            "tokenizer": {"numbers": tok.numbers, "sha256": tok.sha256},
            "max_relative_logit_diff": diff,
            "datasets": [asdict(d) for d in datasets],
            "evaluations": [str(e.path) for e in evaluations],
        }
        (tmp / "cadmus_export.json").write_text(json.dumps(provenance, indent=2) + "\n")
        files = tuple(sorted(p.name for p in tmp.iterdir()))
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            out.rename(old)
            shutil.rmtree(old)
        tmp.rename(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return ExportResult(out, mapping, ckpt.path, diff, n_params, files)
