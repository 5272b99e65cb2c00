"""Straight-line integer arithmetic: the headline `arith` task, pure expressions, reassignment."""

from __future__ import annotations

import random
from typing import Literal

from pydantic import Field, model_validator

from cadmus.lang import BinOp, BinOpKind, Expr, Name
from cadmus.tasks.base import Family, Sample, check_order, knob_error
from cadmus.tasks.families._common import (
    BIN,
    DIV,
    MUL,
    VALUE_LIMIT,
    ArithOp,
    ValueKnobs,
    assign,
    c,
    check_unique,
    choose,
    inc,
    picker,
    rint,
    trunc_div,
    trunc_mod,
    v,
)
from cadmus.tasks.registry import register

MAX_ABS_LIMIT = 10**18


class ExprGen:
    """Random expression trees over constants and known variables, with exact values.

    Values are tracked only to keep every intermediate within `max_abs` (so the
    VM never overflows) and divisors non-zero; the answer comes from the VM.
    """

    def __init__(
        self,
        rng: random.Random,
        ops: tuple[str, ...],
        lo: int,
        hi: int,
        max_abs: int,
        allow_negative: bool,
    ) -> None:
        self.rng = rng
        self.ops = [BIN[o] for o in ops]
        self.lo = lo
        self.hi = hi
        self.max_abs = max_abs
        self.allow_negative = allow_negative

    def const(self) -> tuple[Expr, int]:
        value = rint(self.rng, self.lo, self.hi)
        return c(value), value

    def apply(self, op: BinOpKind, a: int, b: int) -> int | None:
        if op is BinOpKind.ADD:
            r = a + b
        elif op is BinOpKind.SUB:
            r = a - b
        elif op is MUL:
            r = a * b
        elif b == 0:
            return None
        elif op is DIV:
            r = trunc_div(a, b)
        else:
            r = trunc_mod(a, b)
        if abs(r) > self.max_abs or (r < 0 and not self.allow_negative):
            return None
        return r

    def combine(self, a: int, b: int) -> tuple[BinOpKind, int] | None:
        """A random allowed operator valid on (a, b), trying the others if the first is not."""
        ops = self.ops
        start = int(self.rng.random() * len(ops))
        for i in range(len(ops)):
            op = ops[(start + i) % len(ops)]
            r = self.apply(op, a, b)
            if r is not None:
                return op, r
        return None

    def tree(
        self,
        depth: int,
        forced: tuple[Expr, int] | None,
        variables: list[tuple[str, int]],
        var_prob: float,
    ) -> tuple[Expr, int] | None:
        """A tree of exactly `depth` levels of operators; `forced` appears as one leaf."""
        if depth == 0:
            if forced is not None:
                return forced
            if variables and self.rng.random() < var_prob:
                name, value = choose(self.rng, variables)
                return Name(name), value
            return self.const()
        other = rint(self.rng, 0, depth - 1)
        deep_left = self.rng.random() < 0.6
        left_depth, right_depth = (depth - 1, other) if deep_left else (other, depth - 1)
        force_left = forced is not None and self.rng.random() < 0.75
        left = self.tree(left_depth, forced if force_left else None, variables, var_prob)
        if left is None:
            return None
        right = self.tree(
            right_depth, forced if forced is not None and not force_left else None, variables, var_prob
        )
        if right is None:
            return None
        chosen = self.combine(left[1], right[1])
        if chosen is None:
            return None
        return BinOp(chosen[0], left[0], right[0]), chosen[1]

    def statement(
        self,
        depth: int,
        forced: tuple[Expr, int] | None,
        variables: list[tuple[str, int]],
        var_prob: float,
    ) -> tuple[Expr, int]:
        if forced is not None and isinstance(forced[0], Name):  # no `a - a`: other leaves use other variables
            variables = [x for x in variables if x[0] != forced[0].id]
        for _ in range(30):
            made = self.tree(depth, forced, variables, var_prob)
            if made is not None:
                return made
        for _ in range(30):  # constants only: always reachable unless the range itself is too wide
            made = self.tree(depth, None, [], 0.0)
            if made is not None:
                return made
        return forced if forced is not None else self.const()


