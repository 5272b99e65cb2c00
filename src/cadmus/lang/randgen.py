"""Random, well-formed, terminating programs for differential and property tests.

`random_program(rng, mode=...)` builds a `Module` that passes
`check_semantics(module, mode)` and always terminates: `while` loops run on a
counter that is bumped first thing in the body (so `continue` cannot skip
it), `for` loops have constant bounds or `len(...)` bounds, recursion goes
down a small non-negative argument, and only earlier functions are called.
Divisors are never zero (`abs(e) + k`, or a non-zero constant), indices are
in bounds (a small constant below the array's least length, or
`abs(e) % len(a)`; in mode "python" also negative ones), shift counts are
small and non-negative. Values are kept small but not bounded: a few
programs end in an integer overflow on the VM (CPython's integers are
unbounded), which differential tests skip. Most asserts hold (`e == e`,
`abs(e) >= 0`, `len(a) > 0`); a few are random and may fail, on both sides
alike.

In mode "dsl" only DSL constructs appear (truncating `/` and `%`, no `**`,
no `append`/`pop`), and comparisons and `and`/`or`/`not` are used as values
too (they give 1/0). In mode "python" the tree stays within what
`from_python` accepts: Python's flooring `//` and `%`, `**`, `append` and
guarded `pop`, negative indices, `and`/`or` as values of int operands,
functions that read globals, and never a boolean where CPython would print
`True`/`False`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from cadmus.lang.ast import (
    ArrayLit,
    Assert,
    Assign,
    AugAssign,
    BinOp,
    BinOpKind,
    BoolKind,
    BoolOp,
    Break,
    Call,
    CmpKind,
    Compare,
    Continue,
    Expr,
    ExprStmt,
    For,
    FuncDef,
    If,
    Index,
    Module,
    Name,
    Num,
    Pass,
    Print,
    Return,
    Stmt,
    Unary,
    UnaryKind,
    While,
    num,
)

__all__ = ["random_program"]

MODES = ("dsl", "python")
_VAR_NAMES = ("a", "b", "c", "d", "x", "y", "z", "n", "m", "s", "t", "u", "v", "w", "p", "q", "total", "acc")
# DSL identifiers that Python reserves: the renderer must rename them.
_AWKWARD_NAMES = ("lambda", "class", "int", "input", "None", "True", "is_", "_k", "_tdiv")
_ARRAY_NAMES = ("xs", "ys", "arr", "buf", "vals", "grid")


@dataclass
class _Func:
    name: str
    params: tuple[str, ...]
    array_params: frozenset[int]  # positions that take an array
    recursive: bool = False


@dataclass
class _Scope:
    ints: list[str] = field(default_factory=list)  # readable int variables
    fixed: set[str] = field(default_factory=set)  # readable but not assignable (loop variables)
    arrays: dict[str, int] = field(default_factory=dict)  # array -> least length it can have
    func: _Func | None = None
    loops: int = 0

    def child(self) -> _Scope:
        return _Scope(list(self.ints), set(self.fixed), dict(self.arrays), self.func, self.loops)


def random_program(
    rng: random.Random,
    *,
    mode: str = "dsl",
    max_statements: int = 24,
    max_depth: int = 3,
    reads: bool = False,
) -> Module:
    """A random terminating program valid in `mode` ("dsl" or "python").

    `max_statements` bounds the number of statements (roughly: loops add a
    counter or two), `max_depth` both the nesting of blocks and of
    expressions. With `reads`, top-level statements may also assign `read()`
    (at most `max(3, max_statements)` values are read). The
    same `rng` state gives the same program.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be 'dsl' or 'python', not {mode!r}")
    gen = _Gen(rng, mode == "python", max(1, max_statements), max(1, max_depth))
    gen.reads = reads
    return gen.module()


