"""Semantic checks: is a parsed (or built) tree a well-formed program?

`check_semantics(module, mode="dsl")` raises `SemanticError` at the first
offending node (program order). The rules (docs/language.md, "Static rules"):

- Functions are the top-level `def`s; all are visible everywhere, before or
  after their definition. No nested `def`, no duplicate function or
  parameter, no function named like a builtin or keyword.
- Function names and builtins live apart from variables: a variable,
  parameter or loop variable may not take a function's or builtin's name, a
  function is never a value, and only functions are called.
- Definite assignment: a variable may be read only where every path from the
  start of its scope assigns it first. An assignment counts for the rest of
  its block and for blocks nested there; after an `if`, a variable counts if
  every branch that can fall through (does not end in `return`, `break` or
  `continue`) assigns it (an `if` without `else` has an empty fall-through
  branch); assignments inside a loop body (and the loop variable) do not count
  after the loop, which may run zero times.
- In `"dsl"` mode a function's scope is its parameters and its own
  variables: functions do not see global variables. In `"python"` mode a
  function may also read a global it never assigns (a name assigned anywhere
  at top level), as Python does; Python-only operators and builtins are
  allowed only there.
- Mode `"python"` has Python's run-time `NameError` instead of the static
  rule: a read that some path (loops' back edges included) may reach with
  the name assigned is accepted, and `reads_to_check` names the reads the
  compiler must check at run time (those not definitely assigned, and
  functions' reads of globals that some top-level call may reach before
  the global is set). A read no path can reach assigned is still an error.
  A top-level call may not reach (through other functions) a function
  whose `def` comes later.
- `return` only inside a function; `break`/`continue` only inside a loop;
  calls have the right number of arguments; expression statements are calls.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from cadmus.lang import ast as A
from cadmus.lang.errors import SemanticError
from cadmus.lang.lexer import MAX_INT
from cadmus.lang.lexicon import KEYWORDS

MODES = ("dsl", "python")
_PYTHON_ONLY_OPS = frozenset({A.BinOpKind.FDIV, A.BinOpKind.FMOD, A.BinOpKind.POW})
_KEYWORDS = frozenset(KEYWORDS)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _assigned_names(body: Iterable[A.Stmt], into: set[str]) -> set[str]:
    """Every name a block assigns anywhere (targets that are names, loop variables)."""
    for s in body:
        cls = s.__class__
        if cls is A.Assign or cls is A.AugAssign:
            if s.target.__class__ is A.Name:
                into.add(s.target.id)
        elif cls is A.For:
            into.add(s.var)
            _assigned_names(s.body, into)
        elif cls is A.If:
            _assigned_names(s.body, into)
            _assigned_names(s.orelse, into)
        elif cls is A.While:
            _assigned_names(s.body, into)
    return into


class _Checker:
    def __init__(self, mode: str, file: str | None) -> None:
        self.mode = mode
        self.python = mode == "python"
        self.file = file
        self.funcs: dict[str, A.FuncDef] = {}
        # Per scope:
        self.func: A.FuncDef | None = None
        self.locals: set[str] | None = None  # python mode: the function's local names
        self.loops = 0
        self.defs_seen: set[str] = set()  # top-level defs checked so far (program order)
        self.scope_globals: set[str] = set()  # names assigned anywhere at top level
        # python mode: what Python's run-time NameError needs
        self.seen: set[str] = set()  # names assigned by the statements of this scope checked so far
        self.loop_assigned: list[set[str]] = []  # names assigned anywhere in each enclosing loop
        self.unproven: set[int] = set()  # ids of reads that are not definitely assigned
        self.unproven_names: dict[str | None, set[str]] = {}  # scope (None: top level) -> their names
        self.global_reads: list[tuple[int, str]] = []  # (id, name): functions' reads of globals
        self.call_defined: set[str] | None = None  # globals set at every top-level call of a function
        self.callees: dict[str, set[str]] = {}  # function -> functions its body calls

    def error(self, message: str, node: A.Node) -> SemanticError:
        return SemanticError(message, file=self.file, line=node.line or None, col=node.col or None)

    # ---- names ---------------------------------------------------------

    def check_ident(self, name: str, node: A.Node, what: str) -> None:
        if not isinstance(name, str):
            raise self.error(f"{what} {name!r} is not a valid identifier", node)
        if self.python:
            if not name.isidentifier():  # Python identifiers may be non-ASCII
                raise self.error(f"{what} {name!r} is not a valid identifier", node)
            return
        if not _IDENT.match(name):
            raise self.error(f"{what} {name!r} is not a valid identifier", node)
        if name in _KEYWORDS:
            raise self.error(f"{what} '{name}' is a keyword", node)

    def check_variable_name(self, name: str, node: A.Node, what: str) -> None:
        self.check_ident(name, node, what)
        if name in self.funcs:
            raise self.error(f"cannot use '{name}' as a {what}: it is a function", node)
        if name in A.BUILTINS:
            raise self.error(f"cannot use '{name}' as a {what}: it is a builtin function", node)

    # ---- module and functions ------------------------------------------

    def module(self, module: A.Module) -> None:
        body = module.body
        for s in body:
            if s.__class__ is A.FuncDef:
                self.check_ident(s.name, s, "function name")
                if s.name in A.BUILTINS:
                    raise self.error(f"cannot define a function named '{s.name}': it is a builtin", s)
                prev = self.funcs.get(s.name)
                if prev is not None:
                    where = f" at line {prev.line}" if prev.line else ""
                    raise self.error(f"function '{s.name}' is already defined{where}", s)
                self.funcs[s.name] = s
        self.scope_globals = _assigned_names(body, set())
        defined: set[str] = set()
        for s in body:
            if s.__class__ is A.FuncDef:
                self.funcdef(s)
                self.defs_seen.add(s.name)
            else:
                defined, _ = self.stmt(s, defined)

    def funcdef(self, f: A.FuncDef) -> None:
        seen: set[str] = set()
        for p in f.params:
            self.check_variable_name(p, f, "parameter")
            if p in seen:
                raise self.error(f"duplicate parameter '{p}' in function '{f.name}'", f)
            seen.add(p)
        saved = (self.func, self.locals, self.loops, self.seen, self.loop_assigned)
        self.func = f
        self.loops = 0
        self.seen = set()
        self.loop_assigned = []
        self.locals = _assigned_names(f.body, set(f.params)) if self.python else None
        self.block(f.body, set(seen))
        self.func, self.locals, self.loops, self.seen, self.loop_assigned = saved

    # ---- statements ----------------------------------------------------

    def block(self, body: Iterable[A.Stmt], defined: set[str]) -> tuple[set[str], bool]:
        """Check a block entered with `defined`; returns (defined after, falls through)."""
        falls = True
        for s in body:
            defined, f = self.stmt(s, defined)
            falls = falls and f
        return defined, falls

    def assign_name(self, name: str, node: A.Node, defined: set[str], what: str = "variable") -> set[str]:
        self.check_variable_name(name, node, what)
        if self.python:
            self.seen.add(name)
        if name in defined:
            return defined
        return defined | {name}

    def stmt(self, s: A.Stmt, defined: set[str]) -> tuple[set[str], bool]:
        cls = s.__class__
        if cls is A.Assign:
            self.expr(s.value, defined)
            t = s.target
            if t.__class__ is A.Name:
                return self.assign_name(t.id, t, defined), True
            if t.__class__ is A.Index:
                self.expr(t, defined)
                return defined, True
            raise self.error("assignment target must be a name or an indexed element", s)
        if cls is A.AugAssign:
            self.binop_kind(s.op, s)
            t = s.target
            if t.__class__ is not A.Name and t.__class__ is not A.Index:
                raise self.error("assignment target must be a name or an indexed element", s)
            if t.__class__ is A.Name:
                self.check_variable_name(t.id, t, "variable")
            self.expr(t, defined)
            self.expr(s.value, defined)
            return defined, True
        if cls is A.If:
            self.expr(s.cond, defined)
            if not s.body:
                raise self.error("empty block in 'if'", s)
            d1, f1 = self.block(s.body, defined)
            d2, f2 = self.block(s.orelse, defined)
            if f1 and f2:
                return d1 & d2, True
            if f1:
                return d1, True
            if f2:
                return d2, True
            return defined, False
        if cls is A.While:
            self.enter_loop(s.body, set())
            self.expr(s.cond, defined)
            self.loop_body(s.body, defined, s, "while")
            self.leave_loop()
            return defined, True
        if cls is A.For:
            self.expr(s.start, defined)
            self.expr(s.stop, defined)
            if s.step is not None:
                self.expr(s.step, defined)
            self.enter_loop(s.body, {s.var})
            inner = self.assign_name(s.var, s, defined, "loop variable")
            self.loop_body(s.body, inner, s, "for")
            self.leave_loop()
            return defined, True
        if cls is A.FuncDef:
            # Top-level definitions are handled by `module`: this one is nested.
            raise self.error(f"nested function definitions are not supported ('{s.name}')", s)
        if cls is A.Return:
            if self.func is None:
                raise self.error("'return' outside a function", s)
            if s.value is not None:
                self.expr(s.value, defined)
            return defined, False
        if cls is A.Print:
            for a in s.args:
                self.expr(a, defined)
            return defined, True
        if cls is A.Assert:
            self.expr(s.test, defined)
            return defined, True
        if cls is A.ExprStmt:
            if s.value.__class__ is not A.Call and not self.python:
                raise self.error("only calls can be used as statements", s)
            self.expr(s.value, defined)
            return defined, True
        if cls is A.Break or cls is A.Continue:
            if not self.loops:
                word = "break" if cls is A.Break else "continue"
                raise self.error(f"'{word}' outside a loop", s)
            return defined, False
        if cls is A.Pass:
            return defined, True
        raise self.error(f"not a statement: {type(s).__name__}", s)

    def enter_loop(self, body: tuple[A.Stmt, ...], names: set[str]) -> None:
        """Python mode: the names a loop assigns may be set at any point of it (the back edge)."""
        if self.python:
            self.loop_assigned.append(_assigned_names(body, names))

    def leave_loop(self) -> None:
        if self.python:
            self.loop_assigned.pop()

    def loop_body(self, body: tuple[A.Stmt, ...], defined: set[str], node: A.Node, what: str) -> None:
        if not body:
            raise self.error(f"empty block in '{what}'", node)
        self.loops += 1
        self.block(body, defined)
        self.loops -= 1

    # ---- expressions ---------------------------------------------------

    def binop_kind(self, op: A.BinOpKind, node: A.Node) -> None:
        if op in _PYTHON_ONLY_OPS and not self.python:
            raise self.error(f"operator '{op.value}' is Python-only", node)

    def expr(self, e: A.Expr, defined: set[str]) -> None:
        cls = e.__class__
        if cls is A.Name:
            self.read(e, defined)
        elif cls is A.Num:
            if not isinstance(e.value, int) or e.value > MAX_INT:
                raise self.error(f"integer literal {e.value} is out of range (the largest is {MAX_INT})", e)
        elif cls is A.BinOp:
            self.binop_kind(e.op, e)
            self.expr(e.left, defined)
            self.expr(e.right, defined)
        elif cls is A.Compare or cls is A.BoolOp:
            self.expr(e.left, defined)
            self.expr(e.right, defined)
        elif cls is A.Unary:
            self.expr(e.operand, defined)
        elif cls is A.Call:
            self.call(e, defined)
        elif cls is A.Index:
            self.expr(e.array, defined)
            self.expr(e.index, defined)
        elif cls is A.ArrayLit:
            for x in e.elts:
                self.expr(x, defined)
        else:
            raise self.error(f"not an expression: {type(e).__name__}", e)

    def read(self, e: A.Name, defined: set[str]) -> None:
        name = e.id
        if name in defined:
            return
        if name in self.funcs:
            raise self.error(f"function '{name}' cannot be used as a value (call it)", e)
        if name in A.BUILTINS:
            raise self.error(f"builtin '{name}' cannot be used as a value (call it)", e)
        func = self.func
        in_function = func is not None
        if in_function and self.python and name not in self.locals and name in self.scope_globals:
            self.global_reads.append((id(e), name))
            return  # Python: a function reads a global it never assigns
        if self.python and (name in self.seen or any(name in names for names in self.loop_assigned)):
            self.unproven.add(id(e))  # some path assigns it: Python's NameError, checked at run time
            scope = None if func is None else func.name
            self.unproven_names.setdefault(scope, set()).add(name)
            return
        if func is not None and self.python and name in self.locals:
            where = f"'{func.name}' assigns it, so it is local there, but not before this read"
            raise self.error(f"undefined name '{name}' ({where}: Python's UnboundLocalError)", e)
        if in_function and name in self.scope_globals:
            raise self.error(
                f"undefined name '{name}' (functions do not see global variables; pass it as a parameter)",
                e,
            )
        raise self.error(f"undefined name '{name}'", e)

    def top_level_call(self, name: str, e: A.Call, defined: set[str]) -> None:
        """Python runs each `def` where it stands: everything the call can reach must be defined."""
        if name not in self.defs_seen:
            raise self.error(f"function '{name}' is called before its definition", e)
        reach, todo = {name}, [name]
        while todo:
            for callee in sorted(self.callees.get(todo.pop(), ())):
                if callee not in reach:
                    if callee not in self.defs_seen:
                        raise self.error(
                            f"function '{callee}' may be called (through '{name}') before its definition", e
                        )
                    reach.add(callee)
                    todo.append(callee)
        self.call_defined = set(defined) if self.call_defined is None else self.call_defined & defined

    def call(self, e: A.Call, defined: set[str]) -> None:
        name = e.func
        f = self.funcs.get(name)
        if f is not None:
            if self.python:
                if self.func is None:
                    self.top_level_call(name, e, defined)
                else:
                    self.callees.setdefault(self.func.name, set()).add(name)
            expected = len(f.params)
        elif name in A.BUILTINS:
            if name in A.PYTHON_ONLY_BUILTINS and not self.python:
                raise self.error(f"'{name}' is a Python-only builtin", e)
            expected = A.BUILTINS[name]
        elif name in defined:
            raise self.error(f"'{name}' is a variable, not a function", e)
        else:
            raise self.error(f"unknown function '{name}'", e)
        if len(e.args) != expected:
            plural = "" if expected == 1 else "s"
            raise self.error(
                f"function '{name}' takes {expected} argument{plural}, found {len(e.args)}",
                e,
            )
        for a in e.args:
            self.expr(a, defined)


def _run(module: A.Module, mode: str, file: str | None) -> _Checker:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    if not isinstance(module, A.Module):
        raise SemanticError(f"expected a Module, found {type(module).__name__}", file=file)
    checker = _Checker(mode, file)
    try:
        checker.module(module)
    except RecursionError:
        raise SemanticError("program nested too deeply", file=file) from None
    return checker


@dataclass(frozen=True, slots=True)
class NameChecks:
    """The reads mode "python" checks at run time (Python's `NameError`), found by `reads_to_check`.

    `reads` holds the `id`s of the `Name` nodes to check; `names` the names
    that need an "is set" flag, per scope (None: the top level, including
    the globals that functions read before they may be set; a function's
    name: its locals).
    """

    reads: frozenset[int]
    names: dict[str | None, frozenset[str]]


_last: tuple[A.Module, NameChecks] | None = None  # the last module checked in mode "python"


def _name_checks(checker: _Checker) -> NameChecks:
    safe = checker.call_defined  # None: no top-level call, so no function ever runs
    late = [(ident, name) for ident, name in checker.global_reads if safe is not None and name not in safe]
    names = {scope: set(found) for scope, found in checker.unproven_names.items()}
    if late:
        names.setdefault(None, set()).update(name for _, name in late)
    reads = frozenset(checker.unproven | {ident for ident, _ in late})
    return NameChecks(reads, {scope: frozenset(found) for scope, found in names.items()})


def check_semantics(module: A.Module, mode: str = "dsl", *, file: str | None = None) -> None:
    """Raise `SemanticError` at the first node that breaks a static rule; see the module doc."""
    global _last
    checker = _run(module, mode, file)
    if checker.python:
        _last = (module, _name_checks(checker))


def reads_to_check(module: A.Module) -> NameChecks:
    """The reads that need a run-time check in mode "python" (see `NameChecks`).

    These are the reads that are not definitely assigned (CPython's
    `NameError` or `UnboundLocalError` when the path that assigns the name
    did not run), and functions' reads of a global that is not definitely
    assigned at every top-level call of a function. Raises `SemanticError`
    like `check_semantics(module, "python")`. Trees are immutable: the
    answer for the module `check_semantics` saw last is remembered.
    """
    global _last
    last = _last
    if last is not None and last[0] is module:
        return last[1]
    checks = _name_checks(_run(module, "python", None))
    _last = (module, checks)
    return checks