def _count_ops(expr: Expr) -> int:
    if isinstance(expr, BinOp):
        return 1 + _count_ops(expr.left) + _count_ops(expr.right)
    return 0


class _ArithKnobsBase(ValueKnobs):
    operators: tuple[ArithOp, ...] = Field(
        ("+", "-"), description="binary operators that may appear: any of + - * / % (/ and % truncate)"
    )
    allow_negative: bool = Field(True, description="whether intermediate values may be negative")
    max_abs: int = Field(
        10**9,
        ge=1,
        le=MAX_ABS_LIMIT,
        description="bound on |value| of every intermediate result; operators that would exceed it are "
        "replaced by another allowed one (if none fits, that statement uses constants only)",
    )

    def _check_arith(self) -> None:
        self._check_values()
        check_unique(self, "operators")
        if max(abs(self.min_value), abs(self.max_value)) > self.max_abs:
            raise knob_error("max_abs", "max_abs is smaller than the largest constant")
        if not self.allow_negative and self.max_value < 0:
            raise knob_error("max_value", "max_value is negative but allow_negative is false")


class ArithKnobs(_ArithKnobsBase):
    n_statements_min: int = Field(2, ge=1, le=16, description="fewest assignment statements")
    n_statements_max: int = Field(3, ge=1, le=16, description="most assignment statements")
    n_inits: int = Field(
        1,
        ge=0,
        le=16,
        description="leading statements that assign a plain constant (at least one statement always computes)",
    )
    depth_min: int = Field(
        1, ge=1, le=6, description="fewest levels of operators in one statement's expression"
    )
    depth_max: int = Field(
        1, ge=1, le=6, description="most levels of operators in one statement's expression"
    )
    chain: bool = Field(
        True,
        description="each computing statement uses the previous variable (else: constants only, and earlier "
        "statements are distractors)",
    )
    var_prob: float = Field(
        0.25, ge=0.0, le=1.0, description="probability that another leaf is an earlier variable (with chain)"
    )

    @model_validator(mode="after")
    def _check(self) -> ArithKnobs:
        self._check_arith()
        check_order(self, "n_statements_min", "n_statements_max")
        check_order(self, "depth_min", "depth_max")
        return self


@register
class Arith(Family):
    name = "arith"
    description = "straight-line arithmetic through variables (a = 37; b = a + 52; c = b - 18): the answer is the last variable"
    Knobs = ArithKnobs

    def sample(self, rng: random.Random, knobs: ArithKnobs) -> Sample:
        names = picker(rng, knobs)
        gen = ExprGen(
            rng, knobs.operators, knobs.min_value, knobs.max_value, knobs.max_abs, knobs.allow_negative
        )
        n = rint(rng, knobs.n_statements_min, knobs.n_statements_max)
        inits = min(knobs.n_inits, n - 1)
        known: list[tuple[str, int]] = []
        body = []
        ops = 0
        depth_seen = 0
        for k in range(n):
            if k < inits:
                expr, value = gen.const()
            else:
                depth = rint(rng, knobs.depth_min, knobs.depth_max)
                forced = (Name(known[-1][0]), known[-1][1]) if knobs.chain and known else None
                expr, value = gen.statement(depth, forced, known if knobs.chain else [], knobs.var_prob)
                ops += _count_ops(expr)
                depth_seen = max(depth_seen, depth)
            name = names.pick()
            body.append(assign(name, expr))
            known.append((name, value))
        return Sample(
            body=tuple(body),
            answer=v(known[-1][0]),
            features={"statements": n, "operations": ops, "expr_depth": depth_seen},
        )


class ExprKnobs(_ArithKnobsBase):
    depth_min: int = Field(2, ge=1, le=8, description="fewest levels of operators in the expression")
    depth_max: int = Field(3, ge=1, le=8, description="most levels of operators in the expression")

    @model_validator(mode="after")
    def _check(self) -> ExprKnobs:
        self._check_arith()
        check_order(self, "depth_min", "depth_max")
        return self


