"""Dataset configs: one YAML file validated into typed objects.

Unknown keys are rejected; every error names the offending key path (and the
file) on one line, e.g. ``configs/data/x.yaml: key 'splits.test.size': must
be > 0``. `resolve` then checks what only the task registry knows (family
names, formats each family supports, knob values) and returns a `Plan`.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cadmus.configio import load_model, validate
from cadmus.data.formats import DSL, formats_in
from cadmus.errors import CadmusError
from cadmus.lang import RENDERERS, is_language, language_name
from cadmus.tasks import POOL_NAMES, TaskError, get_family

# The example formats (see cadmus.data.formats); `complete_stmt` and `scratchpad`
# are variants of `complete` and are allowed wherever a family supports `complete`
# (`scratchpad` rejects programs that are not straight-line assignments).
FORMAT_NAMES = ("complete", "complete_stmt", "output", "synthesize", "instruct", "trace", "scratchpad")
ID_SPLITS = ("train", "val", "test")
_SPLIT_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class DataConfigError(CadmusError):
    """A dataset config that cannot be used; names the key and the file."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MixtureEntry(_Strict):
    """One family in the mixture, with the formats it is shown in."""

    family: str
    format: str | None = Field(None, description="one format (or use `formats`)")
    formats: list[str] | Literal["all"] | None = Field(
        None, description="several formats, chosen uniformly; `all`: every format the family supports"
    )
    weight: float = Field(
        1.0, gt=0, description="relative share of the examples (split evenly over formats and languages)"
    )
    knobs: dict[str, Any] = Field(default_factory=dict, description="the family's knob overrides")
    language: str | None = Field(
        None, description="the language its programs are shown in (default dsl); `gen:A-B`: generated A..B"
    )
    languages: list[str] | None = Field(
        None, description="several languages, chosen uniformly (`gen:A-B` stands for gen:A, ..., gen:B)"
    )

    @model_validator(mode="after")
    def _one_format_key(self) -> MixtureEntry:
        if (self.format is None) == (self.formats is None):
            raise ValueError("give exactly one of 'format' and 'formats'")
        if self.language is not None and self.languages is not None:
            raise ValueError("give at most one of 'language' and 'languages'")
        return self


class SplitSize(_Strict):
    size: int = Field(gt=0, description="number of examples")


class Splits(_Strict):
    train: SplitSize
    val: SplitSize | None = None
    test: SplitSize


class Renamed(_Strict):
    """The same programs as an in-distribution split, variables renamed consistently."""

    of: Literal["test", "val"] = "test"
    names: str = Field("heldout", description="identifier pool the new names come from")


class OODSplit(_Strict):
    """An out-of-distribution split: the mixture with knob changes, or renamed programs."""

    name: str
    size: int = Field(gt=0)
    description: str = ""
    knobs: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="family -> knob overrides on top of the mixture's knobs"
    )
    names: str | None = Field(None, description="identifier pool applied to every family (e.g. heldout)")
    mixture: list[MixtureEntry] | None = Field(
        None, description="own mixture: family-format(-language) pairs absent from training's mixture"
    )
    language: str | None = Field(
        None,
        description="a held-out language (or `gen:A-B`, held-out generated languages): "
        "every entry of the split's mixture shown in it",
    )
    renamed: Renamed | None = None

    @field_validator("name")
    @classmethod
    def _good_name(cls, value: str) -> str:
        if not _SPLIT_NAME.match(value):
            raise ValueError("must be lowercase letters, digits and '_' (starting with a letter)")
        if value in ID_SPLITS:
            raise ValueError(f"'{value}' is an in-distribution split name")
        return value

    @model_validator(mode="after")
    def _renamed_alone(self) -> OODSplit:
        if self.renamed is not None and (self.knobs or self.names or self.mixture or self.language):
            raise ValueError("'renamed' cannot be combined with 'knobs', 'names', 'mixture' or 'language'")
        return self


