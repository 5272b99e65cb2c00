"""Rendering a Cadmus AST as JavaScript (Node) that does what the VM does.

`to_javascript(module, mode="dsl")` writes a CommonJS script for `node`:
values are `BigInt`s, so every integer of the VM's signed 64-bit range is
exact. Where JavaScript's meaning differs from the VM's, small helpers
emitted at the top (only those the program uses) keep the VM's:

- `_i64(a + b)` (also `-`, `*`, negation): the exact result, or the VM's
  overflow error when it leaves the 64-bit range (nothing wraps);
- `_div`/`_mod` truncate (BigInt's own `/` and `%`, with the zero and
  overflow checks); `_fdiv`/`_fmod` floor (Python mode's `//` and `%`);
  `_pow`, `_shl`, `_shr` with the VM's rules for negative counts and
  overflow; `_abs`, `_min`, `_max`;
- arrays are JavaScript arrays, read and written through `_get`/`_set`,
  which check the index (mode python: a negative index counts from the end);
  `_array(n)`, `_pop(a)`, `a.push(v)`;
- comparisons, `not`, `and`, `or` used as numbers give `1n`/`0n`
  (`BigInt(a < b)`); in a condition they stay as they are; mode python's
  `and`/`or` give the deciding operand, as JavaScript's `&&`/`||` do;
- `read()` is `_read()`: the next whitespace-separated integer of standard
  input; `print(a, b)` is ``console.log(`${a} ${b}`)``;
- `assert e` is `assert(e)`, a helper: a failed check, like every run-time
  error, writes `error: <message>` to standard error and exits with status 1.

A `for` loop over a constant step whose variable no later read can see is
written as JavaScript's own loop; otherwise a hidden counter runs the loop
as the VM does (bounds evaluated once, the variable keeps its last value, a
counter stepping out of range is an overflow). Every variable of a scope is
declared at its top with the value 0, as the VM's frames start.

JavaScript evaluates operands left to right, as the VM does, except that
`a[i] = v` evaluates the target first: where that order could be seen, the
value goes into a temporary first (see `cadmus.lang.render_base`).
Execution limits (steps, call depth, memory) are the VM's own and are not
reproduced.
"""

from __future__ import annotations

import json
import re

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
    Pass,
    Print,
    Return,
    Stmt,
    Unary,
    UnaryKind,
    While,
    const_value,
)
from cadmus.lang.flow import always_returns
from cadmus.lang.render_base import (
    INT_MAX,
    INT_MIN,
    Analysis,
    Normalized,
    assigns,
    conflict,
    lower_aug,
    position_error,
    scope_names,
    words,
)

__all__ = ["to_javascript"]

INDENT = "    "

