"""The tiered execution benchmark (docs/languages.md): three small families, one per tier.

- `tier1`: straight-line assignments of constants and arithmetic on earlier
  variables; the answer is one of them.
- `tier2`: a conditional decides a variable: if/else, or an if without else,
  whose condition is false with probability `false_if_prob` (the variable
  then keeps its first value).
- `tier3`: a `for` or `while` loop with an accumulator.

Being separate families, the tiers get separate rows (with Wilson
intervals) in `cadmus eval`'s per-family report; each sample also carries
its `tier` in `features`.
"""

from __future__ import annotations

import random

from pydantic import Field

from cadmus.lang import CmpKind, Expr, Stmt
from cadmus.tasks.base import Family, Knobs, Sample
from cadmus.tasks.families._common import (
    CMP,
    add,
    assign,
    c,
    choose,
    cmp,
    for_,
    if_,
    inc,
    mod,
    mul,
    picker,
    rint,
    sub,
    v,
    while_,
)
from cadmus.tasks.registry import register

TIER_FORMATS = frozenset({"complete", "output", "trace"})


class TierKnobs(Knobs):
    max_value: int = Field(30, ge=1, le=1000, description="largest constant")


class Tier1Knobs(TierKnobs):
    n_assign_min: int = Field(2, ge=1, le=8, description="fewest assignments")
    n_assign_max: int = Field(5, ge=1, le=8, description="most assignments")


class Tier2Knobs(TierKnobs):
    else_prob: float = Field(0.5, ge=0, le=1, description="probability that the if has an else")
    false_if_prob: float = Field(
        0.7, ge=0, le=1, description="probability that an if without else has a false condition"
    )


class Tier3Knobs(TierKnobs):
    max_iterations: int = Field(8, ge=1, le=50, description="most loop iterations")
    while_prob: float = Field(0.5, ge=0, le=1, description="probability of a while loop (else a for loop)")


def _operand(rng: random.Random, known: list[str], max_value: int) -> Expr:
    if known and rng.random() < 0.6:
        return v(choose(rng, known))
    return c(rint(rng, 0, max_value))


def _arith(rng: random.Random, known: list[str], max_value: int) -> Expr:
    left, right = _operand(rng, known, max_value), _operand(rng, known, max_value)
    return choose(rng, (add, sub, mul))(left, right) if rng.random() < 0.8 else left


@register
class Tier1(Family):
    name = "tier1"
    description = "tier 1 of the execution benchmark: assignments and arithmetic, then the value of one"
    Knobs = Tier1Knobs
    formats = TIER_FORMATS

    def sample(self, rng: random.Random, knobs: Tier1Knobs) -> Sample:
        names = picker(rng, knobs)
        known: list[str] = []
        body: list[Stmt] = []
        for _ in range(rint(rng, knobs.n_assign_min, max(knobs.n_assign_min, knobs.n_assign_max))):
            name = names.pick() if not known or rng.random() < 0.7 else choose(rng, known)
            value = c(rint(rng, 0, knobs.max_value)) if not known else _arith(rng, known, knobs.max_value)
            body.append(assign(name, value))
            if name not in known:
                known.append(name)
        answer = body[-1].target  # type: ignore[attr-defined]
        return Sample(tuple(body), answer, features={"tier": 1})


@register
class Tier2(Family):
    name = "tier2"
    description = "tier 2: a conditional (if/else, or an if without else, often false) decides a value"
    Knobs = Tier2Knobs
    formats = TIER_FORMATS

    def sample(self, rng: random.Random, knobs: Tier2Knobs) -> Sample:
        names = picker(rng, knobs)
        x, result = names.pick(), names.pick()
        xv = rint(rng, 0, knobs.max_value)
        bound = rint(rng, 0, knobs.max_value)
        op = choose(rng, tuple(CMP.values()))
        body: list[Stmt] = [assign(x, c(xv)), assign(result, c(rint(rng, 0, knobs.max_value)))]
        then = assign(result, _arith(rng, [x], knobs.max_value))
        has_else = rng.random() < knobs.else_prob
        if not has_else:
            want = rng.random() >= knobs.false_if_prob  # the truth value the condition must have
            if _holds(op, xv, bound) != want:
                op = _NEGATED[op]
            body.append(if_(cmp(op, v(x), c(bound)), [then]))
        else:
            other = assign(result, _arith(rng, [x], knobs.max_value))
            body.append(if_(cmp(op, v(x), c(bound)), [then], [other]))
        taken = int(_holds(op, xv, bound))
        return Sample(tuple(body), v(result), features={"tier": 2, "has_else": int(has_else), "taken": taken})


_NEGATED = {
    CmpKind.EQ: CmpKind.NE,
    CmpKind.NE: CmpKind.EQ,
    CmpKind.LT: CmpKind.GE,
    CmpKind.GE: CmpKind.LT,
    CmpKind.GT: CmpKind.LE,
    CmpKind.LE: CmpKind.GT,
}


def _holds(op: CmpKind, a: int, b: int) -> bool:
    return {
        CmpKind.EQ: a == b,
        CmpKind.NE: a != b,
        CmpKind.LT: a < b,
        CmpKind.LE: a <= b,
        CmpKind.GT: a > b,
        CmpKind.GE: a >= b,
    }[op]


@register
class Tier3(Family):
    name = "tier3"
    description = "tier 3: a for or while loop with an accumulator"
    Knobs = Tier3Knobs
    formats = TIER_FORMATS

    def sample(self, rng: random.Random, knobs: Tier3Knobs) -> Sample:
        names = picker(rng, knobs)
        acc, i = names.pick(), names.pick()
        n = rint(rng, 1, knobs.max_iterations)
        start = rint(rng, 0, knobs.max_value)
        body: list[Stmt] = [assign(acc, c(rint(rng, 0, knobs.max_value)))]
        step_value = choose(rng, (v(i), c(rint(rng, 1, knobs.max_value)), mod(v(i), c(rint(rng, 2, 5)))))
        update = inc(acc, step_value)
        is_while = rng.random() < knobs.while_prob
        if is_while:
            body.append(assign(i, c(start)))
            body.append(while_(cmp(CmpKind.LT, v(i), c(start + n)), [update, inc(i, c(1))]))
        else:
            body.append(for_(i, c(start), c(start + n), [update]))
        if rng.random() < 0.2:
            body.append(assign(acc, mul(v(acc), c(2))))
        return Sample(tuple(body), v(acc), features={"tier": 3, "while": int(is_while), "iterations": n})
