"""Weights as safetensors plus a JSON config; loading says exactly what does not fit."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from cadmus.model.gpt import GPT, GPTConfig, ModelError
from cadmus.tokenizer import Tokenizer

WEIGHTS = "model.safetensors"
CONFIG = "config.json"
TOKENIZER = "tokenizer.json"  # written next to the weights by the trainer's checkpoints
FORMAT = "cadmus-gpt"
FORMAT_VERSION = 1


def _fsync_write(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def save_model(model: GPT, directory: str | os.PathLike) -> Path:
    """Write ``model.safetensors`` and ``config.json`` into `directory` (created).

    A tied lm_head is not stored twice: it is re-tied from the config on load.
    """
    model = getattr(model, "module", model)  # unwrap DDP
    model = getattr(model, "_orig_mod", model)  # unwrap torch.compile
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    if model.config.tie_embeddings:
        state.pop("lm_head.weight", None)
    save_file(state, str(out / WEIGHTS), metadata={"format": FORMAT})
    meta = {"format": FORMAT, "version": FORMAT_VERSION, "config": model.config.to_dict()}
    _fsync_write(out / CONFIG, (json.dumps(meta, indent=2) + "\n").encode())
    return out


def load_config(directory: str | os.PathLike) -> GPTConfig:
    path = Path(directory) / CONFIG
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelError("model config not found", file=str(path)) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ModelError(f"model config is not valid JSON ({err})", file=str(path)) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or "config" not in meta:
        raise ModelError(f"not a Cadmus model config (expected format {FORMAT!r})", file=str(path))
    if meta.get("version") != FORMAT_VERSION:
        raise ModelError(f"unsupported model format version {meta.get('version')!r}", file=str(path))
    try:
        return GPTConfig.from_dict(meta["config"])
    except ModelError as err:
        raise err.with_file(str(path)) from None
    except TypeError as err:
        raise ModelError(f"bad model config ({err})", file=str(path)) from None


def load_model(
    directory: str | os.PathLike,
    *,
    device: str | torch.device = "cpu",
    expect: GPTConfig | None = None,
) -> GPT:
    """Build the model from ``config.json`` and load ``model.safetensors``.

    With `expect`, the stored config must equal it (differences are listed).
    A model with positional levers that read digit indices is given the
    ``tokenizer.json`` lying next to the weights, when there is one.
    Missing or unexpected tensors and shape mismatches raise `ModelError`
    naming the tensors and both shapes.
    """
    directory = Path(directory)
    config = load_config(directory)
    if expect is not None and expect != config:
        mine, theirs = asdict(expect), asdict(config)
        diffs = [f"{k}: expected {mine[k]!r}, found {theirs[k]!r}" for k in mine if mine[k] != theirs[k]]
        raise ModelError("model config does not match: " + "; ".join(diffs), file=str(directory / CONFIG))
    path = directory / WEIGHTS
    try:
        state = load_file(str(path))
    except FileNotFoundError:
        raise ModelError("weights not found", file=str(path)) from None
    except (SafetensorError, OSError, ValueError) as err:
        raise ModelError(f"cannot read weights, file truncated or corrupt? ({err})", file=str(path)) from None
    model = GPT(config)
    check_state(model, state, str(path))
    model.load_state_dict(state, strict=False)
    if model.lever_source is not None and (directory / TOKENIZER).is_file():
        model.use_tokenizer(Tokenizer.load(directory / TOKENIZER))
    return model.to(device)


def check_state(model: GPT, state: dict[str, torch.Tensor], file: str) -> None:
    """Raise ModelError listing every way `state` does not fit `model`."""
    expected = dict(model.state_dict())
    if model.config.tie_embeddings:
        expected.pop("lm_head.weight", None)
        state = {k: v for k, v in state.items() if k != "lm_head.weight"}
    problems = []
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing:
        problems.append("missing tensors: " + ", ".join(missing))
    if unexpected:
        problems.append("unexpected tensors: " + ", ".join(unexpected))
    for name in sorted(set(expected) & set(state)):
        want, got = tuple(expected[name].shape), tuple(state[name].shape)
        if want != got:
            problems.append(f"shape mismatch for {name}: model has {list(want)}, file has {list(got)}")
    if problems:
        raise ModelError("weights do not fit the model config: " + "; ".join(problems), file=file)
