"""Set-up, the first phase of training: everything `train` builds before its first step.

`set_up` starts the processes (`cadmus.train.runtime`), finds the checkpoint
to resume from, packs the data of every curriculum stage, builds the model
(same initialisation on every process) and its optimizers, and returns a
`Run` -- what every later phase reads -- with the `TrainState` to start from:
a fresh one, or the checkpoint's, whose model, optimizer and RNG states it
loads. The tokenizer, the model and its checkpoint files come from the run's
backend (`cadmus.train.backend`): Cadmus's GPT unless `train` is given another.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from cadmus.files import write_json
from cadmus.train.backend import Backend, CadmusBackend
from cadmus.train.checkpoint import TRAINER, latest_checkpoint, load_torch, verify_checkpoint
from cadmus.train.config import ConfigError, TrainConfig
from cadmus.train.logs import Logger
from cadmus.train.mfu import cpu_peak_flops, gpu_peak_flops
from cadmus.train.optim import build_optimizers
from cadmus.train.runtime import Runtime, seed_everything, set_rng_state, setup_runtime
from cadmus.train.sources import DataSources, TrainData, stage_starts

OnEval = Callable[..., "dict[str, Any] | None"]  # fn(model, step, where=...) -> figures to log


@dataclass
class Run:
    """What set-up builds once; every phase reads it."""

    cfg: TrainConfig
    rt: Runtime
    run_dir: Path
    data: TrainData
    backend: Backend  # the model family: tokenizer, model, checkpoint files
    tokenizer: Any  # the backend's tokenizer (cadmus.tokenizer.Tokenizer for Cadmus models)
    raw: nn.Module  # the model itself (cadmus.model.GPT by default): checkpoints, validation, FLOP counts
    model: nn.Module  # what the step calls: `raw`, compiled and/or wrapped in DDP
    optimizers: list[torch.optim.Optimizer]
    autocast: AbstractContextManager
    peak: float | None  # peak FLOP/s of one device (None: no MFU)
    logger: Logger
    on_eval: OnEval | None
    wall_start: float  # perf_counter() when this session started


@dataclass
class TrainState:
    """What changes as training runs; step, tokens and times go into checkpoints."""

    step: int = 0
    tokens: int = 0  # input positions processed, all processes
    train_time: float = 0.0  # seconds spent in training steps (not evaluating or checkpointing)
    wall_before: float = 0.0  # wall-clock seconds of the sessions before a resume
    loss: float = math.nan  # training loss at the last log line
    stopped_by: str | None = None  # "budget" or "time_guard" once training is over
    stage_starts: list[int | None] | None = None  # from the checkpoint resumed from


def set_up(
    cfg: TrainConfig, on_eval: OnEval | None, backend: Backend | None = None
) -> tuple[Run, TrainState]:
    """Processes, run directory, data, model and optimizers; the state to start from."""
    wall_start = time.perf_counter()
    backend = backend if backend is not None else CadmusBackend()
    rt = setup_runtime(cfg)
    check_conditions(cfg, on_eval)
    run_dir = Path(cfg.out_dir)
    if rt.main:
        run_dir.mkdir(parents=True, exist_ok=True)
    rt.barrier()
    resume_from = resume_point(cfg, rt, run_dir / "checkpoints")

    # Data of every stage, and the tokenizer it fixes.
    sources = DataSources(cfg, run_dir, rt, backend)
    stages = stage_starts(cfg)
    first_train = sources.split(stages[0].data, cfg.data.train_split)
    tokenizer = sources.tokenizer

    raw = build_model(cfg, rt, backend, tokenizer)
    longest = int(np.diff(first_train.offsets).max(initial=0))
    if rt.main and cfg.data.batching == "rows" and longest > raw.config.block_size + 1:
        print(
            f"cadmus train: examples up to {longest} tokens are cut to block_size "
            f"{raw.config.block_size} + 1",
            file=sys.stderr,
        )
    optimizers = build_optimizers(raw, cfg.optim, rt.device.type)
    state = start_state(cfg, rt, resume_from, backend, raw, optimizers)
    data = TrainData(sources, stages, rt, raw.config.block_size)
    if state.stage_starts is not None:
        data.restore_starts(state.stage_starts)

    run = Run(
        cfg=cfg,
        rt=rt,
        run_dir=run_dir,
        data=data,
        backend=backend,
        tokenizer=tokenizer,
        raw=raw,
        model=wrap_model(raw, cfg, rt),
        optimizers=optimizers,
        autocast=(
            torch.autocast(device_type=rt.device.type, dtype=torch.bfloat16)
            if rt.dtype == "bf16"
            else nullcontext()
        ),
        peak=peak_flops(rt, run_dir),
        logger=Logger(run_dir, cfg, rt.main, state.step if resume_from is not None else None),
        on_eval=on_eval,
        wall_start=wall_start,
    )
    announce(run, state, resume_from)
    raw.train()
    return run, state


def check_conditions(cfg: TrainConfig, on_eval: OnEval | None) -> None:
    """A `when` stage waiting on a figure only the evaluator hook gives needs that hook."""
    for i, stage in enumerate(cfg.curriculum):
        if stage.when is not None and stage.when.metric != "val_loss" and on_eval is None:
            raise ConfigError(
                f"waits on {stage.when.metric!r}, but this run has no evaluator hook "
                "(train(config, on_eval=...); `cadmus train` gives one when the run has a dataset)",
                key=f"curriculum[{i}].when.metric",
            )


def resume_point(cfg: TrainConfig, rt: Runtime, ckpt_root: Path) -> Path | None:
    """The checkpoint to resume from (verified before anything is built from it), if any."""
    if not cfg.resume:
        return None
    path = latest_checkpoint(ckpt_root)
    if path is not None:
        verify_checkpoint(path)
    elif rt.main:
        print(f"cadmus train: no checkpoint in {ckpt_root}, starting from scratch", file=sys.stderr)
    return path


def build_model(cfg: TrainConfig, rt: Runtime, backend: Backend, tokenizer: Any) -> nn.Module:
    """The model, with the same initialisation on every process."""
    seed_everything(cfg.seed)
    return backend.build(cfg, rt.device, tokenizer)


def start_state(
    cfg: TrainConfig,
    rt: Runtime,
    resume_from: Path | None,
    backend: Backend,
    raw: nn.Module,
    optimizers: list[torch.optim.Optimizer],
) -> TrainState:
    """A fresh state (RNG seeded per process), or the checkpoint's, loaded into model and optimizers."""
    if resume_from is None:
        seed_everything(cfg.seed + 1000 * rt.rank + 1)  # different dropout masks per process
        return TrainState()
    saved = load_torch(resume_from / TRAINER)
    backend.load(raw, resume_from)
    for opt, opt_state in zip(optimizers, saved["optimizers"], strict=True):
        opt.load_state_dict(opt_state)
    rngs = saved["rng"]
    set_rng_state(rngs[rt.rank] if rt.rank < len(rngs) else rngs[0])
    return TrainState(
        step=saved["step"],
        tokens=saved["tokens"],
        train_time=saved["train_time"],
        wall_before=saved.get("wall_time", 0.0),
        stage_starts=saved.get("data", {}).get("starts"),
    )


