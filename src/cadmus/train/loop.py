"""The training loop: one code path for CPU, one GPU, and DDP under torchrun.

`train` reads top to bottom as named phases. Each is a function of what it
is given: the `Run` that set-up built (config, processes, data, model,
optimizers, logger; `cadmus.train.setup`) and the `TrainState` that changes
as training runs (step, tokens, training time, ...).

1. set-up     -- processes and device, data stages, model and optimizers,
                 resumed from the latest checkpoint when asked;
2. data       -- the curriculum stage of the step (`cadmus.train.sources`);
3. step       -- forward/backward over this process's micro-batches, one
                 optimizer step; a log line every ``log.interval`` steps;
4. evaluate   -- validation loss and the evaluator hook, every ``eval.interval``;
5. checkpoint -- every ``checkpoint.interval``;
6. finish     -- last evaluation and checkpoint, end record, ``summary.json``.

Budget: ``stop.max_steps`` and/or ``stop.max_tokens``; training ends when one
is spent, and the lr schedule follows the fraction used. Work, not time: the
weights and losses of a run depend on the config and seed only. The optional
``stop.max_time_s`` is a guard: once training time passes it, every process
stops (the flag is reduced across processes), says so on one line, records
``stopped_by: time_guard`` and still writes its final checkpoint.

Loss normalisation: the loss of a step is the mean over every counted target
token of the global batch (all micro-batches of all processes). Each
micro-batch contributes ``sum of its token losses / global count``
(``model(x, y, reduction="sum")``), scaled by the world size because DDP
averages gradients. The global count is summed across processes before the
forward passes, so one process with ``accum = A * W`` and W processes with
``accum = A`` compute the same gradient up to the order of float additions.
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from cadmus.files import write_json
from cadmus.train.backend import Backend
from cadmus.train.checkpoint import TRAINER, save_torch, write_checkpoint
from cadmus.train.config import TrainConfig
from cadmus.train.data import Batch, Batcher, DataError
from cadmus.train.logs import fmt_time, format_record
from cadmus.train.optim import set_lr
from cadmus.train.runtime import Runtime, rng_state
from cadmus.train.schedule import budget_progress, lr_multiplier
from cadmus.train.setup import OnEval, Run, TrainState, set_up

BUDGET, TIME_GUARD = "budget", "time_guard"  # values of `TrainState.stopped_by`


@dataclass
class StepResult:
    loss_sum: torch.Tensor  # sum of this process's token losses
    n_loss: int  # counted target tokens of the step, all processes
    positions: int  # input positions of the step, all processes
    flops: float  # training FLOPs of the step, all processes
    lr_mult: float
    grad_norm: torch.Tensor | None


@dataclass
class Window:
    """Throughput since the last log line."""

    since: float  # train_time at the last log line
    positions: int = 0
    flops: float = 0.0

    def add(self, result: StepResult) -> None:
        self.positions += result.positions
        self.flops += result.flops


# --------------------------------------------------------------------- train


def train(cfg: TrainConfig, *, on_eval: OnEval | None = None, backend: Backend | None = None) -> Path:
    """Train according to `cfg`; returns the run directory.

    ``on_eval(model, step)`` runs on the main process at every evaluation; a
    dict it returns is logged with the validation loss. `backend` is the model
    family (`cadmus.train.backend`): None trains Cadmus's own GPT.
    """
    run, state = set_up(cfg, on_eval, backend)  # set-up
    window = Window(since=state.train_time)
    state.stopped_by = stop_reason(run, state)
    while state.stopped_by is None:
        enter_stage(run, state)  # data
        result = train_step(run, state)  # step
        window.add(result)
        state.stopped_by = stop_reason(run, state)
        if due(state.step, cfg.log.interval) or state.stopped_by:
            log_step(run, state, result, window)
        last = state.stopped_by is not None
        if due(state.step, cfg.eval.interval) and not (last and cfg.eval.at_end):
            evaluate(run, state)  # evaluate
        if due(state.step, cfg.checkpoint.interval) and not (last and final_checkpoint(run, state)):
            save_checkpoint(run, state)  # checkpoint
    finish(run, state)  # finish
    return run.run_dir


def due(step: int, interval: int | None) -> bool:
    return interval is not None and step % interval == 0


def stop_reason(run: Run, state: TrainState) -> str | None:
    """BUDGET once the step or token budget is spent, TIME_GUARD once any process passed the guard."""
    if budget_progress(state.step, state.tokens, run.cfg.stop) >= 1.0:
        return BUDGET
    guard = run.cfg.stop.max_time_s
    if guard is not None and run.rt.any(state.train_time >= guard):
        return TIME_GUARD
    return None


def final_checkpoint(run: Run, state: TrainState) -> bool:
    """Whether `finish` writes a checkpoint: when asked, and always after the time guard."""
    return run.cfg.checkpoint.at_end or state.stopped_by == TIME_GUARD


def enter_stage(run: Run, state: TrainState) -> None:
    """Switch to the curriculum stage of this step (building its batcher), and say so."""
    data = run.data
    if data.enter(state.step) and (state.step > 0 or data.stage > 0):
        run.logger.say(
            f"cadmus train: curriculum stage {data.stage} from step {data.stages[data.stage].start}"
        )


def elapsed(run: Run, state: TrainState) -> float:
    """Wall-clock seconds of the whole run, across resumes."""
    return state.wall_before + time.perf_counter() - run.wall_start


# ---------------------------------------------------------------------- step


def train_step(run: Run, state: TrainState) -> StepResult:
    """Forward and backward over this process's micro-batches, then one optimizer step."""
    cfg, rt = run.cfg, run.rt
    started = time.perf_counter()
    batches = run.data.micro_batches(state.step)
    n_loss, positions, flops = global_counts(batches, run.raw, rt)
    progress = budget_progress(state.step, state.tokens, cfg.stop)
    s = cfg.schedule
    lr_mult = lr_multiplier(
        s.kind, state.step, progress, s.warmup_steps, s.min_lr_ratio, s.decay_fraction, s.decay_end
    )
    set_lr(run.optimizers, lr_mult)
    loss_sum = torch.zeros((), dtype=torch.float32, device=rt.device)
    for a, b in enumerate(batches):
        # DDP all-reduces the gradients once, on the last micro-batch.
        sync = run.model.no_sync() if rt.ddp and a < len(batches) - 1 else nullcontext()
        x, y = b.x.to(rt.device, non_blocking=True), b.y.to(rt.device, non_blocking=True)
        with sync:
            with run.autocast:
                _, loss = run.model(x, y, reduction="sum")
            (loss * (rt.world / max(n_loss, 1))).backward()
        loss_sum += loss.detach()
    grad_norm = None
    if cfg.optim.grad_clip is not None:
        grad_norm = torch.nn.utils.clip_grad_norm_(run.raw.parameters(), cfg.optim.grad_clip)
    for opt in run.optimizers:
        opt.step()
    for opt in run.optimizers:
        opt.zero_grad(set_to_none=True)
    state.step += 1
    state.tokens += positions
    if rt.device.type == "cuda" and state.step % cfg.log.interval == 0:
        torch.cuda.synchronize(rt.device)  # so that the time of a logged step is complete
    state.train_time += time.perf_counter() - started
    return StepResult(loss_sum, n_loss, positions, flops, lr_mult, grad_norm)


