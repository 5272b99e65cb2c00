"""cadmus.model: a readable decoder-only transformer with hook points and a KV cache.

Public surface: `GPTConfig`, `GPT` (``model(idx, targets) -> (logits,
loss)``), `HookPoint`, `IGNORE_INDEX`, `generate(model, idx, ...)`,
`KVCache`, `sample_next`, `PRESETS`, `preset_config`, `preset_table`,
`save_model`, `load_model`, `load_config`, `ModelError`; the positional
levers' inputs `LeverInputs` and `LeverSource` (`cadmus.model.levers`).
"""

from cadmus.model.generation import KVCache, generate, nucleus, sample_next
from cadmus.model.gpt import GPT, IGNORE_INDEX, GPTConfig, HookPoint, ModelError
from cadmus.model.io import load_config, load_model, save_model
from cadmus.model.levers import LeverInputs, LeverSource
from cadmus.model.presets import PRESETS, preset_config, preset_table

__all__ = [
    "GPT",
    "IGNORE_INDEX",
    "PRESETS",
    "GPTConfig",
    "HookPoint",
    "KVCache",
    "LeverInputs",
    "LeverSource",
    "ModelError",
    "generate",
    "load_config",
    "load_model",
    "nucleus",
    "preset_config",
    "preset_table",
    "sample_next",
    "save_model",
]