class Dedup(_Strict):
    """How programs are compared and kept apart across splits (see docs/data.md)."""

    canonical: bool = Field(True, description="compare programs after renaming identifiers (v0, v1, ...)")
    holdout: float = Field(
        0.1, gt=0, lt=1, description="share of the program-hash space reserved for val/test/OOD"
    )
    within_split: bool = Field(True, description="drop repeated programs inside a shard")


class DataConfig(_Strict):
    name: str
    description: str = ""
    seed: int = Field(ge=0)
    mixture: list[MixtureEntry] = Field(min_length=1)
    splits: Splits
    ood: list[OODSplit] = Field(default_factory=list)
    shard_size: int = Field(50_000, gt=0, le=10_000_000)
    dedup: Dedup = Field(default_factory=Dedup)
    max_attempts: int = Field(200, gt=0, description="tries per example before the build fails")

    @model_validator(mode="after")
    def _unique_ood_names(self) -> DataConfig:
        seen: set[str] = set()
        for split in self.ood:
            if split.name in seen:
                raise ValueError(f"OOD split '{split.name}' defined twice")
            seen.add(split.name)
        return self


# ---- loading -----------------------------------------------------------------


def config_from_dict(data: Any, *, file: str | None = None) -> DataConfig:
    """Validate a parsed YAML document; raise `DataConfigError` naming the key."""
    return validate(DataConfig, data, DataConfigError, file=file, what="a dataset config")


def load_config(path: str | Path) -> DataConfig:
    """Read and validate one YAML dataset config."""
    return load_model(path, DataConfig, DataConfigError, what="a dataset config")