def global_counts(batches: list[Batch], raw: nn.Module, rt: Runtime) -> tuple[int, int, float]:
    """Counted targets, input positions and training FLOPs of the step, summed over processes."""
    n_loss = sum(b.n_loss for b in batches)
    positions = sum(b.positions for b in batches)
    flops = sum(b.positions * raw.flops_per_token(b.x.size(1)) for b in batches)
    if not rt.ddp:  # no device tensor, no sync
        return n_loss, positions, float(flops)
    counts = torch.tensor([n_loss, positions, flops], dtype=torch.float64, device=rt.device)
    dist.all_reduce(counts)
    n_loss_all, positions_all, flops_all = counts.tolist()
    return int(n_loss_all), int(positions_all), float(flops_all)


def log_step(run: Run, state: TrainState, result: StepResult, window: Window) -> None:
    """The step's global loss, lr, throughput and MFU since the last log line (all processes call it)."""
    cfg, rt = run.cfg, run.rt
    if rt.ddp:
        dist.all_reduce(result.loss_sum)
    state.loss = result.loss_sum.item() / max(result.n_loss, 1)
    dt = max(state.train_time - window.since, 1e-9)
    tps = window.positions / dt
    mfu = window.flops / dt / (run.peak * rt.world) if run.peak else None
    p = budget_progress(state.step, state.tokens, cfg.stop)
    eta = state.train_time * (1 - p) / p if p > 0 else None
    if eta is not None and cfg.stop.max_time_s is not None:
        eta = min(eta, max(cfg.stop.max_time_s - state.train_time, 0.0))
    record = {
        "event": "train",
        "step": state.step,
        "loss": state.loss,
        "lr": cfg.optim.lr * result.lr_mult,
        "lr_mult": result.lr_mult,
        "grad_norm": float(result.grad_norm) if result.grad_norm is not None else None,
        "tokens": state.tokens,
        "tokens_per_s": tps,
        "mfu": mfu,
        "train_time_s": state.train_time,
        "elapsed_s": elapsed(run, state),
        "eta_s": eta,
        "stage": run.data.stage,
    }
    run.logger.write(record)
    total = f"/{cfg.stop.max_steps}" if cfg.stop.max_steps else ""
    mfu_text = f"{mfu * 100:.1f}%" if mfu is not None else "?"
    run.logger.say(
        f"step {state.step}{total} | loss {state.loss:.4f} | lr {record['lr']:.2e} | "
        f"{tps / 1e3:.1f}k tok/s | mfu {mfu_text} | {fmt_time(state.train_time)} | eta {fmt_time(eta)}"
    )
    window.since, window.positions, window.flops = state.train_time, 0, 0.0


