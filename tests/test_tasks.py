"""Task families: every sample is a true program, knobs are honoured, sampling is
deterministic, renaming is controlled, function families give good tests."""

from __future__ import annotations

import itertools
import json
import math
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cadmus.lang import (
    ArrayLit,
    Assert,
    Assign,
    AugAssign,
    BinOp,
    Call,
    CmpKind,
    Compare,
    For,
    FuncDef,
    Module,
    Name,
    Node,
    Print,
    check,
    const_value,
    num,
    to_dsl,
)
from cadmus.tasks import (
    FORMATS,
    HELDOUT,
    POOLS,
    Family,
    Sample,
    TaskError,
    all_families,
    get_family,
    tasks_markdown,
)

FAMILIES = sorted(all_families())
FUNCTION_FAMILIES = [n for n in FAMILIES if "synthesize" in get_family(n).formats]

# Non-default settings per family: renamings for all, plus out-of-distribution
# and boundary settings (the largest values and sizes the validators accept).
GENERIC: list[dict[str, Any]] = [
    {"names": "heldout"},
    {"names": "short"},
    {"names": "random"},
    {"pool_size": 3},
]
EXTRA: dict[str, list[dict[str, Any]]] = {
    "arith": [
        {"max_value": 9999, "n_statements_max": 8, "depth_max": 3, "operators": ["+", "-", "*", "/", "%"]},
        {
            "min_value": -(10**12),
            "max_value": 10**12,
            "operators": ["*"],
            "max_abs": 10**18,
            "n_statements_max": 16,
        },
        {"operators": ["*", "/"], "depth_max": 6, "allow_negative": False, "chain": False},
    ],
    "expr": [
        {
            "depth_min": 8,
            "depth_max": 8,
            "operators": ["+", "-", "*", "/", "%"],
            "max_value": 10**12,
            "max_abs": 10**18,
        }
    ],
    "reassign": [
        {
            "operators": ["+", "-", "*"],
            "n_updates_max": 20,
            "n_vars_max": 6,
            "answer": "last",
            "swap_prob": 0.5,
        }
    ],
    "conditional": [
        {"n_branches_max": 6, "nesting": 4, "nest_prob": 0.9, "bool_prob": 0.8, "min_value": -(10**12)}
    ],
    "while_loop": [
        {"max_iterations": 36, "start_max": 10**6, "step_max": 100},
        {"min_iterations": 0, "max_iterations": 2},
    ],
    "for_loop": [
        {"max_iterations": 200, "start_max": 10**6, "step_max": 100},
        {"min_iterations": 0, "max_iterations": 3},
    ],
    "nested_loops": [{"outer_max": 20, "inner_max": 30, "depth_max": 3}],
    "functions": [
        {
            "operators": ["*"],
            "n_functions_max": 4,
            "n_params_max": 4,
            "n_locals_max": 4,
            "max_value": 10**6,
            "n_calls_max": 8,
        }
    ],
    "recursion": [
        {
            "factorial_max": 20,
            "fib_max": 16,
            "power_base_max": 1000,
            "power_exp_max": 6,
            "digits_max": 10**18,
            "sum_to_max": 200,
            "gcd_max": 10**12,
        }
    ],
    "array_sort": [{"length_max": 32, "min_value": -(10**12), "max_value": 10**12, "descending_prob": 0.5}],
    "array_sum": [
        {"length_min": 1, "length_max": 64, "min_value": -(10**12), "max_value": 10**12, "loop": "while"}
    ],
    "array_count": [{"min_value": -5, "max_value": 5, "loop": "for"}],
    "gcd": [{"max_value": 10**15, "log_uniform": True}],
    "lcm": [{"max_value": 10**9}],
    "is_prime": [{"max_value": 10**6, "log_uniform": True}],
    "count_primes": [{"max_value": 500}],
    "modpow": [{"base_max": 10**12, "exp_max": 10**12, "modulus_max": 3 * 10**9}],
    "collatz": [{"max_value": 10**5}],
    "digit_sum": [{"max_value": 10**17}],
    "reverse_digits": [{"max_value": 10**17}],
    "popcount": [{"max_value": 2**62}],
    "bit_ops": [
        {"bits": 30, "shift_max": 16, "n_statements_max": 2},
        {"operators": ["&", "|", "^"], "n_statements_max": 7, "mask_prob": 1.0},
    ],
    "base_convert": [
        {"base_min": 10, "base_max": 10, "max_value": 10**12},
        {"base_min": 2, "base_max": 2, "max_value": 2**18 - 1},
    ],
}


