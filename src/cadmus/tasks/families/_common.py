"""Shared pieces of the built-in families: AST shorthand, knob mixins, helpers.

Families build AST nodes directly (no parsing) so sampling stays cheap. The
few that track values while sampling (straight-line arithmetic) do it only to
keep every intermediate value inside a bound; the answer itself always comes
from running the program on the VM.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from typing import Literal, TypeVar

from pydantic import Field

from cadmus.lang import (
    ArrayLit,
    Assign,
    AugAssign,
    BinOp,
    BinOpKind,
    Call,
    CmpKind,
    Compare,
    Expr,
    For,
    FuncDef,
    If,
    Index,
    Name,
    Return,
    Stmt,
    While,
    num,
)
from cadmus.tasks.base import Knobs, Sample, check_order, knob_error
from cadmus.tasks.names import NamePicker

# Every bound a knob may reach is far below 2**63 so no sum of a few of them overflows.
VALUE_LIMIT = 10**12
T = TypeVar("T")
INT64_MAX = 2**63 - 1

BIN = {op.value: op for op in (BinOpKind.ADD, BinOpKind.SUB, BinOpKind.MUL, BinOpKind.TDIV, BinOpKind.TMOD)}
CMP = {op.value: op for op in CmpKind}
ADD, SUB, MUL, DIV, MOD = BinOpKind.ADD, BinOpKind.SUB, BinOpKind.MUL, BinOpKind.TDIV, BinOpKind.TMOD
LT, LE, GT, GE, EQ, NE = CmpKind.LT, CmpKind.LE, CmpKind.GT, CmpKind.GE, CmpKind.EQ, CmpKind.NE

ArithOp = Literal["+", "-", "*", "/", "%"]
CmpOp = Literal["<", "<=", ">", ">=", "==", "!="]


# ---- fast randomness ---------------------------------------------------------
# random.randint/choice cost about a microsecond each; these draw from the same
# generator with one `random()` call (exact for spans up to 2**50).

_EXACT_SPAN = 1 << 50


def rint(rng: random.Random, lo: int, hi: int) -> int:
    """A uniform integer in [lo, hi], like `rng.randint` but cheaper."""
    span = hi - lo + 1
    if span <= 0:
        raise ValueError(f"empty range [{lo}, {hi}]")
    if span > _EXACT_SPAN:
        return rng.randint(lo, hi)
    return lo + int(rng.random() * span)


def choose(rng: random.Random, seq: Sequence[T]) -> T:
    """A uniform element of a non-empty sequence, like `rng.choice` but cheaper."""
    return seq[int(rng.random() * len(seq))]


# ---- AST shorthand ----------------------------------------------------------

# Constant nodes are immutable, so small ones are shared instead of rebuilt.
_SMALL = {value: num(value) for value in range(-1000, 10001)}


def v(name: str) -> Name:
    return Name(name)


def c(value: int) -> Expr:
    node = _SMALL.get(value)
    return node if node is not None else num(value)


def bop(op: BinOpKind, left: Expr, right: Expr) -> BinOp:
    return BinOp(op, left, right)


def add(left: Expr, right: Expr) -> BinOp:
    return BinOp(ADD, left, right)


def sub(left: Expr, right: Expr) -> BinOp:
    return BinOp(SUB, left, right)


def mul(left: Expr, right: Expr) -> BinOp:
    return BinOp(MUL, left, right)


def div(left: Expr, right: Expr) -> BinOp:
    return BinOp(DIV, left, right)


def mod(left: Expr, right: Expr) -> BinOp:
    return BinOp(MOD, left, right)


def cmp(op: CmpKind, left: Expr, right: Expr) -> Compare:
    return Compare(op, left, right)


def assign(name: str, value: Expr) -> Assign:
    return Assign(Name(name), value)


def set_item(array: str, index: Expr, value: Expr) -> Assign:
    return Assign(Index(Name(array), index), value)


def item(array: str, index: Expr) -> Index:
    return Index(Name(array), index)


def inc(name: str, value: Expr, op: BinOpKind = ADD, aug: bool = True) -> Stmt:
    """`name += value` or, with aug False, `name = name + value`."""
    if aug:
        return AugAssign(Name(name), op, value)
    return Assign(Name(name), BinOp(op, Name(name), value))


def call(func: str, *args: Expr) -> Call:
    return Call(func, tuple(args))


def length(array: str) -> Call:
    return Call("len", (Name(array),))


def ret(value: Expr) -> Return:
    return Return(value)


def if_(cond: Expr, body: Sequence[Stmt], orelse: Sequence[Stmt] = ()) -> If:
    return If(cond, tuple(body), tuple(orelse))


def while_(cond: Expr, body: Sequence[Stmt]) -> While:
    return While(cond, tuple(body))


def for_(var: str, start: Expr, stop: Expr, body: Sequence[Stmt], step: Expr | None = None) -> For:
    return For(var, start, stop, step, tuple(body))


def def_(name: str, params: Sequence[str], body: Sequence[Stmt]) -> FuncDef:
    return FuncDef(name, tuple(params), tuple(body))


def array_lit(values: Iterable[int]) -> ArrayLit:
    return ArrayLit(tuple(map(c, values)))


# ---- knobs ------------------------------------------------------------------


def picker(rng: random.Random, knobs: Knobs, avoid: tuple[str, ...] = ()) -> NamePicker:
    """The family's identifier source, honouring `names` and `pool_size`."""
    return NamePicker(rng, knobs.names, avoid=avoid, size=knobs.pool_size)