@register
class PureExpr(Family):
    name = "expr"
    description = "one nested arithmetic expression of chosen depth assigned to a variable"
    Knobs = ExprKnobs

    def sample(self, rng: random.Random, knobs: ExprKnobs) -> Sample:
        names = picker(rng, knobs)
        gen = ExprGen(
            rng, knobs.operators, knobs.min_value, knobs.max_value, knobs.max_abs, knobs.allow_negative
        )
        depth = rint(rng, knobs.depth_min, knobs.depth_max)
        expr, _ = gen.statement(depth, None, [], 0.0)
        name = names.pick()
        return Sample(
            body=(assign(name, expr),),
            answer=v(name),
            features={"expr_depth": depth, "operations": _count_ops(expr)},
        )


class ReassignKnobs(_ArithKnobsBase):
    min_value: int = Field(1, ge=-VALUE_LIMIT, le=VALUE_LIMIT, description="smallest constant")
    max_value: int = Field(20, ge=-VALUE_LIMIT, le=VALUE_LIMIT, description="largest constant")
    n_vars_min: int = Field(1, ge=1, le=6, description="fewest variables")
    n_vars_max: int = Field(3, ge=1, le=6, description="most variables")
    n_updates_min: int = Field(2, ge=1, le=20, description="fewest updates after the initial assignments")
    n_updates_max: int = Field(4, ge=1, le=20, description="most updates after the initial assignments")
    aug_prob: float = Field(0.5, ge=0.0, le=1.0, description="probability of writing an update as `x += e`")
    swap_prob: float = Field(
        0.1,
        ge=0.0,
        le=1.0,
        description="probability that an update is a swap of two variables via a temporary",
    )
    answer: Literal["last", "any"] = Field(
        "any", description="which variable is asked for: the last one updated, or any of them"
    )

    @model_validator(mode="after")
    def _check(self) -> ReassignKnobs:
        self._check_arith()
        check_order(self, "n_vars_min", "n_vars_max")
        check_order(self, "n_updates_min", "n_updates_max")
        return self


_AUGMENTABLE = (BinOpKind.ADD, BinOpKind.SUB, MUL)


@register
class Reassign(Family):
    name = "reassign"
    description = "a few variables updated in place (x = x + 3, x += y, swaps): track the state"
    Knobs = ReassignKnobs

    def sample(self, rng: random.Random, knobs: ReassignKnobs) -> Sample:
        names = picker(rng, knobs)
        gen = ExprGen(
            rng, knobs.operators, knobs.min_value, knobs.max_value, knobs.max_abs, knobs.allow_negative
        )
        n_vars = rint(rng, knobs.n_vars_min, knobs.n_vars_max)
        state: dict[str, int] = {}
        body = []
        for _ in range(n_vars):
            name = names.pick()
            expr, value = gen.const()
            body.append(assign(name, expr))
            state[name] = value
        order = list(state)
        last = order[-1]
        n_updates = rint(rng, knobs.n_updates_min, knobs.n_updates_max)
        swaps = 0
        temp: str | None = None
        for _ in range(n_updates):
            if len(order) >= 2 and rng.random() < knobs.swap_prob:
                x, y = rng.sample(order, 2)
                if temp is None:
                    temp = names.pick()
                body += [assign(temp, v(x)), assign(x, v(y)), assign(y, v(temp))]
                state[x], state[y] = state[y], state[x]
                state[temp] = state[y]
                swaps += 1
                last = y
                continue
            target = choose(rng, order)
            roll = rng.random()
            if len(order) >= 2 and roll < 0.4:
                source = choose(rng, [n for n in order if n != target])
                right, rvalue = Name(source), state[source]
            else:
                right, rvalue = gen.const()
            overwrite = len(order) >= 2 and roll > 0.85
            left_name = choose(rng, [n for n in order if n != target]) if overwrite else target
            chosen = gen.combine(state[left_name], rvalue)
            if chosen is None:  # nothing fits the bounds: a plain constant assignment
                expr, value = gen.const()
                body.append(assign(target, expr))
                state[target] = value
                last = target
                continue
            op, value = chosen
            if not overwrite and op in _AUGMENTABLE and rng.random() < knobs.aug_prob:
                body.append(inc(target, right, op))
            else:
                body.append(assign(target, BinOp(op, Name(left_name), right)))
            state[target] = value
            last = target
        asked = last if knobs.answer == "last" else choose(rng, order)
        return Sample(
            body=tuple(body),
            answer=v(asked),
            features={"variables": n_vars, "updates": n_updates, "swaps": swaps},
        )
