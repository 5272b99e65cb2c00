"""Processes, devices and random state: what differs between CPU, one GPU and DDP.

`setup_runtime` reads torchrun's environment (``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``LOCAL_WORLD_SIZE``), picks the device and dtype, sets the
thread count and starts the process group (gloo on CPU, nccl on GPU). The RNG
helpers capture and restore every generator a training step draws from
(torch, CUDA, NumPy, Python), which exact resume needs.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from cadmus.train.config import ConfigError, TrainConfig


@dataclass
class Runtime:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    local_world: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    dtype: str = "fp32"

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def ddp(self) -> bool:
        return self.world > 1

    def barrier(self) -> None:
        if self.ddp:
            dist.barrier()

    def from_main(self, obj: Any) -> Any:
        """The main process's `obj` on every process."""
        if not self.ddp:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def any(self, flag: bool) -> bool:
        """True on every process when `flag` is True on at least one."""
        if not self.ddp:
            return flag
        box = torch.tensor([float(flag)], device=self.device)
        dist.all_reduce(box, op=dist.ReduceOp.MAX)
        return bool(box.item())


def setup_runtime(cfg: TrainConfig) -> Runtime:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rt = Runtime(
        rank=int(os.environ.get("RANK", "0")),
        world=world,
        local_rank=int(os.environ.get("LOCAL_RANK", "0")),
        local_world=int(os.environ.get("LOCAL_WORLD_SIZE", str(world))),
    )
    want = cfg.device
    if want == "auto":
        want = "cuda" if torch.cuda.is_available() else "cpu"
    if want.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"{cfg.device!r} requested but CUDA is not available", key="device")
        rt.device = torch.device("cuda", rt.local_rank) if rt.ddp or want == "cuda" else torch.device(want)
        torch.cuda.set_device(rt.device)
    else:
        rt.device = torch.device("cpu")
    rt.dtype = cfg.dtype
    if rt.dtype == "auto":
        rt.dtype = "bf16" if rt.device.type == "cuda" and torch.cuda.is_bf16_supported() else "fp32"
    threads = cfg.threads or max(1, (os.cpu_count() or 1) // rt.local_world)
    torch.set_num_threads(threads)
    if rt.ddp and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if rt.device.type == "cuda" else "gloo")
    return rt


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> dict[str, Any]:
    np_state = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": (np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *np_state[2:]),
        "python": random.getstate(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    name, keys, *rest = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), *rest))
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