def config_fingerprint(config: DataConfig) -> str:
    """SHA-256 of the config's canonical JSON: what a resumed build must match."""
    text = json.dumps(config.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


# ---- resolution against the task registry -----------------------------------


@dataclass(frozen=True)
class Choice:
    """One (family, format) with its validated knobs and share of a split."""

    family: Any  # cadmus.tasks.Family
    format: str
    weight: float
    knobs: Any  # the family's Knobs instance
    knobs_json: str
    language: str = DSL

    @property
    def label(self) -> str:
        """`family/format`, and `/language` when it is not the DSL."""
        base = f"{self.family.name}/{self.format}"
        return base if self.language == DSL else f"{base}/{self.language}"


@dataclass(frozen=True)
class SplitPlan:
    name: str
    size: int
    kind: Literal["train", "id", "ood", "renamed"]
    choices: tuple[Choice, ...]
    region: tuple[int, int]  # accepted program-hash range [lo, hi) in 0..2**64
    renamed_of: str | None = None
    renamed_names: str | None = None
    description: str = ""


@dataclass(frozen=True)
class Plan:
    config: DataConfig
    splits: tuple[SplitPlan, ...]
    fingerprint: str
    file: str | None = None

    def split(self, name: str) -> SplitPlan:
        for split in self.splits:
            if split.name == name:
                return split
        raise KeyError(name)


def _err(message: str, key: str, file: str | None) -> DataConfigError:
    return DataConfigError(message, key=key, file=file)


def _formats_of(entry: MixtureEntry, family: Any, key: str, file: str | None) -> list[str]:
    supported = set(family.formats)
    if "complete" in supported:
        supported.update(("complete_stmt", "scratchpad"))
    if entry.formats == "all":
        return [f for f in FORMAT_NAMES if f in family.formats]
    names = [entry.format] if entry.format is not None else list(entry.formats or [])
    if not names:
        raise _err("must not be empty", f"{key}.formats", file)
    for i, fmt in enumerate(names):
        where = f"{key}.format" if entry.format is not None else f"{key}.formats.{i}"
        if fmt not in FORMAT_NAMES:
            raise _err(f"unknown format '{fmt}' (known: {', '.join(FORMAT_NAMES)})", where, file)
        if fmt not in supported:
            raise _err(
                f"family '{family.name}' does not support format '{fmt}' "
                f"(supported: {', '.join(f for f in FORMAT_NAMES if f in supported)})",
                where,
                file,
            )
    if len(set(names)) != len(names):
        raise _err("repeated format", f"{key}.formats", file)
    return names


_GEN_RANGE = re.compile(r"gen:(0|[1-9][0-9]*)-(0|[1-9][0-9]*)(?:@(0|[1-9][0-9]*))?\Z")
MAX_LANGUAGE_RANGE = 100_000


def expand_languages(name: str, where: str = "", file: str | None = None) -> list[str]:
    """`name` as a list of languages: `gen:A-B` (`gen:A-B@S`) is gen:A ... gen:B (of seed S), inclusive."""
    m = _GEN_RANGE.match(name)
    if m is None:
        return [name]
    lo, hi, seed = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    if hi < lo:
        raise _err(f"empty language range '{name}' (write gen:LOW-HIGH)", where, file)
    if hi - lo + 1 > MAX_LANGUAGE_RANGE:
        raise _err(f"language range '{name}' holds more than {MAX_LANGUAGE_RANGE} languages", where, file)
    return [language_name(i, seed) for i in range(lo, hi + 1)]


def _check_language(name: str, formats: list[str], where: str, file: str | None) -> None:
    if not is_language(name):
        raise _err(
            f"unknown language '{name}' (known: {', '.join(RENDERERS)}, gen:N, gen:A-B)",
            where,
            file,
        )
    for fmt in formats:
        if fmt not in formats_in(name):
            raise _err(
                f"format '{fmt}' is not available in language '{name}' "
                f"(available: {', '.join(formats_in(name))})",
                where,
                file,
            )


def _checked(names: list[str], formats: list[str], where: str, file: str | None) -> list[str]:
    for name in dict.fromkeys(names):
        _check_language(name, formats, where, file)
    return names


def _languages_of(
    entry: MixtureEntry, formats: list[str], key: str, file: str | None, held_out: tuple[str, str] | None
) -> list[str]:
    """The entry's languages, ranges expanded and checked; a split's held-out language(s) replace them."""
    if held_out is not None:
        return _checked(expand_languages(held_out[0], held_out[1], file), formats, held_out[1], file)
    if entry.languages is not None:
        if not entry.languages:
            raise _err("must not be empty", f"{key}.languages", file)
        out: list[str] = []
        for i, name in enumerate(entry.languages):
            where = f"{key}.languages.{i}"
            out.extend(_checked(expand_languages(name, where, file), formats, where, file))
        if len(set(out)) != len(out):
            raise _err("repeated language", f"{key}.languages", file)
        return out
    name = entry.language or DSL
    where = f"{key}.language"
    return _checked(expand_languages(name, where, file), formats, where, file)


def _knobs_json(knobs: Any) -> str:
    return json.dumps(knobs.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))


def _choices(
    entries: list[MixtureEntry],
    key: str,
    file: str | None,
    extra: dict[str, dict[str, Any]] | None = None,
    extra_key: str = "",
    names: str | None = None,
    language: tuple[str, str] | None = None,
) -> tuple[Choice, ...]:
    out: list[Choice] = []
    for i, entry in enumerate(entries):
        where = f"{key}.{i}"
        try:
            family = get_family(entry.family)
        except TaskError as err:
            raise _err(err.message, f"{where}.family", file) from None
        formats = _formats_of(entry, family, where, file)
        languages = _languages_of(entry, formats, where, file, language)
        overrides = dict(entry.knobs)
        knob_where = f"{where}.knobs"
        if extra and entry.family in extra:
            overrides.update(extra[entry.family])
            knob_where = f"{extra_key}.{entry.family}"
        if names is not None:
            overrides["names"] = names
        try:
            knobs = family.knobs(overrides, where=knob_where)
        except CadmusError as err:
            raise _err(err.message, err.key or knob_where, file) from None
        kj = _knobs_json(knobs)
        share = entry.weight / (len(formats) * len(languages))
        for fmt in formats:
            for name in languages:
                out.append(Choice(family, fmt, share, knobs, kj, name))
    return tuple(out)


_SPACE = 2**64


