"""The training loop: one code path for CPU, one GPU, and DDP under torchrun.

Read top to bottom: `train` sets up the process group, the device and the
data, builds model and optimizers, optionally resumes, then runs `step` until
the budget (steps, tokens or training seconds) is spent, validating,
checkpointing and logging at intervals.

Loss normalisation: the loss of a step is the mean over every counted target
token of the global batch (all micro-batches of all processes). Each
micro-batch contributes ``sum of its token losses / global count``, scaled by
the world size because DDP averages gradients. The global count is summed
across processes before the forward passes, so one process with ``accum =
A * W`` and W processes with ``accum = A`` compute the same gradient up to the
order of float additions.
"""

from __future__ import annotations

import json
import math
import os
import random
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

from cadmus.model import GPT, load_model, preset_config, save_model
from cadmus.train.checkpoint import (
    TRAINER,
    CheckpointError,
    latest_checkpoint,
    load_torch,
    save_torch,
    verify_checkpoint,
    write_checkpoint,
)
from cadmus.train.config import ConfigError, TrainConfig
from cadmus.train.data import Batcher, DataError, read_metadata, select_items
from cadmus.train.mfu import cpu_peak_flops, gpu_peak_flops
from cadmus.train.optim import build_optimizers, set_lr
from cadmus.train.schedule import lr_multiplier

OnEval = Callable[[GPT, int], "dict[str, Any] | None"]


# ----------------------------------------------------------------- processes


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


# ---------------------------------------------------------------------- data


class DataSources:
    """Packs datasets on first use (main process first) and hands out batchers."""

    def __init__(self, cfg: TrainConfig, run_dir: Path, rt: Runtime) -> None:
        self.cfg = cfg
        self.run_dir = run_dir
        self.rt = rt
        self._packed: dict[str, tuple[Path, Path | None]] = {}
        self.tokenizer = None

    def _source(self, data: dict[str, Any]) -> tuple[Path, Path | None]:
        """(packed dir, dataset dir or None) for a data mapping."""
        from cadmus.tokenizer import Tokenizer, pack

        key = json.dumps({k: data.get(k) for k in ("dataset", "build", "packed")}, sort_keys=True)
        if key in self._packed:
            return self._packed[key]
        if data.get("packed"):
            packed = Path(data["packed"])
            meta_file = packed / "pack.json"
            dataset = None
            if meta_file.exists():
                dataset_path = json.loads(meta_file.read_text()).get("dataset")
                dataset = Path(dataset_path) if dataset_path and Path(dataset_path).is_dir() else None
        else:
            if data.get("build"):
                dataset = self.run_dir / "data"
                if self.rt.main:
                    build_dataset(data["build"], dataset)  # resumes / does nothing when already built
            elif data.get("dataset"):
                dataset = Path(data["dataset"])
            else:
                raise DataError("no training data: set data.dataset, data.build or data.packed", key="data")
            packed = self.run_dir / f"packed-{len(self._packed)}"
            if self.rt.main:
                tok = self.cfg.data.tokenizer
                pack(dataset, Tokenizer(tok.numbers, width=tok.width, bound=tok.bound), packed)
            self.rt.barrier()
        self._packed[key] = (packed, dataset)
        return packed, dataset

    def split(self, data: dict[str, Any], split: str):
        from cadmus.tokenizer import PackedSplit

        packed, _ = self._source(data)
        arrays = PackedSplit(packed, split)
        if self.tokenizer is None:
            self.tokenizer = arrays.tokenizer
        elif arrays.tokenizer.vocab != self.tokenizer.vocab:
            raise DataError(
                "curriculum stages use different tokenizers; they must share one", file=str(packed)
            )
        return arrays

    def batcher(
        self, data: dict[str, Any], split: str, *, stage: int, shuffle: bool, block_size: int
    ) -> Batcher:
        arrays = self.split(data, split)
        where, weights = data.get("where") or {}, data.get("weights") or {}
        weight_by = data.get("weight_by") or "family"
        metadata = None
        if shuffle and (where or weights):
            _, dataset = self._source(data)
            if dataset is None:
                raise DataError(
                    "data.where / data.weights need the dataset's Parquet metadata, which was not found"
                )
            columns = sorted(set(where) | ({weight_by} if weights else set()))
            metadata = read_metadata(dataset, split, columns)
        items, item_weights = select_items(metadata, len(arrays.offsets) - 1, where, weights, weight_by)
        return Batcher(
            arrays,
            batching=data["batching"],
            block_size=block_size,
            micro=self.cfg.batch.micro,
            pad_id=self.tokenizer.pad_id,
            loss_on=data["loss_on"],
            seed=self.cfg.seed,
            stage=stage,
            shuffle=shuffle,
            items=items,
            item_weights=item_weights,
        )


