"""The typed AST shared by every front end, printer, compiler and task family.

Nodes are frozen dataclasses compared by structure; source positions ride
along (`line`, `col`, keyword-only) but are left out of equality, so
`parse(print(tree)) == tree` compares meaning, not layout.

Conventions that keep one AST per program:
- `Num.value` is never negative: `-5` is `Unary(NEG, Num(5))` (see `num`).
- `elif` is an `If` that is the only statement of an `orelse`.
- Sequences are tuples.

Some nodes exist only for the Python front end (floor division, power,
`append`/`pop`); the DSL printer refuses them with a clear error.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from enum import Enum


class BinOpKind(Enum):
    ADD = "+"
    SUB = "-"
    MUL = "*"
    TDIV = "/"  # truncating (DSL)
    TMOD = "%"  # truncating remainder, sign of the dividend (DSL)
    FDIV = "//"  # flooring (Python)
    FMOD = "%%"  # flooring remainder, sign of the divisor (Python's %)
    POW = "**"  # Python only
    BAND = "&"
    BOR = "|"
    BXOR = "^"
    SHL = "<<"
    SHR = ">>"


class CmpKind(Enum):
    EQ = "=="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="


class BoolKind(Enum):
    AND = "and"
    OR = "or"


class UnaryKind(Enum):
    NEG = "-"
    NOT = "not"
    INVERT = "~"


# Built-in functions, name -> arity.  `array(n)` makes n zeros; `read()` takes
# the next value of the input channel; `append`/`pop` are Python-only.
BUILTINS: dict[str, int] = {
    "len": 1,
    "abs": 1,
    "min": 2,
    "max": 2,
    "array": 1,
    "read": 0,
    "append": 2,
    "pop": 1,
}
PYTHON_ONLY_BUILTINS = frozenset({"append", "pop"})


@dataclass(frozen=True, slots=True)
class Node:
    line: int = field(default=0, compare=False, repr=False, kw_only=True)
    col: int = field(default=0, compare=False, repr=False, kw_only=True)


# ---- expressions ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Expr(Node):
    pass


@dataclass(frozen=True, slots=True)
class Num(Expr):
    value: int

    def __post_init__(self) -> None:
        if self.value < 0:
            raise ValueError("Num.value must be >= 0; use num() for negatives")


@dataclass(frozen=True, slots=True)
class Name(Expr):
    id: str


@dataclass(frozen=True, slots=True)
class Unary(Expr):
    op: UnaryKind
    operand: Expr


@dataclass(frozen=True, slots=True)
class BinOp(Expr):
    op: BinOpKind
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Compare(Expr):
    op: CmpKind
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class BoolOp(Expr):
    """Short-circuit `and`/`or`; the DSL's result is 1 or 0."""

    op: BoolKind
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Call(Expr):
    func: str
    args: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Index(Expr):
    array: Expr
    index: Expr


@dataclass(frozen=True, slots=True)
class ArrayLit(Expr):
    elts: tuple[Expr, ...]


# ---- statements -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stmt(Node):
    pass


@dataclass(frozen=True, slots=True)
class Assign(Stmt):
    target: Name | Index
    value: Expr


@dataclass(frozen=True, slots=True)
class AugAssign(Stmt):
    """`x += e` and friends: `op` is an arithmetic or bit operator."""

    target: Name | Index
    op: BinOpKind
    value: Expr


@dataclass(frozen=True, slots=True)
class If(Stmt):
    cond: Expr
    body: tuple[Stmt, ...]
    orelse: tuple[Stmt, ...] = ()


@dataclass(frozen=True, slots=True)
class While(Stmt):
    cond: Expr
    body: tuple[Stmt, ...]


@dataclass(frozen=True, slots=True)
class For(Stmt):
    """`for var in range(start, stop[, step])`; `step` None means 1."""

    var: str
    start: Expr
    stop: Expr
    step: Expr | None
    body: tuple[Stmt, ...]


@dataclass(frozen=True, slots=True)
class FuncDef(Stmt):
    name: str
    params: tuple[str, ...]
    body: tuple[Stmt, ...]


