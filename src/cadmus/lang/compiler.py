"""The compiler from the Cadmus AST to a VM program, with a source map.

One pass over the tree emits instructions into a list; jump targets are
symbolic labels patched at the end. The layout is fixed:

- pc 0: `enter m` (m global slots), the top-level statements in order (function
  definitions are skipped), `halt`;
- then each function in definition order: `enter m`, its body, and an implicit
  `push 0; ret` (a function that falls off its end, or a bare `return`,
  returns 0).

Scopes. Each scope (the main program, each function) gives every variable a
slot: parameters first (slots 0..k-1, where `call t k` puts the arguments),
then the names the scope assigns in order of first appearance, then hidden
slots the compiler needs (named `$n` in the slot tables; loop counters and
snapshots of `range` bounds). The main program's slots are the globals.
In mode `"dsl"` a function sees only its parameters, its locals and the
functions; in mode `"python"` a name that a function assigns anywhere in its
body is local to it (Python's rule) and any other name reads the global of
that name with `gload`. A name that is never assigned in the scope that would
hold it is a `SemanticError` at compile time.

Expressions are plain stack code. The AST fixes the arithmetic: `TDIV/TMOD`
compile to `divt/modt`, `FDIV/FMOD` to `divf/modf`, whatever the mode.
`and`/`or` short-circuit; in a condition (`if`, `while`) they compile to
jumps; as values they give 1/0 in mode `"dsl"` and the deciding operand in
mode `"python"`. Mode `"python"` also makes negative indices count from the
end of the array.

Order of evaluation (both modes, Python's order): operands left to right;
in `target = value` the value first, then the target's array and index;
in `target op= value` the target first (its array and index once), then the
value. `for v in range(a, b, s)` evaluates a, b, s once before the loop, fails
at run time when s is 0, runs on a hidden counter (assigning to `v` in the
body does not change the iteration) and leaves `v` at the last value it took
(unchanged when the loop runs zero times), exactly like Python.

Run-time checks the VM has no instruction for (a `range` step of 0) compile
to an `assert` with an id after those of the source's asserts; `traps` gives
the message of each such id (`None` for the source's own asserts), so a
verdict reports them as run-time errors at their line, not as failed asserts.

Python's `NameError` (mode `"python"`): the reads `reads_to_check` names
(a variable assigned on some paths only, a function's read of a global that
a call may reach before it is set) get a hidden flag slot per name, set to 1
by every store to the name, and a check before the read that fails with the
run-time error `NameError: name 'x' is not defined` (`UnboundLocalError:
...` for a function's local) at the read's line. Programs whose reads are
all definitely assigned compile to the same code as without the rule.
An `Assert` with `error` set (a check the front end wrote) is such a trap
too, with its own message.

Source map: every instruction carries the line of the statement it came from
(a condition's code the line of its `if`/`elif`/`while`; a `for` loop's test
and step, and a `while` loop's jump back, the loop's own line; a function's
`enter` and implicit `return 0` its `def` line; the main program's `enter` its
first statement and `halt` its last).

Where mode `"python"` still differs from CPython (programs the semantic
checks accept): values are signed 64-bit integers and overflow traps, also
for a `range` counter stepping past the range's end near the limits;
comparisons and `not` give 1/0 rather than `True`/`False` (a global never
assigned at top level is a `SemanticError`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from cadmus.lang.ast import (
    BUILTINS,
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
)
from cadmus.lang.errors import CompileError, SemanticError
from cadmus.lang.semantics import reads_to_check
from cadmus.vm import Instr, Op, Program

Mode = Literal["dsl", "python"]
MODES: tuple[str, ...] = ("dsl", "python")

INT_MIN = -(2**63)
INT_MAX = 2**63 - 1

STEP_ZERO_MESSAGE = "range() step must not be zero"

_PUSH = Op.PUSH
_POP = Op.POP
_DUP = Op.DUP
_DUP2 = Op.DUP2
_OVER = Op.OVER
_ROT = Op.ROT
_ENTER = Op.ENTER
_LOAD = Op.LOAD
_STORE = Op.STORE
_INCL = Op.INCL
_GLOAD = Op.GLOAD
_ADD = Op.ADD
_NEG = Op.NEG
_NOT = Op.NOT
_BNOT = Op.BNOT
_LT = Op.LT
_GT = Op.GT
_EQ = Op.EQ
_CMP = Op.CMP
_SGN = Op.SGN
_NEWARR = Op.NEWARR
_ALOAD = Op.ALOAD
_ASTORE = Op.ASTORE
_ALEN = Op.ALEN
_APUSH = Op.APUSH
_APOP = Op.APOP
_JMP = Op.JMP
_JZ = Op.JZ
_JNZ = Op.JNZ
_CALL = Op.CALL
_RET = Op.RET
_HALT = Op.HALT
_PRINT = Op.PRINT
_READ = Op.READ
_ASSERT = Op.ASSERT
_ASSERTEQ = Op.ASSERTEQ

_BINOPS: dict[BinOpKind, Op] = {
    BinOpKind.ADD: Op.ADD,
    BinOpKind.SUB: Op.SUB,
    BinOpKind.MUL: Op.MUL,
    BinOpKind.TDIV: Op.DIVT,
    BinOpKind.TMOD: Op.MODT,
    BinOpKind.FDIV: Op.DIVF,
    BinOpKind.FMOD: Op.MODF,
    BinOpKind.POW: Op.POW,
    BinOpKind.BAND: Op.BAND,
    BinOpKind.BOR: Op.BOR,
    BinOpKind.BXOR: Op.BXOR,
    BinOpKind.SHL: Op.SHL,
    BinOpKind.SHR: Op.SHR,
}
_CMPS: dict[CmpKind, Op] = {
    CmpKind.EQ: Op.EQ,
    CmpKind.NE: Op.NE,
    CmpKind.LT: Op.LT,
    CmpKind.LE: Op.LE,
    CmpKind.GT: Op.GT,
    CmpKind.GE: Op.GE,
}
# Builtins that are one instruction after their arguments.
_SIMPLE_BUILTINS: dict[str, Op] = {
    "len": Op.ALEN,
    "abs": Op.ABS,
    "min": Op.MIN,
    "max": Op.MAX,
    "array": Op.NEWARR,
    "read": Op.READ,
    "pop": Op.APOP,
}
# The same maps keyed by the members' ids: Enum members are singletons, and
# hashing an Enum member runs Python code, an id does not.
_BINOP_OF: dict[int, Op] = {id(kind): op for kind, op in _BINOPS.items()}
_CMP_OF: dict[int, Op] = {id(kind): op for kind, op in _CMPS.items()}
_TERMINAL = (Return, Break, Continue)

# Instructions are immutable, and programs repeat many (push 0, load 1, add):
# reuse them rather than build and validate each one again.
_INSTR_CACHE: dict[tuple[Op, tuple[int, ...]], Instr] = {}
_INSTR_CACHE_MAX = 200_000


def _instructions(code: list[tuple[Op, tuple[int, ...]]]) -> tuple[Instr, ...]:
    cache = _INSTR_CACHE
    get = cache.get
    out: list[Instr] = []
    append = out.append
    for key in code:
        ins = get(key)
        if ins is None:
            ins = Instr(*key)
            if len(cache) >= _INSTR_CACHE_MAX:
                cache.clear()
            cache[key] = ins
        append(ins)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class FunctionInfo:
    """Where a compiled function lives and what its frame's slots hold."""

    name: str
    entry: int  # pc of its `enter`
    end: int  # one past its last pc
    params: tuple[str, ...]
    slots: tuple[str, ...]  # name of each local slot; hidden slots start with '$'
    line: int