# ------------------------------------------------------------------ evaluate


def evaluate(run: Run, state: TrainState) -> None:
    """Validation loss of the current stage and the evaluator hook's figures, logged."""
    record: dict[str, Any] = {"event": "eval", "step": state.step}
    batcher = run.data.validation()
    if batcher is not None:
        record["val_loss"] = validation_loss(run, batcher)
    if run.on_eval is not None and run.rt.main:
        run.raw.eval()
        record.update(run.on_eval(run.raw, state.step, where=run.data.where()) or {})
        run.raw.train()
    run.rt.barrier()
    run.logger.write(record)
    run.logger.say(format_record(record))
    if not run.data.waiting():  # every process knows the stages: no exchange needed
        return
    due: tuple[int | None, str | None, str | None] = (None, None, None)
    if run.rt.main:
        try:
            due = (run.data.due(record, state.step), None, None)
        except DataError as err:
            due = (None, err.message, err.key)
    started, message, key = run.rt.from_main(due)  # a refusal stops every process, not the main one alone
    if message is not None:
        raise DataError(message, key=key)
    if started is not None:
        run.data.start(started, state.step)
        run.logger.write({"event": "stage", "step": state.step, "stage": started})
        when = run.data.stages[started].when
        run.logger.say(
            f"cadmus train: curriculum stage {started} starts at step {state.step} "
            f"({when.metric} {record.get(when.metric)}; condition above={when.above}, below={when.below}, "
            f"within={when.within})"
        )


def validation_loss(run: Run, batcher: Batcher) -> float:
    """Mean loss over the counted tokens of ``eval.batches`` micro-batches, shared among processes."""
    cfg, rt, raw = run.cfg, run.rt, run.raw
    raw.eval()
    totals = torch.zeros(2, dtype=torch.float64, device=rt.device)
    with torch.no_grad(), run.autocast:
        for j in range(rt.rank, cfg.eval.batches, rt.world):
            b = batcher.micro_batch(j * cfg.batch.micro)
            _, loss = raw(b.x.to(rt.device), b.y.to(rt.device), reduction="sum")
            totals[0] += loss
            totals[1] += b.n_loss
    if rt.ddp:
        dist.all_reduce(totals)
    raw.train()
    return (totals[0] / totals[1].clamp(min=1)).item()


