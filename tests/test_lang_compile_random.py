"""Random expressions: the compiled code agrees with a reference evaluator written here.

The reference follows each mode's documented semantics (DSL: truncating
division, `and`/`or` give 1/0; Python: flooring division, `and`/`or` give the
deciding operand), short-circuits like the language, and treats any
intermediate result outside the signed 64-bit range as an error, as the VM does.
"""

from __future__ import annotations

import random

import pytest

from cadmus.lang import (
    Assign,
    BinOp,
    BinOpKind,
    BoolKind,
    BoolOp,
    CmpKind,
    Compare,
    Expr,
    Module,
    Name,
    Num,
    Print,
    Unary,
    UnaryKind,
    VerdictKind,
    check,
    num,
)

INT_MIN, INT_MAX = -(2**63), 2**63 - 1
VARS = {"a": 7, "b": -3, "c": 0, "d": 1000000007, "e": -(2**40)}


class Fail(Exception):
    pass


def fit(v: int) -> int:
    if not INT_MIN <= v <= INT_MAX:
        raise Fail
    return v


def tdiv(a: int, b: int) -> int:
    if b == 0:
        raise Fail
    q = abs(a) // abs(b)
    return -q if (a < 0) != (b < 0) else q


def evaluate(e: Expr, python: bool) -> int:
    if isinstance(e, Num):
        return e.value
    if isinstance(e, Name):
        return VARS[e.id]
    if isinstance(e, Unary):
        v = evaluate(e.operand, python)
        if e.op is UnaryKind.NEG:
            return fit(-v)
        if e.op is UnaryKind.NOT:
            return int(v == 0)
        return ~v
    if isinstance(e, BoolOp):
        left = evaluate(e.left, python)
        if (e.op is BoolKind.AND) == (left == 0):  # decided by the left operand
            return left if python else int(left != 0)
        right = evaluate(e.right, python)
        return right if python else int(right != 0)
    if isinstance(e, Compare):
        a, b = evaluate(e.left, python), evaluate(e.right, python)
        return int(
            {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[e.op.value]
        )
    assert isinstance(e, BinOp)
    a, b = evaluate(e.left, python), evaluate(e.right, python)
    k = e.op
    if k in (BinOpKind.TDIV, BinOpKind.TMOD, BinOpKind.FDIV, BinOpKind.FMOD) and b == 0:
        raise Fail
    if k in (BinOpKind.SHL, BinOpKind.SHR) and b < 0:
        raise Fail
    if k is BinOpKind.SHL and b > 64:
        raise Fail
    result = {
        BinOpKind.ADD: lambda: a + b,
        BinOpKind.SUB: lambda: a - b,
        BinOpKind.MUL: lambda: a * b,
        BinOpKind.TDIV: lambda: tdiv(a, b),
        BinOpKind.TMOD: lambda: a - tdiv(a, b) * b,
        BinOpKind.FDIV: lambda: a // b,
        BinOpKind.FMOD: lambda: a % b,
        BinOpKind.BAND: lambda: a & b,
        BinOpKind.BOR: lambda: a | b,
        BinOpKind.BXOR: lambda: a ^ b,
        BinOpKind.SHL: lambda: a << b,
        BinOpKind.SHR: lambda: a >> min(b, 64),
    }[k]()
    return fit(result)


def random_expr(rng: random.Random, depth: int, python: bool) -> Expr:
    if depth == 0 or rng.random() < 0.2:
        if rng.random() < 0.5:
            return Name(rng.choice(list(VARS)))
        return num(
            rng.choice([0, 1, 2, 3, 5, 10, 255, rng.randint(-1000, 1000), rng.randint(-(2**62), 2**62)])
        )
    kind = rng.random()
    sub = lambda: random_expr(rng, depth - 1, python)  # noqa: E731
    if kind < 0.15:
        return Unary(rng.choice(list(UnaryKind)), sub())
    if kind < 0.3:
        return BoolOp(rng.choice(list(BoolKind)), sub(), sub())
    if kind < 0.45:
        return Compare(rng.choice(list(CmpKind)), sub(), sub())
    ops = [BinOpKind.ADD, BinOpKind.SUB, BinOpKind.MUL, BinOpKind.BAND, BinOpKind.BOR, BinOpKind.BXOR]
    ops += [BinOpKind.FDIV, BinOpKind.FMOD] if python else [BinOpKind.TDIV, BinOpKind.TMOD]
    if rng.random() < 0.1:
        return BinOp(rng.choice([BinOpKind.SHL, BinOpKind.SHR]), sub(), Num(rng.randint(0, 5)))
    return BinOp(rng.choice(ops), sub(), sub())


@pytest.mark.parametrize("mode", ["dsl", "python"])
def test_random_expressions_match_the_reference(mode: str) -> None:
    python = mode == "python"
    rng = random.Random(20260 + python)
    setup = tuple(Assign(Name(k), num(v)) for k, v in VARS.items())
    checked_errors = 0
    for _ in range(8):
        exprs, want = [], []
        while len(exprs) < 60:
            e = random_expr(rng, rng.randint(1, 5), python)
            try:
                want.append(evaluate(e, python))
            except Fail:
                if checked_errors < 40:  # a failing expression fails the program
                    verdict = check(Module((*setup, Print((e,)))), mode=mode)
                    assert verdict.kind is VerdictKind.RUNTIME_ERROR, (e, verdict)
                    checked_errors += 1
                continue
            exprs.append(e)
        verdict = check(Module((*setup, *(Print((e,)) for e in exprs))), mode=mode)
        assert verdict.ok, str(verdict)
        got = [values[0] for values in verdict.outputs]
        for e, g, w in zip(exprs, got, want):
            assert g == w, e
    assert checked_errors > 5
