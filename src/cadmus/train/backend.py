"""The model family a run trains: the seam between the trainer and the model it is given.

The loop is one code path whatever it trains. What differs between model
families is gathered in a *backend*, which `train(config, backend=...)`
takes (`cadmus.train.train`):

- the tokenizer that packs the run's datasets (`cadmus.tokenizer.pack`),
  and the check that a packed split was packed with it;
- the model: an ``nn.Module`` whose ``forward(idx, targets, *, reduction)``
  returns ``(logits, loss)``, the loss in float32 over the targets that are
  not ``IGNORE_INDEX`` (as `cadmus.model.GPT` does), with ``n_params()``,
  ``flops_per_token(seq_len)`` and ``config.block_size`` (the longest
  sequence it takes);
- writing the model (and its tokenizer) into a checkpoint directory, and
  loading the weights back from one (exact resume).

`CadmusBackend` is Cadmus's own GPT with the Cadmus tokenizer: what every
run uses unless it is given another, doing exactly what the trainer did
before the seam existed. `cadmus.hf` supplies a backend for pretrained
Hugging Face causal LMs (`cadmus.hf.finetune`); this package never imports it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn

from cadmus.model import GPT, load_model, preset_config, save_model
from cadmus.train.config import TrainConfig
from cadmus.train.data import DataError


class Backend(Protocol):
    """What the trainer needs from a model family (see the module docstring)."""

    name: str  # "cadmus", "hf": said in the start-up line

    def pack_tokenizer(self, cfg: TrainConfig) -> Any:
        """The tokenizer `cadmus.tokenizer.pack` encodes the run's datasets with."""
        ...

    def packed_tokenizer(self, arrays: Any, first: Any | None) -> Any:
        """The tokenizer of a packed split (`cadmus.tokenizer.PackedSplit`); raises `DataError` when
        it is not this backend's, or differs from `first` (the tokenizer of the run's first split)."""
        ...

    def build(self, cfg: TrainConfig, device: torch.device, tokenizer: Any) -> nn.Module:
        """The model to train, on `device` (the trainer seeds the RNGs with ``cfg.seed`` first)."""
        ...

    def save(self, model: nn.Module, tokenizer: Any, directory: Path) -> None:
        """Write the model and its tokenizer into a checkpoint directory (flat files only)."""
        ...

    def load(self, model: nn.Module, directory: Path) -> None:
        """Load the weights of a checkpoint written by `save` into `model`, exactly."""
        ...

    def describe(self, cfg: TrainConfig, model: nn.Module) -> str:
        """The model in a few words, for the start-up line."""
        ...


class CadmusBackend:
    """Cadmus's GPT (`cadmus.model`) with the Cadmus tokenizer configured by ``data.tokenizer``."""

    name = "cadmus"

    def pack_tokenizer(self, cfg: TrainConfig) -> Any:
        from cadmus.tokenizer import Tokenizer

        tok = cfg.data.tokenizer
        return Tokenizer(tok.numbers, width=tok.width, bound=tok.bound)

    def packed_tokenizer(self, arrays: Any, first: Any | None) -> Any:
        tokenizer = arrays.tokenizer
        if first is not None and tokenizer.vocab != first.vocab:
            raise DataError(
                "curriculum stages use different tokenizers; they must share one", file=str(arrays.dir)
            )
        return tokenizer

    def build(self, cfg: TrainConfig, device: torch.device, tokenizer: Any) -> GPT:
        mconf = preset_config(
            cfg.model.preset, **{"vocab_size": tokenizer.vocab_size, **cfg.model.overrides()}
        )
        model = GPT(mconf).to(device)
        model.use_tokenizer(tokenizer)  # positional levers read digit indices through it (else a no-op)
        return model

    def save(self, model: nn.Module, tokenizer: Any, directory: Path) -> None:
        save_model(model, directory)
        tokenizer.save(directory / "tokenizer.json")

    def load(self, model: nn.Module, directory: Path) -> None:
        model.load_state_dict(load_model(directory, expect=model.config).state_dict())

    def describe(self, cfg: TrainConfig, model: nn.Module) -> str:
        return (
            f"{cfg.model.preset} model, {model.n_params():,} non-embedding parameters "
            f"({model.n_params(embeddings=True):,} in all)"
        )
