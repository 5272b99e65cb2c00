"""Control flow: conditionals, `while` loops, `for` loops, nested loops.

Loop families choose the number of iterations first and derive the bounds
from it, so every program runs a known, bounded number of times.
"""

from __future__ import annotations

import math
import random
from typing import Literal, get_args

from pydantic import Field, model_validator

from cadmus.lang import BoolKind, BoolOp, CmpKind, Expr, Stmt
from cadmus.tasks.base import Family, Knobs, Sample, check_order, knob_error
from cadmus.tasks.families._common import (
    CMP,
    EQ,
    GT,
    LT,
    MUL,
    SUB,
    CmpOp,
    ValueKnobs,
    add,
    assign,
    c,
    call,
    check_unique,
    choose,
    cmp,
    div,
    for_,
    if_,
    inc,
    item,
    mod,
    mul,
    picker,
    rint,
    set_item,
    sub,
    v,
    while_,
)
from cadmus.tasks.registry import register

# ---- conditionals -----------------------------------------------------------


class ConditionalKnobs(ValueKnobs):
    n_branches_min: int = Field(
        2, ge=1, le=6, description="fewest branches of the chain (if = 1, if/else = 2, ...)"
    )
    n_branches_max: int = Field(3, ge=1, le=6, description="most branches of the chain (if/elif.../else)")
    comparisons: tuple[CmpOp, ...] = Field(
        ("<", "<=", ">", ">=", "==", "!="), description="comparison operators that may appear"
    )
    else_prob: float = Field(
        0.7,
        ge=0.0,
        le=1.0,
        description="probability that the chain ends with else (else the result is preset)",
    )
    bool_prob: float = Field(
        0.15, ge=0.0, le=1.0, description="probability that a condition joins two with and/or"
    )
    two_vars_prob: float = Field(0.4, ge=0.0, le=1.0, description="probability of a second input variable")
    nesting: int = Field(1, ge=1, le=4, description="most levels of if inside if")
    nest_prob: float = Field(0.3, ge=0.0, le=1.0, description="probability that a branch holds a nested if")
    ladder_prob: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="probability that a chain compares one variable with ordered thresholds (x < 30, x < 60, ...)",
    )

    @model_validator(mode="after")
    def _check(self) -> ConditionalKnobs:
        self._check_values()
        check_order(self, "n_branches_min", "n_branches_max")
        check_unique(self, "comparisons")
        return self


