"""Rendering a Cadmus AST as Lua 5.4 that does what the VM does.

`to_lua(module, mode="dsl")` writes a script for `lua` (5.4). Lua's integers
are signed 64-bit like the VM's, but they wrap around on overflow, `//` and
`%` floor, `0` is true in a condition, comparisons give booleans and `>>`
shifts in zeros. Small helpers emitted at the top (only those the program
uses, as `local function`s) keep the VM's meaning:

- `_add`, `_sub`, `_mul`, `_neg`, `_abs` detect what would wrap around and
  fail with the VM's overflow error instead;
- `_div`/`_mod` truncate (the DSL's `/` and `%`), `_fdiv`/`_fmod` floor
  (mode python's `//` and `%`), with the zero and overflow checks; `_pow`,
  `_shl`, `_shr` (arithmetic, flooring) with the VM's rules for negative
  counts and overflow; `min`/`max` are `math.min`/`math.max`;
- arrays are tables holding element `i` at `i + 1`, read and written
  through `_get`/`_set`, which check the index (mode python: a negative
  index counts from the end); `#a` is the length; `_array(n)`,
  `_append(a, v)`, `_pop(a)`;
- a condition on a number is written `x ~= 0`; comparisons, `not`, `and`
  and `or` used as numbers give 1/0 (`(a < b and 1 or 0)`); mode python's
  `and`/`or` give the deciding operand;
- `read()` is `_read()`: the next integer of standard input
  (`io.read("n")`); `print(a, b)` is `print(a .. " " .. b)`;
- `assert e` is `assert(e)`, a local helper: a failed check, like every
  run-time error, writes `error: <message>` to standard error and exits
  with status 1 (`os.exit(1)`).

`continue` is `goto` a label at the end of the loop body. A `for` loop is
Lua's numeric `for` when its step is a constant and its bound is a constant
or a length, so that the VM's counter can never step out of range; otherwise
a `while` loop on a hidden counter runs it as the VM does. Every variable of
a scope is declared at its top with the value 0, as the VM's frames start;
functions are declared before any of them is defined, so they may call each
other in any order.

The Lua manual leaves the order of evaluation of operands and arguments
unspecified; the reference implementation (Lua 5.4, which the tests run)
evaluates them left to right, as the VM does, and the rendering relies on
it. An assignment `a[i] = v` is a call `_set(a, i, v)`; where evaluating the
value last could be seen, it goes into a temporary first. Execution limits
(steps, call depth, memory) are the VM's own and are not reproduced.
"""

from __future__ import annotations

import re

from cadmus.lang.ast import (
    ArrayLit,
    AugAssign,
    BinOp,
    BinOpKind,
    BoolKind,
    BoolOp,
    Call,
    CmpKind,
    Compare,
    Continue,
    Expr,
    For,
    FuncDef,
    Index,
    Module,
    Print,
    Return,
    Stmt,
    Unary,
    UnaryKind,
    const_value,
)
from cadmus.lang.render_base import (
    CHECKED_OPS,
    INDENT,
    INT_MAX,
    INT_MIN,
    Parts,
    TargetRenderer,
    assigns,
    lower_aug,
    position_error,
    string_literal,
    words,
)

__all__ = ["to_lua"]