def build_dataset(data_config: str, out_dir: Path) -> None:
    """Build (or finish building) a dataset from a data config (cadmus.data) into out_dir."""
    from cadmus.data import build_dataset as build

    build(data_config, out_dir, workers=1, progress=False)


def stage_starts(cfg: TrainConfig) -> list[tuple[int, dict[str, Any]]]:
    """[(first step, data mapping)] for stage 0 (the data section) and each curriculum stage."""
    base = cfg.data.model_dump()
    stages = [(0, base)]
    for stage in cfg.curriculum:
        at = stage.at_step if stage.at_step is not None else round(stage.at_fraction * cfg.stop.max_steps)
        data = dict(stages[-1][1])
        if "dataset" in stage.data or "packed" in stage.data:
            data.update(dataset=None, packed=None, build=None)
        data.update(stage.data)
        stages.append((at, data))
    stages.sort(key=lambda s: s[0])
    return stages


# ---------------------------------------------------------------------- logs


class Logger:
    """JSONL + TensorBoard + a progress line, on the main process only."""

    def __init__(self, run_dir: Path, cfg: TrainConfig, enabled: bool, resume_step: int | None) -> None:
        self.enabled = enabled
        self.path = run_dir / "log.jsonl"
        self.progress = cfg.log.progress
        self.tb = None
        if not enabled:
            return
        if resume_step is not None and self.path.exists():
            # Forget what was logged after the checkpoint we resume from.
            kept = [
                line
                for line in self.path.read_text().splitlines()
                if line and json.loads(line).get("step", 0) <= resume_step
            ]
            self.path.write_text("".join(line + "\n" for line in kept))
        elif resume_step is None:
            self.path.write_text("")
        if cfg.log.tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(str(run_dir / "tensorboard"))
            except ImportError:  # pragma: no cover - tensorboard is a dependency
                print("cadmus train: tensorboard not available, not writing events", file=sys.stderr)

    def write(self, record: dict[str, Any]) -> None:
        if not self.enabled:
            return
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")
        if self.tb is not None:
            event = record.get("event", "train")
            for key, value in record.items():
                if key not in ("event", "step") and isinstance(value, int | float) and value is not None:
                    self.tb.add_scalar(f"{event}/{key}", value, record.get("step", 0))

    def say(self, text: str) -> None:
        if self.enabled and self.progress:
            print(text, flush=True)

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()


