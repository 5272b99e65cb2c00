"""What a task family is: typed knobs and a sampler of ASTs (the registry is `registry`).

A family never touches files or tokens and never computes answers itself:
it builds a program whose *answer expression* the data layer evaluates on
the VM, so ground truth always comes from execution.
"""

from __future__ import annotations

import random
import typing
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cadmus.configio import FieldError, loose_list, validate
from cadmus.errors import CadmusError
from cadmus.lang import Expr, Stmt
from cadmus.tasks.names import POOL_NAMES

FORMATS = ("complete", "output", "synthesize", "instruct", "trace")


class TaskError(CadmusError):
    """Unknown family, bad knobs, or a family that failed to sample."""


def knob_error(key: str, message: str) -> FieldError:
    """The error a knob validator raises for a bad value or combination of `key`."""
    return FieldError(key, message)


def check_order(knobs: BaseModel, low: str, high: str) -> None:
    """Reject `low > high` for a pair of bounds, naming the upper key."""
    if getattr(knobs, low) > getattr(knobs, high):
        raise knob_error(high, f"{high} ({getattr(knobs, high)}) is less than {low} ({getattr(knobs, low)})")


class Knobs(BaseModel):
    """Base of every family's knobs: frozen, unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    names: str = Field(
        "letters",
        description="identifier pool for variable names: " + " | ".join(POOL_NAMES),
    )
    pool_size: int = Field(
        0,
        ge=0,
        le=1000,
        description="use only the first N names of the pool (0 = the whole pool); "
        "a program that needs more names takes the next ones in pool order; ignored by the random pool",
    )

    @model_validator(mode="before")
    @classmethod
    def _loose_lists(cls, data: Any) -> Any:
        """A list-valued knob also accepts one string such as `+,-,*` (how the CLI writes lists)."""
        if not isinstance(data, Mapping):
            return data
        out = dict(data)
        for key, value in data.items():
            info = cls.model_fields.get(key)
            if info is not None and isinstance(value, str) and typing.get_origin(info.annotation) is tuple:
                out[key] = loose_list(value)
        return out

    @field_validator("names")
    @classmethod
    def _known_pool(cls, value: str) -> str:
        if value not in POOL_NAMES:
            raise ValueError(f"unknown name pool '{value}' (known: {', '.join(POOL_NAMES)})")
        return value


@dataclass(frozen=True)
class Sample:
    """One sampled task instance.

    `body` is a complete program (function definitions first) whose last
    statements compute the answer; `answer` is an integer-valued expression
    over the program's globals whose value after `body` is the task's answer.
    Function-shaped families also name the function under test and give
    argument tuples for tests; `instruction` is the English task statement.
    """

    body: tuple[Stmt, ...]
    answer: Expr
    function: str | None = None
    test_inputs: tuple[tuple[Expr, ...], ...] = ()
    instruction: str | None = None
    features: Mapping[str, int] = field(default_factory=dict)


class Family(ABC):
    """A generator of natural programs for one kind of task."""

    name: ClassVar[str]
    description: ClassVar[str]
    Knobs: ClassVar[type[Knobs]] = Knobs
    # formats whose judging this family's samples support
    formats: ClassVar[frozenset[str]] = frozenset({"complete", "output", "trace"})

    @abstractmethod
    def sample(self, rng: random.Random, knobs: Any) -> Sample:
        """Draw one instance; all randomness comes from `rng`."""

    def knobs(self, overrides: Mapping[str, Any] | None = None, *, where: str = "") -> Knobs:
        """Validated knobs from defaults plus `overrides`; errors name the key (under `where`)."""
        return validate(
            self.Knobs,
            dict(overrides or {}),
            TaskError,
            what=f"the knobs of family '{self.name}'",
            key_prefix=where,
            message_prefix=f"family '{self.name}': ",
        )