_OVERFLOW = '_fail("integer overflow: the result is outside the signed 64-bit range")'
# name -> (code, helpers it uses); emitted in this order.
_HELPERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "_fail": (
        "local function _fail(message)\n"
        '    io.stderr:write("error: ", message, "\\n")\n'
        "    os.exit(1)\n"
        "end\n",
        (),
    ),
    "_add": (
        "local function _add(a, b)\n"
        "    local r = a + b\n"
        f"    if (a >= 0) == (b >= 0) and (r >= 0) ~= (a >= 0) then {_OVERFLOW} end\n"
        "    return r\n"
        "end\n",
        ("_fail",),
    ),
    "_sub": (
        "local function _sub(a, b)\n"
        "    local r = a - b\n"
        f"    if (a >= 0) ~= (b >= 0) and (r >= 0) ~= (a >= 0) then {_OVERFLOW} end\n"
        "    return r\n"
        "end\n",
        ("_fail",),
    ),
    "_mul": (
        "local function _mul(a, b)\n"
        "    if a == 0 or b == 0 then return 0 end\n"
        "    local r = a * b\n"
        "    if (a == -1 and b == math.mininteger) or (b == -1 and a == math.mininteger) or r // b ~= a then\n"
        f"        {_OVERFLOW}\n"
        "    end\n"
        "    return r\n"
        "end\n",
        ("_fail",),
    ),
    "_neg": (
        f"local function _neg(a)\n    if a == math.mininteger then {_OVERFLOW} end\n    return -a\nend\n",
        ("_fail",),
    ),
    "_abs": (
        "local function _abs(a)\n"
        f"    if a == math.mininteger then {_OVERFLOW} end\n"
        "    return a < 0 and -a or a\n"
        "end\n",
        ("_fail",),
    ),
    "_div": (
        "local function _div(a, b)\n"
        '    if b == 0 then _fail("division by zero") end\n'
        f"    if a == math.mininteger and b == -1 then {_OVERFLOW} end\n"
        "    local q = a // b\n"
        "    if q < 0 and q * b ~= a then q = q + 1 end\n"
        "    return q\n"
        "end\n",
        ("_fail",),
    ),
    "_mod": (
        "local function _mod(a, b)\n"
        '    if b == 0 then _fail("division by zero") end\n'
        "    local r = a % b\n"
        "    if r ~= 0 and (r < 0) ~= (a < 0) then r = r - b end\n"
        "    return r\n"
        "end\n",
        ("_fail",),
    ),
    "_fdiv": (
        "local function _fdiv(a, b)\n"
        '    if b == 0 then _fail("division by zero") end\n'
        f"    if a == math.mininteger and b == -1 then {_OVERFLOW} end\n"
        "    return a // b\n"
        "end\n",
        ("_fail",),
    ),
    "_fmod": (
        "local function _fmod(a, b)\n"
        '    if b == 0 then _fail("division by zero") end\n'
        "    return a % b\n"
        "end\n",
        ("_fail",),
    ),
    "_pow": (
        "local function _pow(a, b)\n"
        '    if b < 0 then _fail("negative exponent " .. b) end\n'
        "    if a == 0 or a == 1 then return b == 0 and 1 or a end\n"
        "    if a == -1 then return b % 2 == 0 and 1 or -1 end\n"
        f"    if b > 63 then {_OVERFLOW} end\n"
        "    local r = 1\n"
        "    for _ = 1, b do r = _mul(r, a) end\n"
        "    return r\n"
        "end\n",
        ("_fail", "_mul"),
    ),
    "_shl": (
        "local function _shl(a, b)\n"
        '    if b < 0 then _fail("negative shift count " .. b) end\n'
        "    if a == 0 then return 0 end\n"
        "    if b == 63 and a == -1 then return math.mininteger end\n"
        f"    if b > 62 then {_OVERFLOW} end\n"
        "    return _mul(a, 1 << b)\n"
        "end\n",
        ("_fail", "_mul"),
    ),
    "_shr": (
        "local function _shr(a, b)\n"
        '    if b < 0 then _fail("negative shift count " .. b) end\n'
        "    if b > 62 then return a < 0 and -1 or 0 end\n"
        "    return a // (1 << b)\n"
        "end\n",
        ("_fail",),
    ),
    "_array": (
        "local function _array(n)\n"
        '    if n < 0 then _fail("negative array size " .. n) end\n'
        "    local a = {}\n"
        "    for i = 1, n do a[i] = 0 end\n"
        "    return a\n"
        "end\n",
        ("_fail",),
    ),
    "_norm": (
        "local function _norm(a, i)\n    if i < 0 then return i + #a end\n    return i\nend\n",
        (),
    ),
    "_get": (
        "local function _get(a, i)\n"
        "{norm}"
        '    if i < 0 or i >= #a then _fail("index " .. i .. " out of range for an array of length " .. #a) end\n'
        "    return a[i + 1]\n"
        "end\n",
        ("_fail",),
    ),
    "_set": (
        "local function _set(a, i, v)\n"
        "{norm}"
        '    if i < 0 or i >= #a then _fail("index " .. i .. " out of range for an array of length " .. #a) end\n'
        "    a[i + 1] = v\n"
        "end\n",
        ("_fail",),
    ),
    "_append": ("local function _append(a, v)\n    a[#a + 1] = v\nend\n", ()),
    "_pop": (
        "local function _pop(a)\n"
        "    local n = #a\n"
        '    if n == 0 then _fail("pop from an empty array") end\n'
        "    local v = a[n]\n"
        "    a[n] = nil\n"
        "    return v\n"
        "end\n",
        ("_fail",),
    ),
    "_read": (
        "local _count = 0\n"
        "local function _read()\n"
        '    local v = io.read("n")\n'
        '    if v == nil then _fail("no input left (read " .. _count .. " values)") end\n'
        '    if math.type(v) ~= "integer" then _fail("input " .. v .. " is not an integer") end\n'
        "    _count = _count + 1\n"
        "    return v\n"
        "end\n",
        ("_fail",),
    ),
    "_step": (
        "local function _step(s)\n"
        '    if s == 0 then _fail("range() step must not be zero") end\n'
        "    return s\n"
        "end\n",
        ("_fail",),
    ),
    "_nz": ("local function _nz(v)\n    if v ~= 0 then return v end\nend\n", ()),
    "assert": (
        'local function assert(ok, message)\n    if not ok then _fail(message or "assertion failed") end\nend\n',
        ("_fail",),
    ),
    "_bound": (
        "local function _bound(set, v, message)\n    if not set then _fail(message) end\n    return v\nend\n",
        ("_fail",),
    ),
}
_NORM_LINE = "    if i < 0 then i = i + #a end\n"