class ValueKnobs(Knobs):
    """Knobs of families whose constants are drawn from [min_value, max_value]."""

    min_value: int = Field(0, ge=-VALUE_LIMIT, le=VALUE_LIMIT, description="smallest constant")
    max_value: int = Field(99, ge=-VALUE_LIMIT, le=VALUE_LIMIT, description="largest constant")

    def _check_values(self) -> None:
        check_order(self, "min_value", "max_value")


class FunctionKnobs(Knobs):
    """Knobs of function-shaped families."""

    function_names: Literal["meaningful", "random"] = Field(
        "meaningful",
        description="name of the function under test: a meaningful fixed name (gcd, is_prime, ...) "
        "or one drawn from the identifier pool",
    )


def check_unique(knobs: Knobs, key: str) -> None:
    values = getattr(knobs, key)
    if not values:
        raise knob_error(key, f"{key} must not be empty")
    if len(set(values)) != len(values):
        raise knob_error(key, f"{key} has repeated entries")


def function_name(rng: random.Random, knobs: FunctionKnobs, names: NamePicker, meaningful: str) -> str:
    """The fixed meaningful name (kept out of the variable names) or one from the pool."""
    if knobs.function_names == "meaningful":
        names.reserve(meaningful)
        return meaningful
    return names.pick()


# ---- function-shaped samples -------------------------------------------------

_TEMPLATES = (
    "Write the function {sig} that returns {what}.",
    "Implement {sig} so that it returns {what}.",
    "Define {sig}, returning {what}.",
    "Complete the function {sig}: it must return {what}.",
    "Write {sig}, which returns {what}.",
)


def signature(fname: str, params: Sequence[str]) -> str:
    return f"{fname}({', '.join(params)})"


def instruction(rng: random.Random, fname: str, params: Sequence[str], what: str, note: str = "") -> str:
    """An English task statement from one of a few templates."""
    text = choose(rng, _TEMPLATES).format(sig=signature(fname, params), what=what)
    return f"{text} {note}" if note else text


Arg = int | Sequence[int]


def _arg_expr(value: Arg) -> Expr:
    return c(value) if isinstance(value, int) else array_lit(value)


def _key(args: tuple[Arg, ...]) -> tuple:
    for a in args:
        if type(a) is not int:  # an array (or an int subclass): the general form
            return tuple(x if isinstance(x, int) else tuple(x) for x in args)
    return args if type(args) is tuple else tuple(args)


def distinct_inputs(
    rng: random.Random,
    draw: Callable[[], tuple[Arg, ...]],
    edges: Iterable[tuple[Arg, ...]] = (),
    n: int = 10,
    n_edges: int = 3,
) -> tuple[tuple[Expr, ...], ...]:
    """`n` distinct argument tuples: up to `n_edges` edge cases plus random draws, shuffled."""
    chosen: dict[tuple, tuple[Arg, ...]] = {}
    edge_list = list(edges)
    rng.shuffle(edge_list)
    for args in edge_list:
        if len(chosen) >= n_edges:
            break
        chosen.setdefault(_key(args), args)
    tries = 0
    while len(chosen) < n and tries < 50 * n:
        tries += 1
        args = draw()
        chosen.setdefault(_key(args), args)
    cases = list(chosen.values())
    rng.shuffle(cases)
    return tuple([tuple([_arg_expr(a) for a in args]) for args in cases])  # lists: cheaper than generators


def function_sample(
    defs: Sequence[Stmt],
    fname: str,
    answer_args: tuple[Arg, ...],
    test_inputs: tuple[tuple[Expr, ...], ...],
    text: str,
    features: dict[str, int],
    setup: Sequence[Stmt] = (),
) -> Sample:
    """A sample whose answer is a call of the function under test."""
    return Sample(
        body=(*defs, *setup),
        answer=Call(fname, tuple(_arg_expr(a) for a in answer_args)),
        function=fname,
        test_inputs=test_inputs,
        instruction=text,
        features=features,
    )


FUNCTION_FORMATS = frozenset({"complete", "output", "trace", "synthesize", "instruct"})


# ---- loops ------------------------------------------------------------------


def count_loop(
    rng: random.Random, var: str, start: Expr, stop: Expr, body: Sequence[Stmt], style: str
) -> list[Stmt]:
    """`for var in range(start, stop)` or the equivalent `while` loop (style: for/while/mixed)."""
    if style == "mixed":
        style = "for" if rng.random() < 0.7 else "while"
    if style == "for":
        return [for_(var, start, stop, body)]
    return [
        assign(var, start),
        while_(cmp(LT, v(var), stop), [*body, inc(var, c(1), aug=rng.random() < 0.5)]),
    ]


LoopStyle = Literal["for", "while", "mixed"]


def trunc_div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def trunc_mod(a: int, b: int) -> int:
    return a - b * trunc_div(a, b)
