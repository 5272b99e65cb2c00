"""Functions: helper functions called with arguments, and classic recursion."""

from __future__ import annotations

import random
from typing import Literal, get_args

from pydantic import Field, model_validator

from cadmus.lang import Assign, BinOp, Call, Expr, Name, Num, Return, Stmt, Unary
from cadmus.tasks.base import Family, Sample, check_order, knob_error
from cadmus.tasks.families._common import (
    EQ,
    FUNCTION_FORMATS,
    LE,
    LT,
    ArithOp,
    FunctionKnobs,
    ValueKnobs,
    add,
    assign,
    c,
    call,
    check_unique,
    choose,
    cmp,
    def_,
    distinct_inputs,
    div,
    function_name,
    function_sample,
    if_,
    instruction,
    mod,
    mul,
    picker,
    ret,
    rint,
    sub,
    v,
)
from cadmus.tasks.families.arith import ExprGen
from cadmus.tasks.registry import register

HELPER_NAMES = (
    "f",
    "g",
    "h",
    "combine",
    "compute",
    "apply",
    "advance",
    "mix",
    "calc",
    "update",
    "helper",
    "transform",
)


class _Overflow(Exception):
    pass


def _eval(
    expr: Expr, env: dict[str, int], funcs: dict[str, tuple[tuple[str, ...], tuple[Stmt, ...]]], gen: ExprGen
) -> int:
    """Value of a generated expression (bounds check only; the VM gives the answer)."""
    if isinstance(expr, Num):
        return expr.value
    if isinstance(expr, Name):
        return env[expr.id]
    if isinstance(expr, Unary):
        return -_eval(expr.operand, env, funcs, gen)
    if isinstance(expr, BinOp):
        r = gen.apply(expr.op, _eval(expr.left, env, funcs, gen), _eval(expr.right, env, funcs, gen))
        if r is None:
            raise _Overflow
        return r
    if isinstance(expr, Call):
        params, body = funcs[expr.func]
        local = dict(zip(params, (_eval(a, env, funcs, gen) for a in expr.args)))
        for stmt in body:
            if isinstance(stmt, Assign) and isinstance(stmt.target, Name):
                local[stmt.target.id] = _eval(stmt.value, local, funcs, gen)
            elif isinstance(stmt, Return) and stmt.value is not None:
                return _eval(stmt.value, local, funcs, gen)
    raise TypeError(type(expr).__name__)


class FunctionsKnobs(ValueKnobs):
    min_value: int = Field(1, ge=-(10**6), le=10**6, description="smallest constant")
    max_value: int = Field(20, ge=-(10**6), le=10**6, description="largest constant")
    operators: tuple[ArithOp, ...] = Field(("+", "-", "*"), description="binary operators in function bodies")
    n_functions_max: int = Field(
        2, ge=1, le=4, description="most helper functions (later ones may call earlier)"
    )
    n_params_max: int = Field(2, ge=1, le=4, description="most parameters of a helper")
    n_locals_max: int = Field(1, ge=0, le=4, description="most local assignments before the return")
    n_calls_min: int = Field(1, ge=1, le=8, description="fewest top-level calls")
    n_calls_max: int = Field(3, ge=1, le=8, description="most top-level calls")
    function_names: Literal["meaningful", "random"] = Field(
        "meaningful",
        description="helper names from a fixed set (f, g, combine, ...) or from the identifier pool",
    )
    max_abs: int = Field(10**9, ge=1, le=10**18, description="bound on |value| of every intermediate result")

    @model_validator(mode="after")
    def _check(self) -> FunctionsKnobs:
        self._check_values()
        check_unique(self, "operators")
        check_order(self, "n_calls_min", "n_calls_max")
        return self


