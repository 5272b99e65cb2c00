"""Random Python programs as people write them, for differential tests of the Python front end.

Both generators return Python *text* (not trees): it is what a user would
type, and what CPython runs on the other side of a differential test.

- `tinypy_program(rng)`: short programs in the shape of the TinyPy
  generator's (5 to 10 lines; `if`/`elif`/`else`, `while` and `for` loops
  nested up to three deep; signed constants of up to three digits; `+`, `-`
  and comparisons; random one- or two-letter names; variables assigned
  under conditions and read later, so some runs end in `NameError`).
- `construct_program(rng)`: longer programs that use every construct the
  front end lowers (tuple assignment and swaps, chained comparisons,
  iteration over lists with `enumerate`/`zip`/`reversed`/`sorted`/slices,
  `in`, conditional expressions, `for`/`while ... else`, `sum`/`min`/`max`/
  `any`/`all`/`len`/`abs`, comprehensions and generator expressions,
  slicing with steps, list methods, `divmod`, `pow(a, b, m)`, chained
  assignment, functions that read globals), together with the failures
  Python reports for them: a name not set on the path taken, an empty
  `min`, a missing `index`, an index out of range, a division by zero.

Every program terminates (loops run on counters or over lists the loop does
not grow) and stays far from 64-bit overflow. Same `rng` state, same text.
"""

from __future__ import annotations

import keyword
import random
import string

__all__ = ["construct_program", "tinypy_program"]

_AVOID = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | frozenset(dir(__builtins__))


def _short_names(rng: random.Random, count: int) -> list[str]:
    """`count` distinct random names of one or two lowercase letters (no keywords or builtins)."""
    names: list[str] = []
    while len(names) < count:
        size = 1 if rng.random() < 0.6 else 2
        name = "".join(rng.choice(string.ascii_lowercase) for _ in range(size))
        if name not in _AVOID and name not in names:
            names.append(name)
    return names


# ---- TinyPy-shaped programs ----------------------------------------------------------