@register
class Conditional(Family):
    name = "conditional"
    description = "if/elif/else chains on comparisons of variables with constants; the answer is the result"
    Knobs = ConditionalKnobs

    def sample(self, rng: random.Random, knobs: ConditionalKnobs) -> Sample:
        names = picker(rng, knobs)
        inputs = [names.pick()]
        if rng.random() < knobs.two_vars_prob:
            inputs.append(names.pick())
        result = names.pick()
        body: list[Stmt] = [assign(n, c(rint(rng, knobs.min_value, knobs.max_value))) for n in inputs]
        ops = [CMP[o] for o in knobs.comparisons]
        counts = {"branches": 0, "max_nesting": 0}

        def constant() -> Expr:
            return c(rint(rng, knobs.min_value, knobs.max_value))

        used: set[str] = set()

        def var(name: str) -> Expr:
            used.add(name)
            return v(name)

        def condition() -> Expr:
            def one() -> Expr:
                left = choose(rng, inputs)
                op = choose(rng, ops)
                if len(inputs) > 1 and rng.random() < 0.3:
                    used.update(inputs)
                    return cmp(op, v(left), v(next(n for n in inputs if n != left)))
                if op in (CmpKind.EQ, CmpKind.NE) and rng.random() < 0.5 and left == inputs[0]:
                    return cmp(op, mod(var(left), c(2)), c(rint(rng, 0, 1)))
                return cmp(op, var(left), constant())

            if rng.random() < knobs.bool_prob:
                return BoolOp(choose(rng, (BoolKind.AND, BoolKind.OR)), one(), one())
            return one()

        def outcome() -> Stmt:
            roll = rng.random()
            if roll < 0.3:
                return assign(result, constant())
            src = var(choose(rng, inputs))
            k = c(rint(rng, 1, max(1, min(20, abs(knobs.max_value)))))
            return assign(result, add(src, k) if roll < 0.65 else sub(src, k))

        def chain(level: int) -> Stmt:
            counts["max_nesting"] = max(counts["max_nesting"], level)
            n = rint(rng, knobs.n_branches_min, knobs.n_branches_max)
            has_else = n > 1 and rng.random() < knobs.else_prob
            n_arms = n - 1 if has_else else n
            ladder = [o for o in ops if o in (LT, CmpKind.LE, GT, CmpKind.GE)]
            if ladder and n_arms > 1 and rng.random() < knobs.ladder_prob:
                # a grading ladder: one variable against ordered thresholds (if x < 30 ... elif x < 60 ...)
                op = choose(rng, ladder)
                left = var(choose(rng, inputs))
                cuts = sorted(rint(rng, knobs.min_value, knobs.max_value) for _ in range(n_arms))
                if op in (GT, CmpKind.GE):
                    cuts.reverse()
                arms = [(cmp(op, left, c(cut)), branch(level)) for cut in cuts]
            else:
                arms = [(condition(), branch(level)) for _ in range(n_arms)]
            counts["branches"] += n
            tail: tuple[Stmt, ...] = tuple(branch(level)) if has_else else ()
            for cond, arm in reversed(arms):
                tail = (if_(cond, arm, tail),)
            return tail[0]

        def branch(level: int) -> list[Stmt]:
            if level < knobs.nesting and rng.random() < knobs.nest_prob:
                return [chain(level + 1)]
            return [outcome()]

        # preset the result: a chain without else (or a nested one) may leave it untouched
        body.append(assign(result, c(0) if rng.random() < 0.5 else constant()))
        body.append(chain(1))
        # an input no condition or branch reads would be noise: drop its assignment
        body = [stmt for name, stmt in zip(inputs, body) if name in used] + body[len(inputs) :]
        return Sample(body=tuple(body), answer=v(result), features=dict(counts))


# ---- loops --------------------------------------------------------------------


class LoopKnobs(Knobs):
    max_iterations: int = Field(10, ge=1, le=200, description="most iterations of the loop")
    min_iterations: int = Field(1, ge=0, le=200, description="fewest iterations of the loop")
    start_max: int = Field(20, ge=0, le=10**6, description="largest start value")
    step_max: int = Field(3, ge=1, le=100, description="largest step")

    def _check_loop(self) -> None:
        check_order(self, "min_iterations", "max_iterations")


WhilePattern = Literal["accumulate", "countdown", "halving", "doubling", "threshold"]


class WhileKnobs(LoopKnobs):
    patterns: tuple[WhilePattern, ...] = Field(
        ("accumulate", "countdown", "halving", "doubling", "threshold"),
        description="loop shapes: accumulate (sum while i < n), countdown (subtract until <= 0), "
        "halving (n = n / 2 until 1), doubling (x = x * m until >= limit), threshold (add 1, 2, 3, ... until over)",
    )

    @model_validator(mode="after")
    def _check(self) -> WhileKnobs:
        self._check_loop()
        check_unique(self, "patterns")
        if "doubling" in self.patterns and self.max_iterations > 36:
            raise knob_error("max_iterations", "the doubling pattern allows at most 36 iterations")
        if "halving" in self.patterns and self.max_iterations > 60:
            raise knob_error("max_iterations", "the halving pattern allows at most 60 iterations")
        return self