@register
class Functions(Family):
    name = "functions"
    description = "small helper functions with parameters and locals, called (and composed) from top level"
    Knobs = FunctionsKnobs

    def sample(self, rng: random.Random, knobs: FunctionsKnobs) -> Sample:
        for _ in range(20):
            made = self._attempt(rng, knobs, knobs.operators)
            if made is not None:
                return made
        safe = tuple(o for o in knobs.operators if o in "+-") or ("+",)
        while True:
            made = self._attempt(rng, knobs, safe)
            if made is not None:
                return made

    def _attempt(self, rng: random.Random, knobs: FunctionsKnobs, ops: tuple[str, ...]) -> Sample | None:
        names = picker(rng, knobs)
        gen = ExprGen(rng, ops, knobs.min_value, knobs.max_value, 10**18, True)
        check = ExprGen(rng, ops, 0, 0, knobs.max_abs, True)
        funcs: dict[str, tuple[tuple[str, ...], tuple[Stmt, ...]]] = {}
        defs: list[Stmt] = []
        n_calls = rint(rng, knobs.n_calls_min, knobs.n_calls_max)
        n_funcs = rint(rng, 1, min(knobs.n_functions_max, n_calls))
        if knobs.function_names == "meaningful":
            fnames = rng.sample(HELPER_NAMES, n_funcs)
            names.reserve(*fnames)
        else:
            fnames = names.picks(n_funcs)
        for fname in fnames:
            # each function is its own scope: parameter and local names may repeat across functions
            scope = picker(rng, knobs, avoid=tuple(fnames))
            params = tuple(scope.picks(rint(rng, 1, knobs.n_params_max)))
            known = [(p, 1) for p in params]  # placeholder values: real ones are checked per call
            unused = list(params)
            rng.shuffle(unused)
            body: list[Stmt] = []
            for _ in range(rint(rng, 0, knobs.n_locals_max)):
                lead = unused.pop() if unused else choose(rng, known)[0]
                others = [x for x in known if x[0] != lead]
                expr, _ = gen.tree(1, (Name(lead), 1), others, 0.3) or (Name(lead), 1)
                local = scope.pick()
                body.append(assign(local, expr))
                known.append((local, 1))
            # the return reads the last local (or a parameter) and every parameter not read yet
            lead = known[-1][0] if len(known) > len(params) else unused.pop()
            others = [x for x in known if x[0] != lead]
            result, _ = gen.tree(1 + (rng.random() < 0.3), (Name(lead), 1), others, 0.3) or (Name(lead), 1)
            for name in unused:
                result = BinOp(choose(rng, gen.ops), result, Name(name))
            if funcs and rng.random() < 0.5:  # call an earlier helper
                other, (oparams, _) = choose(rng, list(funcs.items()))
                result = BinOp(
                    choose(rng, gen.ops), call(other, *(Name(choose(rng, known)[0]) for _ in oparams)), result
                )
            body.append(ret(result))
            funcs[fname] = (params, tuple(body))
            defs.append(def_(fname, params, body))
        env: dict[str, int] = {}
        top: list[Stmt] = []
        last = ""
        order = list(funcs)  # every helper is called at least once
        order += [choose(rng, order) for _ in range(n_calls - len(order))]
        rng.shuffle(order)
        for fname in order:
            args: list[Expr] = []
            for _ in funcs[fname][0]:
                if env and rng.random() < 0.5:
                    args.append(Name(choose(rng, list(env))))
                else:
                    args.append(c(rint(rng, knobs.min_value, knobs.max_value)))
            expr = call(fname, *args)
            try:
                value = _eval(expr, env, funcs, check)
            except _Overflow:
                return None
            last = names.pick()
            top.append(assign(last, expr))
            env[last] = value
        return Sample(
            body=(*defs, *top),
            answer=v(last),
            features={"functions": len(funcs), "calls": len(top)},
        )


Problem = Literal["factorial", "fib", "power", "sum_digits", "sum_to", "gcd"]


class RecursionKnobs(FunctionKnobs):
    problems: tuple[Problem, ...] = Field(
        ("factorial", "fib", "power", "sum_digits", "sum_to", "gcd"), description="which recursive functions"
    )
    factorial_max: int = Field(10, ge=7, le=20, description="largest n of factorial(n)")
    fib_max: int = Field(
        12, ge=7, le=20, description="largest n of fib(n) (naive recursion: calls grow as 1.6**n)"
    )
    power_base_max: int = Field(9, ge=2, le=1000, description="largest base of power(b, e)")
    power_exp_max: int = Field(6, ge=3, le=62, description="largest exponent of power(b, e)")
    digits_max: int = Field(99999, ge=10, le=10**18, description="largest n of sum_digits(n)")
    sum_to_max: int = Field(30, ge=7, le=200, description="largest n of sum_to(n)")
    gcd_max: int = Field(100, ge=7, le=10**12, description="largest argument of gcd(a, b)")

    @model_validator(mode="after")
    def _check(self) -> RecursionKnobs:
        check_unique(self, "problems")
        if self.power_base_max**self.power_exp_max > 10**18:
            raise knob_error("power_exp_max", "power_base_max ** power_exp_max must be at most 10**18")
        return self


