"""Where training data comes from: datasets built and packed on first use, and
the curriculum stages that switch between them.

`DataSources` turns a data mapping (the ``data`` section, or a curriculum
stage's version of it) into a packed split and a `Batcher`, building the
dataset and packing it under the run directory the first time (the main
process works, the others wait). `stage_starts` lists the stages with the
step each starts at. `TrainData` serves each step's micro-batches in the
order described in `cadmus.train.data`, entering a new stage when its step
comes, and the validation batches of the stage in force.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NamedTuple

from cadmus.train.backend import Backend
from cadmus.train.config import StageCondition, TrainConfig
from cadmus.train.data import Batch, Batcher, DataError, read_metadata, select_items
from cadmus.train.runtime import Runtime


class Stage(NamedTuple):
    start: int | None  # first step of the stage; None for a `when` stage not started yet
    data: dict[str, Any]  # the data section in force from then on
    when: StageCondition | None = None  # difficulty-driven start


def stage_starts(cfg: TrainConfig) -> list[Stage]:
    """Stage 0 (the data section) and each curriculum stage: fixed-step stages in order of their
    first step, then the `when` stages in the order listed (their start is found while training)."""
    fixed = [Stage(0, cfg.data.model_dump())]
    for stage in cfg.curriculum:
        if stage.when is None:
            at = stage.at_step if stage.at_step is not None else round(stage.at_fraction * cfg.stop.max_steps)
            fixed.append(Stage(at, stage_data(fixed[-1].data, stage.data)))
    fixed.sort(key=lambda s: s.start)
    stages = fixed
    for stage in cfg.curriculum:
        if stage.when is not None:
            stages.append(Stage(None, stage_data(stages[-1].data, stage.data), stage.when))
    return stages


def stage_data(before: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    """The data section of a stage: the one before it with the stage's keys changed."""
    data = dict(before)
    if "dataset" in change or "packed" in change:
        data.update(dataset=None, packed=None, build=None)
    data.update(change)
    return data


def build_dataset(data_config: str, out_dir: Path) -> None:
    """Build (or finish building) a dataset from a data config (cadmus.data) into out_dir."""
    from cadmus.data import build_dataset as build

    build(data_config, out_dir, workers=1, progress=False)


class DataSources:
    """Packs datasets on first use (main process first, with the backend's tokenizer) and hands
    out batchers."""

    def __init__(self, cfg: TrainConfig, run_dir: Path, rt: Runtime, backend: Backend) -> None:
        self.cfg = cfg
        self.run_dir = run_dir
        self.rt = rt
        self.backend = backend
        self._packed: dict[str, tuple[Path, Path | None]] = {}
        self.tokenizer = None

    def _source(self, data: dict[str, Any]) -> tuple[Path, Path | None]:
        """(packed dir, dataset dir or None) for a data mapping."""
        from cadmus.tokenizer import pack

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
                pack(dataset, self.backend.pack_tokenizer(self.cfg), packed)
            self.rt.barrier()
        self._packed[key] = (packed, dataset)
        return packed, dataset

    def split(self, data: dict[str, Any], split: str):
        """The packed split (`cadmus.tokenizer.PackedSplit`); every stage must share one tokenizer."""
        from cadmus.tokenizer import PackedSplit

        packed, _ = self._source(data)
        arrays = PackedSplit(packed, split)
        tokenizer = self.backend.packed_tokenizer(arrays, self.tokenizer)
        if self.tokenizer is None:
            self.tokenizer = tokenizer
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