def settings(name: str) -> list[dict[str, Any]]:
    """Defaults, renamings, and each boundary setting also with the smallest name pool."""
    extra = EXTRA.get(name, [])
    return [{}, *GENERIC, *extra, *({**e, "names": "short"} for e in extra)]


def draw(name: str, overrides: dict[str, Any], seed: int) -> Sample:
    family = get_family(name)
    return family.sample(random.Random(seed), family.knobs(overrides))


def answer_value(sample: Sample) -> int:
    """Run body + print(answer); then check that body + assert(answer == value) is true."""
    printed = check(Module((*sample.body, Print((sample.answer,)))))
    assert printed.ok, f"{printed}\n{to_dsl(Module(sample.body))}"
    value = int(printed.output_text)
    asserted = check(Module((*sample.body, Assert(Compare(CmpKind.EQ, sample.answer, num(value))))))
    assert asserted.ok, str(asserted)
    return value


def results_on_tests(sample: Sample) -> list[int]:
    """The function's results on every test input, from one VM run."""
    assert sample.function is not None
    prints = tuple(Print((Call(sample.function, args),)) for args in sample.test_inputs)
    verdict = check(Module((*sample.body, *prints)))
    assert verdict.ok, f"{verdict}\n{to_dsl(Module(sample.body))}"
    return [int(line) for line in verdict.output_text.splitlines()]


def walk(node: Any) -> Iterator[Node]:
    if isinstance(node, Node):
        yield node
        for slot in type(node).__slots__:
            yield from walk(getattr(node, slot))
    elif isinstance(node, tuple):
        for x in node:
            yield from walk(x)


def identifiers(sample: Sample, with_functions: bool = False) -> set[str]:
    """Variable names (and parameters, loop variables); function names when asked."""
    out: set[str] = set()
    for node in walk(sample.body):
        if isinstance(node, Name):
            out.add(node.id)
        elif isinstance(node, For):
            out.add(node.var)
        elif isinstance(node, FuncDef):
            out.update(node.params)
            if with_functions:
                out.add(node.name)
    return out


def literal(expr: Any) -> Any:
    if isinstance(expr, ArrayLit):
        return [literal(e) for e in expr.elts]
    value = const_value(expr)
    assert value is not None, expr
    return value


# ---- registry ---------------------------------------------------------------------------


def test_registry() -> None:
    assert len(FAMILIES) >= 24
    assert len(FUNCTION_FAMILIES) >= 12
    for name in FAMILIES:
        family = get_family(name)
        assert isinstance(family, Family) and family.name == name
        assert family.description and "\n" not in family.description
        assert family.formats <= set(FORMATS)
        family.knobs({})  # defaults are valid
        for field, info in family.Knobs.model_fields.items():
            assert info.description, f"{name}.{field} lacks a description"


# ---- truth -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", FAMILIES)
def test_samples_are_true(name: str) -> None:
    for i, overrides in enumerate(settings(name)):
        for seed in range(8 if i == 0 else 3):
            sample = draw(name, overrides, 1000 * i + seed)
            answer_value(sample)
            assert all(isinstance(v, int) for v in sample.features.values())
            if sample.function:
                assert len(results_on_tests(sample)) == len(sample.test_inputs)


def test_default_programs_are_cheap() -> None:
    for name in FAMILIES:
        for seed in range(5):
            sample = draw(name, {}, seed)
            verdict = check(Module((*sample.body, Print((sample.answer,)))))
            assert verdict.steps < 5000, (name, verdict.steps)


# ---- knobs -------------------------------------------------------------------------------


def leaves(expr: Any) -> list[Any]:
    return leaves(expr.left) + leaves(expr.right) if isinstance(expr, BinOp) else [expr]


