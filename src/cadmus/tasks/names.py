"""Identifier pools: which variable names a family draws from.

Renaming is a controlled variable: training can use one pool and an OOD
split another that shares no name with it (`heldout` is disjoint from every
other pool). `random` makes fresh identifiers, so no name is ever memorised.
"""

from __future__ import annotations

import builtins
import keyword
import random

from cadmus.errors import CadmusError
from cadmus.lang import BUILTINS, KEYWORDS

LETTERS = tuple("abcdefghijkmnpqrstuvwxyz")  # no l, o: they read as 1, 0
WORDS = (
    "total",
    "count",
    "value",
    "result",
    "acc",
    "num",
    "temp",
    "step",
    "left",
    "right",
    "low",
    "high",
    "first",
    "last",
    "prev",
    "curr",
    "best",
    "size",
    "limit",
    "index",
    "sofar",
    "diff",
    "prod",
    "rest",
    "base",
    "part",
    "span",
    "mark",
    "level",
    "score",
)
SHORT = ("x", "y", "z", "n", "m", "k", "i", "j", "t", "s", "v", "w", "p", "q", "r", "u")
HELDOUT = (
    "alpha",
    "beta",
    "gamma",
    "delta",
    "omega",
    "sigma",
    "kappa",
    "theta",
    "zeta",
    "lambda_",
    "foo",
    "bar",
    "baz",
    "qux",
    "quux",
    "spam",
    "eggs",
    "ham",
    "apple",
    "grape",
    "melon",
    "lemon",
    "cherry",
    "mango",
    "olive",
    "pearl",
    "amber",
    "coral",
    "ivory",
    "jade",
)

POOLS: dict[str, tuple[str, ...]] = {
    "letters": LETTERS,
    "short": SHORT,
    "words": WORDS,
    "mixed": tuple(dict.fromkeys(LETTERS + WORDS)),
    "heldout": HELDOUT,
}
POOL_NAMES = (*POOLS, "random")
# Names a generator must never produce: keywords and built-ins of the DSL and Python.
RESERVED = frozenset((*KEYWORDS, *BUILTINS, *keyword.kwlist, *dir(builtins)))


def _random_identifier(rng: random.Random) -> str:
    first = "abcdefghijklmnopqrstuvwxyz"
    rest = first + "0123456789_"
    while True:
        name = rng.choice(first) + "".join(rng.choice(rest) for _ in range(rng.randint(0, 5)))
        if name not in RESERVED and name not in HELDOUT:
            return name


class NamePicker:
    """Draws distinct identifiers from a pool for one program."""

    def __init__(self, rng: random.Random, pool: str, avoid: tuple[str, ...] = (), size: int = 0) -> None:
        """`size` > 0 keeps to the first `size` names of the pool while any is free."""
        if pool not in POOL_NAMES:
            raise CadmusError(f"unknown name pool '{pool}' (known: {', '.join(POOL_NAMES)})", key="names")
        self._rng = rng
        self._pool = pool
        self._size = size
        self._used: set[str] = set(avoid)

    def pick(self) -> str:
        """A name not yet used in this program."""
        if self._pool == "random":
            while True:
                name = _random_identifier(self._rng)
                if name not in self._used:
                    break
        else:
            names = POOLS[self._pool]
            allowed = names[: self._size] if self._size else names
            rng = self._rng
            for _ in range(4):  # cheap rejection draws while most names are free
                name = allowed[int(rng.random() * len(allowed))]
                if name not in self._used:
                    self._used.add(name)
                    return name
            free = [n for n in allowed if n not in self._used]
            if not free and self._size:
                free = [n for n in names if n not in self._used][:1]
            if not free:
                raise CadmusError(f"name pool '{self._pool}' exhausted", key="names")
            name = self._rng.choice(free)
        self._used.add(name)
        return name

    def reserve(self, *names: str) -> None:
        """Never hand out these names (e.g. fixed function names) in this program."""
        self._used.update(names)

    def picks(self, n: int) -> list[str]:
        return [self.pick() for _ in range(n)]