@register
class Recursion(Family):
    name = "recursion"
    description = "recursive functions: factorial, Fibonacci, power, digit sum, sum to n, gcd"
    Knobs = RecursionKnobs
    formats = FUNCTION_FORMATS

    def sample(self, rng: random.Random, knobs: RecursionKnobs) -> Sample:
        names = picker(rng, knobs)
        problem = choose(rng, knobs.problems)
        fname = function_name(rng, knobs, names, problem)
        if problem in ("power", "gcd"):
            a, b = names.picks(2)
            params: tuple[str, ...] = (a, b)
        else:
            n = names.pick()
            params = (n,)

        def rec(*args: Expr) -> Expr:
            return call(fname, *args)

        if problem == "factorial":
            body: list[Stmt] = [
                if_(cmp(LE, v(n), c(1)), [ret(c(1))]),
                ret(mul(v(n), rec(sub(v(n), c(1))))),
            ]
            what = f"the factorial of {n} ({n}! = 1 * 2 * ... * {n}, and 0! = 1), computed recursively"

            def draw() -> tuple[int, ...]:
                return (rint(rng, 0, knobs.factorial_max),)

            edges: list[tuple[int, ...]] = [(0,), (1,), (2,)]
        elif problem == "fib":
            body = [
                if_(cmp(LT, v(n), c(2)), [ret(v(n))]),
                ret(add(rec(sub(v(n), c(1))), rec(sub(v(n), c(2))))),
            ]
            what = f"the {n}-th Fibonacci number ({fname}(0) = 0, {fname}(1) = 1), computed recursively"

            def draw() -> tuple[int, ...]:
                return (rint(rng, 0, knobs.fib_max),)

            edges = [(0,), (1,), (2,)]
        elif problem == "power":
            if rng.random() < 0.5:
                body = [if_(cmp(EQ, v(b), c(0)), [ret(c(1))]), ret(mul(v(a), rec(v(a), sub(v(b), c(1)))))]
            else:
                half = names.pick()
                body = [
                    if_(cmp(EQ, v(b), c(0)), [ret(c(1))]),
                    assign(half, rec(v(a), div(v(b), c(2)))),
                    if_(cmp(EQ, mod(v(b), c(2)), c(0)), [ret(mul(v(half), v(half)))]),
                    ret(mul(mul(v(half), v(half)), v(a))),
                ]
            what = f"{a} raised to the power {b} (with {b} >= 0), computed recursively"

            def draw() -> tuple[int, ...]:
                return (rint(rng, 0, knobs.power_base_max), rint(rng, 0, knobs.power_exp_max))

            edges = [
                (rint(rng, 1, knobs.power_base_max), 0),
                (0, rint(rng, 1, knobs.power_exp_max)),
                (1, 3),
            ]
        elif problem == "sum_digits":
            body = [
                if_(cmp(LT, v(n), c(10)), [ret(v(n))]),
                ret(add(mod(v(n), c(10)), rec(div(v(n), c(10))))),
            ]
            what = f"the sum of the decimal digits of {n} (for {n} >= 0), computed recursively"

            def draw() -> tuple[int, ...]:
                return (_log_uniform(rng, knobs.digits_max),)

            edges = [(0,), (9,), (10,), (1000,)]
        elif problem == "sum_to":
            body = [
                if_(cmp(EQ, v(n), c(0)), [ret(c(0))]),
                ret(add(v(n), rec(sub(v(n), c(1))))),
            ]
            what = f"the sum 0 + 1 + ... + {n} (for {n} >= 0), computed recursively"

            def draw() -> tuple[int, ...]:
                return (rint(rng, 0, knobs.sum_to_max),)

            edges = [(0,), (1,)]
        else:
            body = [
                if_(cmp(EQ, v(b), c(0)), [ret(v(a))]),
                ret(rec(v(b), mod(v(a), v(b)))),
            ]
            what = f"the greatest common divisor of {a} and {b} (non-negative), by Euclidean recursion"

            def draw() -> tuple[int, ...]:
                return (rint(rng, 0, knobs.gcd_max), rint(rng, 0, knobs.gcd_max))

            x = rint(rng, 1, knobs.gcd_max)
            edges = [(x, 0), (0, x), (x, x), (1, x)]
        defs = [def_(fname, params, body)]
        tests = distinct_inputs(rng, draw, edges)
        args = draw()
        return function_sample(
            defs,
            fname,
            args,
            tests,
            instruction(rng, fname, params, what),
            {"arg_max": max(args), "problem": get_args(Problem).index(problem)},
        )


def _log_uniform(rng: random.Random, high: int) -> int:
    """A value in [0, high] whose number of digits is uniform."""
    digits = rint(rng, 1, len(str(high)))
    return rint(rng, 0 if digits == 1 else 10 ** (digits - 1), min(high, 10**digits - 1))