def test_arith_respects_knobs() -> None:
    cases = [
        {},
        {
            "min_value": 100,
            "max_value": 999,
            "n_statements_min": 4,
            "n_statements_max": 6,
            "operators": ["+", "*"],
        },
        {"min_value": -50, "max_value": -10, "operators": ["-"], "depth_min": 2, "depth_max": 3},
    ]
    for overrides in cases:
        knobs = get_family("arith").knobs(overrides)
        allowed = set(knobs.operators)
        for seed in range(40):
            sample = draw("arith", overrides, seed)
            assert knobs.n_statements_min <= len(sample.body) <= knobs.n_statements_max
            assert all(isinstance(s, Assign) for s in sample.body)
            assert sample.answer == sample.body[-1].target
            for node in walk(sample.body):
                if isinstance(node, BinOp):
                    assert node.op.value in allowed
            for stmt in sample.body:
                if isinstance(stmt.value, BinOp):
                    assert _depth(stmt.value) in range(knobs.depth_min, knobs.depth_max + 1)
            for stmt in sample.body:
                for leaf in leaves(stmt.value):
                    value = const_value(leaf)
                    assert value is None or knobs.min_value <= value <= knobs.max_value


def _depth(expr: Any) -> int:
    return 1 + max(_depth(expr.left), _depth(expr.right)) if isinstance(expr, BinOp) else 0


def test_arith_headline_defaults() -> None:
    """The demo's task: 2-3 statements through variables, 0..99, + and -, chained."""
    shapes = set()
    for seed in range(200):
        sample = draw("arith", {}, seed)
        body = sample.body
        assert 2 <= len(body) <= 3
        assert const_value(body[0].value) is not None  # a = 37
        for prev, stmt in itertools.pairwise(body):
            names = {n.id for n in walk(stmt.value) if isinstance(n, Name)}
            assert prev.target.id in names  # chained through the previous variable
        shapes.add(len(body))
    assert shapes == {2, 3}


def test_arith_max_abs_bounds_values() -> None:
    overrides = {"operators": ["*", "+"], "n_statements_max": 10, "max_abs": 10**6, "depth_max": 2}
    for seed in range(30):
        sample = draw("arith", overrides, seed)
        for stmt in sample.body:
            probe = Sample(body=sample.body, answer=stmt.target)
            assert abs(answer_value(probe)) <= 10**6


def test_other_knobs_respected() -> None:
    for seed in range(30):
        s = draw("conditional", {"comparisons": ["<"], "bool_prob": 0.0}, seed)
        assert {n.op for n in walk(s.body) if isinstance(n, Compare)} <= {CmpKind.LT, CmpKind.EQ}
        s = draw("array_sort", {"length_min": 5, "length_max": 6, "min_value": -3, "max_value": 3}, seed)
        values = literal(s.body[0].value)
        assert 5 <= len(values) <= 6 and all(-3 <= x <= 3 for x in values)
        s = draw("bit_ops", {"operators": ["&", "^"], "mask_prob": 0.0}, seed)
        assert {n.op.value for n in walk(s.body) if isinstance(n, BinOp)} <= {"&", "^"}
        s = draw("recursion", {"problems": ["fib"]}, seed)
        assert s.function == "fib"
        s = draw("array_sum", {"length_min": 2, "length_max": 4}, seed)
        for args in s.test_inputs:
            assert 2 <= len(literal(args[0])) <= 4
        s = draw("while_loop", {"patterns": ["countdown"], "max_iterations": 4}, seed)
        assert s.features["iterations"] <= 4
        s = draw("reassign", {"aug_prob": 0.0}, seed)
        assert not any(isinstance(n, AugAssign) for n in walk(s.body))