# name -> (code, helpers it uses); emitted in this order.
_HELPERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "_fail": (
        "function _fail(message) {\n"
        '    process.stderr.write("error: " + message + "\\n");\n'
        "    process.exit(1);\n"
        "}\n",
        (),
    ),
    "_i64": (
        "const _MIN = -(2n ** 63n);\n"
        "const _MAX = 2n ** 63n - 1n;\n"
        "function _i64(v) {\n"
        '    if (v < _MIN || v > _MAX) _fail("integer overflow: " + v + " is outside the signed 64-bit range");\n'
        "    return v;\n"
        "}\n",
        ("_fail",),
    ),
    "_div": (
        'function _div(a, b) {\n    if (b === 0n) _fail("division by zero");\n    return _i64(a / b);\n}\n',
        ("_fail", "_i64"),
    ),
    "_mod": (
        'function _mod(a, b) {\n    if (b === 0n) _fail("division by zero");\n    return a % b;\n}\n',
        ("_fail",),
    ),
    "_fdiv": (
        "function _fdiv(a, b) {\n"
        '    if (b === 0n) _fail("division by zero");\n'
        "    const q = a / b;\n"
        "    return _i64(a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q);\n"
        "}\n",
        ("_fail", "_i64"),
    ),
    "_fmod": (
        "function _fmod(a, b) {\n"
        '    if (b === 0n) _fail("division by zero");\n'
        "    const r = a % b;\n"
        "    return r !== 0n && r < 0n !== b < 0n ? r + b : r;\n"
        "}\n",
        ("_fail",),
    ),
    "_pow": (
        "function _pow(a, b) {\n"
        '    if (b < 0n) _fail("negative exponent " + b);\n'
        "    if (a === 0n || a === 1n) return b === 0n ? 1n : a;\n"
        "    if (a === -1n) return b % 2n === 0n ? 1n : -1n;\n"
        '    if (b > 63n) _fail("integer overflow: " + a + " ** " + b + " is outside the signed 64-bit range");\n'
        "    return _i64(a ** b);\n"
        "}\n",
        ("_fail", "_i64"),
    ),
    "_shl": (
        "function _shl(a, b) {\n"
        '    if (b < 0n) _fail("negative shift count " + b);\n'
        "    if (a === 0n) return 0n;\n"
        '    if (b > 63n) _fail("integer overflow: " + a + " << " + b + " is outside the signed 64-bit range");\n'
        "    return _i64(a << b);\n"
        "}\n",
        ("_fail", "_i64"),
    ),
    "_shr": (
        "function _shr(a, b) {\n"
        '    if (b < 0n) _fail("negative shift count " + b);\n'
        "    return a >> (b < 64n ? b : 64n);\n"
        "}\n",
        ("_fail",),
    ),
    "_abs": ("function _abs(a) {\n    return _i64(a < 0n ? -a : a);\n}\n", ("_i64",)),
    "_min": ("function _min(a, b) {\n    return b < a ? b : a;\n}\n", ()),
    "_max": ("function _max(a, b) {\n    return b > a ? b : a;\n}\n", ()),
    "_array": (
        "function _array(n) {\n"
        '    if (n < 0n) _fail("negative array size " + n);\n'
        "    return new Array(Number(n)).fill(0n);\n"
        "}\n",
        ("_fail",),
    ),
    "_norm": (
        "function _norm(a, i) {\n    return i < 0n ? i + BigInt(a.length) : i;\n}\n",
        (),
    ),
    "_get": (
        "function _get(a, i) {\n"
        "{norm}"
        '    if (i < 0n || i >= a.length) _fail("index " + i + " out of range for an array of length " + a.length);\n'
        "    return a[Number(i)];\n"
        "}\n",
        ("_fail",),
    ),
    "_set": (
        "function _set(a, i, v) {\n"
        "{norm}"
        '    if (i < 0n || i >= a.length) _fail("index " + i + " out of range for an array of length " + a.length);\n'
        "    a[Number(i)] = v;\n"
        "}\n",
        ("_fail",),
    ),
    "_pop": (
        "function _pop(a) {\n"
        '    if (a.length === 0) _fail("pop from an empty array");\n'
        "    return a.pop();\n"
        "}\n",
        ("_fail",),
    ),
    "_read": (
        "let _input = null;\n"
        "let _next = 0;\n"
        "function _read() {\n"
        '    if (_input === null) _input = require("fs").readFileSync(0, "utf8").split(/\\s+/).filter((s) => s);\n'
        '    if (_next >= _input.length) _fail("no input left (read " + _next + " values)");\n'
        "    const s = _input[_next++];\n"
        '    if (!/^-?[0-9]+$/.test(s)) _fail("input " + JSON.stringify(s) + " is not an integer");\n'
        "    return _i64(BigInt(s));\n"
        "}\n",
        ("_fail", "_i64"),
    ),
    "_step": (
        'function _step(s) {\n    if (s === 0n) _fail("range() step must not be zero");\n    return s;\n}\n',
        ("_fail",),
    ),
    "assert": (
        'function assert(ok, message = "assertion failed") {\n    if (!ok) _fail(message);\n}\n',
        ("_fail",),
    ),
    "_bound": (
        "function _bound(set, v, message) {\n    if (!set) _fail(message);\n    return v;\n}\n",
        ("_fail",),
    ),
}
_NORM_LINE = "    if (i < 0n) i += BigInt(a.length);\n"

