"""``python -m cadmus.model``: print the presets with their parameter counts."""

from __future__ import annotations

import torch

from cadmus.model import GPT, PRESETS, preset_config


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


if __name__ == "__main__":
    print(preset_table())