@pytest.mark.parametrize(
    ("name", "overrides", "key"),
    [
        ("arith", {"n_statements_min": 5, "n_statements_max": 3}, "n_statements_max"),
        ("arith", {"max_value": 10**13}, "max_value"),
        ("arith", {"operators": ["**"]}, "operators.0"),
        ("arith", {"operators": []}, "operators"),
        ("arith", {"operators": ["+", "+"]}, "operators"),
        ("arith", {"max_value": 500, "max_abs": 100}, "max_abs"),
        ("arith", {"bogus": 1}, "bogus"),
        ("arith", {"names": "klingon"}, "names"),
        ("expr", {"depth_max": 9}, "depth_max"),
        ("recursion", {"power_base_max": 1000, "power_exp_max": 10}, "power_exp_max"),
        ("recursion", {"fib_max": 30}, "fib_max"),
        ("lcm", {"max_value": 10**10}, "max_value"),
        ("modpow", {"modulus_max": 4 * 10**9}, "modulus_max"),
        ("count_primes", {"max_value": 5000}, "max_value"),
        ("collatz", {"min_value": 0}, "min_value"),
        ("gcd", {"min_value": 50, "max_value": 55}, "max_value"),
        ("bit_ops", {"bits": 40, "shift_max": 16, "n_statements_max": 7}, "shift_max"),
        ("base_convert", {"max_value": 2**18}, "max_value"),
        ("nested_loops", {"outer_max": 50, "inner_max": 50, "depth_max": 3}, "inner_max"),
        ("while_loop", {"max_iterations": 100}, "max_iterations"),
        ("array_sort", {"length_max": 100}, "length_max"),
        ("array_sum", {"length_min": 1, "length_max": 1, "min_value": 0, "max_value": 3}, "max_value"),
        ("conditional", {"comparisons": ["<>"]}, "comparisons.0"),
        ("recursion", {"function_names": "silly"}, "function_names"),
    ],
)
def test_bad_knobs_name_the_key(name: str, overrides: dict[str, Any], key: str) -> None:
    with pytest.raises(TaskError) as info:
        get_family(name).knobs(overrides)
    assert info.value.key == key
    assert key in str(info.value)


def test_knobs_round_trip_through_json() -> None:
    """The data layer stores knobs as JSON and rebuilds them."""
    for name in FAMILIES:
        family = get_family(name)
        knobs = family.knobs({"names": "words"})
        again = family.knobs(json.loads(knobs.model_dump_json()))
        assert again == knobs
        assert family.sample(random.Random(3), again) == family.sample(random.Random(3), knobs)


def test_unknown_family() -> None:
    with pytest.raises(TaskError, match="unknown task family"):
        get_family("no_such_family")


# ---- determinism and renaming -------------------------------------------------------------


@pytest.mark.parametrize("name", FAMILIES)
def test_deterministic(name: str) -> None:
    for seed in (0, 7):
        assert draw(name, {}, seed) == draw(name, {}, seed)
    assert len({to_dsl(Module(draw(name, {}, s).body)) for s in range(10)}) >= 5  # and varied


@pytest.mark.parametrize("name", FAMILIES)
def test_renaming(name: str) -> None:
    others = {n for pool, names in POOLS.items() if pool != "heldout" for n in names}
    random_fn = (
        {"function_names": "random"} if "function_names" in get_family(name).Knobs.model_fields else {}
    )
    for seed in range(6):
        held = identifiers(
            draw(name, {"names": "heldout", **random_fn}, seed), with_functions=bool(random_fn)
        )
        assert held <= set(HELDOUT), held - set(HELDOUT)
        assert not held & others
        for pool in ("letters", "words", "random"):
            names = identifiers(draw(name, {"names": pool}, seed))
            assert not names & set(HELDOUT)
            if pool != "random":
                assert names <= set(POOLS[pool])


def test_pool_size_limits_names() -> None:
    seen: set[str] = set()
    for seed in range(60):
        seen |= identifiers(draw("arith", {"pool_size": 3}, seed))
    assert seen == set(POOLS["letters"][:3])
    seen = set()
    for seed in range(60):  # programs needing more names than the limit still sample
        seen |= identifiers(draw("array_sort", {"pool_size": 2}, seed))
    assert len(seen) <= 8


# ---- function families ----------------------------------------------------------------------


def _primes_upto(n: int) -> int:
    return sum(1 for k in range(2, n + 1) if all(k % d for d in range(2, math.isqrt(k) + 1)))


def _collatz(n: int) -> int:
    steps = 0
    while n != 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        steps += 1
    return steps


def _base(n: int, b: int) -> list[int]:
    digits = []
    while n:
        digits.append(n % b)
        n //= b
    return digits


