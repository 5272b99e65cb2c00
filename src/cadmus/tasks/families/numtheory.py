"""Number theory, as functions with loops: gcd, lcm, primality, prime counting,
modular power, Collatz steps, digit sum and digit reversal."""

from __future__ import annotations

import math
import random

from pydantic import Field, model_validator

from cadmus.lang import BoolKind, BoolOp, Stmt
from cadmus.tasks.base import Family, Sample, check_order, knob_error
from cadmus.tasks.families._common import (
    DIV,
    EQ,
    FUNCTION_FORMATS,
    GT,
    LE,
    LT,
    NE,
    Arg,
    FunctionKnobs,
    add,
    assign,
    c,
    call,
    choose,
    cmp,
    def_,
    distinct_inputs,
    div,
    for_,
    function_name,
    function_sample,
    if_,
    inc,
    instruction,
    mod,
    mul,
    picker,
    ret,
    rint,
    v,
    while_,
)
from cadmus.tasks.registry import register


class RangeKnobs(FunctionKnobs):
    """Function arguments drawn from [min_value, max_value]; subclasses set the bounds."""

    min_value: int = Field(0, ge=0, description="smallest argument")
    max_value: int = Field(100, ge=0, description="largest argument")
    log_uniform: bool = Field(
        False, description="draw arguments with a uniform number of digits (small and large values alike)"
    )

    def _check_range(self, limit: int, key_limit: str = "max_value", min_spread: int = 10) -> None:
        check_order(self, "min_value", "max_value")
        if self.max_value > limit:
            raise knob_error(key_limit, f"max_value must be at most {limit} (overflow or step limits)")
        if self.max_value - self.min_value + 1 < min_spread:
            raise knob_error("max_value", f"[min_value, max_value] must hold at least {min_spread} values")

    def draw(self, rng: random.Random) -> int:
        lo, hi = self.min_value, self.max_value
        if not self.log_uniform or hi < 10:
            return rint(rng, lo, hi)
        digits = rint(rng, len(str(max(lo, 1))), len(str(hi)))
        return rint(rng, max(lo, 10 ** (digits - 1) if digits > 1 else 0), min(hi, 10**digits - 1))


class _NumberFunction(Family):
    formats = FUNCTION_FORMATS


# ---- gcd / lcm ---------------------------------------------------------------------


class GcdKnobs(RangeKnobs):
    max_value: int = Field(100, ge=0, le=10**15, description="largest argument")

    @model_validator(mode="after")
    def _check(self) -> GcdKnobs:
        self._check_range(10**15)
        return self


def _gcd_body(rng: random.Random, a: str, b: str, t: str) -> list[Stmt]:
    """Euclid's algorithm with a loop, in one of a few natural spellings."""
    roll = rng.random()
    if roll < 0.6:
        loop = while_(cmp(NE, v(b), c(0)), [assign(t, mod(v(a), v(b))), assign(a, v(b)), assign(b, v(t))])
    else:
        loop = while_(cmp(GT, v(b), c(0)), [assign(t, v(b)), assign(b, mod(v(a), v(b))), assign(a, v(t))])
    return [loop, ret(v(a))]


