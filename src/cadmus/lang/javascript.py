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
    BinOp,
    BinOpKind,
    BoolKind,
    BoolOp,
    Call,
    CmpKind,
    Compare,
    Expr,
    FuncDef,
    Index,
    Module,
    Print,
    Unary,
    UnaryKind,
)
from cadmus.lang.render_base import CHECKED_OPS, INDENT, Parts, TargetRenderer, position_error, words

__all__ = ["to_javascript"]


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
_CALLED = {k: "_" + name for k, name in CHECKED_OPS.items() if k not in _NATIVE}


def to_javascript(module: Module, *, mode: str = "dsl") -> str:
    """JavaScript (Node) source that does what `module` does on the VM in `mode`; `PrintError` if it has none."""
    return _JS.run(module, mode)


def literal(value: int) -> str:
    """A JavaScript integer constant (a BigInt literal)."""
    return f"{value}n"


class _JS(TargetRenderer):
    LANGUAGE = "JavaScript"
    HELPERS = _HELPERS
    NORM_LINE = _NORM_LINE
    RESERVED = RESERVED
    TEMP = _TEMP
    CALLED = _CALLED
    P_ATOM, P_UNARY, P_REL = _P_ATOM, _P_UNARY, _P_REL
    LET = "const "
    DECLARE = "let "
    FOR_LET = "let "

    def int_text(self, value: int) -> str:
        return literal(value)

    def string_text(self, text: str) -> str:
        return json.dumps(text)

    # ---- module -------------------------------------------------------------

    def render(self) -> str:
        a = self.a
        out: list[str] = []
        main = self.variables(a.main_names, None)
        if main:
            out.append(self.declare(main))
        for f in a.funcs.values():
            if out:
                out.append("")
            self.function(f, out)
        self.scope, self.in_main, self.func = a.main_body, True, None
        if a.main_body:
            out.append("")
            self.block(a.main_body, 0, out)
        helpers = "\n".join(self.helper_code())
        text = '"use strict";\n'
        if helpers:
            text += "\n" + helpers
        if out:
            text += "\n" + "\n".join(out) + "\n"
        return text

    def function_head(self, f: FuncDef) -> str:
        return f"function {self.a.name(f.name)}({', '.join(self.a.name(p) for p in f.params)}) {{"

    # ---- statements ---------------------------------------------------------

    def set_element(self, value: Expr, target: Index, depth: int, out: list[str]) -> None:
        pad = INDENT * depth
        text = self.value(value)
        if self.value_first(value, target):
            temp = self.fresh()
            out.append(f"{pad}const {temp} = {text};")
            text = temp
        out.append(
            f"{pad}{self.use('_set')}({self.value(target.array)}, {self.value(target.index)}, {text});"
        )

    def print_(self, s: Print, pad: str, out: list[str]) -> None:
        text = " ".join("${" + self.value(x) + "}" for x in s.args)
        out.append(f"{pad}console.log({'`' + text + '`' if s.args else ''});")

    def append_text(self, e: Call, pad: str, out: list[str]) -> str:
        return f"{self.value(e.args[0], _P_ATOM)}.push({self.value(e.args[1])})"

    def checked_add(self, a: str, b: str) -> str:
        return f"{self.use('_i64')}({a} + {b})"

    def either_way(self, stride: str, counter: str, stop: str) -> str:
        return f"{stride} > 0n ? {counter} < {stop} : {counter} > {stop}"

    # ---- expressions --------------------------------------------------------

    def cond_parts(self, e: Expr) -> Parts:
        """`e` as a condition: any truthy value will do (0n is falsy)."""
        if isinstance(e, Compare):
            op, prec = _CMP[e.op]
            return [], f"{self.value(e.left, prec)} {op} {self.value(e.right, prec + 1)}", prec
        if isinstance(e, Unary) and e.op is UnaryKind.NOT:
            return [], "!" + self.cond(e.operand, _P_UNARY), _P_UNARY
        if isinstance(e, BoolOp):
            op, prec = ("&&", _P_AND) if e.op is BoolKind.AND else ("||", _P_OR)
            return [], f"{self.cond(e.left, prec)} {op} {self.cond(e.right, prec + 1)}", prec
        return self.parts(e)

    def other_parts(self, e: Expr) -> Parts:
        if isinstance(e, Unary):
            if e.op is UnaryKind.NOT:
                return [], f"BigInt(!{self.cond(e.operand, _P_UNARY)})", _P_ATOM
            return [], f"{self.use('_i64')}(-{self.value(e.operand, _P_UNARY + 1)})", _P_ATOM
        if isinstance(e, BinOp):
            op, prec = _NATIVE[e.op]
            text = f"{self.value(e.left, prec)} {op} {self.value(e.right, prec + 1)}"
            if e.op in (BinOpKind.ADD, BinOpKind.SUB, BinOpKind.MUL):
                return [], f"{self.use('_i64')}({text})", _P_ATOM
            return [], text, prec
        if isinstance(e, Compare):
            return [], f"BigInt({self.cond(e)})", _P_ATOM
        if isinstance(e, BoolOp):
            if self.python:  # the deciding operand, as JavaScript gives it
                op, prec = ("&&", _P_AND) if e.op is BoolKind.AND else ("||", _P_OR)
                return [], f"{self.value(e.left, prec)} {op} {self.value(e.right, prec + 1)}", prec
            return [], f"BigInt(!!({self.cond(e)}))", _P_ATOM
        if isinstance(e, Call):
            return [], self.builtin(e), _P_ATOM
        if isinstance(e, ArrayLit):
            return [], "[" + ", ".join(self.value(x) for x in e.elts) + "]", _P_ATOM
        raise position_error(e, f"cannot render {type(e).__name__} as JavaScript")

    def builtin(self, e: Call) -> str:
        args = [self.value(x) for x in e.args]
        if e.func == "len":
            return f"BigInt({self.value(e.args[0], _P_ATOM)}.length)"
        helper = {
            "abs": "_abs",
            "min": "_min",
            "max": "_max",
            "array": "_array",
            "read": "_read",
            "pop": "_pop",
        }.get(e.func)
        if helper is None:
            raise position_error(e, f"unknown function '{e.func}'")
        return f"{self.use(helper)}({', '.join(args)})"