REFERENCE = {
    "gcd": math.gcd,
    "lcm": math.lcm,
    "is_prime": lambda n: int(n >= 2 and all(n % d for d in range(2, math.isqrt(n) + 1))),
    "count_primes": _primes_upto,
    "modpow": pow,
    "power_mod": pow,
    "collatz": _collatz,
    "collatz_steps": _collatz,
    "digit_sum": lambda n: sum(map(int, str(n))),
    "sum_digits": lambda n: sum(map(int, str(n))),
    "reverse_digits": lambda n: int(str(n)[::-1]),
    "reverse_number": lambda n: int(str(n)[::-1]),
    "popcount": lambda n: bin(n).count("1"),
    "count_bits": lambda n: bin(n).count("1"),
    "bit_count": lambda n: bin(n).count("1"),
    "sum_array": sum,
    "array_sum": sum,
    "sum_of": sum,
    "largest": max,
    "smallest": min,
    "argmax": lambda xs: xs.index(max(xs)),
    "argmin": lambda xs: xs.index(min(xs)),
    "count_equal": lambda xs, t: xs.count(t),
    "count_greater": lambda xs, t: sum(x > t for x in xs),
    "count_even": lambda xs: sum(x % 2 == 0 for x in xs),
    "find": lambda xs, t: xs.index(t) if t in xs else -1,
    "index_of": lambda xs, t: xs.index(t) if t in xs else -1,
    "search": lambda xs, t: xs.index(t) if t in xs else -1,
    "factorial": math.factorial,
    "fib": lambda n: round(((1 + 5**0.5) / 2) ** n / 5**0.5),
    "power": lambda b, e: b**e,
    "sum_to": lambda n: n * (n + 1) // 2,
    "count_digits": lambda n, b: max(1, len(_base(n, b))),
    "digit_sum_base": lambda n, b: sum(_base(n, b)),
    "to_base": lambda n, b: int("".join(map(str, reversed(_base(n, b)))) or "0"),
    "from_base": lambda d, b: int(str(d), b),
}


@pytest.mark.parametrize("name", FUNCTION_FAMILIES)
def test_function_families(name: str) -> None:
    checked = 0
    for seed in range(5):
        sample = draw(name, {}, seed)
        assert sample.function and sample.instruction
        assert sample.function in sample.instruction
        assert isinstance(sample.answer, Call) and sample.answer.func == sample.function
        defs = [s for s in sample.body if isinstance(s, FuncDef)]
        assert defs and defs[-1].name == sample.function
        assert all(len(args) == len(defs[-1].params) for args in sample.test_inputs)
        assert 8 <= len(sample.test_inputs) <= 12
        assert len({to_dsl(Module((Print(args),))) for args in sample.test_inputs}) == len(sample.test_inputs)
        results = results_on_tests(sample)
        reference = REFERENCE.get(sample.function)
        if reference is None:
            continue
        for args, result in zip(sample.test_inputs, results):
            assert reference(*(literal(a) for a in args)) == result, (sample.function, args)
        checked += 1
    assert checked >= 1


def test_instruction_wording_avoids_pool_names() -> None:
    """Renaming rewrites parameter names inside instructions, so the fixed wording must use no
    identifier of any pool (no stray "a", "base", "first", ...)."""
    pooled = {n for pool, names in POOLS.items() if pool != "heldout" for n in names}
    for name in FUNCTION_FAMILIES:
        for seed in range(30):
            sample = draw(name, {"names": "heldout"}, seed)
            words = set(re.findall(r"\b[A-Za-z_][A-Za-z0-9_]*\b", sample.instruction or ""))
            assert not (words & pooled) - {sample.function}, (name, words & pooled)


def test_instructions_vary() -> None:
    texts = {draw("gcd", {}, seed).instruction.split(" gcd(")[0] for seed in range(40)}
    assert len(texts) >= 3


# ---- docs, CLI, speed --------------------------------------------------------------------------


def test_docs_up_to_date() -> None:
    path = Path(__file__).resolve().parent.parent / "docs" / "tasks.md"
    assert path.read_text(encoding="utf-8") == tasks_markdown(), (
        "regenerate: cadmus tasks docs --out docs/tasks.md"
    )