KEYWORDS = words(
    "await break case catch class const continue debugger default delete do else enum export extends "
    "false finally for function if implements import in instanceof interface let new null package "
    "private protected public return static super switch this throw true try typeof var void while "
    "with yield arguments eval undefined NaN Infinity globalThis async of get set"
)
# Library names the rendering uses.
_LIBRARY = frozenset({"BigInt", "Number", "Array", "JSON", "console", "process", "require", "String"})
RESERVED = KEYWORDS | _LIBRARY | frozenset(_HELPERS) | {"_MIN", "_MAX", "_input", "_next"}
_TEMP = re.compile(r"_[tcnsd][0-9]+")

# Precedence (higher binds tighter).
_P_OR, _P_AND, _P_BOR, _P_BXOR, _P_BAND, _P_EQ, _P_REL = 1, 2, 3, 4, 5, 6, 7
_P_ADD, _P_MUL, _P_UNARY, _P_ATOM = 9, 10, 11, 13
_CMP = {
    CmpKind.EQ: ("===", _P_EQ),
    CmpKind.NE: ("!==", _P_EQ),
    CmpKind.LT: ("<", _P_REL),
    CmpKind.LE: ("<=", _P_REL),
    CmpKind.GT: (">", _P_REL),
    CmpKind.GE: (">=", _P_REL),
}
_NATIVE = {  # checked with _i64, or exact on BigInt
    BinOpKind.ADD: ("+", _P_ADD),
    BinOpKind.SUB: ("-", _P_ADD),
    BinOpKind.MUL: ("*", _P_MUL),
    BinOpKind.BAND: ("&", _P_BAND),
    BinOpKind.BOR: ("|", _P_BOR),
    BinOpKind.BXOR: ("^", _P_BXOR),
}
_CALLED = {
    BinOpKind.TDIV: "_div",
    BinOpKind.TMOD: "_mod",
    BinOpKind.FDIV: "_fdiv",
    BinOpKind.FMOD: "_fmod",
    BinOpKind.POW: "_pow",
    BinOpKind.SHL: "_shl",
    BinOpKind.SHR: "_shr",
}


def to_javascript(module: Module, *, mode: str = "dsl") -> str:
    """JavaScript (Node) source that does what `module` does on the VM in `mode`.

    Raises `PrintError` for a tree that has no rendering (`append` used as a
    value, an unknown node).
    """
    try:
        return _JS(module, mode).render()
    except RecursionError:
        raise position_error(module, "the tree is nested too deeply to render") from None


def literal(value: int) -> str:
    """A JavaScript integer constant (a BigInt literal)."""
    return f"{value}n"


