"""What a run writes as it goes: ``log.jsonl``, TensorBoard events and a progress line.

Only the main process writes. On resume, records after the checkpoint's step
are dropped from ``log.jsonl`` so the file reads as one uninterrupted run.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

from cadmus.train.config import TrainConfig


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
                if key not in ("event", "step") and isinstance(value, int | float):
                    self.tb.add_scalar(f"{event}/{key}", value, record.get("step", 0))

    def say(self, text: str) -> None:
        """A progress line (when ``log.progress`` is on)."""
        if self.enabled and self.progress:
            print(text, flush=True)

    def notice(self, text: str) -> None:
        """A line that is shown even when ``log.progress`` is off (how the run ended, say)."""
        if self.enabled:
            print(text, flush=True)

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()


def fmt_time(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "?"
    s = round(seconds)
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


def format_record(record: dict[str, Any]) -> str:
    """``key value | key value`` for a log record (floats with 4 decimals)."""
    return " | ".join(
        f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in record.items() if k != "event"
    )
