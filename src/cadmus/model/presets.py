"""Named model shapes, from a CPU toy to a GPT-2-medium-like model.

The number in a preset's name is its approximate *non-embedding* parameter
count (`GPT.n_params()`); with Cadmus's small vocabulary the embeddings add
little. `vocab_size` is left at the GPTConfig default here: the trainer sets
it from the tokenizer. Print the table with ``python -m cadmus.model``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch

from cadmus.model.gpt import GPT, GPTConfig, ModelError

PRESETS: dict[str, GPTConfig] = {
    # Trains on a laptop CPU in minutes.
    "tiny": GPTConfig(n_layer=3, n_head=4, n_embd=128, block_size=256),
    "20m": GPTConfig(n_layer=6, n_head=8, n_embd=512, block_size=512),
    # GPT-2 small's shape.
    "85m": GPTConfig(n_layer=12, n_head=12, n_embd=768, block_size=1024),
    # GPT-2 medium's width and heads, 22 layers: about 277M non-embedding parameters.
    "280m": GPTConfig(n_layer=22, n_head=16, n_embd=1024, block_size=1024),
}


def preset_config(name: str, **overrides: Any) -> GPTConfig:
    """A copy of preset `name` with some fields replaced (validated)."""
    if name not in PRESETS:
        raise ModelError(f"unknown model preset {name!r}; choose one of {', '.join(PRESETS)}", key="preset")
    known = set(GPTConfig.__dataclass_fields__)
    for key in overrides:
        if key not in known:
            raise ModelError(f"unknown model config key {key!r}", key=key)
    return replace(PRESETS[name], **overrides)


def preset_table(vocab_size: int = 512) -> str:
    """A Markdown table of the presets (built on the meta device: no memory, no time)."""
    lines = [
        f"| preset | n_layer | n_head | n_embd | block_size | params (non-embedding) | params (all, vocab {vocab_size}) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in PRESETS:
        config = preset_config(name, vocab_size=vocab_size)
        with torch.device("meta"):
            model = GPT(config)
        lines.append(
            f"| {name} | {config.n_layer} | {config.n_head} | {config.n_embd} | {config.block_size} "
            f"| {model.n_params():,} | {model.n_params(embeddings=True):,} |"
        )
    return "\n".join(lines)
