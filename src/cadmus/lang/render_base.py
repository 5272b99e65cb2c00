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
it be written as the target's own loop. `TargetRenderer` is the frame the
three renderers share (helpers, temporaries, statements and the expressions
every target writes alike); a renderer supplies its language's spellings,
helper code, declarations and the forms that are its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import ClassVar

from cadmus.lang.ast import (
    ArrayLit,
    Assert,
    Assign,
    AugAssign,
    BinOp,
    BinOpKind,
    BoolOp,
    Break,
    Call,
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
    Node,
    Num,
    Pass,
    Print,
    Return,
    Stmt,
    Unary,
    UnaryKind,
    While,
    children,
    const_value,
)
from cadmus.lang.compiler import _collect_assigned
from cadmus.lang.errors import PrintError
from cadmus.lang.flow import always_returns
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


# The operators every target writes as a call of a helper (the name after the target's prefix), for
# the checks the VM makes; JavaScript computes + - * exactly on BigInt and checks only the result.
CHECKED_OPS: dict[BinOpKind, str] = {
    BinOpKind.ADD: "add",
    BinOpKind.SUB: "sub",
    BinOpKind.MUL: "mul",
    BinOpKind.TDIV: "div",
    BinOpKind.TMOD: "mod",
    BinOpKind.FDIV: "fdiv",
    BinOpKind.FMOD: "fmod",
    BinOpKind.POW: "pow",
    BinOpKind.SHL: "shl",
    BinOpKind.SHR: "shr",
}


def string_literal(text: str, escape: str, unsafe: str = "") -> str:
    """A double-quoted ASCII string literal of `text`'s UTF-8 bytes (Lua's and C's syntax).

    `"` and `\\` are escaped with a backslash; other bytes outside printable
    ASCII, and the characters of `unsafe`, as a backslash and the byte in the
    format `escape` ("03d": decimal, "03o": octal).
    """
    out = []
    for byte in text.encode("utf-8"):
        ch = chr(byte)
        if ch in '"\\':
            out.append("\\" + ch)
        elif 32 <= byte < 127 and ch not in unsafe:
            out.append(ch)
        else:
            out.append("\\" + format(byte, escape))
    return '"' + "".join(out) + '"'


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
    """The variables of a scope in order: parameters, then every name it assigns (the compiler's order)."""
    assigned: dict[str, Stmt] = {}
    _collect_assigned(body, assigned)
    return list(dict.fromkeys((*params, *assigned)))


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


def cannot_overflow(stop: Expr, step: int) -> bool:
    """Whether a counter below (above) `stop` plus `step` always stays in range."""
    if abs(step) == 1:
        return True  # the counter is below (above) an int64 `stop`
    k = const_value(stop)
    if k is not None:
        return k - 1 + step <= INT_MAX if step > 0 else k + 1 + step >= INT_MIN
    return isinstance(stop, Call) and stop.func == "len" and abs(step) < 2**62


# ---- the renderers' common frame ---------------------------------------------------

INDENT = "    "

Parts = tuple[list[str], str, int]  # (assignments to run first, expression, its precedence)


def join_parts(parts: Parts, need: int) -> str:
    """An expression's text binding at least `need`; assignments to run first go in front (comma operator)."""
    pre, text, prec = parts
    if pre:
        return "(" + ", ".join([*pre, text]) + ")"
    return f"({text})" if prec < need else text