class _TinyPy:
    """One TinyPy-shaped program (see the module doc)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.names = _short_names(rng, rng.randint(3, 6))
        self.lines: list[str] = []
        self.budget = rng.randint(4, 9)  # lines, the final print(...) aside
        self.assigned: list[str] = []  # names assigned somewhere above (perhaps on a path not taken)
        self.counters: set[str] = set()  # loop counters: the body must not assign them

    def const(self) -> str:
        rng = self.rng
        digits = rng.choice((1, 1, 2, 2, 3))
        value = rng.randint(0, 10**digits - 1)
        return str(-value if rng.random() < 0.35 else value)

    def atom(self) -> str:
        if self.assigned and self.rng.random() < 0.6:
            return self.rng.choice(self.assigned)
        return self.const()

    def expr(self) -> str:
        rng = self.rng
        out = self.atom()
        for _ in range(rng.choice((0, 1, 1, 2))):
            out += f" {rng.choice('+-')} {self.atom()}"
        return out

    def cond(self) -> str:
        op = self.rng.choice(("<", ">", "<=", ">=", "==", "!="))
        return f"{self.atom()} {op} {self.atom()}"

    def emit(self, depth: int, text: str) -> None:
        self.lines.append("    " * depth + text)
        self.budget -= 1

    def assign(self, depth: int) -> None:
        free = [n for n in self.names if n not in self.counters]
        if not free:
            self.emit(depth, f"print({self.expr()})")
            return
        name = self.rng.choice(free)
        self.emit(depth, f"{name} = {self.expr()}")
        if name not in self.assigned:
            self.assigned.append(name)

    def block(self, depth: int, size: int) -> None:
        for _ in range(size):
            if self.budget <= 0:
                return
            self.statement(depth)

    def statement(self, depth: int) -> None:
        rng = self.rng
        r = rng.random()
        can_nest = depth < 3 and self.budget >= 3 and len(self.counters) < len(self.names) - 1
        if can_nest and r < 0.22:
            self.emit(depth, f"if {self.cond()}:")
            self.block(depth + 1, rng.randint(1, 2))
            if self.budget >= 2 and rng.random() < 0.3:
                self.emit(depth, f"elif {self.cond()}:")
                self.block(depth + 1, 1)
            if self.budget >= 2 and rng.random() < 0.5:
                self.emit(depth, "else:")
                self.block(depth + 1, rng.randint(1, 2))
        elif can_nest and r < 0.34:
            free = [n for n in self.names if n not in self.counters]
            var = rng.choice(free)
            lo = rng.randint(-20, 20)
            hi = lo + rng.randint(0, 12)
            step = rng.choice(("", "", f", {rng.randint(2, 4)}"))
            self.emit(depth, f"for {var} in range({lo}, {hi}{step}):")
            self.counters.add(var)
            if var not in self.assigned:
                self.assigned.append(var)
            self.block(depth + 1, rng.randint(1, 2))
            self.counters.discard(var)
        elif can_nest and r < 0.44:
            free = [n for n in self.names if n not in self.counters]
            var = rng.choice(free)
            start = rng.randint(-50, 50)
            self.emit(depth, f"{var} = {start}")
            if var not in self.assigned:
                self.assigned.append(var)
            up = rng.random() < 0.5
            limit = start + rng.randint(0, 60) * (1 if up else -1)
            self.emit(depth, f"while {var} {'<' if up else '>'} {limit}:")
            self.counters.add(var)
            self.emit(depth + 1, f"{var} = {var} {'+' if up else '-'} {rng.randint(1, 9)}")
            self.block(depth + 1, rng.randint(0, 2))
            self.counters.discard(var)
        elif r < 0.72 or not self.assigned:
            self.assign(depth)
        else:
            self.emit(depth, f"print({self.expr()})")


def tinypy_program(rng: random.Random) -> str:
    """A TinyPy-shaped program (5 to 10 lines; see the module doc) as Python text."""
    gen = _TinyPy(rng)
    gen.block(0, 12)
    gen.emit(0, f"print({gen.expr()})")
    return "\n".join(gen.lines) + "\n"


# ---- programs that use every lowered construct ---------------------------------------------


class _Scope:
    """What a block may read: ints set on every path, ints set on some path, lists."""

    def __init__(self, must: set[str], may: set[str], lists: set[str]) -> None:
        self.must = set(must)
        self.may = set(may)
        self.lists = set(lists)

    def copy(self) -> _Scope:
        return _Scope(self.must, self.may, self.lists)


class _Constructs:
    """One program exercising the lowered constructs (see the module doc)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.lines: list[str] = []
        self.counter = 0
        self.frozen: set[str] = set()  # lists a loop runs over: the body must not grow or shrink them
        self.funcs: dict[str, tuple[int, int]] = {}  # name -> (parameters, of which with a default)
        self.globals_read: list[str] = []  # top-level ints a function may read
        self.in_function = False
        self.risk = rng.random() < 0.5  # whether this program may fail on purpose
        self.loop_vars: set[str] = set()  # counters and targets of the enclosing loops: never assigned
        self.protected: set[str] = set()  # globals a function reads: it must not assign them
        self.loop_depth = 0
        self.params: dict[str, list[str]] = {}  # function -> its parameters' numbers

    # ---- helpers --------------------------------------------------------------------

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def new(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def emit(self, depth: int, text: str) -> None:
        self.lines.append("    " * depth + text)

    def small(self) -> str:
        value = self.rng.randint(-9, 9)
        return str(value)

    def const(self) -> str:
        rng = self.rng
        if self.chance(0.7):
            return str(rng.randint(-20, 20))
        return str(rng.randint(-999, 999))

    def comp_var(self, scope: _Scope) -> str:
        """A comprehension's variable: sometimes the name of a variable outside (which it must not touch)."""
        if scope.must and self.chance(0.25):
            return self.rng.choice(sorted(scope.must))
        return self.new("c")

    def int_name(self, scope: _Scope) -> str | None:
        if scope.may - scope.must and self.risk and self.chance(0.04):
            return self.rng.choice(sorted(scope.may - scope.must))  # perhaps never set: NameError
        if scope.must:
            return self.rng.choice(sorted(scope.must))
        return None

    def list_name(self, scope: _Scope, *, mutable: bool = False) -> str | None:
        names = sorted(scope.lists - self.frozen) if mutable else sorted(scope.lists)
        return self.rng.choice(names) if names else None

    # ---- expressions ------------------------------------------------------------------

    def atom(self, scope: _Scope) -> str:
        name = self.int_name(scope)
        if name is not None and self.chance(0.65):
            return name
        return self.const()

    def iexpr(self, scope: _Scope, depth: int = 0) -> str:
        """An int expression (never a bool CPython would print as a word)."""
        rng = self.rng
        if depth >= 2 or self.chance(0.35):
            return self.atom(scope)
        lst = self.list_name(scope)
        kinds = ["arith", "arith", "arith", "cond", "ifexp", "minmax", "abs", "pow"]
        if lst is not None:
            kinds += ["len", "index", "sum", "agg", "gensum", "count", "inlist"]
        if self.funcs and not self.in_function:
            kinds += ["call"]
        kind = rng.choice(kinds)
        sub = lambda: self.iexpr(scope, depth + 1)  # noqa: E731
        if kind == "arith":
            op = rng.choice(("+", "-", "+", "-", "*", "//", "%"))
            if op == "*":
                return f"{sub()} * {rng.randint(-5, 5)}"
            if op in ("//", "%"):
                div = (
                    self.atom(scope)
                    if self.risk and self.chance(0.15)
                    else str(rng.choice((-7, -3, 2, 3, 5, 10)))
                )
                return f"({sub()}) {op} {div}"
            return f"{sub()} {op} {sub()}"
        if kind == "cond":
            return f"int({self.cond(scope, depth + 1)})"
        if kind == "ifexp":
            return f"({sub()} if {self.cond(scope, depth + 1)} else {sub()})"
        if kind == "minmax":
            args = ", ".join(sub() for _ in range(rng.randint(2, 4)))
            return f"{rng.choice(('min', 'max'))}({args})"
        if kind == "abs":
            return f"abs({sub()})"
        if kind == "pow":
            if self.chance(0.5):
                return f"pow({sub()}, {rng.randint(0, 2)})"
            mod = rng.choice((7, 11, 13, -5, 97, 10))
            return f"pow({sub()}, {rng.randint(-2 if self.risk else 0, 12)}, {mod})"
        if kind == "call":
            name = rng.choice(sorted(self.funcs))
            count, optional = self.funcs[name]
            given = count - rng.randint(0, optional)
            args = [sub() for _ in range(given)]
            if given >= 2 and self.chance(0.3):  # the last one by keyword
                args[-1] = f"p{self.params[name][given - 1]}={args[-1]}"
            return f"{name}({', '.join(args)})"
        assert lst is not None
        if kind == "len":
            return f"len({lst})"
        if kind == "index":
            k = rng.randint(-3, 2)
            if self.risk and self.chance(0.2):
                return f"{lst}[{k}]"  # perhaps out of range: IndexError
            need = k + 1 if k >= 0 else -k
            return f"({lst}[{k}] if len({lst}) >= {need} else {self.small()})"
        if kind == "sum":
            return f"sum({lst})"
        if kind == "agg":
            name = rng.choice(("min", "max"))
            if self.risk and self.chance(0.3):
                return f"{name}({lst})"  # perhaps empty: ValueError
            return f"({name}({lst}) if len({lst}) > 0 else {self.small()})"
        if kind == "gensum":
            v = self.comp_var(scope)
            inner = _Scope(scope.must | {v}, scope.may | {v}, scope.lists)
            body = self.iexpr(inner, depth + 1)
            if self.chance(0.5):
                return f"sum({body} for {v} in {lst} if {v} {rng.choice(('<', '>', '!='))} {self.small()})"
            return f"sum(int({v} > {self.small()}) for {v} in {lst})"
        if kind == "count":
            if self.risk and self.chance(0.3):
                return f"{lst}.index({self.atom(scope)})"
            return f"{lst}.count({self.atom(scope)})"
        return f"int({self.atom(scope)} {rng.choice(('in', 'not in'))} {lst})"

    def cond(self, scope: _Scope, depth: int = 0) -> str:
        """A condition (a comparison, chained comparison, membership, any/all, and/or/not)."""
        rng = self.rng
        a = lambda: self.iexpr(scope, depth + 1)  # noqa: E731
        r = rng.random()
        lst = self.list_name(scope)
        if r < 0.3:
            return f"{a()} {rng.choice(('<', '<=', '>', '>=', '==', '!='))} {a()}"
        if r < 0.5:
            lo = rng.randint(-30, 10)
            return f"{lo} <= {a()} < {lo + rng.randint(1, 40)}"
        if r < 0.6:
            return f"{a()} < {a()} <= {a()}"
        if r < 0.7 and lst is not None:
            return f"{self.atom(scope)} {rng.choice(('in', 'not in'))} {lst}"
        if r < 0.72:
            return f"{self.atom(scope)} {rng.choice(('in', 'not in'))} ({self.small()}, {self.small()}, {self.small()})"
        if r < 0.75:
            return f"{self.atom(scope)} in range({rng.randint(-5, 5)}, {rng.randint(0, 20)}, {rng.choice((1, 2, 3, -1))})"
        if r < 0.82 and lst is not None:
            v = self.comp_var(scope)
            fn = rng.choice(("any", "all"))
            return f"{fn}({v} {rng.choice(('>', '<', '%', '!='))} {rng.randint(1, 5)} for {v} in {lst})"
        if r < 0.92 and depth < 2:
            return f"{self.cond(scope, depth + 1)} {rng.choice(('and', 'or'))} {self.cond(scope, depth + 1)}"
        return f"not {a()} > {a()}"

    def lexpr(self, scope: _Scope) -> str:
        """A list expression."""
        rng = self.rng
        lst = self.list_name(scope)
        kinds = ["display", "display", "comp", "range", "repeat"]
        if lst is not None:
            kinds += ["sorted", "slice", "slice", "copy", "map", "reversed", "enum", "concat"]
            if len(scope.lists) >= 2:
                kinds.append("zip")
        kind = rng.choice(kinds)
        if kind == "display":
            return "[" + ", ".join(self.iexpr(scope, 1) for _ in range(rng.randint(0, 5))) + "]"
        if kind == "comp":
            v = self.comp_var(scope)
            inner = _Scope(scope.must | {v}, scope.may | {v}, scope.lists)
            cond = f" if {v} % {rng.randint(2, 3)} == {rng.randint(0, 1)}" if self.chance(0.5) else ""
            return f"[{self.iexpr(inner, 1)} for {v} in range({rng.randint(0, 8)}){cond}]"
        if kind == "range":
            lo = rng.randint(-10, 10)
            step = rng.choice((1, 2, 3, -1, -2))
            hi = lo + step * rng.randint(0, 8)
            return f"list(range({lo}, {hi}, {step}))"
        if kind == "repeat":
            return f"[{self.small()}, {self.small()}] * {rng.randint(0, 3)}"
        assert lst is not None
        if kind == "sorted":
            return f"sorted({lst}, reverse=True)" if self.chance(0.3) else f"sorted({lst})"
        if kind == "slice":
            parts = [rng.choice(("", str(rng.randint(-6, 6)))) for _ in range(2)]
            step = rng.choice(("", "", ":2", ":-1", ":-2", f":{rng.randint(1, 3)}"))
            return f"{lst}[{parts[0]}:{parts[1]}{step}]"
        if kind == "copy":
            return f"{lst}.copy()" if self.chance(0.5) else f"list({lst})"
        if kind == "map":
            v = self.comp_var(scope)
            inner = _Scope(scope.must | {v}, scope.may | {v}, scope.lists)
            return f"[{self.iexpr(inner, 1)} for {v} in {lst} if {v} != {self.small()}]"
        if kind == "reversed":
            return f"list(reversed({lst}))"
        if kind == "concat":
            if self.chance(0.5):
                return f"{lst} + [{self.iexpr(scope, 1)}]"
            return f"[{self.small()}] + {lst}[1:] + sorted({lst})"
        if kind == "enum":
            i, v = self.new("c"), self.new("c")
            return f"[{i} * {v} for {i}, {v} in enumerate({lst})]"
        other = rng.choice(sorted(scope.lists - {lst}))
        a, b = self.new("c"), self.new("c")
        return f"[{a} - {b} for {a}, {b} in zip({lst}, {other})]"

    # ---- statements -------------------------------------------------------------------

    def block(self, depth: int, scope: _Scope, size: int, loop: bool = False) -> _Scope:
        for _ in range(size):
            scope = self.statement(depth, scope, loop)
        return scope

    def set_int(self, scope: _Scope, name: str) -> None:
        scope.must.add(name)
        scope.may.add(name)

    def target(self, scope: _Scope) -> str:
        """An int variable to assign: a known one or a new one."""
        known = sorted(scope.may - self.loop_vars - self.protected)
        if known and self.chance(0.6):
            return self.rng.choice(known)
        return self.new("v")

    def statement(self, depth: int, scope: _Scope, loop: bool) -> _Scope:
        rng = self.rng
        nest = depth < 3
        weights = {
            "assign": 10,
            "aug": 4,
            "tuple": 4,
            "swap": 3,
            "divmod": 2,
            "chain": 2,
            "list": 3,
            "method": 5,
            "elem": 3,
            "print": 6,
            "if": 5 if nest else 0,
            "for": 5 if nest and self.loop_depth < 2 else 0,
            "while": 3 if nest and self.loop_depth < 2 else 0,
            "assert": 1,
            "jump": 2 if loop else 0,
        }
        kind = rng.choices(list(weights), weights=list(weights.values()))[0]
        free = sorted(scope.must - self.loop_vars - self.protected)
        if kind == "assign":
            name = self.target(scope)
            self.emit(depth, f"{name} = {self.bounded(self.iexpr(scope))}")
            self.set_int(scope, name)
        elif kind == "aug" and free:
            name = rng.choice(free)
            op = rng.choice(("+=", "-=", "+=", "//=", "%="))
            value = self.const() if op in ("+=", "-=") else str(rng.choice((2, 3, -4, 7)))
            self.emit(depth, f"{name} {op} {value}")
        elif kind in ("tuple", "swap"):
            if kind == "swap" and len(free) >= 2:
                a, b = rng.sample(free, 2)
                op = rng.choice("+-")
                self.emit(depth, f"{a}, {b} = {b}, {self.bounded(f'{a} {op} {b}')}")
            else:
                a, b = self.target(scope), self.target(scope)
                if a == b:
                    b = self.new("v")
                self.emit(
                    depth, f"{a}, {b} = {self.bounded(self.iexpr(scope))}, {self.bounded(self.iexpr(scope))}"
                )
                self.set_int(scope, a)
                self.set_int(scope, b)
        elif kind == "divmod":
            q, r = self.new("q"), self.new("r")
            d = self.atom(scope) if self.risk and self.chance(0.2) else str(rng.choice((3, -4, 7)))
            self.emit(depth, f"{q}, {r} = divmod({self.iexpr(scope)}, {d})")
            self.set_int(scope, q)
            self.set_int(scope, r)
        elif kind == "chain":
            a, b = self.new("v"), self.new("v")
            self.emit(depth, f"{a} = {b} = {self.iexpr(scope)}")
            self.set_int(scope, a)
            self.set_int(scope, b)
        elif kind == "list" and not self.in_function:
            name = rng.choice(sorted(scope.lists)) if scope.lists and self.chance(0.5) else self.new("xs")
            if name in self.frozen:
                name = self.new("xs")
            self.emit(depth, f"{name} = {self.lexpr(scope)}")
            if depth == 0:
                scope.lists.add(name)
        elif kind == "method":
            self.method(depth, scope)
        elif kind == "elem" and scope.lists:
            lst = rng.choice(sorted(scope.lists))
            if self.chance(0.5):
                self.emit(depth, f"if len({lst}) > 1:")
                self.emit(depth + 1, f"{lst}[0], {lst}[-1] = {lst}[-1], {lst}[0]")
            else:
                i = rng.randint(-4, 3) if self.risk else rng.randint(-2, 1)
                self.emit(depth, f"if len({lst}) > 2:")
                self.emit(depth + 1, f"{lst}[{i}] = {self.bounded(self.iexpr(scope))}")
        elif kind == "print":
            args = [self.iexpr(scope) for _ in range(rng.randint(1, 4))]
            self.emit(depth, f"print({', '.join(args)})")
        elif kind == "if":
            return self.if_(depth, scope, loop)
        elif kind == "for":
            return self.for_(depth, scope)
        elif kind == "while":
            return self.while_(depth, scope)
        elif kind == "assert":
            if self.risk and self.chance(0.3):
                self.emit(depth, f'assert {self.cond(scope)}, "checked"')
            else:
                self.emit(depth, f"assert {self.iexpr(scope)} == {self.iexpr(scope)} or True")
        elif kind == "jump":
            word = rng.choice(("break", "continue"))
            self.emit(depth, f"if {self.cond(scope)}:")
            self.emit(depth + 1, word)
        else:
            self.emit(depth, f"print({self.iexpr(scope)})")
        return scope

    def method(self, depth: int, scope: _Scope) -> None:
        rng = self.rng
        lst = self.list_name(scope, mutable=True)
        if lst is None:
            if scope.lists:  # a list a loop runs over: reorder it, never change its length
                lst = rng.choice(sorted(scope.lists))
                self.emit(depth, f"{lst}.sort()" if self.chance(0.5) else f"{lst}.reverse()")
            else:
                self.emit(depth, f"print({self.iexpr(scope)})")
            return
        kinds = ["append", "append", "insert", "pop", "popi", "remove", "sort", "reverse", "clear", "iadd"]
        if self.loop_depth == 0:
            kinds.append("extend")  # never in a loop: xs.extend(xs) doubles
        kind = rng.choice(kinds)
        if kind == "append":
            self.emit(depth, f"{lst}.append({self.bounded(self.iexpr(scope))})")
        elif kind == "iadd":
            self.emit(depth, f"{lst} += [{self.bounded(self.iexpr(scope))}]")
        elif kind == "extend":
            self.emit(depth, f"{lst}.extend({self.lexpr(scope)})")
        elif kind == "insert":
            self.emit(depth, f"{lst}.insert({rng.randint(-5, 5)}, {self.iexpr(scope)})")
        elif kind == "pop":
            self.emit(depth, f"if len({lst}) > 0:")
            self.emit(depth + 1, f"print({lst}.pop())")
        elif kind == "popi":
            i = rng.randint(-3, 2)
            guard = "" if self.risk and self.chance(0.3) else f"if len({lst}) > {max(i, -i - 1)}:"
            if guard:
                self.emit(depth, guard)
                self.emit(depth + 1, f"print({lst}.pop({i}))")
            else:
                self.emit(depth, f"print({lst}.pop({i}))")
        elif kind == "remove":
            value = self.atom(scope)
            if self.risk and self.chance(0.3):
                self.emit(depth, f"{lst}.remove({value})")
            else:
                self.emit(depth, f"if {value} in {lst}:")
                self.emit(depth + 1, f"{lst}.remove({value})")
        elif kind == "sort":
            self.emit(depth, f"{lst}.sort(reverse=True)" if self.chance(0.3) else f"{lst}.sort()")
        elif kind == "reverse":
            self.emit(depth, f"{lst}.reverse()")
        elif self.chance(0.3):
            self.emit(depth, f"{lst}.clear()")
        else:
            self.emit(depth, f"{lst}.append({self.const()})")

    def if_(self, depth: int, scope: _Scope, loop: bool) -> _Scope:
        rng = self.rng
        self.emit(depth, f"if {self.cond(scope)}:")
        branches = [self.block(depth + 1, scope.copy(), rng.randint(1, 3), loop)]
        while self.chance(0.25):
            self.emit(depth, f"elif {self.cond(scope)}:")
            branches.append(self.block(depth + 1, scope.copy(), rng.randint(1, 2), loop))
        if self.chance(0.5):
            self.emit(depth, "else:")
            branches.append(self.block(depth + 1, scope.copy(), rng.randint(1, 2), loop))
            must = set.intersection(*(b.must for b in branches))
        else:
            must = set(scope.must)
        out = scope.copy()
        out.must = must
        for b in branches:
            out.may |= b.may
        return out

    def bounded(self, value: str) -> str:
        """In a loop, a value kept small (`% m`): repeated sums must not approach 64 bits."""
        if self.loop_depth == 0:
            return value
        return f"({value}) % {self.rng.choice((97, 1000, -101))}"

    def for_(self, depth: int, scope: _Scope) -> _Scope:
        rng = self.rng
        lst = self.list_name(scope) if self.loop_depth < 2 else None
        var = self.new("i")
        header_kinds = ["range", "range", "tuple"]
        if lst is not None:
            header_kinds += ["list", "list", "enum", "reversed", "sorted", "slice", "comp", "gen"]
            if len(scope.lists) >= 2:
                header_kinds.append("zip")
        kind = rng.choice(header_kinds)
        names = [var]
        if kind == "tuple":
            header = "(" + ", ".join(self.small() for _ in range(rng.randint(1, 4))) + ",)"
        elif kind == "range":
            lo = rng.randint(-5, 5)
            header = (
                f"range({lo}, {lo + rng.randint(0, 7)})"
                if self.chance(0.6)
                else f"range({rng.randint(0, 6)})"
            )
        elif kind == "list":
            header = lst or ""
        elif kind == "enum":
            idx = self.new("i")
            names = [idx, var]
            start = f", {rng.randint(-3, 3)}" if self.chance(0.3) else ""
            header = f"enumerate({lst}{start})"
        elif kind == "reversed":
            header = f"reversed({lst})" if self.chance(0.6) else f"reversed(range({rng.randint(0, 6)}))"
        elif kind == "sorted":
            header = f"sorted({lst})"
        elif kind == "slice":
            header = f"{lst}[::{rng.choice((2, -1, -2))}]"
        elif kind == "comp":
            c = self.comp_var(scope)
            header = f"[{c} * {rng.randint(1, 3)} for {c} in {lst}]"
        elif kind == "gen":
            c = self.comp_var(scope)
            header = f"({c} - {rng.randint(1, 3)} for {c} in {lst} if {c} != {self.small()})"
        else:
            other = rng.choice(sorted(scope.lists - {lst or ""}))
            second = self.new("i")
            names = [var, second]
            header = f"zip({lst}, {other})"
        self.emit(depth, f"for {', '.join(names)} in {header}:")
        inner = scope.copy()
        for n in names:
            self.set_int(inner, n)
        saved_frozen, saved_vars = set(self.frozen), self.loop_vars
        if kind in ("list", "enum", "reversed", "zip", "gen"):
            self.frozen |= set(scope.lists)  # the body never grows or shrinks the list it runs over
        self.loop_vars = saved_vars | set(names)
        self.loop_depth += 1
        body = self.block(depth + 1, inner, rng.randint(1, 3), loop=True)
        self.loop_depth -= 1
        self.loop_vars, self.frozen = saved_vars, saved_frozen
        out = scope.copy()
        out.may |= body.may
        if self.chance(0.25):
            self.emit(depth, "else:")
            els = self.block(depth + 1, out.copy(), 1)
            out.may |= els.may
        return out

    def while_(self, depth: int, scope: _Scope) -> _Scope:
        rng = self.rng
        w = self.new("w")
        self.emit(depth, f"{w} = 0")
        self.emit(depth, f"while {w} < {rng.randint(0, 5)}:")
        self.emit(depth + 1, f"{w} += 1")
        inner = scope.copy()
        self.set_int(inner, w)
        saved_vars = self.loop_vars
        self.loop_vars = saved_vars | {w}
        self.loop_depth += 1
        body = self.block(depth + 1, inner, rng.randint(1, 3), loop=True)
        self.loop_depth -= 1
        self.loop_vars = saved_vars
        out = scope.copy()
        out.must.add(w)
        out.may |= body.may | {w}
        if self.chance(0.25):
            self.emit(depth, "else:")
            els = self.block(depth + 1, out.copy(), 1)
            out.may |= els.may
        return out

    def function(self, scope: _Scope) -> None:
        rng = self.rng
        name = self.new("f")
        params = [self.new("p") for _ in range(rng.randint(1, 3))]
        optional = rng.randint(0, len(params) - 1)
        heads = [p if i < len(params) - optional else f"{p}={self.small()}" for i, p in enumerate(params)]
        self.emit(0, f"def {name}({', '.join(heads)}):")
        self.params[name] = [p[1:] for p in params]
        self.in_function = True
        reads = set(rng.sample(self.globals_read, min(len(self.globals_read), 2)))
        self.protected = reads
        inner = _Scope(set(params) | reads, set(params) | reads, scope.lists)
        if self.risk and self.chance(0.4):  # a local set on one path only: UnboundLocalError on the other
            local = self.new("v")
            self.emit(1, f"if {params[0]} > {self.small()}:")
            self.emit(2, f"{local} = {self.iexpr(inner)}")
            inner.may.add(local)
            self.emit(1, f"{params[-1]} += {local}")
        self.frozen |= scope.lists  # a function never changes a list's length (a loop may run over it)
        inner = self.block(1, inner, rng.randint(1, 3))
        self.frozen -= scope.lists
        self.emit(1, f"return {self.iexpr(inner)}")
        self.in_function = False
        self.protected = set()
        self.funcs[name] = (len(params), optional)


def construct_program(rng: random.Random) -> str:
    """A program using the lowered constructs (see the module doc) as Python text."""
    gen = _Constructs(rng)
    scope = _Scope(set(), set(), set())
    for _ in range(rng.randint(1, 3)):
        name = gen.new("xs")
        gen.emit(0, f"{name} = [{', '.join(gen.small() for _ in range(rng.randint(0, 6)))}]")
        scope.lists.add(name)
    for _ in range(rng.randint(1, 3)):
        name = gen.new("g")
        gen.emit(0, f"{name} = {gen.const()}")
        gen.set_int(scope, name)
        gen.globals_read.append(name)
    for _ in range(rng.choice((0, 1, 1, 2))):
        gen.function(scope)
    scope = gen.block(0, scope, rng.randint(4, 9))
    names = sorted(scope.must)
    if names:
        gen.emit(0, f"print({', '.join(rng.sample(names, min(3, len(names))))})")
    return "\n".join(gen.lines) + "\n"