KEYWORDS = words(
    "and break do else elseif end false for function goto if in local nil not or repeat return then "
    "true until while"
)
_LIBRARY = frozenset({"io", "os", "math", "print", "tostring", "string", "table", "_ENV", "_G", "_"})
RESERVED = KEYWORDS | _LIBRARY | frozenset(_HELPERS) | {"_count"}
_TEMP = re.compile(r"_[tcnsd][0-9]+|cont_[0-9]+")

# Precedence (higher binds tighter).
_P_OR, _P_AND, _P_CMP, _P_BOR, _P_BXOR, _P_BAND = 1, 2, 3, 4, 5, 6
_P_CONCAT, _P_UNARY, _P_ATOM = 8, 11, 13
_CMP = {
    CmpKind.EQ: "==",
    CmpKind.NE: "~=",
    CmpKind.LT: "<",
    CmpKind.LE: "<=",
    CmpKind.GT: ">",
    CmpKind.GE: ">=",
}
_SPACE = ' .. " " .. '
_BITS = {BinOpKind.BAND: ("&", _P_BAND), BinOpKind.BOR: ("|", _P_BOR), BinOpKind.BXOR: ("~", _P_BXOR)}
_CALLED = {k: "_" + name for k, name in CHECKED_OPS.items()}


def to_lua(module: Module, *, mode: str = "dsl") -> str:
    """Lua 5.4 source that does what `module` does on the VM in `mode`; `PrintError` if it has none."""
    return _Lua.run(module, mode)


def literal(value: int) -> str:
    """A Lua integer constant."""
    return "math.mininteger" if value == INT_MIN else str(value)


def quote(text: str) -> str:
    """A Lua string literal (ASCII, other bytes as decimal escapes)."""
    return string_literal(text, "03d")


def _boolish(e: Expr) -> bool:
    """Nodes whose condition is a Lua boolean (comparisons and logic)."""
    return isinstance(e, Compare | BoolOp) or (isinstance(e, Unary) and e.op is UnaryKind.NOT)


