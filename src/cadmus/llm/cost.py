"""Tokens and money: prices per model from a YAML file, the cost of a run, an estimate before one.

A model is priced by its exact name, else by the longest listed name it
starts with (case-insensitive). A model that is not listed has an unknown
cost (None), never 0: a report says "unknown" rather than a wrong total.

Estimates (`--dry-run`) need token counts before any request is sent: a
local model counts with its own tokenizer; for an API model the count is
estimated as one token per 4 characters (the usual rule of thumb for
English and code with GPT-style tokenizers; numbers and symbols often take
more, so the estimate is rough). Output tokens are estimated from the
reference answers (the same rule) and bounded by `max_tokens`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from cadmus.configio import load_model
from cadmus.llm.errors import LLMError

DEFAULT_PRICES = Path("configs/llm/prices.yaml")
CHARS_PER_TOKEN = 4


class ModelPrice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input: float = Field(ge=0, description="USD per `per` input tokens")
    output: float = Field(ge=0, description="USD per `per` output tokens")


class PriceTable(BaseModel):
    model_config = ConfigDict(extra="forbid")

    as_of: str | None = None
    currency: str = "USD"
    per: int = Field(1_000_000, gt=0)
    models: dict[str, ModelPrice] = Field(default_factory=dict)

    def lookup(self, model: str) -> tuple[str, ModelPrice] | None:
        """(listed name, price) for `model`: exact name, else the longest listed prefix."""
        lowered = {name.lower(): name for name in self.models}
        key = model.lower()
        if key in lowered:
            return lowered[key], self.models[lowered[key]]
        prefixes = [name for name in lowered if key.startswith(name)]
        if not prefixes:
            return None
        best = lowered[max(prefixes, key=len)]
        return best, self.models[best]

    def cost(self, model: str, input_tokens: int, output_tokens: int) -> float | None:
        found = self.lookup(model)
        if found is None:
            return None
        price = found[1]
        return (input_tokens * price.input + output_tokens * price.output) / self.per


def _bundled() -> Path:
    # src/cadmus/llm/cost.py -> the repository's configs/llm/prices.yaml
    return Path(__file__).resolve().parents[3] / DEFAULT_PRICES


def load_prices(path: str | os.PathLike[str] | None = None) -> PriceTable:
    """The price table in `path` (default: configs/llm/prices.yaml here, else the repository's)."""
    if path is None:
        path = DEFAULT_PRICES if DEFAULT_PRICES.is_file() else _bundled()
        if not Path(path).is_file():
            return PriceTable()
    return load_model(path, PriceTable, LLMError, what="a price table")


def estimate_tokens(text: str) -> int:
    """Tokens of `text` for an API model whose tokenizer is unknown here (4 characters a token)."""
    return math.ceil(len(text) / CHARS_PER_TOKEN) if text else 0


@dataclass
class Usage:
    """Token counts and their cost, over requests actually sent and those answered from the cache."""

    requests: int = 0
    cached: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    uncounted: int = 0  # responses without token counts
    sent_input_tokens: int = 0
    sent_output_tokens: int = 0

    def add(self, prompt_tokens: int | None, completion_tokens: int | None, *, cached: bool) -> None:
        self.requests += 1
        self.cached += cached
        if prompt_tokens is None or completion_tokens is None:
            self.uncounted += 1
        self.input_tokens += prompt_tokens or 0
        self.output_tokens += completion_tokens or 0
        if not cached:
            self.sent_input_tokens += prompt_tokens or 0
            self.sent_output_tokens += completion_tokens or 0

    def to_json(self, prices: PriceTable, model: str) -> dict[str, object]:
        found = prices.lookup(model)
        return {
            "requests": self.requests,
            "cached": self.cached,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "responses_without_token_counts": self.uncounted,
            "priced_as": found[0] if found else None,
            "cost_usd": _rounded(prices.cost(model, self.input_tokens, self.output_tokens)),
            "spent_usd_this_run": _rounded(
                prices.cost(model, self.sent_input_tokens, self.sent_output_tokens)
            ),
            "prices_as_of": prices.as_of,
        }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


@dataclass(frozen=True)
class Estimate:
    requests: int
    input_tokens: int
    output_tokens: int  # expected, from the reference answers
    max_output_tokens: int  # if every answer used its whole budget
    cost_usd: float | None
    max_cost_usd: float | None
    priced_as: str | None


def estimate(
    prices: PriceTable, model: str, inputs: Iterable[int], outputs: Iterable[int], budgets: Iterable[int]
) -> Estimate:
    """The expected and the largest cost of requests with these input tokens, expected outputs and budgets."""
    ins, outs, caps = list(inputs), list(outputs), list(budgets)
    found = prices.lookup(model)
    return Estimate(
        len(ins),
        sum(ins),
        sum(outs),
        sum(caps),
        prices.cost(model, sum(ins), sum(outs)),
        prices.cost(model, sum(ins), sum(caps)),
        found[0] if found else None,
    )


def money(value: float | None) -> str:
    """A cost for people: '$0.0123', or 'unknown'."""
    if value is None:
        return "unknown (model not in the price table)"
    return f"${value:.4f}" if value < 1 else f"${value:,.2f}"
