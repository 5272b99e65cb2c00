"""Bit operations (popcount, straight-line masks and shifts) and base conversion."""

from __future__ import annotations

import random
from typing import Literal, get_args

from pydantic import Field, model_validator

from cadmus.lang import BinOp, BinOpKind, Expr, Name, Stmt
from cadmus.tasks.base import Family, Knobs, Sample, check_order, knob_error
from cadmus.tasks.families._common import (
    FUNCTION_FORMATS,
    GE,
    GT,
    MUL,
    NE,
    Arg,
    FunctionKnobs,
    assign,
    c,
    check_unique,
    choose,
    cmp,
    def_,
    distinct_inputs,
    div,
    function_name,
    function_sample,
    inc,
    instruction,
    mod,
    mul,
    picker,
    ret,
    rint,
    sub,
    v,
    while_,
)
from cadmus.tasks.registry import register

BAND, BOR, BXOR, SHL, SHR = BinOpKind.BAND, BinOpKind.BOR, BinOpKind.BXOR, BinOpKind.SHL, BinOpKind.SHR
BIT_OPS = {op.value: op for op in (BAND, BOR, BXOR, SHL, SHR)}


class PopcountKnobs(FunctionKnobs):
    max_value: int = Field(255, ge=15, le=2**62, description="largest argument (arguments are >= 0)")


@register
class Popcount(Family):
    name = "popcount"
    description = "number of 1 bits of n, with & and >> (or Kernighan's n & (n - 1))"
    Knobs = PopcountKnobs
    formats = FUNCTION_FORMATS

    def sample(self, rng: random.Random, knobs: PopcountKnobs) -> Sample:
        names = picker(rng, knobs)
        fname = function_name(rng, knobs, names, choose(rng, ("popcount", "count_bits", "bit_count")))
        n, k = names.picks(2)
        if rng.random() < 0.65:
            loop = while_(
                cmp(GT, v(n), c(0)),
                [inc(k, BinOp(BAND, v(n), c(1)), aug=rng.random() < 0.6), assign(n, BinOp(SHR, v(n), c(1)))],
            )
        else:
            loop = while_(
                cmp(NE, v(n), c(0)),
                [assign(n, BinOp(BAND, v(n), sub(v(n), c(1)))), inc(k, c(1), aug=rng.random() < 0.6)],
            )
        defs = [def_(fname, (n,), [assign(k, c(0)), loop, ret(v(k))])]
        bits = knobs.max_value.bit_length()

        def draw() -> tuple[Arg, ...]:
            width = rint(rng, 1, bits)
            return (rint(rng, 0, min(knobs.max_value, 2**width - 1)),)

        edges = [(0,), (1,), (knobs.max_value,), (2 ** (bits - 1),), (2 ** (bits - 1) - 1,)]
        tests = distinct_inputs(rng, draw, edges)
        args = draw()
        what = choose(
            rng,
            (
                f"the number of 1 bits in the binary form of {n}",
                f"how many bits of {n} are set (for {n} >= 0)",
            ),
        )
        return function_sample(
            defs, fname, args, tests, instruction(rng, fname, (n,), what), {"bits": args[0].bit_length()}
        )


BitOp = Literal["&", "|", "^", "<<", ">>"]


class BitOpsKnobs(Knobs):
    n_statements_min: int = Field(2, ge=1, le=7, description="fewest statements that apply an operator")
    n_statements_max: int = Field(4, ge=1, le=7, description="most statements that apply an operator")
    bits: int = Field(8, ge=1, le=40, description="constants are below 2**bits")
    operators: tuple[BitOp, ...] = Field(
        ("&", "|", "^", "<<", ">>"), description="bit operators that may appear"
    )
    shift_max: int = Field(4, ge=1, le=16, description="largest shift amount")
    mask_prob: float = Field(0.3, ge=0.0, le=1.0, description="probability of a mask built as 1 << k")

    @model_validator(mode="after")
    def _check(self) -> BitOpsKnobs:
        check_order(self, "n_statements_min", "n_statements_max")
        check_unique(self, "operators")
        if self.bits + self.shift_max * self.n_statements_max > 62 and "<<" in self.operators:
            raise knob_error("shift_max", "bits + shift_max * n_statements_max must be at most 62 with <<")
        return self


@register
class BitOps(Family):
    name = "bit_ops"
    description = "straight-line bit manipulation: and/or/xor with constants and masks, shifts"
    Knobs = BitOpsKnobs

    def sample(self, rng: random.Random, knobs: BitOpsKnobs) -> Sample:
        names = picker(rng, knobs)
        ops = [BIT_OPS[o] for o in knobs.operators]
        top = 2**knobs.bits - 1
        x = names.pick()
        body: list[Stmt] = [assign(x, c(rint(rng, 1, top)))]
        known = [x]
        prev = x
        n = rint(rng, knobs.n_statements_min, knobs.n_statements_max)
        for _ in range(n):
            op = choose(rng, ops)
            operand: Expr
            if op in (SHL, SHR):
                operand = c(rint(rng, 1, knobs.shift_max))
            elif rng.random() < knobs.mask_prob:
                m = names.pick()
                body.append(assign(m, BinOp(SHL, c(1), c(rint(rng, 0, knobs.bits - 1)))))
                operand = Name(m)
            elif len(known) > 1 and rng.random() < 0.3:
                operand = Name(choose(rng, known[:-1]))
            else:
                operand = c(rint(rng, 1, top))
            target = names.pick()
            body.append(assign(target, BinOp(op, v(prev), operand)))
            known.append(target)
            prev = target
        return Sample(body=tuple(body), answer=v(prev), features={"statements": n, "bits": knobs.bits})


