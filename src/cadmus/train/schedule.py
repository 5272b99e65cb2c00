"""Learning-rate schedules as a multiplier of the peak rate.

The multiplier depends on the step (warmup) and on *progress* p in [0, 1]:
the fraction of the training budget used, the larger of step/max_steps and
tokens/max_tokens. Both count work, not time, so the schedule -- and with
it the whole run -- is a function of the config and seed, whatever the
machine's speed or load. (``stop.max_time_s`` is only a guard that ends a
run early; it never moves the schedule.)
"""

from __future__ import annotations

import math

from cadmus.train.config import StopSection


def budget_progress(step: int, tokens: int, stop: StopSection) -> float:
    """Fraction of the step or token budget used (the larger one); 1.0 means spent."""
    parts = [0.0]
    if stop.max_steps:
        parts.append(step / stop.max_steps)
    if stop.max_tokens:
        parts.append(tokens / stop.max_tokens)
    return max(parts)


def lr_multiplier(
    kind: str,
    step: int,
    progress: float,
    warmup_steps: int,
    min_ratio: float,
    decay_fraction: float,
    decay_end: float = 1.0,
) -> float:
    """The lr as a fraction of the peak. The decay (cosine or wsd) is laid over the first
    `decay_end` of the budget and reaches `min_ratio` there; the lr then stays at that floor."""
    if warmup_steps and step < warmup_steps:
        return (step + 1) / warmup_steps
    p = min(max(progress, 0.0) / decay_end, 1.0)
    if kind == "constant":
        return 1.0
    if kind == "cosine":
        return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * p))
    if kind == "wsd":
        start = 1.0 - decay_fraction
        if p <= start:
            return 1.0
        return 1.0 - (1.0 - min_ratio) * (p - start) / decay_fraction
    raise ValueError(f"unknown schedule {kind!r}")