def wrap_model(raw: nn.Module, cfg: TrainConfig, rt: Runtime) -> nn.Module:
    """What the training step calls: torch.compile and DDP around the model, as configured."""
    model: nn.Module = torch.compile(raw) if cfg.compile else raw
    if rt.ddp:
        from torch.nn.parallel import DistributedDataParallel as DDP

        model = DDP(model, device_ids=[rt.device.index] if rt.device.type == "cuda" else None)
    return model


def peak_flops(rt: Runtime, run_dir: Path) -> float | None:
    """Peak FLOP/s of one device: from the GPU table, or measured once on the CPU (main process)."""
    if rt.device.type == "cuda":
        return gpu_peak_flops(torch.cuda.get_device_name(rt.device), rt.dtype)
    peak = cpu_peak_flops(torch.get_num_threads(), run_dir) if rt.main else None
    if rt.ddp:
        box = [peak]
        dist.broadcast_object_list(box, src=0)
        peak = box[0]
    return peak


def announce(run: Run, state: TrainState, resume_from: Path | None) -> None:
    """Write the resolved config and tokenizer into the run directory; say what runs where."""
    cfg, rt, raw = run.cfg, run.rt, run.raw
    if not rt.main:
        return
    write_json(run.run_dir / "config.json", cfg.model_dump(), sort_keys=False)
    run.tokenizer.save(run.run_dir / "tokenizer.json")
    where = f"{rt.world} x {rt.device.type}, {rt.dtype}, {torch.get_num_threads()} threads"
    peak = f"peak {run.peak / 1e9:.1f} GFLOP/s" if run.peak else "peak FLOP/s unknown (no MFU)"
    run.logger.say(f"cadmus train: {run.backend.describe(cfg, raw)}; {where}; {peak}")
    if resume_from is not None:
        run.logger.say(f"cadmus train: resumed from {resume_from} at step {state.step}")