class TrainData:
    """The micro-batches of this process at each step, and validation batches, stage by stage."""

    def __init__(self, sources: DataSources, stages: list[Stage], rt: Runtime, block_size: int) -> None:
        self.sources = sources
        self.stages = stages
        self.rt = rt
        self.block_size = block_size
        cfg = sources.cfg
        self.micro, self.accum = cfg.batch.micro, cfg.batch.accum
        self.global_batch = self.micro * self.accum * rt.world  # sequences per step
        self.stage = -1
        self._train: Batcher | None = None
        self._val: dict[int, Batcher | None] = {}

    def stage_at(self, step: int) -> int:
        return max(i for i, s in enumerate(self.stages) if s.start is not None and s.start <= step)

    def starts(self) -> list[int | None]:
        """The first step of every stage (None: a `when` stage not started): kept in checkpoints."""
        return [s.start for s in self.stages]

    def restore_starts(self, starts: list[int | None]) -> None:
        """The `when` stages' starts from a checkpoint (fixed stages come from the config)."""
        if len(starts) != len(self.stages):
            raise DataError(
                f"the checkpoint has {len(starts)} curriculum stages, the config {len(self.stages)}",
                key="curriculum",
            )
        self.stages = [
            s._replace(start=at) if s.when is not None else s for s, at in zip(self.stages, starts)
        ]

    def waiting(self) -> bool:
        """Whether the next stage starts on a condition and has not started yet."""
        i = self.stage + 1
        return i < len(self.stages) and self.stages[i].when is not None and self.stages[i].start is None

    def due(self, record: dict[str, Any], next_step: int) -> int | None:
        """The `when` stage whose condition holds on an evaluation record taken while the stage
        before it is in force (it is to start at `next_step`), if any; changes nothing."""
        if not self.waiting():
            return None
        i = self.stage + 1
        when = self.stages[i].when
        if when.metric not in record:
            raise DataError(
                f"curriculum stage {i} waits on {when.metric!r}, which the evaluation does not report "
                f"(it has: {', '.join(sorted(k for k in record if k not in ('event', 'step')))})",
                key=f"curriculum[{i - 1}].when.metric",  # `when` stages are listed last (config)
            )
        if record[when.metric] is None:
            raise DataError(
                f"curriculum stage {i} waits on {when.metric!r}, which this evaluation could not "
                f"measure: the stage in force keeps no validation prompt (its data.where filters "
                f"them all out)",
                key=f"curriculum[{i - 1}].when.metric",
            )
        waited = next_step - (self.stages[self.stage].start or 0)
        if not when.holds(float(record[when.metric])) and (when.within is None or waited < when.within):
            return None
        return i

    def start(self, i: int, step: int) -> None:
        """Stage `i` starts at `step` (the trainer enters it there)."""
        self.stages[i] = self.stages[i]._replace(start=step)

    def where(self) -> dict[str, Any]:
        """The `where` filter of the stage in force: column -> (lo, hi)."""
        return {c: (lo, hi) for c, (lo, hi) in (self.stages[self.stage].data.get("where") or {}).items()}

    def enter(self, step: int) -> bool:
        """Use the stage that `step` falls in; True when that is a change of stage."""
        i = self.stage_at(step)
        if i == self.stage:
            return False
        self.stage = i
        self._train = self.sources.batcher(
            self.stages[i].data,
            self.sources.cfg.data.train_split,
            stage=i,
            shuffle=True,
            block_size=self.block_size,
        )
        return True

    def items_done(self, step: int) -> int:
        """Items of the current stage consumed before `step` (all processes)."""
        return (step - self.stages[self.stage].start) * self.global_batch

    def micro_batches(self, step: int) -> list[Batch]:
        """Micro-batch ``a`` of this process is micro-batch ``a * world + rank`` of the step
        (of the stage `enter(step)` switched to)."""
        base = self.items_done(step)
        rt = self.rt
        return [
            self._train.micro_batch(base + (a * rt.world + rt.rank) * self.micro) for a in range(self.accum)
        ]

    def validation(self) -> Batcher | None:
        """Validation batches of the current stage (unfiltered, in order), or None without a val split."""
        split = self.sources.cfg.data.val_split
        if split is None:
            return None
        if self.stage not in self._val:
            data = {**self.stages[self.stage].data, "where": {}, "weights": {}}
            try:
                self._val[self.stage] = self.sources.batcher(
                    data, split, stage=0, shuffle=False, block_size=self.block_size
                )
            except Exception as err:  # a missing val split is not fatal
                if self.rt.main:
                    print(f"cadmus train: no validation loss ({err})", file=sys.stderr)
                self._val[self.stage] = None
        return self._val[self.stage]