class TargetRenderer:
    """What the JavaScript, Lua and C renderers share: one renderer for one module.

    A subclass sets the class attributes (its helpers, names and spellings)
    and writes what its language does its own way: `render`, `function_head`,
    `set_element`, `print_`, `append_text`, `cond_parts`, `other_parts` (the
    expressions not written alike, calls of builtins among them). The block
    forms and the `for` loop here are those of the brace languages; Lua
    overrides the statements it writes otherwise.

    Expressions come as `Parts`: assignments to temporaries that must run
    first, the text, and its precedence. Only C has such assignments (it
    evaluates operands in no fixed order, see `operands`); JavaScript and Lua
    evaluate left to right, as the VM does.
    """

    LANGUAGE: ClassVar[str]  # the language's name in error messages
    # name -> (code, helpers it uses); emitted in this order.
    HELPERS: ClassVar[dict[str, tuple[str, tuple[str, ...]]]]
    NORM_LINE: ClassVar[str]  # `{norm}` in `get`/`set`: mode python counts a negative index from the end
    RESERVED: ClassVar[frozenset[str]]
    TEMP: ClassVar[re.Pattern[str]]
    PREFIX: ClassVar[str] = "_"  # of the helpers' names: `{PREFIX}get`, `{PREFIX}set`, ...
    CALLED: ClassVar[dict[BinOpKind, str]]  # the operators written as a helper's call
    P_ATOM: ClassVar[int]
    P_UNARY: ClassVar[int]
    P_REL: ClassVar[int]  # the precedence of `<`
    END: ClassVar[str] = ";"  # ends a simple statement
    LET: ClassVar[str] = ""  # declares a temporary of a statement
    DECLARE: ClassVar[str] = ""  # declares a scope's variables
    TRUE: ClassVar[str] = "true"
    FALSE: ClassVar[str] = "false"
    FOR_LET: ClassVar[str] = ""  # declares the variables of a `for` loop's header
    # Block forms ("{}": the condition).
    IF: ClassVar[str] = "if ({}) {{"
    ELIF: ClassVar[str] = "}} else if ({}) {{"
    ELSE: ClassVar[str] = "} else {"
    WHILE: ClassVar[str] = "while ({}) {{"
    CLOSE: ClassVar[str] = "}"

    def __init__(self, module: Module, mode: str) -> None:
        self.a = Analysis(module, mode, self.RESERVED, self.TEMP)
        self.python = self.a.python
        self.used: set[str] = set()
        self.ntemp = 0
        self.scope: tuple[Stmt, ...] = ()
        self.in_main = True
        self.func: str | None = None  # the function being rendered (None: the main program)

    @classmethod
    def run(cls, module: Module, mode: str) -> str:
        """The rendering of `module`; `PrintError` where it has none."""
        try:
            return cls(module, mode).render()
        except RecursionError:
            raise position_error(module, "the tree is nested too deeply to render") from None

    # ---- what a language supplies ----------------------------------------------------

    def render(self) -> str:
        raise NotImplementedError

    def int_text(self, value: int) -> str:
        """An integer constant."""
        raise NotImplementedError

    def string_text(self, text: str) -> str:
        """A string literal."""
        raise NotImplementedError

    def function_head(self, f: FuncDef) -> str:
        raise NotImplementedError

    def set_element(self, value: Expr, target: Index, depth: int, out: list[str]) -> None:
        """`target = value` for an element (the VM evaluates the value, then the array and the index)."""
        raise NotImplementedError

    def print_(self, s: Print, pad: str, out: list[str]) -> None:
        raise NotImplementedError

    def append_text(self, e: Call, pad: str, out: list[str]) -> str:
        """The statement `append(a, v)`."""
        raise NotImplementedError

    def cond_parts(self, e: Expr) -> Parts:
        """`e` as the language's condition."""
        raise NotImplementedError

    def other_parts(self, e: Expr) -> Parts:
        """The expressions each language writes its own way."""
        raise NotImplementedError

    def checked_add(self, a: str, b: str) -> str:
        """`a + b` with the VM's overflow check."""
        raise NotImplementedError

    def either_way(self, stride: str, counter: str, stop: str) -> str:
        """A loop's test for a stride of either sign."""
        raise NotImplementedError

    # ---- helpers and temporaries -------------------------------------------------------

    def use(self, helper: str) -> str:
        if helper not in self.used:
            self.used.add(helper)
            for dep in self.HELPERS[helper][1]:
                self.use(dep)
        return helper

    def helper(self, name: str) -> str:
        """The helper `{PREFIX}name`, used."""
        return self.use(self.PREFIX + name)

    def fresh(self, kind: str = "t") -> str:
        self.ntemp += 1
        return f"_{kind}{self.ntemp}"

    def helper_code(self) -> list[str]:
        """The code of the helpers used, in order."""
        norm = self.NORM_LINE if self.python else ""
        return [code.replace("{norm}", norm) for name, (code, _) in self.HELPERS.items() if name in self.used]

    # ---- scopes --------------------------------------------------------------------

    def variables(self, names: Sequence[str], func: str | None) -> list[tuple[str, str]]:
        """A scope's variables and first values: 0, then mode python's flags (set for a parameter)."""
        params = self.a.funcs[func].params if func is not None else ()
        zero = self.int_text(0)
        flags = self.a.flags[func].items()
        return [(self.a.name(n), zero) for n in names] + [
            (flag, self.TRUE if n in params else self.FALSE) for n, flag in flags
        ]

    def declare(self, pairs: list[tuple[str, str]]) -> str:
        return self.DECLARE + ", ".join(f"{n} = {v}" for n, v in pairs) + self.END

    def function(self, f: FuncDef, out: list[str]) -> None:
        out.append(self.function_head(f))
        self.scope, self.in_main, self.func = f.body, False, f.name
        self.scope_block([n for n in scope_names(f.body, f.params) if n not in f.params], f.body, out)
        if not always_returns(f.body):
            out.append(f"{INDENT}return {self.int_text(0)}{self.END}")
        out.append(self.CLOSE)

    def scope_block(self, names: list[str], body: tuple[Stmt, ...], out: list[str]) -> None:
        """A function's declarations and code."""
        pairs = self.variables(names, self.func)
        if pairs:
            out.append(INDENT + self.declare(pairs))
        self.block(body, 1, out)

    # ---- statements ------------------------------------------------------------------

    def block(self, body: tuple[Stmt, ...], depth: int, out: list[str]) -> None:
        for i, s in enumerate(body):
            self.stmt(s, depth, out, last=i == len(body) - 1)

    def loop_body(self, body: tuple[Stmt, ...], depth: int, out: list[str]) -> None:
        self.block(body, depth, out)

    def stmt(self, s: Stmt, depth: int, out: list[str], last: bool = True) -> None:
        """`s` at `depth`; `last`: it ends its block."""
        pad = INDENT * depth
        if isinstance(s, Assign):
            self.assign(s, depth, out)
        elif isinstance(s, AugAssign):
            self.aug_assign(s, depth, out)
        elif isinstance(s, If):
            self.if_(s, depth, out)
        elif isinstance(s, While):
            out.append(pad + self.WHILE.format(self.cond(s.cond)))
            self.loop_body(s.body, depth + 1, out)
            out.append(pad + self.CLOSE)
        elif isinstance(s, For):
            self.for_(s, depth, out)
        elif isinstance(s, Return):
            self.return_(s, pad, out, last)
        elif isinstance(s, Print):
            self.print_(s, pad, out)
        elif isinstance(s, Assert):
            self.assert_stmt(s, pad, out)
        elif isinstance(s, ExprStmt):
            e = s.value
            if isinstance(e, Call) and e.func == "append" and e.func not in self.a.funcs:
                text = self.append_text(e, pad, out)
            else:
                text = self.discarded(e, pad, out)
            out.append(pad + text + self.END)
        elif isinstance(s, Break):
            out.append(pad + "break" + self.END)
        elif isinstance(s, Continue):
            self.continue_(s, pad, out)
        elif isinstance(s, Pass):
            pass
        elif isinstance(s, FuncDef):
            raise position_error(s, "function definitions must be at the top level")
        else:
            raise position_error(s, f"cannot render {type(s).__name__} as {self.LANGUAGE}")

    def lift(self, pre: list[str], pad: str, out: list[str]) -> None:
        out.extend(f"{pad}{p}{self.END}" for p in pre)

    def lifted(self, e: Expr, pad: str, out: list[str]) -> str:
        """`e`'s text in a statement, its assignments to run first written before it."""
        pre, text, _ = self.parts(e)
        self.lift(pre, pad, out)
        return text

    def discarded(self, e: Expr, pad: str, out: list[str]) -> str:
        """An expression statement (not `append`)."""
        return self.lifted(e, pad, out)

    def assign(self, s: Assign, depth: int, out: list[str]) -> None:
        pad = INDENT * depth
        target = s.target
        if isinstance(target, Name):
            value = self.lifted(s.value, pad, out)
            out.append(f"{pad}{self.a.name(target.id)} = {value}{self.END}")
            self.mark(target.id, pad, out)
            return
        if not isinstance(target, Index):
            raise position_error(s, "an assignment target must be a name or an element")
        self.set_element(s.value, target, depth, out)

    def value_first(self, value: Expr, target: Index) -> bool:
        """Whether evaluating `value` after the element's array and index could be seen."""
        cv = self.a.cost(value)
        return not cv.pure and (
            conflict(cv, self.a.cost(target.array)) or conflict(cv, self.a.cost(target.index))
        )

    def aug_assign(self, s: AugAssign, depth: int, out: list[str]) -> None:
        temps, assign = lower_aug(self.a, s, self.fresh)
        pad = INDENT * depth
        for name, e in temps:
            value = self.lifted(e, pad, out)
            out.append(f"{pad}{self.LET}{name} = {value}{self.END}")
        self.assign(assign, depth, out)

    def mark(self, name: str, pad: str, out: list[str]) -> None:
        """Mode python: a checked name is set from now on."""
        flag = self.a.flags.get(self.func, {}).get(name)
        if flag is not None:
            out.append(f"{pad}{flag} = {self.TRUE}{self.END}")

    def return_(self, s: Return, pad: str, out: list[str], last: bool) -> None:
        value = self.int_text(0) if s.value is None else self.lifted(s.value, pad, out)
        out.append(f"{pad}return {value}{self.END}")

    def assert_stmt(self, s: Assert, pad: str, out: list[str]) -> None:
        extra = "" if s.error is None else ", " + self.string_text(s.error)
        out.append(f"{pad}{self.use('assert')}({self.cond(s.test)}{extra}){self.END}")

    def continue_(self, s: Continue, pad: str, out: list[str]) -> None:
        out.append(pad + "continue" + self.END)

    def if_(self, s: If, depth: int, out: list[str]) -> None:
        pad = INDENT * depth
        out.append(pad + self.IF.format(self.cond(s.cond)))
        while True:
            self.block(s.body, depth + 1, out)
            if len(s.orelse) == 1 and isinstance(s.orelse[0], If):
                s = s.orelse[0]
                out.append(pad + self.ELIF.format(self.cond(s.cond)))
                continue
            if s.orelse:
                out.append(pad + self.ELSE)
                self.block(s.orelse, depth + 1, out)
            break
        out.append(pad + self.CLOSE)

    def for_(self, s: For, depth: int, out: list[str]) -> None:
        """A `for` loop as the brace languages write it: their own loop when its variable is the counter."""
        a = self.a
        pad = INDENT * depth
        var, step, start = self.for_head(s)
        if (
            step is not None
            and step != 0
            and not assigns(s.body, s.var)
            and a.stable(s.stop, s.body)
            and a.loop_var_private(s, self.scope, self.in_main)
        ):
            test = f"{var} {'<' if step > 0 else '>'} {self.value(s.stop, self.P_REL + 1)}"
            if cannot_overflow(s.stop, step):
                incr = {1: f"{var}++", -1: f"{var}--"}.get(step)
                if incr is None:
                    incr = f"{var} {'+' if step > 0 else '-'}= {self.int_text(abs(step))}"
            else:
                incr = f"{var} = {self.checked_add(var, self.int_text(step))}"
            out.append(f"{pad}for ({var} = {start}; {test}; {incr}) {{")
            self.block(s.body, depth + 1, out)
            out.append(pad + "}")
            return
        # A hidden counter, as the VM runs it.
        counter, init, test, stride = self.counter_loop(s, start, step)
        incr = f"{counter} = {self.checked_add(counter, stride)}"
        out.append(f"{pad}for ({self.FOR_LET}{', '.join(f'{n} = {v}' for n, v in init)}; {test}; {incr}) {{")
        out.append(f"{pad}{INDENT}{var} = {counter}{self.END}")
        self.mark(s.var, pad + INDENT, out)
        self.block(s.body, depth + 1, out)
        out.append(pad + "}")

    def for_head(self, s: For) -> tuple[str, int | None, str]:
        """A `for` loop's variable, its step when a constant (else None) and its start, as text."""
        step = 1 if s.step is None else const_value(s.step)
        return self.a.name(s.var), step, self.value(s.start)

    def counter_loop(
        self, s: For, start: str, step: int | None
    ) -> tuple[str, list[tuple[str, str]], str, str]:
        """A hidden counter running `s` as the VM does (bounds evaluated once, a stride checked).

        Returns the counter, the variables to set first (name, value; the
        counter first), the loop's test and the stride.
        """
        counter = self.fresh("c")
        init = [(counter, start)]
        if self.a.stable(s.stop, s.body):
            stop = self.value(s.stop, self.P_REL + 1)
        else:
            stop = self.fresh("n")
            init.append((stop, self.value(s.stop)))
        if step is None or step == 0:
            stride = self.fresh("s")
            given = self.value(s.step) if s.step is not None else self.int_text(1)
            init.append((stride, f"{self.helper('step')}({given})"))
            return counter, init, self.either_way(stride, counter, stop), stride
        return counter, init, f"{counter} {'<' if step > 0 else '>'} {stop}", self.int_text(step)

    # ---- expressions -----------------------------------------------------------------

    def value(self, e: Expr, need: int = 0) -> str:
        return join_parts(self.parts(e), need)

    def cond(self, e: Expr, need: int = 0) -> str:
        return join_parts(self.cond_parts(e), need)

    def operands(self, es: Sequence[Expr], needs: tuple[int, ...] = ()) -> tuple[list[str], list[str]]:
        """Operands the language evaluates left to right, as the VM does (parenthesized to bind `needs`)."""
        return [], [self.value(e, needs[j] if needs else 0) for j, e in enumerate(es)]

    def parts(self, e: Expr) -> Parts:
        """`e` as a value: what every language writes alike, then `other_parts`."""
        k = const_value(e)
        if k is not None:
            text = self.int_text(k)
            return [], text, self.P_UNARY if text.startswith("-") else self.P_ATOM
        if isinstance(e, Name):
            check = self.a.check_of(e, self.func)
            if check is not None:
                bound = self.helper("bound")
                return (
                    [],
                    f"{bound}({check[0]}, {self.a.name(e.id)}, {self.string_text(check[1])})",
                    self.P_ATOM,
                )
            return [], self.a.name(e.id), self.P_ATOM
        if isinstance(e, Unary) and e.op is UnaryKind.INVERT:
            return [], "~" + self.value(e.operand, self.P_UNARY + 1), self.P_UNARY
        if isinstance(e, BinOp) and e.op in self.CALLED:
            pre, (left, right) = self.operands((e.left, e.right))
            return pre, f"{self.use(self.CALLED[e.op])}({left}, {right})", self.P_ATOM
        if isinstance(e, Index | Normalized):
            pre, (array, index) = self.operands((e.array, e.index))
            helper = self.helper("get" if isinstance(e, Index) else "norm")
            return pre, f"{helper}({array}, {index})", self.P_ATOM
        if isinstance(e, Call):
            if e.func in self.a.funcs:
                pre, args = self.operands(e.args)
                return pre, f"{self.a.name(e.func)}({', '.join(args)})", self.P_ATOM
            if e.func == "append":
                raise position_error(e, f"append() used as a value has no {self.LANGUAGE} rendering")
        return self.other_parts(e)
