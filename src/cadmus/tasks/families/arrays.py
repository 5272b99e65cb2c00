"""Arrays: sum, min/max, argmax, counting, search (functions over an array
parameter), and in-place reverse, sorting and prefix sums (answer an element)."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Literal

from pydantic import Field, model_validator

from cadmus.lang import AugAssign, BoolKind, BoolOp, Expr, Stmt
from cadmus.tasks.base import Family, Knobs, Sample, check_order, knob_error
from cadmus.tasks.families._common import (
    ADD,
    EQ,
    FUNCTION_FORMATS,
    GE,
    GT,
    LT,
    SUB,
    Arg,
    FunctionKnobs,
    LoopStyle,
    add,
    array_lit,
    assign,
    c,
    call,
    check_unique,
    choose,
    cmp,
    count_loop,
    def_,
    distinct_inputs,
    div,
    for_,
    function_name,
    function_sample,
    if_,
    inc,
    instruction,
    item,
    length,
    mod,
    picker,
    ret,
    rint,
    set_item,
    sub,
    v,
    while_,
)
from cadmus.tasks.registry import register

ARRAY_VALUE_LIMIT = 10**12


class _ArrayBounds(Knobs):
    length_min: int = Field(3, ge=1, le=64, description="shortest array")
    length_max: int = Field(8, ge=1, le=64, description="longest array")
    min_value: int = Field(0, ge=-ARRAY_VALUE_LIMIT, le=ARRAY_VALUE_LIMIT, description="smallest element")
    max_value: int = Field(99, ge=-ARRAY_VALUE_LIMIT, le=ARRAY_VALUE_LIMIT, description="largest element")
    loop: LoopStyle = Field(
        "mixed", description="loop style over the array: for, while, or mixed (mostly for)"
    )

    def _check_bounds(self) -> None:
        check_order(self, "length_min", "length_max")
        check_order(self, "min_value", "max_value")

    def values(self, rng: random.Random, n: int | None = None) -> list[int]:
        if n is None:
            n = rint(rng, self.length_min, self.length_max)
        lo, span = self.min_value, self.max_value - self.min_value + 1
        if span > 1 << 50:
            return [rng.randint(lo, self.max_value) for _ in range(n)]
        draw = rng.random
        return [lo + int(draw() * span) for _ in range(n)]


class ArrayFunctionKnobs(_ArrayBounds, FunctionKnobs):
    @model_validator(mode="after")
    def _check(self) -> ArrayFunctionKnobs:
        self._check_bounds()
        spread = self.max_value - self.min_value + 1
        if sum(spread**n for n in range(self.length_min, min(self.length_max, self.length_min + 4) + 1)) < 12:
            raise knob_error(
                "max_value", "too few distinct arrays for 8 test inputs; widen the values or lengths"
            )
        return self


Draw = Callable[[], tuple[Arg, ...]]


def _array_edges(knobs: _ArrayBounds, rng: random.Random) -> list[list[int]]:
    """Arrays at the edges: one element, all equal, sorted, reverse-sorted."""
    edges = [knobs.values(rng, knobs.length_min)]
    n = rint(rng, max(2, knobs.length_min), max(2, knobs.length_max))
    if knobs.length_min <= n <= knobs.length_max:
        x = rint(rng, knobs.min_value, knobs.max_value)
        edges.append([x] * n)
        edges.append(sorted(knobs.values(rng, n)))
        edges.append(sorted(knobs.values(rng, n), reverse=True))
    return edges


class _ArrayFunction(Family):
    """Function over an array parameter; subclasses give the body and wording."""

    Knobs = ArrayFunctionKnobs
    formats = FUNCTION_FORMATS


@register
class ArraySum(_ArrayFunction):
    name = "array_sum"
    description = "function returning the sum of an array's elements"

    def sample(self, rng: random.Random, knobs: ArrayFunctionKnobs) -> Sample:
        names = picker(rng, knobs)
        fname = function_name(rng, knobs, names, choose(rng, ("sum_array", "array_sum", "sum_of")))
        xs, s, i = names.picks(3)
        loop = count_loop(
            rng, i, c(0), length(xs), [inc(s, item(xs, v(i)), aug=rng.random() < 0.7)], knobs.loop
        )
        defs = [def_(fname, (xs,), [assign(s, c(0)), *loop, ret(v(s))])]
        edges = [(e,) for e in _array_edges(knobs, rng)]
        tests = distinct_inputs(rng, lambda: (knobs.values(rng),), edges)
        args = (knobs.values(rng),)
        what = choose(rng, (f"the sum of the elements of the array {xs}", f"the sum of all elements in {xs}"))
        return function_sample(
            defs, fname, args, tests, instruction(rng, fname, (xs,), what), {"length": len(args[0])}
        )


class MinMaxKnobs(ArrayFunctionKnobs):
    kinds: tuple[Literal["max", "min"], ...] = Field(("max", "min"), description="largest and/or smallest")

    @model_validator(mode="after")
    def _check_kinds(self) -> MinMaxKnobs:
        check_unique(self, "kinds")
        return self


@register
class ArrayMax(_ArrayFunction):
    name = "array_max"
    description = "function returning the largest (or smallest) element of a non-empty array"
    Knobs = MinMaxKnobs

    def sample(self, rng: random.Random, knobs: MinMaxKnobs) -> Sample:
        names = picker(rng, knobs)
        kind = choose(rng, knobs.kinds)
        fname = function_name(rng, knobs, names, "largest" if kind == "max" else "smallest")
        xs, best, i = names.picks(3)
        better = GT if kind == "max" else LT
        if rng.random() < 0.3:
            update: Stmt = assign(best, call(kind, v(best), item(xs, v(i))))
        else:
            update = if_(cmp(better, item(xs, v(i)), v(best)), [assign(best, item(xs, v(i)))])
        loop = count_loop(rng, i, c(1), length(xs), [update], knobs.loop)
        defs = [def_(fname, (xs,), [assign(best, item(xs, c(0))), *loop, ret(v(best))])]
        edges = [(e,) for e in _array_edges(knobs, rng)]
        tests = distinct_inputs(rng, lambda: (knobs.values(rng),), edges)
        args = (knobs.values(rng),)
        word = "largest" if kind == "max" else "smallest"
        what = f"the {word} element of the non-empty array {xs}"
        return function_sample(
            defs, fname, args, tests, instruction(rng, fname, (xs,), what), {"length": len(args[0])}
        )


@register
class ArrayArgmax(_ArrayFunction):
    name = "array_argmax"
    description = "function returning the index of the first largest (or smallest) element"
    Knobs = MinMaxKnobs

    def sample(self, rng: random.Random, knobs: MinMaxKnobs) -> Sample:
        names = picker(rng, knobs)
        kind = choose(rng, knobs.kinds)
        fname = function_name(rng, knobs, names, "argmax" if kind == "max" else "argmin")
        xs, k, i = names.picks(3)
        better = GT if kind == "max" else LT
        update = if_(cmp(better, item(xs, v(i)), item(xs, v(k))), [assign(k, v(i))])
        loop = count_loop(rng, i, c(1), length(xs), [update], knobs.loop)
        defs = [def_(fname, (xs,), [assign(k, c(0)), *loop, ret(v(k))])]
        edges = [(e,) for e in _array_edges(knobs, rng)]
        tests = distinct_inputs(rng, lambda: (knobs.values(rng),), edges)
        args = (knobs.values(rng),)
        word = "largest" if kind == "max" else "smallest"
        what = f"the position of the {word} element of the non-empty array {xs} (the earliest one if there are ties)"
        return function_sample(
            defs, fname, args, tests, instruction(rng, fname, (xs,), what), {"length": len(args[0])}
        )


class CountKnobs(ArrayFunctionKnobs):
    predicates: tuple[Literal["equal", "greater", "even"], ...] = Field(
        ("equal", "greater", "even"),
        description="what is counted: elements equal to t, greater than t, or even",
    )

    @model_validator(mode="after")
    def _check_predicates(self) -> CountKnobs:
        check_unique(self, "predicates")
        return self


@register
class ArrayCount(_ArrayFunction):
    name = "array_count"
    description = "function counting the elements that equal a target, exceed a threshold, or are even"
    Knobs = CountKnobs

    def sample(self, rng: random.Random, knobs: CountKnobs) -> Sample:
        names = picker(rng, knobs)
        pred = choose(rng, knobs.predicates)
        fname = function_name(rng, knobs, names, f"count_{pred}")
        xs, n, i = names.picks(3)
        t = names.pick() if pred != "even" else ""
        params = (xs, t) if t else (xs,)
        if pred == "equal":
            cond: Expr = cmp(EQ, item(xs, v(i)), v(t))
            what = f"how many elements of the array {xs} are equal to {t}"
        elif pred == "greater":
            cond = cmp(GT, item(xs, v(i)), v(t))
            what = f"how many elements of the array {xs} are greater than {t}"
        else:
            cond = cmp(EQ, mod(item(xs, v(i)), c(2)), c(0))
            what = f"how many elements of the array {xs} are even"
        loop = count_loop(
            rng, i, c(0), length(xs), [if_(cond, [inc(n, c(1), aug=rng.random() < 0.7)])], knobs.loop
        )
        defs = [def_(fname, params, [assign(n, c(0)), *loop, ret(v(n))])]
        lo, hi = knobs.min_value, knobs.max_value
        narrow = (lo, min(hi, lo + 9))  # fewer distinct values: targets repeat

        def draw() -> tuple[Arg, ...]:
            if pred == "even":
                return (knobs.values(rng),)
            values = [rint(rng, *narrow) for _ in range(rint(rng, knobs.length_min, knobs.length_max))]
            if pred == "equal":
                target = choose(rng, values) if rng.random() < 0.75 else rint(rng, *narrow)
            else:
                target = rint(rng, *narrow)
            return (values, target)

        edges = [(e,) if pred == "even" else (e, e[0]) for e in _array_edges(knobs, rng)]
        tests = distinct_inputs(rng, draw, edges)
        args = draw()
        return function_sample(
            defs, fname, args, tests, instruction(rng, fname, params, what), {"length": len(args[0])}
        )


@register
class ArraySearch(_ArrayFunction):
    name = "array_search"
    description = "linear search: the index of the first element equal to a target, or -1"

    def sample(self, rng: random.Random, knobs: ArrayFunctionKnobs) -> Sample:
        names = picker(rng, knobs)
        fname = function_name(rng, knobs, names, choose(rng, ("find", "index_of", "search")))
        xs, t, i = names.picks(3)
        found = if_(cmp(EQ, item(xs, v(i)), v(t)), [ret(v(i))])
        loop = count_loop(rng, i, c(0), length(xs), [found], knobs.loop)
        defs = [def_(fname, (xs, t), [*loop, ret(c(-1))])]

        def draw() -> tuple[Arg, ...]:
            values = knobs.values(rng)
            target = (
                choose(rng, values) if rng.random() < 0.7 else rint(rng, knobs.min_value, knobs.max_value)
            )
            return (values, target)

        edges: list[tuple[Arg, ...]] = []
        for e in _array_edges(knobs, rng):
            edges.append((e, e[-1]))
        tests = distinct_inputs(rng, draw, edges)
        args = draw()
        what = f"the position of the earliest element of {xs} equal to {t}, or -1 if there is none"
        return function_sample(
            defs, fname, args, tests, instruction(rng, fname, (xs, t), what), {"length": len(args[0])}
        )


# ---- in-place algorithms at top level ------------------------------------------


class ArrayKnobs(_ArrayBounds):
    @model_validator(mode="after")
    def _check(self) -> ArrayKnobs:
        self._check_bounds()
        return self


def _swap(rng: random.Random, arr: str, i: Expr, j: Expr, tmp: str) -> list[Stmt]:
    return [assign(tmp, item(arr, i)), set_item(arr, i, item(arr, j)), set_item(arr, j, v(tmp))]


@register
class ArrayReverse(Family):
    name = "array_reverse"
    description = (
        "reverse an array in place (two indices meeting, or a half loop) or into a copy; answer an element"
    )
    Knobs = ArrayKnobs

    def sample(self, rng: random.Random, knobs: ArrayKnobs) -> Sample:
        names = picker(rng, knobs)
        values = knobs.values(rng)
        a, i, j, t, n = names.picks(5)
        body: list[Stmt] = [assign(a, array_lit(values))]
        style = choose(rng, ("two_pointers", "half_loop", "copy"))
        target = a
        if style == "two_pointers":
            body += [
                assign(i, c(0)),
                assign(j, sub(length(a), c(1))),
                while_(
                    cmp(LT, v(i), v(j)),
                    [*_swap(rng, a, v(i), v(j), t), inc(i, c(1)), inc(j, c(1), SUB)],
                ),
            ]
        elif style == "half_loop":
            mirror = sub(sub(v(n), c(1)), v(i))
            body += [
                assign(n, length(a)),
                for_(i, c(0), div(v(n), c(2)), _swap(rng, a, v(i), mirror, t)),
            ]
        else:
            target = names.pick()
            body += [
                assign(n, length(a)),
                assign(target, call("array", v(n))),
                for_(i, c(0), v(n), [set_item(target, sub(sub(v(n), c(1)), v(i)), item(a, v(i)))]),
            ]
        k = rng.randrange(len(values))
        return Sample(
            body=tuple(body),
            answer=item(target, c(k)),
            features={"length": len(values), "position": k},
        )


class SortKnobs(ArrayKnobs):
    length_max: int = Field(8, ge=1, le=32, description="longest array (sorting is quadratic)")
    algorithms: tuple[Literal["bubble", "insertion", "selection"], ...] = Field(
        ("bubble", "insertion", "selection"), description="sorting algorithms written out with loops"
    )
    descending_prob: float = Field(
        0.2, ge=0.0, le=1.0, description="probability of sorting in descending order"
    )

    @model_validator(mode="after")
    def _check_algorithms(self) -> SortKnobs:
        check_unique(self, "algorithms")
        return self


@register
class ArraySort(Family):
    name = "array_sort"
    description = "sort an array in place with bubble, insertion or selection sort; answer an element"
    Knobs = SortKnobs

    def sample(self, rng: random.Random, knobs: SortKnobs) -> Sample:
        names = picker(rng, knobs)
        values = knobs.values(rng)
        algorithm = choose(rng, knobs.algorithms)
        desc = rng.random() < knobs.descending_prob
        after = LT if desc else GT  # a[x] after a[y] means out of order
        a, n, i, j, t = names.picks(5)
        body: list[Stmt] = [assign(a, array_lit(values)), assign(n, length(a))]
        if algorithm == "bubble":
            inner = if_(
                cmp(after, item(a, v(j)), item(a, add(v(j), c(1)))),
                _swap(rng, a, v(j), add(v(j), c(1)), t),
            )
            body.append(for_(i, c(0), v(n), [for_(j, c(0), sub(sub(v(n), c(1)), v(i)), [inner])]))
        elif algorithm == "insertion":
            key = names.pick()
            shift = while_(
                BoolOp(BoolKind.AND, cmp(GE, v(j), c(0)), cmp(after, item(a, v(j)), v(key))),
                [set_item(a, add(v(j), c(1)), item(a, v(j))), inc(j, c(1), SUB)],
            )
            body.append(
                for_(
                    i,
                    c(1),
                    v(n),
                    [
                        assign(key, item(a, v(i))),
                        assign(j, sub(v(i), c(1))),
                        shift,
                        set_item(a, add(v(j), c(1)), v(key)),
                    ],
                )
            )
        else:
            m = names.pick()
            before = GT if desc else LT
            body.append(
                for_(
                    i,
                    c(0),
                    v(n),
                    [
                        assign(m, v(i)),
                        for_(
                            j,
                            add(v(i), c(1)),
                            v(n),
                            [if_(cmp(before, item(a, v(j)), item(a, v(m))), [assign(m, v(j))])],
                        ),
                        *_swap(rng, a, v(i), v(m), t),
                    ],
                )
            )
        k = rng.randrange(len(values))
        return Sample(
            body=tuple(body),
            answer=item(a, c(k)),
            features={"length": len(values), "position": k, "descending": int(desc)},
        )


@register
class PrefixSums(Family):
    name = "prefix_sums"
    description = "prefix sums of an array (a new array or in place), then an element or a range sum"
    Knobs = ArrayKnobs

    def sample(self, rng: random.Random, knobs: ArrayKnobs) -> Sample:
        names = picker(rng, knobs)
        values = knobs.values(rng)
        a, n, i, p = names.picks(4)
        size = len(values)
        body: list[Stmt] = [assign(a, array_lit(values)), assign(n, length(a))]
        if rng.random() < 0.6:
            body += [
                assign(p, call("array", add(v(n), c(1)))),
                for_(i, c(0), v(n), [set_item(p, add(v(i), c(1)), add(item(p, v(i)), item(a, v(i))))]),
            ]
            if rng.random() < 0.5:
                lo = rint(rng, 0, size - 1)
                hi = rint(rng, lo + 1, size)
                s = names.pick()
                body.append(assign(s, sub(item(p, c(hi)), item(p, c(lo)))))
                answer: Expr = v(s)
            else:
                answer = item(p, c(rint(rng, 1, size)))
        else:
            update = AugAssign(item(a, v(i)), ADD, item(a, sub(v(i), c(1))))
            if rng.random() < 0.5:
                update_stmt: Stmt = update
            else:
                update_stmt = set_item(a, v(i), add(item(a, v(i)), item(a, sub(v(i), c(1)))))
            body.append(for_(i, c(1), v(n), [update_stmt]))
            answer = item(a, c(rng.randrange(size)))
        return Sample(body=tuple(body), answer=answer, features={"length": size})
