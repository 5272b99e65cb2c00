"""cadmus.train: the training loop (CPU, GPU, DDP), its config, checkpoints and logs.

Public surface: `TrainConfig`, `load_config`, `config_from_dict`,
`ConfigError`, `train`, `CheckpointError`, `latest_checkpoint`,
`verify_checkpoint`, `checkpoint_kind` (``backend.json``, `BACKEND`, says what a checkpoint
holds), and the seam through which `train` takes another model
family: `Backend` (a protocol) and `CadmusBackend` (Cadmus's GPT, the default).
"""

from cadmus.train.backend import Backend, CadmusBackend
from cadmus.train.checkpoint import (
    BACKEND,
    CheckpointError,
    checkpoint_kind,
    latest_checkpoint,
    verify_checkpoint,
)
from cadmus.train.config import ConfigError, TrainConfig, config_from_dict, load_config
from cadmus.train.loop import train

__all__ = [
    "BACKEND",
    "Backend",
    "CadmusBackend",
    "CheckpointError",
    "ConfigError",
    "TrainConfig",
    "checkpoint_kind",
    "config_from_dict",
    "latest_checkpoint",
    "load_config",
    "train",
    "verify_checkpoint",
]
