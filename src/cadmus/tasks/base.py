"""What a task family is: typed knobs, a sampler of ASTs, and a registry.

A family never touches files or tokens and never computes answers itself:
it builds a program whose *answer expression* the data layer evaluates on
the VM, so ground truth always comes from execution.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from cadmus.errors import CadmusError
from cadmus.lang.ast import Expr, Stmt
from cadmus.tasks.names import POOL_NAMES

FORMATS = ("complete", "output", "synthesize", "instruct", "trace")


class TaskError(CadmusError):
    """Unknown family, bad knobs, or a family that failed to sample."""


class KnobValueError(ValueError):
    """Raised by knob validators about one key; `Family.knobs` reports that key."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


def knob_error(key: str, message: str) -> KnobValueError:
    """The error a knob validator raises for a bad value or combination of `key`."""
    return KnobValueError(key, message)


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
        """Validated knobs from defaults plus `overrides`; errors name the key."""
        try:
            return self.Knobs(**dict(overrides or {}))
        except ValidationError as err:
            first = err.errors()[0]
            key = ".".join(str(p) for p in first["loc"])
            message = first["msg"]
            cause = (first.get("ctx") or {}).get("error")
            if isinstance(cause, KnobValueError):
                key, message = cause.key, cause.message
            elif message.startswith("Value error, "):
                message = message[len("Value error, ") :]
            full = f"{where}.{key}" if where else key
            raise TaskError(f"family '{self.name}': {message}", key=full) from None


_REGISTRY: dict[str, Family] = {}


def register(cls: type[Family]) -> type[Family]:
    """Class decorator adding a family to the registry under `cls.name`."""
    if cls.name in _REGISTRY:
        raise ValueError(f"family {cls.name!r} registered twice")
    _REGISTRY[cls.name] = cls()
    return cls


def get_family(name: str) -> Family:
    _load_builtin_families()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise TaskError(f"unknown task family '{name}' (known: {known})") from None


def all_families() -> dict[str, Family]:
    _load_builtin_families()
    return dict(sorted(_REGISTRY.items()))


def _load_builtin_families() -> None:
    import cadmus.tasks.families  # noqa: F401  (registers on import)
