"""cadmus.model: a readable decoder-only transformer with hook points and a KV cache.

Public surface: `GPTConfig`, `GPT`, `HookPoint`, `KVCache`, `PRESETS`,
`preset_config`, `save_model`, `load_model`, `ModelError`.
"""

from cadmus.model.gpt import GPT, GPTConfig, HookPoint, KVCache, ModelError
from cadmus.model.io import load_config, load_model, save_model
from cadmus.model.presets import PRESETS, preset_config

__all__ = [
    "GPT",
    "PRESETS",
    "GPTConfig",
    "HookPoint",
    "KVCache",
    "ModelError",
    "load_config",
    "load_model",
    "preset_config",
    "save_model",
]
