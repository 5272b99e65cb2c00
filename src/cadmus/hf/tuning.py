"""Fine-tuning pretrained Hugging Face models on Cadmus data, and loading what it wrote.

`finetune(config)` is `cadmus.train.train` with the Hugging Face backend
(`cadmus.hf.backend.HFBackend`): the same loop, data order, budget,
schedule, logs, checkpoints and exact resume as a Cadmus run, on
``model.hf``'s model with its own tokenizer (docs/hf.md, "Fine-tuning").
`load_finetuned(run_or_checkpoint)` gives a `cadmus.eval.Checkpoint` whose
prompt framing and decoding are the model's own, so `cadmus.eval.evaluate`,
`cadmus.eval.complete` and the quick evaluator judge it as they judge a Cadmus
model; `open_checkpoint` loads either kind.

Importing this module imports neither torch nor transformers.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cadmus.hf.errors import HFError

if TYPE_CHECKING:
    import torch

    from cadmus.eval import Checkpoint
    from cadmus.train import TrainConfig

QUICK_EVAL_BATCH = 32  # prompts decoded at once by the quick evaluator (a 135M model's logits are wide)


def as_checkpoint(model: Any, tokenizer: Any, path: Path, run_dir: Path | None = None) -> Checkpoint:
    """An `HFCausalLM` and its `HFTokenizer` as a `cadmus.eval.Checkpoint`: prompts framed as in
    training (``prefix + prompt``), decoded by `generate_hf`."""
    from cadmus.eval import Checkpoint
    from cadmus.hf.backend import generate_hf

    return Checkpoint(
        model, tokenizer, Path(path), run_dir, generate=generate_hf, prompt_ids=tokenizer.encode_prompt
    )


def finetune(
    cfg: TrainConfig, on_eval: Any = None, *, quick_eval: bool = False, eval_prompts: int = 256
) -> Path:
    """Fine-tune ``cfg.model.hf`` as `cadmus.train.train` trains a Cadmus model; returns the run dir.

    ``on_eval(model, step, where=...)`` is the trainer's evaluator hook. With ``quick_eval`` (and no
    `on_eval`), the quick evaluator of `cadmus.eval` judges the first `eval_prompts` validation
    prompts at each evaluation, as `cadmus train` does for a Cadmus model.
    """
    from cadmus.hf.backend import HFBackend
    from cadmus.train import train

    backend = HFBackend(cfg)
    if on_eval is None and quick_eval:
        from cadmus.eval import quick_eval_hook

        out = Path(cfg.out_dir)
        on_eval = quick_eval_hook(
            cfg,
            n=eval_prompts,
            checkpoint=lambda model: as_checkpoint(model, backend.tokenizer, out),
            batch_size=QUICK_EVAL_BATCH,
        )
    return train(cfg, on_eval=on_eval, backend=backend)


def _record(ckpt: Path) -> dict[str, Any]:
    from cadmus.train import BACKEND

    path = ckpt / BACKEND
    try:
        record = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise HFError(f"unreadable backend record ({type(err).__name__})", file=str(path)) from None
    if not isinstance(record, dict) or record.get("kind") != "hf":
        raise HFError("not a fine-tuned Hugging Face checkpoint", file=str(path))
    return record


def _base_path(record: dict[str, Any], ckpt: Path) -> Path:
    """The base model a LoRA checkpoint's adapters belong to: where it was, else its spec again."""
    from cadmus.files import sha256_file
    from cadmus.hf.pretrained import resolve_pretrained

    base = Path(record["base"])
    if not (base / "config.json").is_file():
        try:
            base = resolve_pretrained(record["spec"])
        except HFError as err:
            raise HFError(
                f"the base model of these LoRA adapters is not at {record['base']} ({err.message})",
                file=str(ckpt),
            ) from None
    if sha256_file(base / "config.json") != record.get("base_config_sha256"):
        raise HFError(
            f"the base model at {base} is not the one these adapters were trained on (its config.json differs)",
            file=str(ckpt),
        )
    return base


def load_finetuned(path: str | os.PathLike[str], device: str | torch.device = "cpu") -> Checkpoint:
    """A fine-tuned checkpoint (or a run's latest) as a `cadmus.eval.Checkpoint`, in eval mode.

    Full fine-tunes load from the checkpoint alone; LoRA adapters are put on their base model,
    found where training found it (or by its spec, e.g. ``smollm2``), whose config must be the
    same."""
    from cadmus.eval import find_checkpoint
    from cadmus.hf.backend import HFCausalLM, load_hf_tokenizer, load_pretrained, load_weights, with_lora

    ckpt, run = find_checkpoint(path)
    record = _record(ckpt)
    tokenizer = load_hf_tokenizer(ckpt, str(record.get("spec", ckpt.name)))
    if tokenizer.sha256 != record.get("tokenizer_sha256"):
        raise HFError("the checkpoint's tokenizer is not the one it was trained with", file=str(ckpt))
    if record.get("lora"):
        model = HFCausalLM(
            with_lora(load_pretrained(_base_path(record, ckpt)), record["lora"]),
            block_size=record["block_size"],
        )
        load_weights(model, ckpt)
    else:
        model = HFCausalLM(load_pretrained(ckpt), block_size=record["block_size"])
    return as_checkpoint(model.to(device).eval(), tokenizer, ckpt, run)


def open_checkpoint(path: str | os.PathLike[str], device: str | torch.device = "cpu") -> Checkpoint:
    """Any checkpoint (or a run's latest): a Cadmus model (`cadmus.eval.load_checkpoint`) or a
    fine-tuned Hugging Face model (`load_finetuned`), by what it records."""
    from cadmus.eval import find_checkpoint, load_checkpoint
    from cadmus.train import checkpoint_kind

    ckpt, _ = find_checkpoint(path)
    if checkpoint_kind(ckpt) == "hf":
        return load_finetuned(ckpt, device)
    return load_checkpoint(ckpt, device)