# ---------------------------------------------------------------- checkpoint


def save_checkpoint(run: Run, state: TrainState) -> None:
    """Model, optimizers, RNG states of every process and the data position, written atomically."""
    rt = run.rt
    rngs = [rng_state()]
    if rt.ddp:
        gathered: list[Any] = [None] * rt.world
        dist.all_gather_object(gathered, rngs[0])
        rngs = gathered
    if rt.main:
        data = run.data
        trainer_state = {
            "step": state.step,
            "optimizers": [opt.state_dict() for opt in run.optimizers],
            "rng": rngs,
            "train_time": state.train_time,
            "tokens": state.tokens,
            "wall_time": elapsed(run, state),
            "data": {
                "stage": data.stage,
                "stage_start": data.stages[data.stage].start,
                "starts": data.starts(),
                "items": data.items_done(state.step),
            },
            "world": rt.world,
            "config": run.cfg.model_dump(mode="json"),
        }
        fill = partial(write_checkpoint_files, run.backend, run.raw, run.tokenizer, trainer_state)
        path = write_checkpoint(run.run_dir / "checkpoints", state.step, fill, keep=run.cfg.checkpoint.keep)
        run.logger.write({"event": "checkpoint", "step": state.step, "path": str(path)})
    rt.barrier()


def write_checkpoint_files(
    backend: Backend, raw: nn.Module, tokenizer: Any, trainer_state: dict[str, Any], tmp: Path
) -> None:
    backend.save(raw, tokenizer, tmp)
    save_torch(trainer_state, tmp / TRAINER)


# -------------------------------------------------------------------- finish


def finish(run: Run, state: TrainState) -> None:
    """Last evaluation and checkpoint; the end record in log.jsonl and summary.json."""
    cfg, rt = run.cfg, run.rt
    if run.data.stage < 0:  # resumed with the budget already spent: no step has run
        run.data.enter(state.step)
    if state.stopped_by == TIME_GUARD:
        stop = cfg.stop
        of = f"of {stop.max_steps}" if stop.max_steps else f"({state.tokens:,} of {stop.max_tokens:,} tokens)"
        run.logger.notice(
            f"cadmus train: stopped early by the wall-clock guard stop.max_time_s={stop.max_time_s:g} "
            f"at step {state.step} {of}"
        )
    if cfg.eval.at_end:
        evaluate(run, state)
    if final_checkpoint(run, state):
        save_checkpoint(run, state)

    wall = elapsed(run, state)
    device_hours = wall / 3600 * rt.world
    summary = {
        "event": "end",
        "step": state.step,
        "stopped_by": state.stopped_by,
        "loss": state.loss,
        "wall_time_s": wall,
        "train_time_s": state.train_time,
        "tokens": state.tokens,
        "devices": rt.world,
        "device": str(rt.device.type),
        "device_hours": device_hours,
        "price_per_hour": cfg.price_per_hour,
        "cost": device_hours * cfg.price_per_hour,
        "peak_flops": run.peak,
        "n_params": run.raw.n_params(),
        "n_params_all": run.raw.n_params(embeddings=True),
    }
    run.logger.write(summary)
    if rt.main:
        write_json(run.run_dir / "summary.json", summary, sort_keys=False)  # the "finished" mark: atomic
        run.logger.say(
            f"cadmus train: done at step {state.step} ({state.stopped_by}) | wall {fmt_time(wall)} "
            f"(training {fmt_time(state.train_time)}) | {device_hours:.4f} device-hours x {rt.world} "
            f"{rt.device.type} | est. cost {summary['cost']:.4f} at {cfg.price_per_hour}/device-hour | "
            f"run dir {run.run_dir}"
        )
    run.logger.close()
    rt.barrier()


__all__ = ["train"]