@dataclass(frozen=True, slots=True)
class Return(Stmt):
    value: Expr | None = None


@dataclass(frozen=True, slots=True)
class Print(Stmt):
    args: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Assert(Stmt):
    """`assert test`; with `error` set, a run-time check the front end wrote.

    A check's failure is the run-time error `error` (`"ValueError: min() arg
    is an empty sequence"`), not a failed assertion. `error` is not part of
    the tree's meaning as text: it is left out of equality.
    """

    test: Expr
    error: str | None = field(default=None, compare=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class ExprStmt(Stmt):
    """An expression evaluated for its effect (a call)."""

    value: Expr


@dataclass(frozen=True, slots=True)
class Break(Stmt):
    pass


@dataclass(frozen=True, slots=True)
class Continue(Stmt):
    pass


@dataclass(frozen=True, slots=True)
class Pass(Stmt):
    pass


@dataclass(frozen=True, slots=True)
class Module(Node):
    body: tuple[Stmt, ...]


# ---- faster construction ---------------------------------------------------


def _fast_init(cls: type) -> None:
    """Give a node class an `__init__` that sets each slot through its descriptor.

    The frozen dataclass `__init__` calls `object.__setattr__` per field; the
    slot descriptors do the same store at under half the cost, and dataset
    builds construct tens of millions of nodes. Same signature, defaults and
    `__post_init__`; the class stays frozen (its `__setattr__` still raises).
    """
    params: list[str] = []
    kw_params: list[str] = []
    namespace: dict[str, object] = {"__name__": cls.__module__}
    body: list[str] = []
    for f in fields(cls):
        if not f.init or f.default_factory is not MISSING:
            raise TypeError(f"{cls.__name__}.{f.name}: _fast_init handles plain fields only")
        default = ""
        if f.default is not MISSING:
            namespace[f"_d_{f.name}"] = f.default
            default = f"=_d_{f.name}"
        (kw_params if f.kw_only else params).append(f"{f.name}{default}")
        namespace[f"_s_{f.name}"] = getattr(cls, f.name).__set__
        body.append(f"    _s_{f.name}(self, {f.name})")
    if hasattr(cls, "__post_init__"):
        body.append("    self.__post_init__()")
    signature = ", ".join(["self", *params, *(["*", *kw_params] if kw_params else [])])
    exec(f"def __init__({signature}):\n" + "\n".join(body), namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"  # type: ignore[attr-defined]
    init.__doc__ = cls.__init__.__doc__  # type: ignore[misc]
    cls.__init__ = init  # type: ignore[misc]


# Every node class, from this module's names: `__subclasses__` would also list the
# classes `dataclass(slots=True)` replaced with slotted copies.
NODE_CLASSES: tuple[type, ...] = tuple(
    value for value in tuple(globals().values()) if isinstance(value, type) and issubclass(value, Node)
)

for _cls in NODE_CLASSES:
    _fast_init(_cls)
del _cls


# ---- helpers --------------------------------------------------------------


def num(value: int) -> Expr:
    """The canonical expression for an integer constant of either sign."""
    return Num(value) if value >= 0 else Unary(UnaryKind.NEG, Num(-value))


def children(expr: Expr) -> tuple[Expr, ...]:
    """The direct sub-expressions of an expression, left to right."""
    if isinstance(expr, Unary):
        return (expr.operand,)
    if isinstance(expr, BinOp | Compare | BoolOp):
        return (expr.left, expr.right)
    if isinstance(expr, Call):
        return expr.args
    if isinstance(expr, Index):
        return (expr.array, expr.index)
    if isinstance(expr, ArrayLit):
        return expr.elts
    return ()


def const_value(expr: Expr) -> int | None:
    """The value of `num(v)`-shaped expressions, else None."""
    if isinstance(expr, Num):
        return expr.value
    if isinstance(expr, Unary) and expr.op is UnaryKind.NEG and isinstance(expr.operand, Num):
        return -expr.operand.value
    return None