def fmt_time(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "?"
    s = round(seconds)
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


# --------------------------------------------------------------------- train


def train(cfg: TrainConfig, *, on_eval: OnEval | None = None) -> Path:
    """Train according to `cfg`; returns the run directory."""
    wall_start = time.perf_counter()
    rt = setup_runtime(cfg)
    run_dir = Path(cfg.out_dir)
    if rt.main:
        run_dir.mkdir(parents=True, exist_ok=True)
    rt.barrier()
    ckpt_root = run_dir / "checkpoints"

    # Resume point (verified before anything is built from it).
    resume_from = None
    if cfg.resume:
        resume_from = latest_checkpoint(ckpt_root)
        if resume_from is not None:
            verify_checkpoint(resume_from)
        elif rt.main:
            print(f"cadmus train: no checkpoint in {ckpt_root}, starting from scratch", file=sys.stderr)

    # Data of every stage, and the tokenizer it fixes.
    sources = DataSources(cfg, run_dir, rt)
    stages = stage_starts(cfg)
    first_train = sources.split(stages[0][1], cfg.data.train_split)
    tokenizer = sources.tokenizer

    # Model: the same initialisation on every process.
    seed_everything(cfg.seed)
    mconf = preset_config(cfg.model.preset, **{"vocab_size": tokenizer.vocab_size, **cfg.model.overrides()})
    model = GPT(mconf).to(rt.device)
    longest = int(np.diff(first_train.offsets).max(initial=0))
    if rt.main and cfg.data.batching == "rows" and longest > mconf.block_size + 1:
        print(
            f"cadmus train: examples up to {longest} tokens are cut to block_size {mconf.block_size} + 1",
            file=sys.stderr,
        )
    optimizers = build_optimizers(model, cfg.optim, rt.device.type)

    step, train_time, tokens_seen, wall_before = 0, 0.0, 0, 0.0
    if resume_from is not None:
        state = load_torch(resume_from / TRAINER)
        loaded = load_model(resume_from, expect=mconf)
        model.load_state_dict(loaded.state_dict())
        for opt, opt_state in zip(optimizers, state["optimizers"], strict=True):
            opt.load_state_dict(opt_state)
        step, train_time, tokens_seen = state["step"], state["train_time"], state["tokens"]
        wall_before = state.get("wall_time", 0.0)
        rngs = state["rng"]
        set_rng_state(rngs[rt.rank] if rt.rank < len(rngs) else rngs[0])
    else:
        # Different dropout masks per process; same model init (seeded above).
        seed_everything(cfg.seed + 1000 * rt.rank + 1)

    raw = model
    if cfg.compile:
        model = torch.compile(model)
    if rt.ddp:
        from torch.nn.parallel import DistributedDataParallel as DDP

        model = DDP(model, device_ids=[rt.device.index] if rt.device.type == "cuda" else None)
    autocast = (
        torch.autocast(device_type=rt.device.type, dtype=torch.bfloat16)
        if rt.dtype == "bf16"
        else nullcontext()
    )

    # Peak FLOP/s for MFU.
    if rt.device.type == "cuda":
        peak = gpu_peak_flops(torch.cuda.get_device_name(rt.device), rt.dtype)
    else:
        peak = cpu_peak_flops(torch.get_num_threads(), run_dir) if rt.main else None
        if rt.ddp:
            box = [peak]
            dist.broadcast_object_list(box, src=0)
            peak = box[0]

    logger = Logger(run_dir, cfg, rt.main, step if resume_from is not None else None)
    if rt.main:
        (run_dir / "config.json").write_text(json.dumps(cfg.model_dump(), indent=2) + "\n")
        tokenizer.save(run_dir / "tokenizer.json")
        logger.say(
            f"cadmus train: {cfg.model.preset} model, {raw.n_params():,} non-embedding parameters "
            f"({raw.n_params(embeddings=True):,} in all); {rt.world} x {rt.device.type}, {rt.dtype}, "
            f"{torch.get_num_threads()} threads; peak {peak / 1e9:.1f} GFLOP/s"
            if peak
            else f"cadmus train: {cfg.model.preset} model, {raw.n_params():,} non-embedding parameters; "
            f"{rt.world} x {rt.device.type}, {rt.dtype}; peak FLOP/s unknown (no MFU)"
        )
        if resume_from is not None:
            logger.say(f"cadmus train: resumed from {resume_from} at step {step}")

    G = cfg.batch.micro * cfg.batch.accum * rt.world
    stop = cfg.stop

    def progress(step: int, tokens: int, seconds: float) -> float:
        parts = [0.0]
        if stop.max_steps:
            parts.append(step / stop.max_steps)
        if stop.max_tokens:
            parts.append(tokens / stop.max_tokens)
        if stop.max_time_s:
            parts.append(seconds / stop.max_time_s)
        return max(parts)

    batcher, stage_idx = None, -1

    def stage_for(step: int) -> int:
        return max(i for i, (at, _) in enumerate(stages) if at <= step)

    val_batchers: dict[int, Batcher | None] = {}

    def validate(step: int) -> dict[str, Any]:
        record: dict[str, Any] = {"event": "eval", "step": step}
        if cfg.data.val_split is not None:
            if stage_idx not in val_batchers:
                try:
                    val_batchers[stage_idx] = sources.batcher(
                        {**stages[stage_idx][1], "where": {}, "weights": {}},
                        cfg.data.val_split,
                        stage=0,
                        shuffle=False,
                        block_size=mconf.block_size,
                    )
                except Exception as err:  # a missing val split is not fatal
                    if rt.main:
                        print(f"cadmus train: no validation loss ({err})", file=sys.stderr)
                    val_batchers[stage_idx] = None
            vb = val_batchers[stage_idx]
            if vb is not None:
                raw.eval()
                totals = torch.zeros(2, dtype=torch.float64, device=rt.device)
                with torch.no_grad(), autocast:
                    for j in range(rt.rank, cfg.eval.batches, rt.world):
                        b = vb.micro_batch(j * cfg.batch.micro)
                        logits = raw(b.x.to(rt.device))
                        y = b.y.to(rt.device)
                        totals[0] += F.cross_entropy(
                            logits.float().flatten(0, 1), y.flatten(), ignore_index=-1, reduction="sum"
                        )
                        totals[1] += b.n_loss
                if rt.ddp:
                    dist.all_reduce(totals)
                raw.train()
                record["val_loss"] = (totals[0] / totals[1].clamp(min=1)).item()
        if on_eval is not None and rt.main:
            raw.eval()
            extra = on_eval(raw, step) or {}
            raw.train()
            record.update(extra)
        rt.barrier()
        return record

    def validate_and_log(step: int) -> None:
        record = validate(step)
        logger.write(record)
        logger.say(
            " | ".join(
                f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
                for k, v in record.items()
                if k != "event"
            )
        )

    def checkpoint(step: int) -> None:
        rngs = [rng_state()]
        if rt.ddp:
            gathered: list[Any] = [None] * rt.world
            dist.all_gather_object(gathered, rngs[0])
            rngs = gathered
        if rt.main:
            trainer_state = {
                "step": step,
                "optimizers": [opt.state_dict() for opt in optimizers],
                "rng": rngs,
                "train_time": train_time,
                "tokens": tokens_seen,
                "wall_time": wall_before + time.perf_counter() - wall_start,
                "data": {
                    "stage": stage_idx,
                    "stage_start": stages[stage_idx][0],
                    "items": (step - stages[stage_idx][0]) * G,
                },
                "world": rt.world,
                "config": cfg.model_dump(mode="json"),
            }

            def fill(tmp: Path) -> None:
                save_model(raw, tmp)
                tokenizer.save(tmp / "tokenizer.json")
                save_torch(trainer_state, tmp / TRAINER)

            path = write_checkpoint(ckpt_root, step, fill, keep=cfg.checkpoint.keep)
            logger.write({"event": "checkpoint", "step": step, "path": str(path)})
        rt.barrier()

    raw.train()
    last_log = {"time": train_time, "positions": 0, "flops": 0.0}
    window_positions, window_flops = 0, 0.0
    loss_value = float("nan")
    while True:
        p = progress(step, tokens_seen, train_time)
        if p >= 1.0:
            break
        t0 = time.perf_counter()
        i = stage_for(step)
        if i != stage_idx:
            stage_idx = i
            batcher = sources.batcher(
                stages[i][1], cfg.data.train_split, stage=i, shuffle=True, block_size=mconf.block_size
            )
            if step > 0 or i > 0:
                logger.say(f"cadmus train: curriculum stage {i} from step {stages[i][0]}")
        # The micro-batches of this process for this step.
        base = (step - stages[stage_idx][0]) * G
        batches = [
            batcher.micro_batch(base + (a * rt.world + rt.rank) * cfg.batch.micro)
            for a in range(cfg.batch.accum)
        ]
        counts = torch.tensor(
            [
                sum(b.n_loss for b in batches),
                sum(b.positions for b in batches),
                sum(b.positions * raw.flops_per_token(b.x.size(1)) for b in batches),
                train_time,
            ],
            dtype=torch.float64,
            device=rt.device,
        )
        if rt.ddp:
            dist.all_reduce(counts)
            counts[3] /= rt.world
        n_loss, positions, flops = int(counts[0].item()), int(counts[1].item()), float(counts[2].item())
        train_time = float(counts[3].item())  # identical on every process
        lr_mult = lr_multiplier(
            cfg.schedule.kind,
            step,
            progress(step, tokens_seen, train_time),
            cfg.schedule.warmup_steps,
            cfg.schedule.min_lr_ratio,
            cfg.schedule.decay_fraction,
        )
        set_lr(optimizers, lr_mult)
        loss_sum = torch.zeros((), dtype=torch.float32, device=rt.device)
        for a, b in enumerate(batches):
            sync = nullcontext() if not rt.ddp or a == len(batches) - 1 else model.no_sync()
            x, y = b.x.to(rt.device, non_blocking=True), b.y.to(rt.device, non_blocking=True)
            with sync:
                with autocast:
                    logits = model(x)
                token_losses = F.cross_entropy(
                    logits.float().flatten(0, 1), y.flatten(), ignore_index=-1, reduction="sum"
                )
                (token_losses * (rt.world / max(n_loss, 1))).backward()
            loss_sum += token_losses.detach()
        grad_norm = None
        if cfg.optim.grad_clip is not None:
            grad_norm = torch.nn.utils.clip_grad_norm_(raw.parameters(), cfg.optim.grad_clip)
        for opt in optimizers:
            opt.step()
        for opt in optimizers:
            opt.zero_grad(set_to_none=True)
        step += 1
        tokens_seen += positions
        window_positions += positions
        window_flops += flops
        if rt.device.type == "cuda" and (step % cfg.log.interval == 0):
            torch.cuda.synchronize(rt.device)
        train_time += time.perf_counter() - t0

        if step % cfg.log.interval == 0 or progress(step, tokens_seen, train_time) >= 1.0:
            if rt.ddp:
                dist.all_reduce(loss_sum)
            loss_value = loss_sum.item() / max(n_loss, 1)
            dt = max(train_time - last_log["time"], 1e-9)
            tps = window_positions / dt
            mfu = window_flops / dt / (peak * rt.world) if peak else None
            p = progress(step, tokens_seen, train_time)
            eta = train_time * (1 - p) / p if p > 0 else None
            record = {
                "event": "train",
                "step": step,
                "loss": loss_value,
                "lr": cfg.optim.lr * lr_mult,
                "lr_mult": lr_mult,
                "grad_norm": float(grad_norm) if grad_norm is not None else None,
                "tokens": tokens_seen,
                "tokens_per_s": tps,
                "mfu": mfu,
                "train_time_s": train_time,
                "elapsed_s": wall_before + time.perf_counter() - wall_start,
                "eta_s": eta,
                "stage": stage_idx,
            }
            logger.write(record)
            total = f"/{stop.max_steps}" if stop.max_steps else ""
            mfu_text = f"{mfu * 100:.1f}%" if mfu is not None else "?"
            logger.say(
                f"step {step}{total} | loss {loss_value:.4f} | lr {record['lr']:.2e} | "
                f"{tps / 1e3:.1f}k tok/s | mfu {mfu_text} | {fmt_time(train_time)} | eta {fmt_time(eta)}"
            )
            last_log = {"time": train_time}
            window_positions, window_flops = 0, 0.0

        done = progress(step, tokens_seen, train_time) >= 1.0
        if cfg.eval.interval and step % cfg.eval.interval == 0 and not (done and cfg.eval.at_end):
            validate_and_log(step)
        if (
            cfg.checkpoint.interval
            and step % cfg.checkpoint.interval == 0
            and not (done and cfg.checkpoint.at_end)
        ):
            checkpoint(step)

    if stage_idx < 0:  # the budget was already spent (resumed at the end)
        stage_idx = stage_for(step)
    if cfg.eval.at_end:
        validate_and_log(step)
    if cfg.checkpoint.at_end:
        checkpoint(step)

    wall = wall_before + time.perf_counter() - wall_start
    device_hours = wall / 3600 * rt.world
    summary = {
        "event": "end",
        "step": step,
        "loss": loss_value,
        "wall_time_s": wall,
        "train_time_s": train_time,
        "tokens": tokens_seen,
        "devices": rt.world,
        "device": str(rt.device.type),
        "device_hours": device_hours,
        "price_per_hour": cfg.price_per_hour,
        "cost": device_hours * cfg.price_per_hour,
        "peak_flops": peak,
        "n_params": raw.n_params(),
        "n_params_all": raw.n_params(embeddings=True),
    }
    logger.write(summary)
    if rt.main:
        (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        logger.say(
            f"cadmus train: done at step {step} | wall {fmt_time(wall)} (training {fmt_time(train_time)}) | "
            f"{device_hours:.4f} device-hours x {rt.world} {rt.device.type} | est. cost "
            f"{summary['cost']:.4f} at {cfg.price_per_hour}/device-hour | run dir {run_dir}"
        )
    logger.close()
    rt.barrier()
    return run_dir


__all__ = ["CheckpointError", "train"]