@register
class WhileLoop(Family):
    name = "while_loop"
    description = "a while loop that accumulates, counts down, halves, doubles or searches a threshold"
    Knobs = WhileKnobs

    def sample(self, rng: random.Random, knobs: WhileKnobs) -> Sample:
        names = picker(rng, knobs)
        pattern = choose(rng, knobs.patterns)
        k = rint(rng, knobs.min_iterations, knobs.max_iterations)
        aug = rng.random() < 0.5
        body: list[Stmt]
        if pattern == "accumulate":
            i, total = names.picks(2)
            start = rint(rng, 0, knobs.start_max)
            step = rint(rng, 1, knobs.step_max)
            stop = start + (k - 1) * step + rint(rng, 1, step) if k else start - rint(rng, 0, 3)
            term: Expr = v(i) if rng.random() < 0.6 else mul(v(i), c(rint(rng, 2, 5)))
            body = [
                assign(i, c(start)),
                assign(total, c(0)),
                while_(cmp(LT, v(i), c(stop)), [inc(total, term, aug=aug), inc(i, c(step), aug=aug)]),
            ]
            answer = total if rng.random() < 0.8 else i
        elif pattern == "countdown":
            n, count = names.picks(2)
            d = rint(rng, 1, knobs.step_max)
            start = rint(rng, (k - 1) * d + 1, k * d) if k else -rint(rng, 0, 5)
            body = [
                assign(n, c(start)),
                assign(count, c(0)),
                while_(cmp(GT, v(n), c(0)), [inc(n, c(d), SUB, aug), inc(count, c(1), aug=aug)]),
            ]
            answer = count if rng.random() < 0.6 else n
        elif pattern == "halving":
            n, steps = names.picks(2)
            # n = n / 2 runs floor(log2(start)) times for start >= 1
            start = rint(rng, 2**k, 2 ** (k + 1) - 1) if k <= 60 else 2**60
            body = [
                assign(n, c(start)),
                assign(steps, c(0)),
                while_(cmp(GT, v(n), c(1)), [assign(n, div(v(n), c(2))), inc(steps, c(1), aug=aug)]),
            ]
            answer = steps if rng.random() < 0.7 else n
        elif pattern == "doubling":
            x, steps = names.picks(2)
            base = rint(rng, 1, 3)
            m = rint(rng, 2, 3)
            low = base * m ** (k - 1) if k else base
            limit = rint(rng, low + 1, base * m**k) if k else rint(rng, 1, base)
            body = [
                assign(x, c(base)),
                assign(steps, c(0)),
                while_(cmp(LT, v(x), c(limit)), [inc(x, c(m), MUL, aug), inc(steps, c(1), aug=aug)]),
            ]
            answer = steps if rng.random() < 0.6 else x
        else:  # threshold: smallest i with 1 + 2 + ... + i > limit
            i, total = names.picks(2)
            tri = k * (k + 1) // 2
            limit = rint(rng, (k - 1) * k // 2, tri - 1) if k else -1
            body = [
                assign(i, c(0)),
                assign(total, c(0)),
                while_(
                    cmp(CmpKind.LE, v(total), c(limit)), [inc(i, c(1), aug=aug), inc(total, v(i), aug=aug)]
                ),
            ]
            answer = i if rng.random() < 0.7 else total
        return Sample(
            body=tuple(body),
            answer=v(answer),
            features={"iterations": k, "pattern": get_args(WhilePattern).index(pattern)},
        )


ForPattern = Literal["sum", "weighted", "product", "count", "alternating"]


class ForKnobs(LoopKnobs):
    patterns: tuple[ForPattern, ...] = Field(
        ("sum", "weighted", "product", "count", "alternating"),
        description="loop bodies: sum of i, weighted sum (i * i or a * i + b), product, count of multiples, "
        "alternating-sign sum",
    )
    negative_steps: bool = Field(True, description="whether ranges may count down with a negative step")

    @model_validator(mode="after")
    def _check(self) -> ForKnobs:
        self._check_loop()
        check_unique(self, "patterns")
        return self


PRODUCT_LIMIT = 10**15


@register
class ForLoop(Family):
    name = "for_loop"
    description = (
        "a for loop over range(start, stop, step) computing a sum, product, count or alternating sum"
    )
    Knobs = ForKnobs

    def sample(self, rng: random.Random, knobs: ForKnobs) -> Sample:
        names = picker(rng, knobs)
        pattern = choose(rng, knobs.patterns)
        k = rint(rng, knobs.min_iterations, knobs.max_iterations)
        step = rint(rng, 1, knobs.step_max) if rng.random() < 0.5 else 1
        start = rint(rng, 0, knobs.start_max)
        if pattern == "product":
            start = max(start % 6, 1)
            step = min(step, 2)
            while k > 0 and math.prod(range(start, start + k * step, step)) > PRODUCT_LIMIT:
                k -= 1
        down = knobs.negative_steps and rng.random() < 0.25
        if down:
            first = start + (k - 1) * step if k else start
            stop = first - (k - 1) * step - rint(rng, 1, step) if k else first + rint(rng, 0, 2)
            rng_args = (c(first), c(stop), c(-step))
        else:
            stop = start + (k - 1) * step + rint(rng, 1, step) if k else start - rint(rng, 0, 2)
            rng_args = (c(start), c(stop), c(step) if step != 1 or rng.random() < 0.1 else None)
        i = names.pick()
        acc = names.pick()
        aug = rng.random() < 0.6
        init = 0
        inner: list[Stmt]
        if pattern == "sum":
            inner = [inc(acc, v(i), aug=aug)]
        elif pattern == "weighted":
            if rng.random() < 0.5:
                term: Expr = mul(v(i), v(i))
            else:
                term = add(mul(c(rint(rng, 2, 9)), v(i)), c(rint(rng, 1, 9)))
            inner = [inc(acc, term, aug=aug)]
        elif pattern == "product":
            init = 1
            inner = [inc(acc, v(i), MUL, aug)]
        elif pattern == "count":
            m = rint(rng, 2, 5)
            cond = cmp(EQ, mod(v(i), c(m)), c(rint(rng, 0, m - 1)) if rng.random() < 0.3 else c(0))
            inner = [if_(cond, [inc(acc, c(1), aug=aug)])]
        else:
            inner = [
                if_(
                    cmp(EQ, mod(v(i), c(2)), c(0)),
                    [inc(acc, v(i), aug=aug)],
                    [inc(acc, v(i), SUB, aug=aug)],
                )
            ]
        body = [assign(acc, c(init)), for_(i, rng_args[0], rng_args[1], inner, rng_args[2])]
        return Sample(
            body=tuple(body),
            answer=v(acc),
            features={"iterations": k, "step": -step if down else step},
        )


NestedPattern = Literal["grid", "triangle", "pairs", "while_inner", "table"]


class NestedKnobs(Knobs):
    outer_min: int = Field(2, ge=1, le=50, description="fewest iterations of the outer loop")
    outer_max: int = Field(5, ge=1, le=50, description="most iterations of the outer loop")
    inner_min: int = Field(2, ge=1, le=50, description="fewest iterations of an inner loop")
    inner_max: int = Field(5, ge=1, le=50, description="most iterations of an inner loop")
    depth_max: int = Field(
        2, ge=2, le=3, description="most loop levels (3 = a loop inside a loop inside a loop)"
    )
    patterns: tuple[NestedPattern, ...] = Field(
        ("grid", "triangle", "pairs", "while_inner", "table"),
        description="grid (sum over i, j), triangle (inner range depends on i), pairs (count pairs meeting a "
        "condition), while_inner (a while loop inside a for), table (fill a 2-D table in a flat array)",
    )

    @model_validator(mode="after")
    def _check(self) -> NestedKnobs:
        check_unique(self, "patterns")
        check_order(self, "outer_min", "outer_max")
        check_order(self, "inner_min", "inner_max")
        if self.outer_max * self.inner_max ** (self.depth_max - 1) > 20000:
            raise knob_error("inner_max", "outer_max * inner_max ** (depth_max - 1) must be at most 20000")
        return self


@register
class NestedLoops(Family):
    name = "nested_loops"
    description = "loops inside loops: grid sums, triangular ranges, counting pairs, while inside for"
    Knobs = NestedKnobs

    def sample(self, rng: random.Random, knobs: NestedKnobs) -> Sample:
        names = picker(rng, knobs)
        pattern = choose(rng, knobs.patterns)
        n = rint(rng, knobs.outer_min, knobs.outer_max)
        m = rint(rng, knobs.inner_min, knobs.inner_max)
        acc, i, j = names.picks(3)
        aug = rng.random() < 0.6
        levels = 2
        body: list[Stmt] = [assign(acc, c(0))]
        if pattern == "grid":
            term = choose(rng, (mul(v(i), v(j)), add(v(i), v(j)), c(1)))
            inner: list[Stmt] = [inc(acc, term, aug=aug)]
            if knobs.depth_max >= 3 and rng.random() < 0.4:
                levels = 3
                k = names.pick()
                p = rint(rng, knobs.inner_min, knobs.inner_max)
                inner = [for_(k, c(0), c(p), [inc(acc, add(mul(v(i), v(j)), v(k)), aug=aug)])]
            body.append(for_(i, c(0), c(n), [for_(j, c(0), c(m), inner)]))
        elif pattern == "triangle":
            if rng.random() < 0.5:
                loop_j = for_(j, c(0), v(i), [inc(acc, c(1) if rng.random() < 0.5 else v(j), aug=aug)])
            else:
                loop_j = for_(
                    j, v(i), c(n), [inc(acc, sub(v(j), v(i)) if rng.random() < 0.5 else c(1), aug=aug)]
                )
            body.append(for_(i, c(0), c(n), [loop_j]))
        elif pattern == "pairs":
            roll = rng.random()
            if roll < 0.4:
                cond: Expr = cmp(choose(rng, (LT, CmpKind.LE, CmpKind.NE)), v(i), v(j))
            elif roll < 0.8:
                cond = cmp(EQ, mod(add(v(i), v(j)), c(rint(rng, 2, 4))), c(0))
            else:
                cond = cmp(GT, mul(v(i), v(j)), c(rint(rng, 0, (n - 1) * (m - 1))))
            body.append(for_(i, c(0), c(n), [for_(j, c(0), c(m), [if_(cond, [inc(acc, c(1), aug=aug)])])]))
        elif pattern == "while_inner":
            # x = i; while x > 0: x = x / d; count += 1
            x = names.pick()
            d = rint(rng, 2, 3)
            inner_loop = while_(
                cmp(GT, v(x), c(0)),
                [assign(x, div(v(x), c(d))), inc(acc, c(1), aug=aug)],
            )
            body.append(for_(i, c(0), c(n + m), [assign(x, v(i)), inner_loop]))
        else:
            # a flat n x m table: t[i * m + j] = i * j, then a sum along a row or column
            t = names.pick()
            body.append(assign(t, call("array", c(n * m))))
            body.append(
                for_(
                    i,
                    c(0),
                    c(n),
                    [for_(j, c(0), c(m), [set_item(t, add(mul(v(i), c(m)), v(j)), _cell(rng, i, j))])],
                )
            )
            if rng.random() < 0.5:
                r = rng.randrange(n)
                row = add(c(r * m), v(j)) if r else v(j)
                body.append(for_(j, c(0), c(m), [inc(acc, item(t, row), aug=aug)]))
            else:
                col = rng.randrange(m)
                body.append(for_(i, c(0), c(n), [inc(acc, item(t, add(mul(v(i), c(m)), c(col))), aug=aug)]))
        return Sample(
            body=tuple(body),
            answer=v(acc),
            features={"outer": n, "inner": m, "loop_depth": levels},
        )


def _cell(rng: random.Random, i: str, j: str) -> Expr:
    roll = rng.random()
    if roll < 0.4:
        return mul(v(i), v(j))
    if roll < 0.8:
        return add(v(i), v(j))
    return sub(mul(c(2), v(i)), v(j))
