"""The training config: typed sections read from YAML, with dotted command-line overrides.

Every section forbids unknown keys. A bad value or key raises `ConfigError`
whose one-line message names the file and the dotted key path, e.g.
``configs/train/tiny-cpu.yaml: key 'optim.lr': Input should be a valid number``.
Overrides (``optim.lr=1e-3 model.n_layer=4``) are parsed as YAML scalars and
applied to the raw mapping before validation, so they are checked the same way.
"""

from __future__ import annotations

import os
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cadmus.configio import FieldError, apply_overrides, load_model, parse_overrides, validate
from cadmus.errors import CadmusError


class ConfigError(CadmusError):
    """A training config that cannot be read or does not validate."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TokenizerSection(Section):
    numbers: Literal["digits", "reversed", "fixed", "whole"] = Field(
        "digits", description="number tokenization scheme (cadmus.tokenizer)"
    )
    width: int = Field(4, description="digits per number for the `fixed` scheme")
    bound: int = Field(1000, description="numbers below this are one token in the `whole` scheme")


class DataSection(Section):
    dataset: str | None = Field(
        None, description="dataset directory (Parquet + manifest) to pack and train on"
    )
    build: str | None = Field(None, description="data config (YAML) to build into {out_dir}/data first")
    packed: str | None = Field(None, description="directory already holding packed token arrays")
    tokenizer: TokenizerSection = Field(default_factory=TokenizerSection)
    loss_on: Literal["completion", "all"] = Field(
        "completion", description="count the loss on completion tokens (+eos) only, or on every token"
    )
    batching: Literal["rows", "windows"] = Field(
        "rows",
        description="rows: one example per row, right-padded to the longest in the batch; "
        "windows: contiguous block_size windows of the packed token stream",
    )
    train_split: str = Field("train", description="split to train on")
    val_split: str | None = Field("val", description="split for the validation loss (null: none)")
    where: dict[str, tuple[float, float]] = Field(
        default_factory=dict,
        description="keep examples whose metadata column lies in [lo, hi], e.g. {n_statements: [1, 3]} (rows only)",
    )
    weights: dict[str, float] = Field(
        default_factory=dict,
        description="sampling weight per value of `weight_by` (e.g. per family); missing values get 0 (rows only)",
    )
    weight_by: str = Field("family", description="metadata column that `weights` refers to")

    @model_validator(mode="after")
    def _one_source(self) -> DataSection:
        given = [k for k in ("dataset", "build", "packed") if getattr(self, k)]
        if len(given) > 1:
            raise ValueError(
                f"give only one of data.dataset, data.build, data.packed (got {', '.join(given)})"
            )
        return self


class LoraSection(Section):
    """Low-rank adapters (peft's LoRA) on some of a pretrained model's linear layers."""

    r: int = Field(8, ge=1, description="rank of each adapter")
    alpha: float = Field(16.0, gt=0, description="scale: an adapter's update is multiplied by alpha / r")
    dropout: float = Field(0.0, ge=0, lt=1, description="dropout on the adapters' input")
    target_modules: list[str] = Field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        min_length=1,
        description="names of the linear layers that get adapters (Llama-style names by default)",
    )


# Positional levers of Cadmus's GPT (cadmus.model.levers, docs/generalization.md).
LEVER_KNOBS = ("abacus", "abacus_max", "abacus_offset", "coupling", "random_positions")
CADMUS_KNOBS = (
    "preset",
    "block_size",
    "n_layer",
    "n_head",
    "n_embd",
    "mlp",
    "norm",
    "pos",
    "dropout",
    "bias",
    "tie_embeddings",
    "qk_norm",
    "rope_base",
    *LEVER_KNOBS,
)
DIGIT_LEVERS = ("abacus", "coupling")  # model levers that read digit indices: numbers must be reversed


class ModelSection(Section):
    preset: str = Field("tiny", description="a name in cadmus.model.PRESETS; the keys below override it")
    block_size: int | None = Field(None, description="context length (longest sequence)")
    n_layer: int | None = Field(None, description="transformer blocks")
    n_head: int | None = Field(None, description="attention heads")
    n_embd: int | None = Field(None, description="width of the residual stream")
    mlp: Literal["gelu", "swiglu", "relu2"] | None = Field(None, description="MLP type")
    norm: Literal["layernorm", "rmsnorm"] | None = Field(None, description="normalisation")
    pos: Literal["rope", "learned", "alibi", "none", "fire"] | None = Field(
        None, description="positional encoding (fire: a learned relative bias, docs/generalization.md)"
    )
    dropout: float | None = Field(None, description="dropout on embeddings, attention and residual branches")
    bias: bool | None = Field(None, description="biases in linear layers and LayerNorm")
    tie_embeddings: bool | None = Field(None, description="lm_head shares the token embedding")
    qk_norm: bool | None = Field(None, description="RMS-normalise queries and keys")
    rope_base: float | None = Field(None, description="rotary base frequency")
    abacus: bool | None = Field(
        None, description="lever: add an embedding of each digit's significance (needs reversed numbers)"
    )
    abacus_max: int | None = Field(None, ge=1, description="Abacus rows: digit significances 1..abacus_max")
    abacus_offset: int | None = Field(
        None, ge=0, description="training: shift each sequence's digit indices by a random k in [0, this]"
    )
    coupling: Literal["statement", "program"] | None = Field(
        None,
        description="lever: digits of equal significance in a statement (or a whole program) share a "
        "position (needs reversed numbers; pos rope or learned)",
    )
    random_positions: int | None = Field(
        None,
        description="lever: training positions are a sorted sample from [0, this) (>= block_size; pos rope "
        "or learned)",
    )

    hf: str | None = Field(
        None,
        description="fine-tune a pretrained Hugging Face causal LM instead: `smollm2` or a local model "
        "directory (config.json + weights + tokenizer); its own tokenizer packs the data. The Cadmus "
        "architecture keys above must then be unset (block_size alone caps the sequence length)",
    )
    lora: LoraSection | None = Field(
        None, description="train LoRA adapters (peft) instead of every weight (needs model.hf)"
    )
    gradient_checkpointing: bool = Field(
        False,
        description="recompute each layer's activations in the backward pass: less memory, about a third "
        "more compute (needs model.hf)",
    )

    @model_validator(mode="after")
    def _hf_or_cadmus(self) -> ModelSection:
        if self.hf is not None:
            if not self.hf.strip():
                raise FieldError("hf", "must name a model directory or `smollm2`")
            # a value other than the default, so that a dumped config validates again
            cadmus_only = [
                k
                for k in CADMUS_KNOBS
                if k != "block_size" and getattr(self, k) != type(self).model_fields[k].default
            ]
            if cadmus_only:
                raise FieldError(
                    cadmus_only[0],
                    "is a key of Cadmus's own architecture; a Hugging Face model "
                    "(model.hf) brings its own: remove it",
                )
        else:
            for key in ("lora", "gradient_checkpointing"):
                if getattr(self, key):
                    raise FieldError(key, "applies to a Hugging Face model only: set model.hf")
        return self

    @model_validator(mode="after")
    def _levers_fit(self) -> ModelSection:
        """Lever knobs are checked with the preset they change, so a bad combination fails on load."""
        if self.hf is not None or all(getattr(self, k) is None for k in LEVER_KNOBS):
            return self
        from cadmus.model import ModelError, preset_config

        try:
            preset_config(self.preset, **self.overrides())
        except ModelError as err:
            raise FieldError(err.key or "preset", err.message) from None
        return self

    def overrides(self) -> dict[str, Any]:
        """The Cadmus architecture keys that are set (those a preset's values give way to)."""
        return {k: getattr(self, k) for k in CADMUS_KNOBS if k != "preset" and getattr(self, k) is not None}


class OptimSection(Section):
    name: Literal["adamw", "muon"] = Field(
        "adamw", description="adamw, or muon for the blocks' matrices + adamw for the rest"
    )
    lr: float = Field(1e-3, description="peak learning rate (AdamW)")
    betas: tuple[float, float] = (0.9, 0.95)
    eps: float = 1e-8
    weight_decay: float = Field(0.1, description="decoupled weight decay on matrices and embeddings")
    grad_clip: float | None = Field(1.0, description="clip the global gradient norm (null: off)")
    muon_lr: float | None = Field(
        None,
        description="peak learning rate of Muon (optim.name = muon); its updates are scaled to AdamW's RMS "
        "(match_rms_adamw), so null means: the same as optim.lr",
    )
    muon_momentum: float = 0.95


class ScheduleSection(Section):
    kind: Literal["cosine", "wsd", "constant"] = Field(
        "cosine", description="after warmup: cosine decay, warmup-stable-decay, or constant"
    )
    warmup_steps: int = Field(100, ge=0)
    min_lr_ratio: float = Field(0.1, ge=0, le=1, description="final lr as a fraction of the peak")
    decay_fraction: float = Field(
        0.2, gt=0, le=1, description="wsd: final fraction of training spent decaying"
    )
    decay_end: float = Field(
        1.0,
        gt=0,
        le=1,
        description="fraction of the budget by which the decay reaches min_lr_ratio; the lr then stays at that floor",
    )


class BatchSection(Section):
    micro: int = Field(32, ge=1, description="sequences per forward pass per process")
    accum: int = Field(1, ge=1, description="gradient accumulation steps")


class StopSection(Section):
    """The budget is work (steps or tokens), never seconds: a run depends on config + seed only."""

    max_steps: int | None = Field(None, ge=1, description="budget: optimizer steps")
    max_tokens: int | None = Field(
        None, ge=1, description="budget: input tokens (positions) processed, all processes"
    )
    max_time_s: float | None = Field(
        None,
        gt=0,
        description="guard, not a budget: stop early (and checkpoint) once training time passes this "
        "many seconds (evaluation and checkpoint time excluded); the schedule ignores it",
    )

    @model_validator(mode="after")
    def _some_budget(self) -> StopSection:
        if self.max_steps is None and self.max_tokens is None:
            raise ValueError(
                "set a budget: stop.max_steps or stop.max_tokens (stop.max_time_s is only a guard)"
            )
        return self


class EvalSection(Section):
    interval: int | None = Field(
        200, ge=1, description="steps between validation passes (null: only at the end)"
    )
    batches: int = Field(10, ge=1, description="validation micro-batches per pass")
    at_end: bool = True
    prompts: int = Field(
        256,
        ge=1,
        description="validation prompts that `cadmus train`'s evaluator hook answers and judges on the VM "
        "at each evaluation (val_accuracy)",
    )
    splits: list[str] = Field(
        default_factory=list,
        description="more splits of the dataset (OOD ones, say) whose first `prompts` prompts the hook "
        "judges at each evaluation too, logged as {split}_accuracy: accuracy-against-steps curves off "
        "the training distribution",
    )


class CheckpointSection(Section):
    interval: int | None = Field(None, ge=1, description="steps between checkpoints (null: only at the end)")
    keep: int = Field(2, ge=1, description="most recent checkpoints kept")
    at_end: bool = True


class LogSection(Section):
    interval: int = Field(10, ge=1, description="steps between log lines")
    tensorboard: bool = True
    progress: bool = True


class StageCondition(Section):
    """A stage that starts when the model is ready for it, not at a fixed step."""

    metric: str = Field(
        "val_accuracy",
        description="a figure of the evaluation record (val_loss, or one the evaluator hook returns: "
        "val_accuracy is measured on the validation prompts that the stage in force trains on)",
    )
    above: float | None = Field(None, description="start once the metric is above this value")
    below: float | None = Field(None, description="start once the metric is below this value")
    within: int | None = Field(
        None,
        ge=1,
        description="start anyway at the first evaluation this many steps or more after the stage "
        "before it started (a stage that never starts is never trained on)",
    )

    @model_validator(mode="after")
    def _one_bound(self) -> StageCondition:
        if (self.above is None) == (self.below is None):
            raise ValueError("a stage condition needs exactly one of above, below")
        return self

    def holds(self, value: float) -> bool:
        return value > self.above if self.above is not None else value < self.below


class StageSection(Section):
    at_step: int | None = Field(None, ge=0)
    at_fraction: float | None = Field(
        None, ge=0, le=1, description="fraction of max_steps (needs stop.max_steps)"
    )
    when: StageCondition | None = Field(
        None,
        description="difficulty-driven: the stage starts at the step after the first evaluation "
        "(while the stage before it is in force) at which the condition holds",
    )
    data: dict[str, Any] = Field(
        default_factory=dict,
        description="data keys that change from this stage on (dataset/packed/where/weights/weight_by)",
    )

    @model_validator(mode="after")
    def _one_trigger(self) -> StageSection:
        if sum(x is not None for x in (self.at_step, self.at_fraction, self.when)) != 1:
            raise ValueError("a curriculum stage needs exactly one of at_step, at_fraction, when")
        allowed = {"dataset", "packed", "where", "weights", "weight_by"}
        bad = sorted(set(self.data) - allowed)
        if bad:
            raise ValueError(f"a stage cannot change data.{bad[0]} (allowed: {', '.join(sorted(allowed))})")
        return self


class TrainConfig(Section):
    seed: int = 1337
    out_dir: str = Field("runs/run", description="run directory (checkpoints/, log.jsonl, tensorboard/)")
    resume: bool = Field(False, description="continue from out_dir/checkpoints/latest")
    device: str = Field("auto", description="auto (cuda if available, else cpu), cpu, cuda, cuda:N")
    dtype: Literal["auto", "fp32", "bf16"] = Field(
        "auto", description="auto: bf16 autocast on CUDA, fp32 on CPU"
    )
    compile: bool = Field(False, description="torch.compile the model")
    threads: int | None = Field(
        None, ge=1, description="torch threads per process (default: cores / local processes)"
    )
    price_per_hour: float = Field(0.0, ge=0, description="price of one device-hour, for the cost estimate")
    data: DataSection = Field(default_factory=DataSection)
    model: ModelSection = Field(default_factory=ModelSection)
    optim: OptimSection = Field(default_factory=OptimSection)
    schedule: ScheduleSection = Field(default_factory=ScheduleSection)
    batch: BatchSection = Field(default_factory=BatchSection)
    stop: StopSection = Field(default_factory=lambda: StopSection(max_steps=1000))
    eval: EvalSection = Field(default_factory=EvalSection)
    checkpoint: CheckpointSection = Field(default_factory=CheckpointSection)
    log: LogSection = Field(default_factory=LogSection)
    curriculum: list[StageSection] = Field(default_factory=list)

    @model_validator(mode="after")
    def _hf_fits(self) -> TrainConfig:
        """A Hugging Face model brings its tokenizer, and its matrices are not laid out for Muon."""
        if self.model.hf is None:
            return self
        if self.data.tokenizer != TokenizerSection():
            raise FieldError(
                "data.tokenizer",
                "a Hugging Face model (model.hf) encodes the data with its own tokenizer: "
                "remove data.tokenizer",
            )
        if self.optim.name != "adamw":
            raise FieldError("optim.name", "a Hugging Face model (model.hf) trains with adamw only")
        return self

    @model_validator(mode="after")
    def _digit_levers_reversed(self) -> TrainConfig:
        """A lever that reads digit significance needs it known when a digit is read: units first."""
        for key in DIGIT_LEVERS:
            if getattr(self.model, key) not in (None, False) and self.data.tokenizer.numbers != "reversed":
                raise FieldError(
                    f"model.{key}",
                    f"needs numbers written units first: set data.tokenizer.numbers = reversed "
                    f"(not {self.data.tokenizer.numbers!r})",
                )
        return self

    @model_validator(mode="after")
    def _fractions_need_steps(self) -> TrainConfig:
        if any(s.at_fraction is not None for s in self.curriculum) and self.stop.max_steps is None:
            raise ValueError("curriculum stages with at_fraction need stop.max_steps")
        return self

    @model_validator(mode="after")
    def _conditions_last(self) -> TrainConfig:
        """Stages with `when` follow one another in the order listed, after every fixed-step stage."""
        seen_when = False
        for i, stage in enumerate(self.curriculum):
            if stage.when is not None:
                seen_when = True
                if self.eval.interval is None:
                    raise ValueError(f"curriculum[{i}].when needs evaluations: set eval.interval")
            elif seen_when:
                raise ValueError(
                    f"curriculum[{i}] starts at a fixed step but follows a stage with `when`; "
                    "list fixed-step stages first"
                )
        return self


def config_from_dict(
    raw: dict[str, Any], *, file: str | None = None, overrides: list[str] = ()
) -> TrainConfig:
    """Validate a config mapping after applying ``key=value`` overrides (dotted keys, YAML values)."""
    data = apply_overrides(raw, parse_overrides(overrides, ConfigError), ConfigError)
    return validate(TrainConfig, data, ConfigError, file=file, what="a training config")


def load_config(path: str | os.PathLike, overrides: list[str] = ()) -> TrainConfig:
    """Read a YAML training config and apply ``key=value`` overrides."""
    parsed = parse_overrides(overrides, ConfigError)
    return load_model(path, TrainConfig, ConfigError, what="a training config", overrides=parsed)


def schema_rows(model: type[BaseModel] = TrainConfig, prefix: str = "") -> list[tuple[str, str, str, str]]:
    """(key, type, default, description) for every leaf key: the config reference in docs/training.md."""
    rows = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            rows.extend(schema_rows(ann, key + "."))
            continue
        section = optional_section(ann)
        if section is not None:  # a section that may be left out: its own row, then its keys
            rows.append((key, "mapping or null", repr(field.default), field.description or ""))
            rows.extend(schema_rows(section, key + "."))
            continue
        if field.default_factory is not None:
            default = repr(field.default_factory())
            if name == "stop":
                default = "max_steps: 1000"
        else:
            default = repr(field.default)
        type_name = str(ann).replace("typing.", "").replace("<class '", "").replace("'>", "")
        if type_name.startswith("Optional[") and type_name.endswith("]"):
            type_name = type_name[len("Optional[") : -1] + " or null"
        type_name = type_name.replace(" | None", " or null").replace("Literal", "one of ")
        rows.append((key, type_name, default, field.description or ""))
    return rows


def optional_section(annotation: Any) -> type[BaseModel] | None:
    """The section type of an ``X | None`` field whose X is a section, else None."""
    everything = get_args(annotation)
    args = [a for a in everything if a is not type(None)]
    if (
        type(None) in everything
        and len(args) == 1
        and isinstance(args[0], type)
        and issubclass(args[0], BaseModel)
    ):
        return args[0]
    return None