def _regions(holdout: float, has_val: bool) -> dict[str, tuple[int, int]]:
    """Program-hash ranges: train below the cut, val/test share the rest; OOD uses all of the rest."""
    cut = int(_SPACE * (1 - holdout))
    if has_val:
        val_hi = cut + (_SPACE - cut) // 3
        return {"train": (0, cut), "val": (cut, val_hi), "test": (val_hi, _SPACE), "ood": (cut, _SPACE)}
    return {"train": (0, cut), "test": (cut, _SPACE), "ood": (cut, _SPACE)}


def resolve(config: DataConfig, *, file: str | None = None) -> Plan:
    """Check the config against the registry and expand it into per-split plans."""
    train_choices = _choices(config.mixture, "mixture", file)
    regions = _regions(config.dedup.holdout, config.splits.val is not None)
    splits: list[SplitPlan] = [
        SplitPlan("train", config.splits.train.size, "train", train_choices, regions["train"])
    ]
    if config.splits.val is not None:
        splits.append(SplitPlan("val", config.splits.val.size, "id", train_choices, regions["val"]))
    splits.append(SplitPlan("test", config.splits.test.size, "id", train_choices, regions["test"]))
    train_pairs = {(c.family.name, c.format, c.language) for c in train_choices}
    train_languages = {c.language for c in train_choices}
    for i, ood in enumerate(config.ood):
        key = f"ood.{i}"
        if ood.language is not None:
            for name in expand_languages(ood.language, f"{key}.language", file):
                if not is_language(name):
                    raise _err(
                        f"unknown language '{name}' (known: {', '.join(RENDERERS)}, gen:N, gen:A-B)",
                        f"{key}.language",
                        file,
                    )
                if name in train_languages:
                    raise _err(
                        f"language '{name}' is in the training mixture (a language split holds an unseen one)",
                        f"{key}.language",
                        file,
                    )
        if ood.renamed is not None:
            if ood.renamed.of == "val" and config.splits.val is None:
                raise _err("there is no val split to rename", f"{key}.renamed.of", file)
            if ood.renamed.names not in POOL_NAMES:
                raise _err(
                    f"unknown name pool '{ood.renamed.names}' (known: {', '.join(POOL_NAMES)})",
                    f"{key}.renamed.names",
                    file,
                )
            base = config.splits.test if ood.renamed.of == "test" else config.splits.val
            assert base is not None
            if ood.size > base.size:
                raise _err(f"must be <= the size of '{ood.renamed.of}' ({base.size})", f"{key}.size", file)
            splits.append(
                SplitPlan(
                    ood.name,
                    ood.size,
                    "renamed",
                    train_choices,
                    (0, _SPACE),
                    renamed_of=ood.renamed.of,
                    renamed_names=ood.renamed.names,
                    description=ood.description,
                )
            )
            continue
        if ood.mixture is not None:
            entries = ood.mixture
            mix_key = f"{key}.mixture"
        else:
            entries = config.mixture
            mix_key = "mixture"
        families = {e.family for e in entries}
        for fam in ood.knobs:
            if fam not in families:
                raise _err(f"family '{fam}' is not in this split's mixture", f"{key}.knobs.{fam}", file)
        held_out = None if ood.language is None else (ood.language, f"{key}.language")
        choices = _choices(entries, mix_key, file, ood.knobs, f"{key}.knobs", ood.names, held_out)
        if ood.mixture is not None:
            for j, entry in enumerate(ood.mixture):
                for choice in choices:
                    pair = (choice.family.name, choice.format, choice.language)
                    if choice.family.name == entry.family and pair in train_pairs:
                        raise _err(
                            f"pair {choice.label} is in the training mixture (an OOD mixture holds unseen pairs)",
                            f"{key}.mixture.{j}",
                            file,
                        )
        splits.append(
            SplitPlan(ood.name, ood.size, "ood", choices, regions["ood"], description=ood.description)
        )
    return Plan(config, tuple(splits), config_fingerprint(config), file)


def load_plan(path: str | Path) -> Plan:
    config = load_config(path)
    return resolve(config, file=str(path))
