"""What the renderers to JavaScript, Lua and C share: evaluation order, scopes, names, loops.

The VM fixes an order for everything a program does: operands left to right,
in `a[i] = v` the value before the array and the index, in `a[i] op= v` the
array and the index (and the bounds check of the read) before the value. A
target language may evaluate in another order (C leaves the order of the
operands of an operator or the arguments of a call unspecified; JavaScript and
Lua evaluate an assignment's target before its value). The order shows only
when two parts of a statement can be told apart by it: one prints, reads
input, changes an array or calls a user function (an *effect*) while the
other has an effect, can fail or reads an array; or both can fail, with
different errors. `Cost` summarizes what an expression may do and `conflict`
says when two costs must keep their order; renderers evaluate such a part
into a temporary first and keep every other expression as it is.

The rest is bookkeeping every renderer needs: the variables of each scope
(declared up front, set to 0, as the VM's `enter` does), identifiers renamed
away from what the target reserves, and the facts about a `for` loop that let
it be written as the target's own loop.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from cadmus.lang.ast import (
    ArrayLit,
    Assert,
    Assign,
    AugAssign,
    BinOp,
    BinOpKind,
    BoolOp,
    Call,
    Compare,
    Expr,
    ExprStmt,
    For,
    FuncDef,
    If,
    Index,
    Module,
    Name,
    Node,
    Num,
    Print,
    Return,
    Stmt,
    Unary,
    UnaryKind,
    While,
    children,
    const_value,
)
from cadmus.lang.errors import PrintError
from cadmus.lang.semantics import reads_to_check

MODES = ("dsl", "python")
INT_MIN = -(2**63)
INT_MAX = 2**63 - 1

# The kinds of run-time error an expression may raise ("error": whatever a called function raises;
# mode python's NameError is the kind "name x", one kind per name).
ANY_TRAP = frozenset({"overflow", "division", "bounds", "input", "error"})


@dataclass(frozen=True, slots=True)
class Cost:
    """What evaluating an expression may do besides giving its value."""

    effects: bool = False  # prints, reads input, changes an array, calls a user function
    traps: frozenset[str] = frozenset()  # kinds of run-time error it may raise
    memory: bool = False  # reads the elements or the length of an array

    @property
    def pure(self) -> bool:
        """Evaluating it can neither be seen nor fail: any order will do."""
        return not (self.effects or self.traps or self.memory)

    def __or__(self, other: Cost) -> Cost:
        return Cost(self.effects or other.effects, self.traps | other.traps, self.memory or other.memory)


PURE = Cost()


def conflict(first: Cost, second: Cost) -> bool:
    """Whether evaluating `first` then `second` can be told apart from the other order."""
    if first.effects and (second.effects or second.traps or second.memory):
        return True
    if second.effects and (first.traps or first.memory):
        return True
    return bool(first.traps and second.traps and len(first.traps | second.traps) > 1)


def _op_traps(op: BinOpKind, right: Expr) -> frozenset[str]:
    k = const_value(right)
    if op in (BinOpKind.ADD, BinOpKind.SUB, BinOpKind.MUL):
        return frozenset({"overflow"})
    if op in (BinOpKind.TDIV, BinOpKind.FDIV):
        zero = {"division"} if k is None or k == 0 else set()
        return frozenset(zero | ({"overflow"} if k is None or k == -1 else set()))
    if op in (BinOpKind.TMOD, BinOpKind.FMOD):
        return frozenset({"division"}) if k is None or k == 0 else frozenset()
    if op in (BinOpKind.POW, BinOpKind.SHL):
        return frozenset({"overflow"} | ({"bounds"} if k is None or k < 0 else set()))
    if op is BinOpKind.SHR:
        return frozenset({"bounds"}) if k is None or k < 0 else frozenset()
    return frozenset()  # & | ^


_BUILTIN_COSTS: dict[str, Cost] = {
    "len": Cost(traps=frozenset({"bounds"}), memory=True),
    "abs": Cost(traps=frozenset({"overflow"})),
    "min": PURE,
    "max": PURE,
    "read": Cost(effects=True, traps=frozenset({"input"})),
    "append": Cost(effects=True, traps=frozenset({"bounds"})),
    "pop": Cost(effects=True, traps=frozenset({"bounds"}), memory=True),
}
_CALL_COST = Cost(effects=True, traps=ANY_TRAP, memory=True)


@dataclass(frozen=True, slots=True)
class Normalized(Expr):
    """Mode python: `index` counted from the end of `array` when negative (no bounds check).

    A renderer's own node: the index of `a[i] op= v` computed once, before
    a value that may change the array's length (as the VM does).
    """

    array: Expr
    index: Expr


def words(text: str) -> frozenset[str]:
    """The whitespace-separated words of `text` (for the renderers' lists of reserved names)."""
    return frozenset(text.split())


def is_atom(e: Expr) -> bool:
    """A name or a constant: its text can be repeated and means the same each time."""
    return isinstance(e, Name) or const_value(e) is not None


# ---- statements and scopes -------------------------------------------------------


def stmt_exprs(s: Stmt) -> tuple[Expr, ...]:
    """The expressions a statement evaluates itself (not those of nested blocks)."""
    if isinstance(s, Assign | AugAssign):
        return (s.target, s.value)
    if isinstance(s, If | While):
        return (s.cond,)
    if isinstance(s, For):
        return tuple(e for e in (s.start, s.stop, s.step) if e is not None)
    if isinstance(s, Return):
        return () if s.value is None else (s.value,)
    if isinstance(s, Print):
        return s.args
    if isinstance(s, Assert):
        return (s.test,)
    if isinstance(s, ExprStmt):
        return (s.value,)
    return ()


def stmt_bodies(s: Stmt) -> tuple[tuple[Stmt, ...], ...]:
    if isinstance(s, If):
        return (s.body, s.orelse)
    if isinstance(s, While | For | FuncDef):
        return (s.body,)
    return ()


def walk_exprs(e: Expr) -> Iterator[Expr]:
    """`e` and every expression inside it."""
    todo = [e]
    while todo:
        node = todo.pop()
        yield node
        todo.extend(children(node))


def scope_names(body: tuple[Stmt, ...], params: tuple[str, ...] = ()) -> list[str]:
    """The variables of a scope in order: parameters, then every name it assigns (as the compiler does)."""
    out: dict[str, None] = dict.fromkeys(params)

    def visit(stmts: tuple[Stmt, ...]) -> None:
        for s in stmts:
            if isinstance(s, Assign | AugAssign) and isinstance(s.target, Name):
                out.setdefault(s.target.id)
            elif isinstance(s, For):
                out.setdefault(s.var)
            if not isinstance(s, FuncDef):
                for sub in stmt_bodies(s):
                    visit(sub)

    visit(body)
    return list(out)


def assigns(body: tuple[Stmt, ...], name: str) -> bool:
    """Whether `body` assigns `name` anywhere (a target or a loop variable)."""
    for s in body:
        if isinstance(s, Assign | AugAssign) and isinstance(s.target, Name) and s.target.id == name:
            return True
        if isinstance(s, For) and s.var == name:
            return True
        if any(assigns(sub, name) for sub in stmt_bodies(s)):
            return True
    return False


def reads(e: Expr, name: str) -> bool:
    return any(isinstance(x, Name) and x.id == name for x in walk_exprs(e))


def _reads_outside(body: tuple[Stmt, ...], loop: For, name: str) -> bool:
    """Whether `body` reads `name` where the value `loop` leaves in it could be seen.

    The loop itself is skipped, and so are the bodies of other loops over
    `name` that never assign it (inside them `name` holds their own values).
    """
    for s in body:
        if s is loop:
            continue
        exprs = stmt_exprs(s)
        if isinstance(s, Assign) and isinstance(s.target, Name):
            exprs = (s.value,)  # a name assigned is not read (an AugAssign's target is)
        if any(reads(e, name) for e in exprs):
            return True
        if isinstance(s, For) and s.var == name and not assigns(s.body, name):
            continue
        if isinstance(s, FuncDef):
            continue
        if any(_reads_outside(sub, loop, name) for sub in stmt_bodies(s)):
            return True
    return False


class Analysis:
    """Facts about one module that its rendering needs, for one target language.

    `reserved` are the names the target keeps for itself (keywords, the
    library names the rendering uses, helper names); `temp` matches the
    names of the renderer's temporaries. User identifiers that clash are
    renamed by appending `_` until they are free.
    """

    def __init__(self, module: Module, mode: str, reserved: frozenset[str], temp: re.Pattern[str]) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be 'dsl' or 'python', not {mode!r}")
        if not isinstance(module, Module):
            raise TypeError(f"need a Module, not {type(module).__name__}")
        self.module = module
        self.python = mode == "python"
        self.funcs: dict[str, FuncDef] = {s.name: s for s in module.body if isinstance(s, FuncDef)}
        self.main_body = tuple(s for s in module.body if not isinstance(s, FuncDef))
        self.main_names = scope_names(self.main_body)
        # id -> (the node, kept alive so that no other node takes its id; its cost)
        self.costs: dict[int, tuple[Expr, Cost]] = {}
        self.rename = _renaming(module, reserved, temp)
        # Mode python: the main program's variables that some function reads.
        self.shared: set[str] = set()
        if self.python:
            main = set(self.main_names)
            for f in self.funcs.values():
                local = set(scope_names(f.body, f.params))
                for s in _all_stmts(f.body):
                    for e in stmt_exprs(s):
                        self.shared.update(x.id for x in walk_exprs(e) if isinstance(x, Name))
                self.shared -= local
            self.shared &= main
        # Mode python's NameError: the reads the VM checks, and a flag per checked name and scope
        # (set when the name is assigned), as the compiler has them (`cadmus.lang.compiler`).
        self.checks: frozenset[int] = frozenset()
        self.flags: dict[str | None, dict[str, str]] = {None: {}, **{f: {} for f in self.funcs}}
        if self.python:
            found = reads_to_check(module)
            self.checks = found.reads
            count = 0
            for scope in self.flags:
                for name in sorted(found.names.get(scope, ())):
                    count += 1
                    self.flags[scope][name] = f"_d{count}"

    def check_of(self, e: Name, scope: str | None) -> tuple[str, str] | None:
        """For a read the VM checks: the flag that says the name is set, and the error if it is not."""
        if id(e) not in self.checks:
            return None
        own = self.flags.get(scope, {})
        if e.id in own:
            if scope is None:
                return own[e.id], f"NameError: name '{e.id}' is not defined"
            message = f"cannot access local variable '{e.id}' where it is not associated with a value"
            return own[e.id], f"UnboundLocalError: {message}"
        return self.flags[None][e.id], f"NameError: name '{e.id}' is not defined"

    def name(self, ident: str) -> str:
        return self.rename.get(ident, ident)

    def cost(self, e: Expr) -> Cost:
        """What evaluating `e` may do (memoized per node)."""
        got = self.costs.get(id(e))
        if got is None:
            got = (e, self._cost(e))
            self.costs[id(e)] = got
        return got[1]

    def _cost(self, e: Expr) -> Cost:
        if isinstance(e, Name) and id(e) in self.checks:
            return Cost(traps=frozenset({f"name {e.id}"}))  # the error names the name
        if isinstance(e, Num | Name):
            return PURE
        if isinstance(e, Unary):
            inner = self.cost(e.operand)
            if e.op is UnaryKind.NEG and not isinstance(e.operand, Num):
                return inner | Cost(traps=frozenset({"overflow"}))
            return inner
        if isinstance(e, BinOp):
            return self.cost(e.left) | self.cost(e.right) | Cost(traps=_op_traps(e.op, e.right))
        if isinstance(e, Compare | BoolOp):
            return self.cost(e.left) | self.cost(e.right)
        if isinstance(e, Index):
            return self.cost(e.array) | self.cost(e.index) | Cost(traps=frozenset({"bounds"}), memory=True)
        if isinstance(e, Normalized):
            return self.cost(e.array) | self.cost(e.index) | Cost(traps=frozenset({"bounds"}), memory=True)
        if isinstance(e, ArrayLit):
            out = PURE
            for x in e.elts:
                out = out | self.cost(x)
            return out
        if isinstance(e, Call):
            out = _CALL_COST if e.func in self.funcs else _BUILTIN_COSTS.get(e.func, PURE)
            if e.func == "array" and e.func not in self.funcs:
                k = const_value(e.args[0]) if e.args else None
                out = Cost(traps=frozenset({"bounds"})) if k is None or k < 0 else PURE
            for x in e.args:
                out = out | self.cost(x)
            return out
        raise PrintError(f"cannot render {type(e).__name__}", line=e.line or None, col=e.col or None)

    def stable(self, e: Expr, body: tuple[Stmt, ...]) -> bool:
        """Whether `e` gives the same value, with no effect, at every test of a loop with this `body`.

        No effects, no names the body assigns, no element reads, and lengths
        only of arrays the body cannot resize (any array in mode dsl; in mode
        python, when the body has no `append`, `pop` or call of a user
        function). It may fail (`n + 1` may overflow), but then it fails the
        first time, where the VM evaluates it once.
        """
        if self.cost(e).effects:
            return False
        for x in walk_exprs(e):
            if isinstance(x, Name) and assigns(body, x.id):
                return False
            if isinstance(x, Index | Normalized | ArrayLit):
                return False
            if isinstance(x, Call):
                if x.func in ("array", "read") or x.func in self.funcs:
                    return False
                if x.func == "len" and (
                    not isinstance(x.args[0], Name) or (self.python and self._may_resize(body))
                ):
                    return False
        return True

    def _may_resize(self, body: tuple[Stmt, ...]) -> bool:
        for s in _all_stmts(body):
            for e in stmt_exprs(s):
                for x in walk_exprs(e):
                    if isinstance(x, Call) and (x.func in self.funcs or x.func in ("append", "pop")):
                        return True
        return False

    def loop_var_private(self, loop: For, scope: tuple[Stmt, ...], in_main: bool) -> bool:
        """Whether no read can see the value `loop` leaves in its variable (so the target's loop may own it)."""
        if _reads_outside(scope, loop, loop.var) or any(loop.var in f for f in self.flags.values()):
            return False
        return not (in_main and self.python and loop.var in self.shared)


def _all_stmts(body: tuple[Stmt, ...]) -> Iterator[Stmt]:
    for s in body:
        yield s
        for sub in stmt_bodies(s):
            yield from _all_stmts(sub)


def _renaming(module: Module, reserved: frozenset[str], temp: re.Pattern[str]) -> dict[str, str]:
    funcs = {s.name for s in module.body if isinstance(s, FuncDef)}
    used: set[str] = set()
    for s in _all_stmts(module.body):
        if isinstance(s, FuncDef):
            used.add(s.name)
            used.update(s.params)
        elif isinstance(s, For):
            used.add(s.var)
        for e in stmt_exprs(s):
            for x in walk_exprs(e):
                if isinstance(x, Name):
                    used.add(x.id)
                elif isinstance(x, Call) and x.func in funcs:
                    used.add(x.func)

    def bad(name: str) -> bool:
        return name in reserved or temp.fullmatch(name) is not None

    taken = used | reserved
    out: dict[str, str] = {}
    for name in sorted(used):
        if bad(name):
            new = name + "_"
            while new in taken or bad(new):
                new += "_"
            taken.add(new)
            out[name] = new
    return out


def lower_aug(
    analysis: Analysis, s: AugAssign, fresh: Callable[[], str]
) -> tuple[list[tuple[str, Expr]], Assign]:
    """`x op= v` as `x = x op v`; for an element, temporaries first where the array or index must be computed once.

    The VM evaluates `a[i] op= v` as: `a`, `i`, the element (bounds
    checked), `v`, the operation, the store. With `a` and `i` pure (or in
    temporaries) that is `a[i] = a[i] op v`. In mode python a negative index
    counts from the end with the length at the time of the read, so when `v`
    may change lengths the index is normalized into a temporary first.
    Returns the temporaries (name, expression, in order) and the assignment.
    """
    target = s.target
    pos = {"line": s.line, "col": s.col}
    if isinstance(target, Name):  # the same Name node is read: a check of it stays a check
        return [], Assign(target, BinOp(s.op, target, s.value, **pos), **pos)
    if not isinstance(target, Index):
        raise position_error(s, "an assignment target must be a name or an element")
    temps: list[tuple[str, Expr]] = []
    array, index = target.array, target.index
    if not analysis.cost(array).pure:
        name = fresh()
        temps.append((name, array))
        array = Name(name)
    k = const_value(index)
    if analysis.python and analysis.cost(s.value).effects and (k is None or k < 0):
        name = fresh()
        temps.append((name, Normalized(array, index)))
        index = Name(name)
    elif not analysis.cost(index).pure:
        name = fresh()
        temps.append((name, index))
        index = Name(name)
    element = Index(array, index, **pos)
    return temps, Assign(element, BinOp(s.op, Index(array, index, **pos), s.value, **pos), **pos)


def position_error(node: Node, message: str) -> PrintError:
    return PrintError(message, line=node.line or None, col=node.col or None)
