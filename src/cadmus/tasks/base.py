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

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cadmus.errors import CadmusError
from cadmus.lang.ast import Expr, Stmt

FORMATS = ("complete", "output", "synthesize", "instruct", "trace")


class TaskError(CadmusError):
    """Unknown family, bad knobs, or a family that failed to sample."""


class Knobs(BaseModel):
    """Base of every family's knobs: frozen, unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    names: str = Field(
        "letters",
        description="identifier pool for variable names (see cadmus.tasks.names.POOLS)",
    )


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
            full = f"{where}.{key}" if where else key
            raise TaskError(f"family '{self.name}': {first['msg']}", key=full) from None


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
