"""cadmus.train: the training loop (CPU, GPU, DDP), its config, checkpoints and logs.

Public surface: `TrainConfig`, `load_config`, `config_from_dict`,
`ConfigError`, `train`, `CheckpointError`, `latest_checkpoint`,
`verify_checkpoint`.
"""

from cadmus.train.checkpoint import CheckpointError, latest_checkpoint, verify_checkpoint
from cadmus.train.config import ConfigError, TrainConfig, config_from_dict, load_config
from cadmus.train.loop import train

__all__ = [
    "CheckpointError",
    "ConfigError",
    "TrainConfig",
    "config_from_dict",
    "latest_checkpoint",
    "load_config",
    "train",
    "verify_checkpoint",
]