BaseProblem = Literal["count_digits", "digit_sum", "to_base", "from_base"]


class BaseKnobs(FunctionKnobs):
    problems: tuple[BaseProblem, ...] = Field(
        ("count_digits", "digit_sum", "to_base", "from_base"),
        description="count_digits(n, b), digit_sum(n, b) in base b, to_base(n, b) (base-b digits read as a "
        "decimal number), from_base(d, b) (the inverse)",
    )
    base_min: int = Field(2, ge=2, le=10, description="smallest base")
    base_max: int = Field(9, ge=2, le=10, description="largest base")
    max_value: int = Field(255, ge=15, le=10**12, description="largest number converted")

    @model_validator(mode="after")
    def _check(self) -> BaseKnobs:
        check_unique(self, "problems")
        check_order(self, "base_min", "base_max")
        if {"to_base", "from_base"} & set(self.problems) and self.max_value >= self.base_min**18:
            raise knob_error(
                "max_value", "to_base/from_base need max_value < base_min ** 18 (18 decimal digits)"
            )
        return self


def _digits_as_decimal(value: int, base: int) -> int:
    """The base-`base` digits of `value` read as a decimal number (an argument, not an answer)."""
    out, scale = 0, 1
    while value:
        out += (value % base) * scale
        value //= base
        scale *= 10
    return out


@register
class BaseConvert(Family):
    name = "base_convert"
    description = "base conversion with % and /: digit count and digit sum in base b, to and from base b"
    Knobs = BaseKnobs
    formats = FUNCTION_FORMATS

    def sample(self, rng: random.Random, knobs: BaseKnobs) -> Sample:
        names = picker(rng, knobs)
        problem = choose(rng, knobs.problems)
        fname = function_name(rng, knobs, names, problem if problem != "digit_sum" else "digit_sum_base")
        n, b, r = names.picks(3)

        def value() -> int:
            width = rint(rng, 1, knobs.max_value.bit_length())
            return rint(rng, 0, min(knobs.max_value, 2**width - 1))

        def draw() -> tuple[Arg, ...]:
            base = rint(rng, knobs.base_min, knobs.base_max)
            x = value()
            return (_digits_as_decimal(x, base) if problem == "from_base" else x, base)

        aug = rng.random() < 0.6
        if problem == "count_digits":
            body: list[Stmt] = [
                assign(r, c(1)),
                while_(cmp(GE, v(n), v(b)), [assign(n, div(v(n), v(b))), inc(r, c(1), aug=aug)]),
                ret(v(r)),
            ]
            what = f"the number of digits of {n} written in radix {b} (0 has one digit)"
        elif problem == "digit_sum":
            body = [
                assign(r, c(0)),
                while_(cmp(GT, v(n), c(0)), [inc(r, mod(v(n), v(b)), aug=aug), assign(n, div(v(n), v(b)))]),
                ret(v(r)),
            ]
            what = f"the sum of the digits of {n} written in radix {b}"
        elif problem == "to_base":
            p = names.pick()
            body = [
                assign(r, c(0)),
                assign(p, c(1)),
                while_(
                    cmp(GT, v(n), c(0)),
                    [
                        inc(r, mul(mod(v(n), v(b)), v(p)), aug=aug),
                        inc(p, c(10), MUL, aug),
                        assign(n, div(v(n), v(b))),
                    ],
                ),
                ret(v(r)),
            ]
            what = (
                f"the digits of {n} in radix {b}, read as decimal digits (for example 6 in radix 2 gives 110)"
            )
        else:
            p = names.pick()
            body = [
                assign(r, c(0)),
                assign(p, c(1)),
                while_(
                    cmp(GT, v(n), c(0)),
                    [
                        inc(r, mul(mod(v(n), c(10)), v(p)), aug=aug),
                        inc(p, v(b), MUL, aug),
                        assign(n, div(v(n), c(10))),
                    ],
                ),
                ret(v(r)),
            ]
            what = (
                f"the number that {n} denotes in radix {b}: its decimal digits are the digits in radix {b} "
                "(for example 110 in radix 2 gives 6)"
            )
        defs = [def_(fname, (n, b), body)]
        bmin, bmax = knobs.base_min, knobs.base_max
        edges: list[tuple[Arg, ...]] = [(0, rint(rng, bmin, bmax)), (1, bmax)]
        if problem != "from_base":
            edges += [(bmax, bmax), (bmax - 1, bmax)]
        else:
            edges += [(10, bmax), (_digits_as_decimal(bmin * bmin - 1, bmin), bmin)]
        tests = distinct_inputs(rng, draw, edges)
        args = draw()
        return function_sample(
            defs,
            fname,
            args,
            tests,
            instruction(rng, fname, (n, b), what),
            {"base": int(args[1]), "problem": get_args(BaseProblem).index(problem)},
        )