class _Gen:
    def __init__(self, rng: random.Random, python: bool, max_statements: int, max_depth: int) -> None:
        self.rng = rng
        self.python = python
        self.budget = max_statements
        self.max_depth = max_depth
        self.funcs: list[_Func] = []
        self.counter = 0
        self.globals_for_funcs: _Scope = _Scope()
        names = list(_VAR_NAMES)
        if not python and rng.random() < 0.3:
            names += rng.sample(_AWKWARD_NAMES, 3)
        self.var_names = names
        # With pops about, only indices 0 and -1 are safe as constants.
        self.allow_pop = python and rng.random() < 0.5
        self.reads = False

    # ---- helpers ------------------------------------------------------------

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def small(self, lo: int = -9, hi: int = 20) -> Expr:
        if self.chance(0.1):
            return num(self.rng.randint(-1000, 1000))
        return num(self.rng.randint(lo, hi))

    @property
    def div(self) -> BinOpKind:
        return BinOpKind.FDIV if self.python else BinOpKind.TDIV

    @property
    def mod(self) -> BinOpKind:
        return BinOpKind.FMOD if self.python else BinOpKind.TMOD

    def nonneg_mod(self, e: Expr, k: Expr) -> Expr:
        """`abs(e) % k`: in [0, k) in both modes for k > 0."""
        return BinOp(self.mod, Call("abs", (e,)), k)

    def divisor(self, scope: _Scope, depth: int) -> Expr:
        r = self.rng.random()
        if r < 0.4:
            k = self.rng.randint(1, 7)
            return num(-k if self.chance(0.3) else k)
        d = BinOp(BinOpKind.ADD, Call("abs", (self.int_expr(scope, depth + 1),)), Num(self.rng.randint(1, 3)))
        return Unary(UnaryKind.NEG, d) if self.chance(0.3) else d

    # ---- expressions --------------------------------------------------------

    def int_expr(self, scope: _Scope, depth: int = 0) -> Expr:
        """An int-valued expression (in mode python never a bool CPython would show)."""
        rng = self.rng
        if depth >= self.max_depth or self.chance(0.25 + 0.15 * depth):
            return self.leaf(scope)
        choice = rng.choices(
            ("arith", "div", "bits", "shift", "unary", "builtin", "call", "boolish", "pow", "index"),
            weights=(30, 10, 6, 4, 6, 10, 12, 10, 3 if self.python else 0, 8),
        )[0]
        d = depth + 1
        if choice == "arith":
            op = rng.choice((BinOpKind.ADD, BinOpKind.SUB, BinOpKind.ADD, BinOpKind.SUB, BinOpKind.MUL))
            return BinOp(op, self.int_expr(scope, d), self.int_expr(scope, d))
        if choice == "div":
            op = self.div if self.chance(0.5) else self.mod
            return BinOp(op, self.int_expr(scope, d), self.divisor(scope, d))
        if choice == "bits":
            op = rng.choice((BinOpKind.BAND, BinOpKind.BOR, BinOpKind.BXOR))
            return BinOp(op, self.int_expr(scope, d), self.int_expr(scope, d))
        if choice == "shift":
            op = rng.choice((BinOpKind.SHL, BinOpKind.SHR))
            amount = Num(rng.randint(0, 4)) if self.chance(0.6) else self.nonneg_mod(self.leaf(scope), Num(4))
            return BinOp(op, self.int_expr(scope, d), amount)
        if choice == "unary":
            op = UnaryKind.NEG if self.chance(0.7) else UnaryKind.INVERT
            return Unary(op, self.int_expr(scope, d))
        if choice == "builtin":
            name = rng.choice(("abs", "min", "max"))
            arity = 1 if name == "abs" else 2
            return Call(name, tuple(self.int_expr(scope, d) for _ in range(arity)))
        if choice == "call":
            call = self.call(scope, d)
            return call if call is not None else self.leaf(scope)
        if choice == "boolish":
            return self.boolish(scope, d)
        if choice == "pow":
            base = Call("min", (Call("max", (self.int_expr(scope, d), num(-12))), Num(12)))
            return BinOp(BinOpKind.POW, base, Num(rng.randint(0, 3)))
        return self.leaf(scope)

    def boolish(self, scope: _Scope, depth: int) -> Expr:
        """Truth values used as numbers: 1/0 in the DSL, bool-as-int or operands in Python."""
        rng = self.rng
        if not self.python:
            r = rng.random()
            if r < 0.5:
                return self.cond(scope, depth)
            return BinOp(
                rng.choice((BinOpKind.ADD, BinOpKind.MUL)),
                self.cond(scope, depth),
                self.int_expr(scope, depth),
            )
        r = rng.random()
        if r < 0.5:  # and/or of ints: the deciding operand
            op = BoolKind.AND if self.chance(0.5) else BoolKind.OR
            return BoolOp(op, self.int_expr(scope, depth), self.int_expr(scope, depth))
        # a comparison inside arithmetic is an int in CPython
        op = rng.choice((BinOpKind.ADD, BinOpKind.MUL, BinOpKind.SUB))
        return BinOp(op, self.cond(scope, depth), self.int_expr(scope, depth))

    def cond(self, scope: _Scope, depth: int = 0) -> Expr:
        rng = self.rng
        d = depth + 1
        r = rng.random()
        if depth < self.max_depth and r < 0.2:
            op = BoolKind.AND if self.chance(0.5) else BoolKind.OR
            return BoolOp(op, self.cond(scope, d), self.cond(scope, d))
        if depth < self.max_depth and r < 0.3:
            return Unary(UnaryKind.NOT, self.cond(scope, d))
        if r < 0.4:
            return self.int_expr(scope, d)  # truthiness of an int
        return Compare(rng.choice(tuple(CmpKind)), self.int_expr(scope, d), self.int_expr(scope, d))

    def leaf(self, scope: _Scope) -> Expr:
        r = self.rng.random()
        if scope.ints and r < 0.5:
            return Name(self.rng.choice(scope.ints))
        if scope.arrays and r < 0.6:
            arr = self.rng.choice(sorted(scope.arrays))
            return Call("len", (Name(arr),))
        if scope.arrays and r < 0.7:
            return self.element(scope)
        return self.small()

    def index(self, scope: _Scope, arr: str) -> Expr:
        least = 1 if self.allow_pop else scope.arrays[arr]
        r = self.rng.random()
        if r < 0.35:
            return Num(self.rng.randint(0, least - 1))
        if self.python and r < 0.5:
            return num(-self.rng.randint(1, least))
        if self.python and r < 0.6:
            k = self.nonneg_mod(self.leaf_no_array(scope), Call("len", (Name(arr),)))
            return BinOp(BinOpKind.SUB, Unary(UnaryKind.NEG, k), Num(1))
        return self.nonneg_mod(self.leaf_no_array(scope), Call("len", (Name(arr),)))

    def leaf_no_array(self, scope: _Scope) -> Expr:
        if scope.ints and self.chance(0.7):
            return Name(self.rng.choice(scope.ints))
        return self.small()

    def element(self, scope: _Scope) -> Expr:
        arr = self.rng.choice(sorted(scope.arrays))
        return Index(Name(arr), self.index(scope, arr))

    def call(self, scope: _Scope, depth: int) -> Expr | None:
        funcs = [f for f in self.funcs if scope.func is None or f is not scope.func]
        if not funcs:
            return None
        f = self.rng.choice(funcs)
        args: list[Expr] = []
        for i, _param in enumerate(f.params):
            if i in f.array_params:
                if not scope.arrays:
                    return None
                args.append(Name(self.rng.choice(sorted(scope.arrays))))
            elif f.recursive and i == 0:
                args.append(self.nonneg_mod(self.int_expr(scope, self.max_depth - 1), Num(7)))
            else:
                args.append(self.int_expr(scope, depth))
        return Call(f.name, tuple(args))

    # ---- statements ---------------------------------------------------------

    def module(self) -> Module:
        rng = self.rng
        body: list[Stmt] = []
        top = _Scope()
        if self.python and self.chance(0.5):
            # globals that functions read
            for _ in range(rng.randint(1, 2)):
                name = self.new_var(top)
                body.append(Assign(Name(name), self.small(-5, 9)))
                top.ints.append(name)
            if self.chance(0.5):
                arr = self.new_array_name(top)
                body.append(Assign(Name(arr), ArrayLit(tuple(self.small() for _ in range(3)))))
                top.arrays[arr] = 3
            self.globals_for_funcs = top.child()
        main_budget = self.budget
        for _ in range(rng.randint(0, 2)):
            body.append(self.funcdef(recursive=False))
        if self.chance(0.4):
            body.append(self.funcdef(recursive=True))
        self.budget = main_budget  # functions have budgets of their own
        body += self.block(top, 0, max(3, self.budget))
        # show the final state
        shown = [Name(n) for n in top.ints[-6:]]
        if top.arrays:
            arr = sorted(top.arrays)[0]
            shown.append(Index(Name(arr), Num(0)))
        if shown:
            body.append(Print(tuple(shown)))
        return Module(tuple(body))

    def new_var(self, scope: _Scope) -> str:
        taken = set(scope.ints) | scope.fixed | set(scope.arrays) | {f.name for f in self.funcs}
        free = [n for n in self.var_names if n not in taken]
        return self.rng.choice(free) if free else self.fresh("v")

    def new_array_name(self, scope: _Scope) -> str:
        taken = set(scope.ints) | scope.fixed | set(scope.arrays)
        free = [n for n in _ARRAY_NAMES if n not in taken]
        return self.rng.choice(free) if free else self.fresh("arr")

    def funcdef(self, *, recursive: bool) -> FuncDef:
        rng = self.rng
        name = self.fresh("rec" if recursive else "f")
        nparams = rng.randint(1, 3)
        params: list[str] = []
        arrays: set[int] = set()
        scope = self.globals_for_funcs.child() if self.python else _Scope()
        scope.fixed.update(scope.ints)  # assigning a global would make it local
        for i in range(nparams):
            if i > 0 and rng.random() < 0.3:
                pname = self.fresh("arr")
                arrays.add(i)
                scope.arrays[pname] = 1
            else:
                pname = self.fresh("p")
                scope.ints.append(pname)
            params.append(pname)
        func = _Func(name, tuple(params), frozenset(arrays), recursive)
        scope.func = func
        if recursive:
            scope.fixed.add(params[0])
        depth = self.max_depth - 1
        body: list[Stmt] = []
        budget = rng.randint(1, 4)
        self.budget = budget
        if recursive:
            n = Name(params[0])
            base = self.int_expr(scope, depth)
            body.append(If(Compare(CmpKind.LE, n, Num(0)), (Return(base),)))
            body += self.block(scope, depth, budget)
            args = [BinOp(BinOpKind.SUB, n, Num(1))]
            args += [
                Name(p) if i in arrays else self.int_expr(scope, 2) for i, p in enumerate(params[1:], start=1)
            ]
            rec: Expr = Call(name, tuple(args))
            if self.chance(0.3):
                args2 = [BinOp(BinOpKind.SUB, n, Num(2)), *args[1:]]
                rec = BinOp(BinOpKind.ADD, rec, Call(name, tuple(args2)))
            body.append(
                Return(BinOp(rng.choice((BinOpKind.ADD, BinOpKind.SUB)), rec, self.int_expr(scope, 2)))
            )
        else:
            body += self.block(scope, depth, budget)
            body.append(Return(self.int_expr(scope, 0)))
        self.funcs.append(func)
        return FuncDef(name, tuple(params), tuple(body))

    def block(self, scope: _Scope, depth: int, budget: int) -> list[Stmt]:
        out: list[Stmt] = []
        n = max(1, min(budget, self.rng.randint(1, budget)))
        for _ in range(n):
            if self.budget <= 0 and out:
                break
            self.budget -= 1
            out += self.stmt(scope, depth)
        return out

    def sub_budget(self) -> int:
        return max(1, min(3, self.budget))

    def stmt(self, scope: _Scope, depth: int) -> list[Stmt]:
        rng = self.rng
        nested = depth < self.max_depth
        assignable = [n for n in scope.ints if n not in scope.fixed]
        kinds = {
            "assign": 14,
            "reassign": 8 if assignable else 0,
            "aug": 10 if assignable else 0,
            "array": 5,
            "store": 6 if scope.arrays else 0,
            "append": 3 if self.python and scope.arrays else 0,
            "pop": 2 if self.allow_pop and scope.arrays else 0,
            "if": 8 if nested else 0,
            "while": 5 if nested else 0,
            "for": 6 if nested else 0,
            "print": 8,
            "assert": 4,
            "callstmt": 2 if self.funcs else 0,
            "jump": 4 if scope.loops else 0,
            "return": 2 if scope.func is not None and depth >= self.max_depth else 0,
            "pass": 1,
            "read": 3 if self.reads and depth == 0 and scope.func is None else 0,
        }
        kind = rng.choices(list(kinds), weights=list(kinds.values()))[0]
        if kind == "read":
            name = self.new_var(scope)
            scope.ints.append(name)
            return [Assign(Name(name), Call("read", ()))]
        if kind == "assign":
            name = self.new_var(scope)
            value = self.int_expr(scope)
            scope.ints.append(name)
            return [Assign(Name(name), value)]
        if kind == "reassign":
            return [Assign(Name(rng.choice(assignable)), self.int_expr(scope))]
        if kind == "aug":
            return [self.aug(scope, Name(rng.choice(assignable)))]
        if kind == "array":
            return [self.new_array(scope)]
        if kind == "store":
            arr = rng.choice(sorted(scope.arrays))
            target = Index(Name(arr), self.index(scope, arr))
            if self.chance(0.5):
                return [self.aug(scope, target)]
            return [Assign(target, self.int_expr(scope))]
        if kind == "append":
            arr = rng.choice(sorted(scope.arrays))
            return [ExprStmt(Call("append", (Name(arr), self.int_expr(scope))))]
        if kind == "pop":
            arr = rng.choice(sorted(scope.arrays))
            cond = Compare(CmpKind.GT, Call("len", (Name(arr),)), Num(1))
            if assignable and self.chance(0.6):
                pop: Stmt = Assign(Name(rng.choice(assignable)), Call("pop", (Name(arr),)))
            else:
                pop = ExprStmt(Call("pop", (Name(arr),)))
            return [If(cond, (pop,))]
        if kind == "if":
            return [self.if_(scope, depth)]
        if kind == "while":
            return self.while_(scope, depth)
        if kind == "for":
            return [self.for_(scope, depth)]
        if kind == "print":
            return [
                Print(
                    tuple(self.print_arg(scope) for _ in range(rng.randint(0 if self.chance(0.05) else 1, 3)))
                )
            ]
        if kind == "assert":
            return [self.assertion(scope)]
        if kind == "callstmt":
            call = self.call(scope, 1)
            return [ExprStmt(call)] if call is not None else [Pass()]
        if kind == "jump":
            jump: Stmt = Break() if self.chance(0.5) else Continue()
            return [If(self.cond(scope, 1), (jump,))]
        if kind == "return":
            return [If(self.cond(scope, 1), (Return(self.int_expr(scope, 1)),))]
        return [Pass()]

    def print_arg(self, scope: _Scope) -> Expr:
        if not self.python and self.chance(0.2):
            return self.cond(scope)  # printed as 1/0
        return self.int_expr(scope)

    def aug(self, scope: _Scope, target: Name | Index) -> AugAssign:
        rng = self.rng
        r = rng.random()
        if r < 0.45:
            op = rng.choice((BinOpKind.ADD, BinOpKind.SUB))
            return AugAssign(target, op, self.int_expr(scope, 1))
        if r < 0.55:
            return AugAssign(target, BinOpKind.MUL, num(rng.randint(-3, 3)))
        if r < 0.75:
            op = self.div if self.chance(0.5) else self.mod
            return AugAssign(target, op, self.divisor(scope, 1))
        if r < 0.9:
            op = rng.choice((BinOpKind.BAND, BinOpKind.BOR, BinOpKind.BXOR))
            return AugAssign(target, op, self.int_expr(scope, 1))
        if self.python and self.chance(0.3):
            return AugAssign(target, BinOpKind.POW, Num(rng.choice((0, 1, 1, 2))))
        op = BinOpKind.SHR if self.chance(0.7) else BinOpKind.SHL
        return AugAssign(target, op, Num(rng.randint(0, 3)))

    def new_array(self, scope: _Scope) -> Stmt:
        rng = self.rng
        name = self.new_array_name(scope)
        r = rng.random()
        if r < 0.5:
            n = rng.randint(1, 5)
            value: Expr = ArrayLit(tuple(self.int_expr(scope, 1) for _ in range(n)))
        elif r < 0.8 or not scope.arrays:
            n = rng.randint(1, 6)
            value = Call("array", (Num(n),))
        else:  # an alias of an existing array
            other = rng.choice(sorted(scope.arrays))
            n = scope.arrays[other]
            value = Name(other)
        scope.arrays[name] = n
        return Assign(Name(name), value)

    def if_(self, scope: _Scope, depth: int) -> If:
        rng = self.rng
        cond = self.cond(scope)
        body = tuple(self.block(scope.child(), depth + 1, self.sub_budget()))
        orelse: tuple[Stmt, ...] = ()
        r = rng.random()
        if r < 0.3 and depth + 1 < self.max_depth:
            orelse = (self.if_(scope, depth + 1),)  # elif
        elif r < 0.65:
            orelse = tuple(self.block(scope.child(), depth + 1, self.sub_budget()))
        return If(cond, body, orelse)

    def while_(self, scope: _Scope, depth: int) -> list[Stmt]:
        rng = self.rng
        counter = self.fresh("c")
        limit = rng.randint(0, 6)
        cond: Expr = Compare(CmpKind.LT, Name(counter), Num(limit))
        inner = scope.child()
        inner.ints.append(counter)
        inner.fixed.add(counter)
        inner.loops += 1
        if self.chance(0.3):
            op = BoolKind.AND if self.chance(0.7) else BoolKind.OR
            extra = self.cond(inner, 2)
            if op is BoolKind.OR:  # keep it terminating: (c < k) and (extra or ...) shape
                cond = BoolOp(BoolKind.AND, cond, BoolOp(BoolKind.OR, extra, self.cond(inner, 2)))
            else:
                cond = BoolOp(op, cond, extra)
        bump = AugAssign(Name(counter), BinOpKind.ADD, Num(1))
        body = [bump, *self.block(inner, depth + 1, self.sub_budget())]
        return [Assign(Name(counter), Num(0)), While(cond, tuple(body))]

    def for_(self, scope: _Scope, depth: int) -> For:
        rng = self.rng
        var = self.fresh("i")
        r = rng.random()
        step: Expr | None = None
        if r < 0.3:
            start: Expr = Num(0)
            stop: Expr = Num(rng.randint(0, 6))
        elif r < 0.55:
            lo = rng.randint(-5, 5)
            start, stop = num(lo), num(lo + rng.randint(-1, 6))
        elif r < 0.8:
            s = rng.randint(1, 3)
            hi = rng.randint(-3, 8)
            start, stop, step = num(hi), num(hi - rng.randint(-1, 10)), num(-s)
        elif scope.arrays:
            arr = rng.choice(sorted(scope.arrays))
            start, stop = Num(0), Call("len", (Name(arr),))
        else:
            start, stop, step = num(rng.randint(-4, 4)), num(rng.randint(5, 12)), Num(rng.randint(2, 4))
        inner = scope.child()
        inner.ints.append(var)
        inner.fixed.add(var)
        inner.loops += 1
        body = tuple(self.block(inner, depth + 1, self.sub_budget()))
        return For(var, start, stop, step, body)

    def assertion(self, scope: _Scope) -> Assert:
        rng = self.rng
        r = rng.random()
        if r < 0.4:
            e = self.int_expr(scope, 1)
            return Assert(Compare(CmpKind.EQ, e, e))
        if r < 0.6:
            return Assert(Compare(CmpKind.GE, Call("abs", (self.int_expr(scope, 1),)), Num(0)))
        if r < 0.75 and scope.arrays:
            arr = rng.choice(sorted(scope.arrays))
            return Assert(Compare(CmpKind.GT, Call("len", (Name(arr),)), Num(0)))
        if r < 0.9:
            e = self.int_expr(scope, 1)
            return Assert(Compare(CmpKind.EQ, BinOp(BinOpKind.SUB, e, e), Num(0)))
        return Assert(self.cond(scope, 1))  # may fail: both sides must agree