class _Lua(TargetRenderer):
    LANGUAGE = "Lua"
    HELPERS = _HELPERS
    NORM_LINE = _NORM_LINE
    RESERVED = RESERVED
    TEMP = _TEMP
    CALLED = _CALLED
    P_ATOM, P_UNARY, P_REL = _P_ATOM, _P_UNARY, _P_CMP
    END = ""
    LET = "local "
    IF, ELIF, ELSE, WHILE, CLOSE = "if {} then", "elseif {} then", "else", "while {} do", "end"

    def __init__(self, module: Module, mode: str) -> None:
        super().__init__(module, mode)
        self.labels: list[list[str | bool]] = []  # per enclosing loop: [label, used]

    def int_text(self, value: int) -> str:
        return literal(value)

    def string_text(self, text: str) -> str:
        return quote(text)

    # ---- module -------------------------------------------------------------

    def render(self) -> str:
        a = self.a
        out: list[str] = []
        main = self.variables(a.main_names, None)
        if main:
            out.append(self.declare(main))
        if a.funcs:
            out.append("local " + ", ".join(a.name(f) for f in a.funcs))
        for f in a.funcs.values():
            out.append("")
            self.function(f, out)
        self.scope, self.in_main, self.func = a.main_body, True, None
        if a.main_body:
            out.append("")
            self.block(a.main_body, 0, out)
        text = "\n".join(self.helper_code())
        if out:
            text += ("\n" if text else "") + "\n".join(out) + "\n"
        return text

    def declare(self, pairs: list[tuple[str, str]]) -> str:
        return f"local {', '.join(n for n, _ in pairs)} = {', '.join(v for _, v in pairs)}"

    def function_head(self, f: FuncDef) -> str:
        return f"function {self.a.name(f.name)}({', '.join(self.a.name(p) for p in f.params)})"

    # ---- statements ---------------------------------------------------------

    def aug_assign(self, s: AugAssign, depth: int, out: list[str]) -> None:
        """As the base does, with the temporaries in a `do ... end` block of their own."""
        temps, assign = lower_aug(self.a, s, self.fresh)
        if not temps:
            self.assign(assign, depth, out)
            return
        pad = INDENT * depth
        out.append(pad + "do")
        for name, e in temps:
            out.append(f"{pad}{INDENT}local {name} = {self.value(e)}")
        self.assign(assign, depth + 1, out)
        out.append(pad + "end")

    def return_(self, s: Return, pad: str, out: list[str], last: bool) -> None:
        text = "return " + ("0" if s.value is None else self.value(s.value))
        out.append(pad + (text if last else f"do {text} end"))  # Lua's `return` must end a block

    def print_(self, s: Print, pad: str, out: list[str]) -> None:
        line = _SPACE.join(self.value(x, _P_CONCAT + 1) for x in s.args)
        out.append(f"{pad}print({line})")

    def append_text(self, e: Call, pad: str, out: list[str]) -> str:
        return f"{self.use('_append')}({self.value(e.args[0])}, {self.value(e.args[1])})"

    def discarded(self, e: Expr, pad: str, out: list[str]) -> str:
        text = self.value(e)
        if isinstance(e, Call) and text.endswith(")") and not text.startswith("("):
            return text
        return f"do local _ = {text} end"  # Lua's only expression statements are calls

    def continue_(self, s: Continue, pad: str, out: list[str]) -> None:
        if not self.labels:
            raise position_error(s, "'continue' outside a loop")
        self.labels[-1][1] = True
        out.append(f"{pad}goto {self.labels[-1][0]}")

    def loop_body(self, body: tuple[Stmt, ...], depth: int, out: list[str], tail: str | None = None) -> None:
        """A loop's body; `continue` jumps to a label at its end, before `tail` (a for loop's step)."""
        self.ntemp += 1
        label: list[str | bool] = [f"cont_{self.ntemp}", False]
        self.labels.append(label)
        self.block(body, depth, out)
        self.labels.pop()
        if label[1]:
            out.append(f"{INDENT * depth}::{label[0]}::")
        if tail is not None:
            out.append(INDENT * depth + tail)

    def set_element(self, value: Expr, target: Index, depth: int, out: list[str]) -> None:
        pad = INDENT * depth
        text = self.value(value)
        setter = self.use("_set")
        array, index = self.value(target.array), self.value(target.index)
        if self.value_first(value, target):
            temp = self.fresh()
            out.append(f"{pad}do")
            out.append(f"{pad}{INDENT}local {temp} = {text}")
            out.append(f"{pad}{INDENT}{setter}({array}, {index}, {temp})")
            out.append(f"{pad}end")
            return
        out.append(f"{pad}{setter}({array}, {index}, {text})")

    def for_(self, s: For, depth: int, out: list[str]) -> None:
        a = self.a
        pad = INDENT * depth
        var, step, start = self.for_head(s)
        bound = None if step is None or step == 0 else self._bound(s.stop, step)
        if bound is not None:
            # Lua's numeric for: the bounds are evaluated once and the counter never leaves the range.
            head = f"{start}, {bound}" + ("" if step == 1 else f", {literal(step)}")
            if not assigns(s.body, s.var) and a.loop_var_private(s, self.scope, self.in_main):
                out.append(f"{pad}for {var} = {head} do")
                self.loop_body(s.body, depth + 1, out)
            else:
                counter = self.fresh("c")
                out.append(f"{pad}for {counter} = {head} do")
                out.append(f"{pad}{INDENT}{var} = {counter}")
                self.mark(s.var, pad + INDENT, out)
                self.loop_body(s.body, depth + 1, out)
            out.append(pad + "end")
            return
        # A hidden counter, as the VM runs it.
        inner = pad + INDENT
        counter, init, test, stride = self.counter_loop(s, start, step)
        out.append(pad + "do")
        out.extend(f"{inner}local {name} = {value}" for name, value in init)
        out.append(f"{inner}while {test} do")
        out.append(f"{inner}{INDENT}{var} = {counter}")
        self.mark(s.var, inner + INDENT, out)
        self.loop_body(s.body, depth + 2, out, f"{counter} = {self.checked_add(counter, stride)}")
        out.append(inner + "end")
        out.append(pad + "end")

    def checked_add(self, a: str, b: str) -> str:
        return f"{self.use('_add')}({a}, {b})"

    def either_way(self, stride: str, counter: str, stop: str) -> str:
        return f"{stride} > 0 and {counter} < {stop} or {stride} < 0 and {counter} > {stop}"

    def _bound(self, stop: Expr, step: int) -> str | None:
        """The inclusive bound of Lua's `for` for a constant or a length `stop`, when no counter can overflow."""
        k = const_value(stop)
        if k is not None:
            if (step > 0 and k - 1 + step <= INT_MAX) or (step < 0 and k + 1 + step >= INT_MIN):
                return literal(k - 1 if step > 0 else k + 1)
            return None
        if (
            isinstance(stop, Call)
            and stop.func == "len"
            and stop.func not in self.a.funcs
            and abs(step) < 2**62
        ):
            length = self.value(stop, _P_UNARY)
            return f"{length} - 1" if step > 0 else f"{length} + 1"
        return None

    # ---- expressions --------------------------------------------------------

    def cond_parts(self, e: Expr) -> Parts:
        """`e` as a Lua condition (a boolean: 0 is true in Lua)."""
        if isinstance(e, Compare):
            left, right = self.value(e.left, _P_CMP + 1), self.value(e.right, _P_CMP + 1)
            return [], f"{left} {_CMP[e.op]} {right}", _P_CMP
        if isinstance(e, Unary) and e.op is UnaryKind.NOT:
            if _boolish(e.operand):
                return [], "not " + self.cond(e.operand, _P_UNARY), _P_UNARY
            return [], f"{self.value(e.operand, _P_CMP + 1)} == 0", _P_CMP
        if isinstance(e, BoolOp):
            op, prec = ("and", _P_AND) if e.op is BoolKind.AND else ("or", _P_OR)
            return [], f"{self.cond(e.left, prec)} {op} {self.cond(e.right, prec + 1)}", prec
        return [], f"{self.value(e, _P_CMP + 1)} ~= 0", _P_CMP

    def number(self, e: Expr) -> Parts:
        """A condition as the number 1 or 0."""
        return [], f"({self.cond(e, _P_AND)} and 1 or 0)", _P_ATOM

    def other_parts(self, e: Expr) -> Parts:
        if isinstance(e, Unary):
            if e.op is UnaryKind.NOT:
                return self.number(e)
            return [], f"{self.use('_neg')}({self.value(e.operand)})", _P_ATOM
        if isinstance(e, BinOp):
            op, prec = _BITS[e.op]
            return [], f"{self.value(e.left, prec)} {op} {self.value(e.right, prec + 1)}", prec
        if isinstance(e, Compare):
            return self.number(e)
        if isinstance(e, BoolOp):
            if not self.python:
                return self.number(e)
            nz = self.use("_nz")
            if e.op is BoolKind.AND:  # the left operand when it is 0, else the right one
                return [], f"({nz}({self.value(e.left)}) and {self.value(e.right, _P_AND + 1)} or 0)", _P_ATOM
            return [], f"({nz}({self.value(e.left)}) or {self.value(e.right, _P_OR + 1)})", _P_ATOM
        if isinstance(e, Call):
            return self.builtin(e)
        if isinstance(e, ArrayLit):
            return [], "{" + ", ".join(self.value(x) for x in e.elts) + "}", _P_ATOM
        raise position_error(e, f"cannot render {type(e).__name__} as Lua")

    def builtin(self, e: Call) -> Parts:
        name = e.func
        args = ", ".join(self.value(x) for x in e.args)
        if name == "len":
            return [], "#" + self.value(e.args[0], _P_ATOM), _P_UNARY
        if name in ("min", "max"):
            return [], f"math.{name}({args})", _P_ATOM
        helper = {"abs": "_abs", "array": "_array", "read": "_read", "pop": "_pop"}.get(name)
        if helper is None:
            raise position_error(e, f"unknown function '{name}'")
        return [], f"{self.use(helper)}({args})", _P_ATOM