@dataclass(frozen=True, slots=True)
class Compiled:
    """A VM program plus the map back to the source it came from."""

    program: Program
    lines: tuple[int, ...]  # source line of each pc
    assert_lines: tuple[int, ...]  # source line of each assert id
    traps: tuple[str | None, ...]  # per assert id: None (a source assert) or a run-time error message
    global_names: tuple[str, ...]  # name of each global slot (the main frame)
    functions: tuple[FunctionInfo, ...]
    mode: str = "dsl"

    @property
    def n_asserts(self) -> int:
        """The number of asserts written in the source (ids 0..n-1)."""
        return sum(1 for t in self.traps if t is None)

    def function_at(self, pc: int) -> FunctionInfo | None:
        """The function whose code holds `pc`, or None for the main program."""
        for info in self.functions:
            if info.entry <= pc < info.end:
                return info
        return None

    def slot_names(self, pc: int) -> tuple[str, ...]:
        """Names of the slots of the frame that runs the code at `pc`."""
        info = self.function_at(pc)
        return self.global_names if info is None else info.slots


def compile_program(module: Module, mode: Mode | str = "dsl") -> Compiled:
    """Compile a module to a VM program with its source map.

    Raises `SemanticError` for names the program cannot resolve (undefined
    names and functions, wrong arity, `return`/`break`/`continue` out of
    place) and `CompileError` for what the VM cannot hold (a constant outside
    the signed 64-bit range).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be 'dsl' or 'python', not {mode!r}")
    if not isinstance(module, Module):
        raise TypeError(f"compile_program needs a Module, not {type(module).__name__}")
    compiler = _Compiler(mode == "python")
    try:
        return compiler.compile(module)
    finally:
        compiler.release()


# ---- scope analysis ---------------------------------------------------------


def _collect_assigned(body: tuple[Stmt, ...], out: dict[str, Stmt]) -> None:
    """Add the names `body` assigns (not inside nested functions), in order."""
    for stmt in body:
        kind = type(stmt)
        if kind is Assign or kind is AugAssign:
            target = stmt.target  # type: ignore[attr-defined]
            if type(target) is Name and target.id not in out:
                out[target.id] = stmt
        elif kind is For:
            if stmt.var not in out:  # type: ignore[attr-defined]
                out[stmt.var] = stmt  # type: ignore[attr-defined]
            _collect_assigned(stmt.body, out)  # type: ignore[attr-defined]
        elif kind is If:
            _collect_assigned(stmt.body, out)  # type: ignore[attr-defined]
            _collect_assigned(stmt.orelse, out)  # type: ignore[attr-defined]
        elif kind is While:
            _collect_assigned(stmt.body, out)  # type: ignore[attr-defined]


def _pos(node: object) -> dict[str, int | None]:
    line = getattr(node, "line", 0) or None
    col = getattr(node, "col", 0) or None
    return {"line": line, "col": col}


@dataclass(slots=True)
class _Func:
    node: FuncDef
    label: int
    arity: int


class _Compiler:
    """Compiles one module; use once."""

    def __init__(self, python: bool) -> None:
        self.python = python
        self.code: list[tuple[Op, tuple[int, ...]]] = []
        self.lines: list[int] = []
        self.line = 0
        self.label_pos: list[int] = []
        self.fixups: list[int] = []
        self.assert_lines: list[int] = []
        self.trap_sites: list[tuple[int, str, int]] = []  # (pc, message, line)
        self.funcs: dict[str, _Func] = {}
        # current scope
        self.slots: dict[str, int] = {}
        self.slot_names: list[str] = []
        self.free_temps: list[int] = []
        self.globals: dict[str, int] = {}
        self.in_function = False
        self.loops: list[tuple[int, int]] = []  # (continue label, break label)
        # Python's NameError: reads to check, and the flag slot of each checked name
        self.checks: frozenset[int] = frozenset()
        self.flags: dict[str, int] = {}  # the current scope's
        self.global_flags: dict[str, int] = {}
        self.flagged: dict[str | None, frozenset[str]] = {}  # scope -> names that need a flag
        self.stmt_handlers = {
            Assign: self.assign,
            AugAssign: self.aug_assign,
            If: self.if_,
            While: self.while_,
            For: self.for_,
            Return: self.return_,
            Print: self.print_,
            Assert: self.assert_,
            ExprStmt: self.expr_stmt,
            Break: self.break_,
            Continue: self.continue_,
            Pass: self.pass_,
            FuncDef: self.nested_def,
        }
        self.expr_handlers = {
            Num: self.num,
            Name: self.name,
            Unary: self.unary,
            BinOp: self.binop,
            Compare: self.compare,
            BoolOp: self.boolop,
            Call: self.call,
            Index: self.index,
            ArrayLit: self.array_lit,
        }

    def release(self) -> None:
        """Drop the handler tables: their bound methods point back at the compiler, a cycle
        that only the garbage collector could free (dataset builds compile millions of programs)."""
        self.stmt_handlers = {}
        self.expr_handlers = {}

    # ---- emission -----------------------------------------------------------

    def emit(self, op: Op, args: tuple[int, ...] = ()) -> None:
        self.code.append((op, args))
        self.lines.append(self.line)

    def emit_jump(self, op: Op, label: int) -> None:
        self.fixups.append(len(self.code))
        self.code.append((op, (label,)))
        self.lines.append(self.line)

    def new_label(self) -> int:
        self.label_pos.append(-1)
        return len(self.label_pos) - 1

    def place(self, label: int) -> None:
        self.label_pos[label] = len(self.code)

    def push_const(self, value: int, node: Expr) -> None:
        if value < INT_MIN or value > INT_MAX:
            raise CompileError(f"integer constant {value} is outside the signed 64-bit range", **_pos(node))
        self.code.append((_PUSH, (value,)))
        self.lines.append(self.line)

    # ---- whole program ------------------------------------------------------

    def compile(self, module: Module) -> Compiled:
        body = module.body
        for stmt in body:
            if type(stmt) is FuncDef:
                if stmt.name in self.funcs:
                    raise SemanticError(f"function '{stmt.name}' is defined twice", **_pos(stmt))
                self.funcs[stmt.name] = _Func(stmt, self.new_label(), len(stmt.params))

        # main program: its frame is the global frame
        assigned: dict[str, Stmt] = {}
        _collect_assigned(body, assigned)
        for name, where in assigned.items():
            if name in self.funcs:
                raise SemanticError(f"cannot assign to function '{name}'", **_pos(where))
        self.slots = {name: i for i, name in enumerate(assigned)}
        self.slot_names = list(assigned)
        flagged: dict[str | None, frozenset[str]] = {}
        if self.python:
            name_checks = reads_to_check(module)
            self.checks = name_checks.reads
            flagged = name_checks.names
        self.flagged = flagged
        self.flags = self.new_flags(sorted(flagged.get(None, ())))
        self.global_flags = self.flags
        first = next((s for s in body if type(s) is not FuncDef), body[0] if body else None)
        self.line = first.line if first is not None else 1
        enter_pc = len(self.code)
        self.emit(_ENTER, (0,))
        for stmt in body:
            if type(stmt) is not FuncDef:
                self.line = stmt.line
                self.stmt_handlers[type(stmt)](stmt)
        if body:
            self.line = body[-1].line
        self.emit(_HALT)
        self.code[enter_pc] = (_ENTER, (len(self.slot_names),))
        self.globals = dict(self.slots)
        global_names = tuple(self.slot_names)

        functions: list[FunctionInfo] = []
        for func in self.funcs.values():
            functions.append(self.function(func))

        n_user = len(self.assert_lines)
        traps: list[str | None] = [None] * n_user
        for i, (pc, message, line) in enumerate(self.trap_sites):
            self.code[pc] = (_ASSERT, (n_user + i,))
            self.assert_lines.append(line)
            traps.append(message)

        label_pos = self.label_pos
        code = self.code
        for pc in self.fixups:
            op, args = code[pc]
            code[pc] = (op, (label_pos[args[0]], *args[1:]))

        return Compiled(
            program=Program(_instructions(code)),
            lines=tuple(self.lines),
            assert_lines=tuple(self.assert_lines),
            traps=tuple(traps),
            global_names=global_names,
            functions=tuple(functions),
            mode="python" if self.python else "dsl",
        )

    def function(self, func: _Func) -> FunctionInfo:
        node = func.node
        self.in_function = True
        self.loops = []
        self.free_temps = []
        slots: dict[str, int] = {}
        for param in node.params:
            if param in slots:
                raise SemanticError(f"duplicate parameter '{param}' in function '{node.name}'", **_pos(node))
            if param in self.funcs:
                raise SemanticError(f"parameter '{param}' has the name of a function", **_pos(node))
            slots[param] = len(slots)
        assigned: dict[str, Stmt] = {}
        _collect_assigned(node.body, assigned)
        for name, where in assigned.items():
            if name in self.funcs:
                raise SemanticError(f"cannot assign to function '{name}'", **_pos(where))
            if name not in slots:
                slots[name] = len(slots)
        self.slots = slots
        self.slot_names = list(slots)
        self.flags = self.new_flags(sorted(self.flagged.get(node.name, ())))

        self.line = node.line
        entry = len(self.code)
        self.place(func.label)
        self.emit(_ENTER, (0,))
        for stmt in node.body:
            self.line = stmt.line
            self.stmt_handlers[type(stmt)](stmt)
        if not node.body or type(node.body[-1]) is not Return:
            self.line = node.line
            self.emit(_PUSH, (0,))
            self.emit(_RET)
        self.code[entry] = (_ENTER, (len(self.slot_names),))
        return FunctionInfo(
            name=node.name,
            entry=entry,
            end=len(self.code),
            params=node.params,
            slots=tuple(self.slot_names),
            line=node.line,
        )

    def new_flags(self, names: list[str]) -> dict[str, int]:
        """A fresh hidden slot per name: 1 once the name is assigned (Python's NameError)."""
        flags = {}
        for name in names:
            flags[name] = len(self.slot_names)
            self.slot_names.append(f"$set:{name}")
        return flags

    def check_set(self, name: str) -> None:
        """Fail with Python's NameError unless `name` has been assigned (its read is in `checks`)."""
        local = name in self.slots  # else a function reads a global
        flag = (self.flags if local else self.global_flags).get(name)
        if flag is None:  # a node shared with a scope where it needs the check (trees built in code)
            return
        self.emit(_LOAD if local else _GLOAD, (flag,))
        if local and self.in_function:
            message = f"cannot access local variable '{name}' where it is not associated with a value"
            self.trap(f"UnboundLocalError: {message}")
        else:
            self.trap(f"NameError: name '{name}' is not defined")

    def alloc_temp(self) -> int:
        if self.free_temps:
            return self.free_temps.pop()
        slot = len(self.slot_names)
        self.slot_names.append(f"${slot}")
        return slot

    # ---- statements ---------------------------------------------------------

    def block(self, body: tuple[Stmt, ...]) -> None:
        handlers = self.stmt_handlers
        for stmt in body:
            self.line = stmt.line
            handlers[type(stmt)](stmt)

    def store_name(self, target: Name) -> None:
        # Every assigned name has a slot in its own scope (see _collect_assigned).
        self.store_var(target.id)

    def store_var(self, name: str) -> None:
        self.emit(_STORE, (self.slots[name],))
        flag = self.flags.get(name)
        if flag is not None:
            self.emit(_PUSH, (1,))
            self.emit(_STORE, (flag,))

    def assign(self, stmt: Assign) -> None:
        target = stmt.target
        self.expr(stmt.value)
        if type(target) is Name:
            self.store_name(target)
        else:
            self.expr(target.array)
            self.index_value(target.index)
            self.emit(_ROT)
            self.emit(_ASTORE)

    def aug_assign(self, stmt: AugAssign) -> None:
        target = stmt.target
        op = _BINOP_OF[id(stmt.op)]
        if type(target) is Name:
            slot = self.slots[target.id]
            if id(target) in self.checks:
                self.check_set(target.id)
            k = _const(stmt.value)
            if k is not None and stmt.op in (BinOpKind.ADD, BinOpKind.SUB):
                if stmt.op is BinOpKind.SUB:
                    k = -k
                if INT_MIN <= k <= INT_MAX:
                    self.emit(_INCL, (slot, k))
                    return
            self.emit(_LOAD, (slot,))
            self.expr(stmt.value)
            self.emit(op)
            self.emit(_STORE, (slot,))
        else:
            self.expr(target.array)
            self.index_value(target.index)
            self.emit(_DUP2)
            self.emit(_ALOAD)
            self.expr(stmt.value)
            self.emit(op)
            self.emit(_ASTORE)

    def if_(self, stmt: If) -> None:
        else_label = self.new_label()
        self.cond_false(stmt.cond, else_label)
        self.block(stmt.body)
        if stmt.orelse:
            body = stmt.body
            if body and type(body[-1]) in _TERMINAL:
                self.place(else_label)
                self.block(stmt.orelse)
            else:
                end = self.new_label()
                self.line = stmt.line
                self.emit_jump(_JMP, end)
                self.place(else_label)
                self.block(stmt.orelse)
                self.place(end)
        else:
            self.place(else_label)

    def while_(self, stmt: While) -> None:
        top = self.new_label()
        end = self.new_label()
        self.place(top)
        self.cond_false(stmt.cond, end)
        self.loops.append((top, end))
        self.block(stmt.body)
        self.loops.pop()
        self.line = stmt.line
        self.emit_jump(_JMP, top)
        self.place(end)

    def for_(self, stmt: For) -> None:
        counter = self.alloc_temp()
        temps = [counter]
        self.expr(stmt.start)
        self.emit(_STORE, (counter,))
        stop_k = _const(stmt.stop)
        if stop_k is None:
            stop = self.alloc_temp()
            temps.append(stop)
            self.expr(stmt.stop)
            self.emit(_STORE, (stop,))
        elif stop_k < INT_MIN or stop_k > INT_MAX:
            self.push_const(stop_k, stmt.stop)  # raises
        step_node = stmt.step
        step_k = 1 if step_node is None else _const(step_node)
        if step_k is None:
            step = self.alloc_temp()
            sign = self.alloc_temp()
            temps += (step, sign)
            self.expr(step_node)  # type: ignore[arg-type]
            self.emit(_DUP)
            self.emit(_STORE, (step,))
            self.emit(_SGN)
            self.emit(_DUP)
            self.trap(STEP_ZERO_MESSAGE)
            self.emit(_STORE, (sign,))
        elif step_k == 0:
            self.emit(_PUSH, (0,))
            self.trap(STEP_ZERO_MESSAGE)
        elif step_k < INT_MIN or step_k > INT_MAX:
            self.push_const(step_k, step_node)  # type: ignore[arg-type]

        top = self.new_label()
        cont = self.new_label()
        end = self.new_label()
        self.place(top)
        if step_k is None:
            # continue while cmp(stop, counter) == sgn(step)
            if stop_k is None:
                self.emit(_LOAD, (stop,))
            else:
                self.emit(_PUSH, (stop_k,))
            self.emit(_LOAD, (counter,))
            self.emit(_CMP)
            self.emit(_LOAD, (sign,))
            self.emit(_EQ)
        else:
            self.emit(_LOAD, (counter,))
            if stop_k is None:
                self.emit(_LOAD, (stop,))
            else:
                self.emit(_PUSH, (stop_k,))
            self.emit(_LT if step_k >= 0 else _GT)
        self.emit_jump(_JZ, end)
        self.emit(_LOAD, (counter,))
        self.store_var(stmt.var)
        self.loops.append((cont, end))
        self.block(stmt.body)
        self.loops.pop()
        self.line = stmt.line
        self.place(cont)
        if step_k is None:
            self.emit(_LOAD, (counter,))
            self.emit(_LOAD, (step,))
            self.emit(_ADD)
            self.emit(_STORE, (counter,))
        else:
            self.emit(_INCL, (counter, step_k))
        self.emit_jump(_JMP, top)
        self.place(end)
        self.free_temps.extend(reversed(temps))

    def trap(self, message: str) -> None:
        """Pop; fail with a run-time error `message` when it is 0."""
        self.trap_sites.append((len(self.code), message, self.line))
        self.emit(_ASSERT, (0,))

    def return_(self, stmt: Return) -> None:
        if not self.in_function:
            raise SemanticError("'return' outside a function", **_pos(stmt))
        if stmt.value is None:
            self.emit(_PUSH, (0,))
        else:
            self.expr(stmt.value)
        self.emit(_RET)

    def print_(self, stmt: Print) -> None:
        expr = self.expr
        for arg in stmt.args:
            expr(arg)
        self.emit(_PRINT, (len(stmt.args),))

    def assert_(self, stmt: Assert) -> None:
        test = stmt.test
        if stmt.error is not None:
            self.expr(test)
            self.trap(stmt.error)
            return
        if type(test) is Compare and test.op is CmpKind.EQ:
            self.expr(test.left)
            self.expr(test.right)
            op = _ASSERTEQ
        else:
            self.expr(test)
            op = _ASSERT
        self.emit(op, (len(self.assert_lines),))
        self.assert_lines.append(self.line)

    def expr_stmt(self, stmt: ExprStmt) -> None:
        value = stmt.value
        if type(value) is Call and value.func == "append" and value.func not in self.funcs:
            self.call(value, as_value=False)
        else:
            self.expr(value)
            self.emit(_POP)

    def break_(self, stmt: Break) -> None:
        if not self.loops:
            raise SemanticError("'break' outside a loop", **_pos(stmt))
        self.emit_jump(_JMP, self.loops[-1][1])

    def continue_(self, stmt: Continue) -> None:
        if not self.loops:
            raise SemanticError("'continue' outside a loop", **_pos(stmt))
        self.emit_jump(_JMP, self.loops[-1][0])

    def pass_(self, stmt: Pass) -> None:
        pass

    def nested_def(self, stmt: FuncDef) -> None:
        raise SemanticError(
            f"function '{stmt.name}' must be defined at the top level of the program", **_pos(stmt)
        )

    # ---- conditions ---------------------------------------------------------

    def cond_false(self, expr: Expr, label: int) -> None:
        """Jump to `label` when `expr` is 0; fall through otherwise."""
        kind = type(expr)
        if kind is BoolOp:
            if expr.op is BoolKind.AND:
                self.cond_false(expr.left, label)
                self.cond_false(expr.right, label)
            else:
                skip = self.new_label()
                self.cond_true(expr.left, skip)
                self.cond_false(expr.right, label)
                self.place(skip)
        elif kind is Unary and expr.op is UnaryKind.NOT:
            self.cond_true(expr.operand, label)
        elif kind is Num:
            if expr.value == 0:
                self.emit_jump(_JMP, label)
        else:
            self.expr(expr)
            self.emit_jump(_JZ, label)

    def cond_true(self, expr: Expr, label: int) -> None:
        """Jump to `label` when `expr` is not 0; fall through otherwise."""
        kind = type(expr)
        if kind is BoolOp:
            if expr.op is BoolKind.OR:
                self.cond_true(expr.left, label)
                self.cond_true(expr.right, label)
            else:
                skip = self.new_label()
                self.cond_false(expr.left, skip)
                self.cond_true(expr.right, label)
                self.place(skip)
        elif kind is Unary and expr.op is UnaryKind.NOT:
            self.cond_false(expr.operand, label)
        elif kind is Num:
            if expr.value != 0:
                self.emit_jump(_JMP, label)
        else:
            self.expr(expr)
            self.emit_jump(_JNZ, label)

    # ---- expressions --------------------------------------------------------

    def expr(self, expr: Expr) -> None:
        handler = self.expr_handlers.get(type(expr))
        if handler is None:
            raise CompileError(f"cannot compile {type(expr).__name__} as an expression", **_pos(expr))
        handler(expr)

    def num(self, expr: Num) -> None:
        self.push_const(expr.value, expr)

    def name(self, expr: Name) -> None:
        ident = expr.id
        slot = self.slots.get(ident)
        if slot is not None:
            if self.checks and id(expr) in self.checks:
                self.check_set(ident)
            self.emit(_LOAD, (slot,))
            return
        if self.in_function and ident in self.globals:
            if self.python:
                if self.checks and id(expr) in self.checks:
                    self.check_set(ident)
                self.emit(_GLOAD, (self.globals[ident],))
                return
            raise SemanticError(
                f"function cannot read the global variable '{ident}' (pass it as a parameter)",
                **_pos(expr),
            )
        if ident in self.funcs:
            raise SemanticError(f"'{ident}' is a function, not a variable", **_pos(expr))
        if not self.in_function and self.python:
            raise SemanticError(f"name '{ident}' is never assigned", **_pos(expr))
        raise SemanticError(f"undefined name '{ident}'", **_pos(expr))

    def unary(self, expr: Unary) -> None:
        op = expr.op
        operand = expr.operand
        if op is UnaryKind.NEG:
            if type(operand) is Num:
                self.push_const(-operand.value, expr)
                return
            self.expr(operand)
            self.emit(_NEG)
        elif op is UnaryKind.NOT:
            self.expr(operand)
            self.emit(_NOT)
        else:
            self.expr(operand)
            self.emit(_BNOT)

    def binop(self, expr: BinOp) -> None:
        self.expr(expr.left)
        self.expr(expr.right)
        self.emit(_BINOP_OF[id(expr.op)])

    def compare(self, expr: Compare) -> None:
        self.expr(expr.left)
        self.expr(expr.right)
        self.emit(_CMP_OF[id(expr.op)])

    def boolop(self, expr: BoolOp) -> None:
        end = self.new_label()
        if self.python:
            # the deciding operand's value
            self.expr(expr.left)
            self.emit(_DUP)
            self.emit_jump(_JZ if expr.op is BoolKind.AND else _JNZ, end)
            self.emit(_POP)
            self.expr(expr.right)
            self.place(end)
            return
        false = self.new_label()
        self.cond_false(expr, false)
        self.emit(_PUSH, (1,))
        self.emit_jump(_JMP, end)
        self.place(false)
        self.emit(_PUSH, (0,))
        self.place(end)

    def call(self, expr: Call, as_value: bool = True) -> None:
        name = expr.func
        args = expr.args
        func = self.funcs.get(name)
        if func is not None:
            if len(args) != func.arity:
                raise SemanticError(
                    f"function '{name}' takes {func.arity} argument{'s' * (func.arity != 1)}, "
                    f"got {len(args)}",
                    **_pos(expr),
                )
            for arg in args:
                self.expr(arg)
            self.fixups.append(len(self.code))
            self.emit(_CALL, (func.label, len(args)))
            return
        arity = BUILTINS.get(name)
        if arity is None:
            raise SemanticError(f"undefined function '{name}'", **_pos(expr))
        if len(args) != arity:
            raise SemanticError(
                f"'{name}' takes {arity} argument{'s' * (arity != 1)}, got {len(args)}", **_pos(expr)
            )
        for arg in args:
            self.expr(arg)
        if name == "append":
            self.emit(_APUSH)
            if as_value:
                self.emit(_PUSH, (0,))
        else:
            self.emit(_SIMPLE_BUILTINS[name])

    def index_value(self, index: Expr) -> None:
        """Push the index for the array on the top of the stack (normalized in mode python)."""
        k = _const(index)
        if not self.python:
            self.expr(index)
            return
        if k is not None:
            if k < 0:
                # h -> h (len(h) + k)
                self.emit(_DUP)
                self.emit(_ALEN)
                self.push_const(k, index)
                self.emit(_ADD)
            else:
                self.push_const(k, index)
            return
        self.expr(index)
        done = self.new_label()
        self.emit(_DUP)
        self.emit(_PUSH, (0,))
        self.emit(_LT)
        self.emit_jump(_JZ, done)
        self.emit(_OVER)
        self.emit(_ALEN)
        self.emit(_ADD)
        self.place(done)

    def index(self, expr: Index) -> None:
        self.expr(expr.array)
        self.index_value(expr.index)
        self.emit(_ALOAD)

    def array_lit(self, expr: ArrayLit) -> None:
        self.emit(_PUSH, (0,))
        self.emit(_NEWARR)
        for elt in expr.elts:
            self.emit(_DUP)
            self.expr(elt)
            self.emit(_APUSH)


def _const(expr: Expr) -> int | None:
    if type(expr) is Num:
        return expr.value
    if type(expr) is Unary and expr.op is UnaryKind.NEG and type(expr.operand) is Num:
        return -expr.operand.value
    return None
