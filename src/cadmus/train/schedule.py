"""Learning-rate schedules as a multiplier of the peak rate.

The multiplier depends on the step (warmup) and on *progress* p in [0, 1]:
the fraction of the training budget used (the largest of step/max_steps,
tokens/max_tokens, time/max_time_s). With a step or token budget the
schedule is a pure function of the step; with a wall-clock budget it follows
the clock (so such runs are not bit-reproducible).
"""

from __future__ import annotations

import math


def lr_multiplier(
    kind: str, step: int, progress: float, warmup_steps: int, min_ratio: float, decay_fraction: float
) -> float:
    if warmup_steps and step < warmup_steps:
        return (step + 1) / warmup_steps
    p = min(max(progress, 0.0), 1.0)
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