@register
class Gcd(_NumberFunction):
    name = "gcd"
    description = "greatest common divisor by Euclid's loop"
    Knobs = GcdKnobs

    def sample(self, rng: random.Random, knobs: GcdKnobs) -> Sample:
        names = picker(rng, knobs)
        fname = function_name(rng, knobs, names, "gcd")
        a, b, t = names.picks(3)
        defs = [def_(fname, (a, b), _gcd_body(rng, a, b, t))]

        def draw() -> tuple[Arg, ...]:
            if rng.random() < 0.5:  # a shared factor makes the answer interesting
                g = rint(rng, 2, max(2, math.isqrt(knobs.max_value)))
                hi = knobs.max_value // g
                lo = max(1, -(-knobs.min_value // g))
                if lo < hi:
                    return (g * rint(rng, lo, hi), g * rint(rng, lo, hi))
            return (knobs.draw(rng), knobs.draw(rng))

        x = max(knobs.draw(rng), 1)
        edges = [(x, 0), (0, x), (x, x), (1, x), (x, 1)]
        edges = [e for e in edges if all(knobs.min_value <= y <= knobs.max_value for y in e)]
        tests = distinct_inputs(rng, draw, edges)
        args = draw()
        what = choose(
            rng,
            (f"the greatest common divisor of {a} and {b}", f"the largest integer dividing both {a} and {b}"),
        )
        note = f"Both are non-negative, and {fname}({a}, 0) is {a}."
        return function_sample(
            defs, fname, args, tests, instruction(rng, fname, (a, b), what, note), {"arg_max": max(args)}
        )


class LcmKnobs(RangeKnobs):
    min_value: int = Field(1, ge=1, description="smallest argument")
    max_value: int = Field(50, ge=1, le=10**9, description="largest argument")

    @model_validator(mode="after")
    def _check(self) -> LcmKnobs:
        self._check_range(10**9)
        return self


@register
class Lcm(_NumberFunction):
    name = "lcm"
    description = "least common multiple through a gcd helper"
    Knobs = LcmKnobs

    def sample(self, rng: random.Random, knobs: LcmKnobs) -> Sample:
        names = picker(rng, knobs)
        fname = function_name(rng, knobs, names, "lcm")
        helper = function_name(rng, knobs, names, "gcd")
        a, b, t, x, y = names.picks(5)
        gcd_def = def_(helper, (x, y), _gcd_body(rng, x, y, t))
        if rng.random() < 0.5:
            body: list[Stmt] = [ret(mul(div(v(a), call(helper, v(a), v(b))), v(b)))]
        else:
            g = names.pick()
            body = [assign(g, call(helper, v(a), v(b))), ret(div(mul(v(a), v(b)), v(g)))]
        defs = [gcd_def, def_(fname, (a, b), body)]

        def draw() -> tuple[Arg, ...]:
            return (knobs.draw(rng), knobs.draw(rng))

        z = knobs.draw(rng)
        edges = [(z, z), (knobs.min_value, z), (z, 2 * z), (2 * z, 3 * z)]
        edges = [e for e in edges if all(knobs.min_value <= w <= knobs.max_value for w in e)]
        tests = distinct_inputs(rng, draw, edges)
        args = draw()
        what = f"the least common multiple of the positive integers {a} and {b}"
        return function_sample(
            defs, fname, args, tests, instruction(rng, fname, (a, b), what), {"arg_max": max(args)}
        )


# ---- primes ---------------------------------------------------------------------------


class PrimeKnobs(RangeKnobs):
    max_value: int = Field(100, ge=0, le=10**6, description="largest n tested (trial division up to sqrt(n))")

    @model_validator(mode="after")
    def _check(self) -> PrimeKnobs:
        self._check_range(10**6)
        return self


def _is_prime_body(rng: random.Random, n: str, d: str) -> list[Stmt]:
    roll = rng.random()
    body: list[Stmt] = [if_(cmp(LT, v(n), c(2)), [ret(c(0))]), assign(d, c(2))]
    if roll < 0.7:
        body.append(
            while_(
                cmp(LE, mul(v(d), v(d)), v(n)),
                [if_(cmp(EQ, mod(v(n), v(d)), c(0)), [ret(c(0))]), inc(d, c(1), aug=rng.random() < 0.5)],
            )
        )
    else:  # skip even divisors after 2
        body = [
            if_(cmp(LT, v(n), c(2)), [ret(c(0))]),
            if_(cmp(EQ, mod(v(n), c(2)), c(0)), [ret(cmp(EQ, v(n), c(2)))]),
            assign(d, c(3)),
            while_(
                cmp(LE, mul(v(d), v(d)), v(n)),
                [if_(cmp(EQ, mod(v(n), v(d)), c(0)), [ret(c(0))]), inc(d, c(2))],
            ),
        ]
    body.append(ret(c(1)))
    return body


@register
class IsPrime(_NumberFunction):
    name = "is_prime"
    description = "primality by trial division up to the square root: returns 1 or 0"
    Knobs = PrimeKnobs

    def sample(self, rng: random.Random, knobs: PrimeKnobs) -> Sample:
        names = picker(rng, knobs)
        fname = function_name(rng, knobs, names, "is_prime")
        n, d = names.picks(2)
        defs = [def_(fname, (n,), _is_prime_body(rng, n, d))]

        def draw() -> tuple[Arg, ...]:
            return (knobs.draw(rng),)

        edges = [(x,) for x in (0, 1, 2, 3, 4, 9, 25, 97) if knobs.min_value <= x <= knobs.max_value]
        tests = distinct_inputs(rng, draw, edges, n_edges=4)
        args = draw()
        what = f"1 if {n} is prime and 0 otherwise"
        return function_sample(
            defs, fname, args, tests, instruction(rng, fname, (n,), what), {"arg": args[0]}
        )


class CountPrimesKnobs(RangeKnobs):
    max_value: int = Field(30, ge=0, le=500, description="largest n (all numbers up to n are tested)")

    @model_validator(mode="after")
    def _check(self) -> CountPrimesKnobs:
        self._check_range(500)
        return self


@register
class CountPrimes(_NumberFunction):
    name = "count_primes"
    description = "number of primes up to n, with an is_prime helper or a nested divisor loop"
    Knobs = CountPrimesKnobs

    def sample(self, rng: random.Random, knobs: CountPrimesKnobs) -> Sample:
        names = picker(rng, knobs)
        fname = function_name(rng, knobs, names, "count_primes")
        n, k, total, d = names.picks(4)
        if rng.random() < 0.5:
            helper = function_name(rng, knobs, names, "is_prime")
            m = names.pick()
            defs: list[Stmt] = [
                def_(helper, (m,), _is_prime_body(rng, m, d)),
                def_(
                    fname,
                    (n,),
                    [
                        assign(total, c(0)),
                        for_(k, c(2), add(v(n), c(1)), [inc(total, call(helper, v(k)))]),
                        ret(v(total)),
                    ],
                ),
            ]
        else:
            flag = names.pick()
            inner = while_(
                BoolOp(BoolKind.AND, cmp(LE, mul(v(d), v(d)), v(k)), v(flag)),
                [if_(cmp(EQ, mod(v(k), v(d)), c(0)), [assign(flag, c(0))]), inc(d, c(1))],
            )
            defs = [
                def_(
                    fname,
                    (n,),
                    [
                        assign(total, c(0)),
                        for_(
                            k,
                            c(2),
                            add(v(n), c(1)),
                            [assign(flag, c(1)), assign(d, c(2)), inner, inc(total, v(flag))],
                        ),
                        ret(v(total)),
                    ],
                )
            ]

        def draw() -> tuple[Arg, ...]:
            return (knobs.draw(rng),)

        edges = [(x,) for x in (0, 1, 2, 3) if knobs.min_value <= x <= knobs.max_value]
        tests = distinct_inputs(rng, draw, edges, n_edges=2)
        args = draw()
        what = f"how many prime numbers are less than or equal to {n}"
        return function_sample(
            defs, fname, args, tests, instruction(rng, fname, (n,), what), {"arg": args[0]}
        )


# ---- modular power ---------------------------------------------------------------------


class ModPowKnobs(FunctionKnobs):
    base_max: int = Field(100, ge=1, le=10**12, description="largest base")
    exp_max: int = Field(30, ge=7, le=10**12, description="largest exponent")
    modulus_min: int = Field(2, ge=2, le=3 * 10**9, description="smallest modulus")
    modulus_max: int = Field(
        100, ge=2, le=3 * 10**9, description="largest modulus ((m - 1)**2 must fit in 64 bits)"
    )

    @model_validator(mode="after")
    def _check(self) -> ModPowKnobs:
        check_order(self, "modulus_min", "modulus_max")
        return self


@register
class ModPow(_NumberFunction):
    name = "modpow"
    description = "modular exponentiation b**e mod m by square-and-multiply"
    Knobs = ModPowKnobs

    def sample(self, rng: random.Random, knobs: ModPowKnobs) -> Sample:
        names = picker(rng, knobs)
        fname = function_name(rng, knobs, names, choose(rng, ("modpow", "power_mod")))
        b, e, m, r = names.picks(4)
        if rng.random() < 0.5:
            odd = cmp(EQ, mod(v(e), c(2)), c(1))
        else:
            odd = cmp(NE, mod(v(e), c(2)), c(0))
        loop = while_(
            cmp(GT, v(e), c(0)),
            [
                if_(odd, [assign(r, mod(mul(v(r), v(b)), v(m)))]),
                assign(b, mod(mul(v(b), v(b)), v(m))),
                assign(e, div(v(e), c(2))),
            ],
        )
        defs = [
            def_(fname, (b, e, m), [assign(r, mod(c(1), v(m))), assign(b, mod(v(b), v(m))), loop, ret(v(r))])
        ]

        def draw() -> tuple[Arg, ...]:
            return (
                rint(rng, 0, knobs.base_max),
                rint(rng, 0, knobs.exp_max),
                rint(rng, knobs.modulus_min, knobs.modulus_max),
            )

        mm = rint(rng, knobs.modulus_min, knobs.modulus_max)
        edges = [
            (rint(rng, 1, knobs.base_max), 0, mm),
            (0, rint(rng, 1, knobs.exp_max), mm),
            (1, knobs.exp_max, mm),
        ]
        tests = distinct_inputs(rng, draw, edges)
        args = draw()
        what = f"{b} raised to the power {e}, modulo {m} (for {b}, {e} >= 0 and {m} >= 2)"
        return function_sample(
            defs, fname, args, tests, instruction(rng, fname, (b, e, m), what), {"exponent": int(args[1])}
        )


# ---- Collatz, digits ----------------------------------------------------------------------


class CollatzKnobs(RangeKnobs):
    min_value: int = Field(1, ge=1, description="smallest start value")
    max_value: int = Field(30, ge=1, le=10**5, description="largest start value")

    @model_validator(mode="after")
    def _check(self) -> CollatzKnobs:
        self._check_range(10**5)
        return self


@register
class Collatz(_NumberFunction):
    name = "collatz"
    description = "number of Collatz steps (n / 2 if even, 3n + 1 if odd) until n reaches 1"
    Knobs = CollatzKnobs

    def sample(self, rng: random.Random, knobs: CollatzKnobs) -> Sample:
        names = picker(rng, knobs)
        fname = function_name(rng, knobs, names, choose(rng, ("collatz_steps", "collatz")))
        n, steps = names.picks(2)
        if rng.random() < 0.5:
            even = cmp(EQ, mod(v(n), c(2)), c(0))
            update = if_(even, [assign(n, div(v(n), c(2)))], [assign(n, add(mul(c(3), v(n)), c(1)))])
        else:
            odd = cmp(EQ, mod(v(n), c(2)), c(1))
            update = if_(odd, [assign(n, add(mul(c(3), v(n)), c(1)))], [assign(n, div(v(n), c(2)))])
        defs = [
            def_(
                fname,
                (n,),
                [
                    assign(steps, c(0)),
                    while_(cmp(NE, v(n), c(1)), [update, inc(steps, c(1), aug=rng.random() < 0.6)]),
                    ret(v(steps)),
                ],
            )
        ]

        def draw() -> tuple[Arg, ...]:
            return (knobs.draw(rng),)

        edges = [(x,) for x in (1, 2, 3, 27) if knobs.min_value <= x <= knobs.max_value]
        tests = distinct_inputs(rng, draw, edges, n_edges=2)
        args = draw()
        what = (
            f"how many moves it takes {n} to reach 1, where each move halves an even number "
            "and turns an odd number into three times it plus 1"
        )
        return function_sample(
            defs, fname, args, tests, instruction(rng, fname, (n,), what), {"arg": args[0]}
        )


class DigitsKnobs(RangeKnobs):
    max_value: int = Field(99999, ge=0, le=10**17, description="largest n")
    log_uniform: bool = Field(True, description="draw n with a uniform number of digits")

    @model_validator(mode="after")
    def _check(self) -> DigitsKnobs:
        self._check_range(10**17)
        return self


@register
class DigitSum(_NumberFunction):
    name = "digit_sum"
    description = "sum of the decimal digits of n with a % 10 / / 10 loop"
    Knobs = DigitsKnobs

    def sample(self, rng: random.Random, knobs: DigitsKnobs) -> Sample:
        names = picker(rng, knobs)
        fname = function_name(rng, knobs, names, choose(rng, ("digit_sum", "sum_digits")))
        n, s = names.picks(2)
        cond = cmp(GT, v(n), c(0)) if rng.random() < 0.7 else cmp(NE, v(n), c(0))
        defs = [
            def_(
                fname,
                (n,),
                [
                    assign(s, c(0)),
                    while_(
                        cond, [inc(s, mod(v(n), c(10)), aug=rng.random() < 0.6), assign(n, div(v(n), c(10)))]
                    ),
                    ret(v(s)),
                ],
            )
        ]

        def draw() -> tuple[Arg, ...]:
            return (knobs.draw(rng),)

        edges = [(x,) for x in (0, 7, 10, 99, 1000) if knobs.min_value <= x <= knobs.max_value]
        tests = distinct_inputs(rng, draw, edges)
        args = draw()
        what = f"the sum of the decimal digits of the non-negative integer {n}"
        return function_sample(
            defs, fname, args, tests, instruction(rng, fname, (n,), what), {"digits": len(str(args[0]))}
        )


@register
class ReverseDigits(_NumberFunction):
    name = "reverse_digits"
    description = "the decimal digits of n in reverse order (1230 -> 321)"
    Knobs = DigitsKnobs

    def sample(self, rng: random.Random, knobs: DigitsKnobs) -> Sample:
        names = picker(rng, knobs)
        fname = function_name(rng, knobs, names, choose(rng, ("reverse_digits", "reverse_number")))
        n, r = names.picks(2)
        if rng.random() < 0.6:
            step = [assign(r, add(mul(v(r), c(10)), mod(v(n), c(10)))), assign(n, div(v(n), c(10)))]
        else:
            d = names.pick()
            step = [
                assign(d, mod(v(n), c(10))),
                assign(r, add(mul(v(r), c(10)), v(d))),
                inc(n, c(10), op=DIV, aug=True),
            ]
        defs = [def_(fname, (n,), [assign(r, c(0)), while_(cmp(GT, v(n), c(0)), step), ret(v(r))])]

        def draw() -> tuple[Arg, ...]:
            return (knobs.draw(rng),)

        edges = [(x,) for x in (0, 5, 10, 1200, 12321) if knobs.min_value <= x <= knobs.max_value]
        tests = distinct_inputs(rng, draw, edges)
        args = draw()
        what = f"the number whose decimal digits are those of {n} in reverse order (trailing zeros of {n} vanish)"
        return function_sample(
            defs, fname, args, tests, instruction(rng, fname, (n,), what), {"digits": len(str(args[0]))}
        )