class _JS:
    def __init__(self, module: Module, mode: str) -> None:
        self.a = Analysis(module, mode, RESERVED, _TEMP)
        self.python = self.a.python
        self.used: set[str] = set()
        self.ntemp = 0
        self.scope: tuple[Stmt, ...] = ()
        self.in_main = True
        self.func: str | None = None  # the function being rendered (None: the main program)

    # ---- helpers ------------------------------------------------------------

    def use(self, helper: str) -> str:
        if helper not in self.used:
            self.used.add(helper)
            for dep in _HELPERS[helper][1]:
                self.use(dep)
        return helper

    def fresh(self, kind: str = "t") -> str:
        self.ntemp += 1
        return f"_{kind}{self.ntemp}"

    def helper_text(self) -> str:
        parts = []
        for name, (code, _deps) in _HELPERS.items():
            if name in self.used:
                if name in ("_get", "_set"):
                    code = code.replace("{norm}", _NORM_LINE if self.python else "")
                parts.append(code)
        return "\n".join(parts)

    # ---- module -------------------------------------------------------------

    def render(self) -> str:
        a = self.a
        out: list[str] = []
        main = [f"{a.name(n)} = 0n" for n in a.main_names] + [f"{f} = false" for f in a.flags[None].values()]
        if main:
            out.append("let " + ", ".join(main) + ";")
        for f in a.funcs.values():
            if out:
                out.append("")
            self.function(f, out)
        self.scope, self.in_main, self.func = a.main_body, True, None
        if a.main_body:
            out.append("")
            self.block(a.main_body, 0, out)
        helpers = self.helper_text()
        text = '"use strict";\n'
        if helpers:
            text += "\n" + helpers
        if out:
            text += "\n" + "\n".join(out) + "\n"
        return text

    def function(self, f: FuncDef, out: list[str]) -> None:
        a = self.a
        params = ", ".join(a.name(p) for p in f.params)
        out.append(f"function {a.name(f.name)}({params}) {{")
        local = [f"{a.name(n)} = 0n" for n in scope_names(f.body, f.params) if n not in f.params]
        local += [f"{flag} = {'true' if n in f.params else 'false'}" for n, flag in a.flags[f.name].items()]
        if local:
            out.append(INDENT + "let " + ", ".join(local) + ";")
        self.scope, self.in_main, self.func = f.body, False, f.name
        self.block(f.body, 1, out)
        if not always_returns(f.body):
            out.append(INDENT + "return 0n;")
        out.append("}")

    # ---- statements ---------------------------------------------------------

    def block(self, body: tuple[Stmt, ...], depth: int, out: list[str]) -> None:
        for s in body:
            self.stmt(s, depth, out)

    def stmt(self, s: Stmt, depth: int, out: list[str]) -> None:
        pad = INDENT * depth
        if isinstance(s, Assign):
            self.assign(s, pad, out)
        elif isinstance(s, AugAssign):
            temps, assign = lower_aug(self.a, s, self.fresh)
            for name, e in temps:
                out.append(f"{pad}const {name} = {self.value(e)};")
            self.assign(assign, pad, out)
        elif isinstance(s, If):
            self.if_(s, depth, out)
        elif isinstance(s, While):
            out.append(f"{pad}while ({self.cond(s.cond)}) {{")
            self.block(s.body, depth + 1, out)
            out.append(pad + "}")
        elif isinstance(s, For):
            self.for_(s, depth, out)
        elif isinstance(s, Return):
            out.append(f"{pad}return {'0n' if s.value is None else self.value(s.value)};")
        elif isinstance(s, Print):
            text = " ".join("${" + self.value(x) + "}" for x in s.args)
            out.append(f"{pad}console.log({'`' + text + '`' if s.args else ''});")
        elif isinstance(s, Assert):
            self.use("assert")
            extra = "" if s.error is None else ", " + json.dumps(s.error)
            out.append(f"{pad}assert({self.cond(s.test)}{extra});")
        elif isinstance(s, ExprStmt):
            e = s.value
            if isinstance(e, Call) and e.func == "append" and e.func not in self.a.funcs:
                out.append(f"{pad}{self.value(e.args[0], _P_ATOM)}.push({self.value(e.args[1])});")
            else:
                out.append(f"{pad}{self.value(e)};")
        elif isinstance(s, Break):
            out.append(pad + "break;")
        elif isinstance(s, Continue):
            out.append(pad + "continue;")
        elif isinstance(s, Pass):
            pass
        elif isinstance(s, FuncDef):
            raise position_error(s, "function definitions must be at the top level")
        else:
            raise position_error(s, f"cannot render {type(s).__name__} as JavaScript")

    def assign(self, s: Assign, pad: str, out: list[str]) -> None:
        target = s.target
        if isinstance(target, Name):
            out.append(f"{pad}{self.a.name(target.id)} = {self.value(s.value)};")
            self.mark(target.id, pad, out)
            return
        if not isinstance(target, Index):
            raise position_error(s, "an assignment target must be a name or an element")
        value = self.value(s.value)
        cv = self.a.cost(s.value)
        if not cv.pure and (
            conflict(cv, self.a.cost(target.array)) or conflict(cv, self.a.cost(target.index))
        ):
            # the VM evaluates the value before the element's array and index
            temp = self.fresh()
            out.append(f"{pad}const {temp} = {value};")
            value = temp
        args = f"{self.value(target.array)}, {self.value(target.index)}, {value}"
        out.append(f"{pad}{self.use('_set')}({args});")

    def mark(self, name: str, pad: str, out: list[str]) -> None:
        """Mode python: a checked name is set from now on."""
        flag = self.a.flags.get(self.func, {}).get(name)
        if flag is not None:
            out.append(f"{pad}{flag} = true;")

    def if_(self, s: If, depth: int, out: list[str]) -> None:
        pad = INDENT * depth
        out.append(f"{pad}if ({self.cond(s.cond)}) {{")
        while True:
            self.block(s.body, depth + 1, out)
            if len(s.orelse) == 1 and isinstance(s.orelse[0], If):
                s = s.orelse[0]
                out.append(f"{pad}}} else if ({self.cond(s.cond)}) {{")
                continue
            if s.orelse:
                out.append(pad + "} else {")
                self.block(s.orelse, depth + 1, out)
            break
        out.append(pad + "}")

    def for_(self, s: For, depth: int, out: list[str]) -> None:
        a = self.a
        pad = INDENT * depth
        var = a.name(s.var)
        step = 1 if s.step is None else const_value(s.step)
        start = self.value(s.start)
        if (
            step is not None
            and step != 0
            and not assigns(s.body, s.var)
            and a.stable(s.stop, s.body)
            and a.loop_var_private(s, self.scope, self.in_main)
        ):
            # JavaScript's own loop: the variable is the counter.
            stop = self.value(s.stop, _P_REL + 1)
            test = f"{var} {'<' if step > 0 else '>'} {stop}"
            if _cannot_overflow(s.stop, step):
                incr = {1: f"{var}++", -1: f"{var}--"}.get(step)
                if incr is None:
                    incr = f"{var} {'+' if step > 0 else '-'}= {literal(abs(step))}"
            else:
                incr = f"{var} = {self.use('_i64')}({var} + {literal(step)})"
            out.append(f"{pad}for ({var} = {start}; {test}; {incr}) {{")
            self.block(s.body, depth + 1, out)
            out.append(pad + "}")
            return
        # A hidden counter, as the VM runs it.
        counter = self.fresh("c")
        init = [f"{counter} = {start}"]
        if a.stable(s.stop, s.body):
            stop = self.value(s.stop, _P_REL + 1)
        else:
            stop = self.fresh("n")
            init.append(f"{stop} = {self.value(s.stop)}")
        if step is None or step == 0:
            stride = self.fresh("s")
            init.append(f"{stride} = {self.use('_step')}({self.value(s.step) if s.step else literal(1)})")
            test = f"{stride} > 0n ? {counter} < {stop} : {counter} > {stop}"
        else:
            stride = literal(step)
            test = f"{counter} {'<' if step > 0 else '>'} {stop}"
        incr = f"{counter} = {self.use('_i64')}({counter} + {stride})"
        out.append(f"{pad}for (let {', '.join(init)}; {test}; {incr}) {{")
        out.append(f"{pad}{INDENT}{var} = {counter};")
        self.mark(s.var, pad + INDENT, out)
        self.block(s.body, depth + 1, out)
        out.append(pad + "}")

    # ---- expressions --------------------------------------------------------

    def value(self, e: Expr, need: int = 0) -> str:
        text, prec = self.value_prec(e)
        return f"({text})" if prec < need else text

    def cond(self, e: Expr, need: int = 0) -> str:
        text, prec = self.cond_prec(e)
        return f"({text})" if prec < need else text

    def cond_prec(self, e: Expr) -> tuple[str, int]:
        """`e` as a condition: any truthy value will do (0n is falsy)."""
        if isinstance(e, Compare):
            op, prec = _CMP[e.op]
            return f"{self.value(e.left, prec)} {op} {self.value(e.right, prec + 1)}", prec
        if isinstance(e, Unary) and e.op is UnaryKind.NOT:
            return "!" + self.cond(e.operand, _P_UNARY), _P_UNARY
        if isinstance(e, BoolOp):
            op, prec = ("&&", _P_AND) if e.op is BoolKind.AND else ("||", _P_OR)
            return f"{self.cond(e.left, prec)} {op} {self.cond(e.right, prec + 1)}", prec
        return self.value_prec(e)

    def value_prec(self, e: Expr) -> tuple[str, int]:
        k = const_value(e)
        if k is not None:
            return literal(k), _P_ATOM if k >= 0 else _P_UNARY
        if isinstance(e, Name):
            check = self.a.check_of(e, self.func)
            if check is not None:
                return (
                    f"{self.use('_bound')}({check[0]}, {self.a.name(e.id)}, {json.dumps(check[1])})",
                    _P_ATOM,
                )
            return self.a.name(e.id), _P_ATOM
        if isinstance(e, Unary):
            if e.op is UnaryKind.NOT:
                return f"BigInt(!{self.cond(e.operand, _P_UNARY)})", _P_ATOM
            if e.op is UnaryKind.NEG:
                return f"{self.use('_i64')}(-{self.value(e.operand, _P_UNARY + 1)})", _P_ATOM
            return "~" + self.value(e.operand, _P_UNARY + 1), _P_UNARY
        if isinstance(e, BinOp):
            helper = _CALLED.get(e.op)
            if helper is not None:
                return f"{self.use(helper)}({self.value(e.left)}, {self.value(e.right)})", _P_ATOM
            op, prec = _NATIVE[e.op]
            text = f"{self.value(e.left, prec)} {op} {self.value(e.right, prec + 1)}"
            if e.op in (BinOpKind.ADD, BinOpKind.SUB, BinOpKind.MUL):
                return f"{self.use('_i64')}({text})", _P_ATOM
            return text, prec
        if isinstance(e, Compare):
            return f"BigInt({self.cond(e)})", _P_ATOM
        if isinstance(e, BoolOp):
            if self.python:  # the deciding operand, as JavaScript gives it
                op, prec = ("&&", _P_AND) if e.op is BoolKind.AND else ("||", _P_OR)
                return f"{self.value(e.left, prec)} {op} {self.value(e.right, prec + 1)}", prec
            return f"BigInt(!!({self.cond(e)}))", _P_ATOM
        if isinstance(e, Call):
            return self.call(e), _P_ATOM
        if isinstance(e, Index):
            return f"{self.use('_get')}({self.value(e.array)}, {self.value(e.index)})", _P_ATOM
        if isinstance(e, Normalized):
            return f"{self.use('_norm')}({self.value(e.array)}, {self.value(e.index)})", _P_ATOM
        if isinstance(e, ArrayLit):
            return "[" + ", ".join(self.value(x) for x in e.elts) + "]", _P_ATOM
        raise position_error(e, f"cannot render {type(e).__name__} as JavaScript")

    def call(self, e: Call) -> str:
        name = e.func
        args = [self.value(x) for x in e.args]
        if name in self.a.funcs:
            return f"{self.a.name(name)}({', '.join(args)})"
        if name == "len":
            return f"BigInt({self.value(e.args[0], _P_ATOM)}.length)"
        if name == "append":
            raise position_error(e, "append() used as a value has no JavaScript rendering")
        helper = {
            "abs": "_abs",
            "min": "_min",
            "max": "_max",
            "array": "_array",
            "read": "_read",
            "pop": "_pop",
        }.get(name)
        if helper is None:
            raise position_error(e, f"unknown function '{name}'")
        return f"{self.use(helper)}({', '.join(args)})"


def _cannot_overflow(stop: Expr, step: int) -> bool:
    """Whether a counter below (above) `stop` plus `step` always stays in range."""
    if abs(step) == 1:
        return True  # the counter is below (above) an int64 `stop`
    k = const_value(stop)
    if k is not None:
        return k - 1 + step <= INT_MAX if step > 0 else k + 1 + step >= INT_MIN
    return isinstance(stop, Call) and stop.func == "len" and abs(step) < 2**62
