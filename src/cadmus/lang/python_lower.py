"""Lowering Python constructs the Cadmus AST has no node for into the nodes it has.

`Lowering` is the half of the Python front end's translator that turns
iteration (`for x in xs`, `enumerate`, `zip`, `reversed`, comprehensions and
generator expressions), `in`, `sum`/`min`/`max`/`any`/`all`/`sorted`/`list`,
slicing, list methods, tuple assignment and `pow(a, b, m)` into loops and
assignments over fresh temporaries (names the program does not use).

An expression that needs statements puts them on `self.pre`, the list of
statements that must run before the expression's value is read; operands
evaluated earlier are first saved into temporaries (`operands`, `spill`), so
Python's left-to-right order holds, and statements that only a lazy operand
needs (the right side of `and`, a branch of `x if c else y`, the later links
of a chained comparison) run only when Python would evaluate it.

Failures Python reports as `ValueError` (`min([])`, a zero slice step, a
wrong number of values to unpack) are `Assert` nodes with `error` set: the
compiler makes them run-time errors with that message at their line.
"""

from __future__ import annotations

import ast as pyast
import builtins
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

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
    Expr,
    ExprStmt,
    For,
    If,
    Index,
    Name,
    Num,
    Pass,
    Stmt,
    Unary,
    UnaryKind,
    While,
    const_value,
    num,
)
from cadmus.lang.errors import ParseError, UnsupportedPython
from cadmus.lang.python_kinds import Marks

__all__ = ["SUFFIX", "Lowering", "Source", "binds_names", "breaks_own_loop", "pos_of"]

SUFFIX = "not supported in the Cadmus Python subset"

Pos = dict[str, int]
Body = Callable[[list[Expr]], list[Stmt]]


def pos_of(node: pyast.AST) -> Pos:
    """The Cadmus position of a Python node (columns from 1)."""
    return {"line": getattr(node, "lineno", 0), "col": getattr(node, "col_offset", -1) + 1}


def binds_names(body: list[pyast.stmt]) -> set[str]:
    """The names a block of Python statements assigns anywhere."""
    out: set[str] = set()
    for stmt in body:
        for node in pyast.walk(stmt):
            if isinstance(node, pyast.Name) and isinstance(node.ctx, pyast.Store):
                out.add(node.id)
    return out


def breaks_own_loop(body: list[pyast.stmt]) -> bool:
    """Whether a loop body has a `break` of that loop (not of a loop nested in it)."""
    for stmt in body:
        if isinstance(stmt, pyast.Break):
            return True
        if isinstance(stmt, pyast.If) and (breaks_own_loop(stmt.body) or breaks_own_loop(stmt.orelse)):
            return True
        if isinstance(stmt, pyast.For | pyast.While) and breaks_own_loop(stmt.orelse):
            return True
    return False


@dataclass
class Source:
    """Something a loop runs over, with what Python evaluates when it is created already done.

    kind "range": `For` over `start, stop, step`; "list": a list `seq` (a name,
    its length read every step as Python's list iterator does); "rlist": a
    list backwards from the index in the temporary `index`; "enum": `inner`
    with the counter `counter`; "zip": several "list" `parts`; "gen": the
    comprehension clauses `generators` and element `element`, the first
    clause's iterable prepared as `first`. `width` is how many values each
    step gives (2 for `enumerate`, one per part for `zip`).
    """

    kind: str
    width: int = 1
    start: Expr | None = None
    stop: Expr | None = None
    step: Expr | None = None
    seq: Expr | None = None
    index: str | None = None
    inner: Source | None = None
    counter: str | None = None
    parts: list[Source] = field(default_factory=list)
    generators: list[pyast.comprehension] = field(default_factory=list)
    element: pyast.expr | None = None
    first: Source | None = None
    outer: list[dict[str, str]] = field(default_factory=list)  # "gen": the scopes around it


def _len(seq: Expr, pos: Pos) -> Expr:
    return Call("len", (seq,), **pos)


def _append(seq: Expr, value: Expr, pos: Pos) -> Stmt:
    return ExprStmt(Call("append", (seq, value), **pos), **pos)


def _inc(name: str, by: int, pos: Pos) -> Stmt:
    op = BinOpKind.ADD if by >= 0 else BinOpKind.SUB
    return AugAssign(Name(name, **pos), op, Num(abs(by), **pos), **pos)


class Lowering:
    """The lowering half of the translator (see the module doc); `_Translator` supplies the rest."""

    builtin_funcs = frozenset(
        {"len", "abs", "min", "max", "sum", "sorted", "reversed", "list", "enumerate", "zip"}
        | {"any", "all", "divmod", "pow", "bool"}
    )
    python_builtins = frozenset(dir(builtins))

    def __init__(self, file: str | None, taken: set[str], bound: set[str], renames: dict[str, str]) -> None:
        self.file = file
        self.taken = set(taken)
        self.bound = frozenset(bound)  # names the program binds somewhere
        self.renames = renames  # program names that would collide with builtins -> their new names
        self.funcs: set[str] = set()  # the program's top-level functions
        self.counter = 0
        self.pre: list[Stmt] = []
        self.scopes: list[dict[str, str]] = []  # comprehension variables -> their temporaries
        self.loops: list[str | None] = []  # per enclosing Python loop: its break flag (for ... else)
        self.marks = Marks()

    # ---- supplied by the translator -------------------------------------------

    def expr(self, node: pyast.expr) -> Expr:  # pragma: no cover - overridden
        raise NotImplementedError

    def assign_to(self, target: pyast.expr, value: Expr, pos: Pos) -> Stmt:  # pragma: no cover
        raise NotImplementedError

    # ---- names and keywords -----------------------------------------------------------

    def use(self, name: str) -> str:
        """The name a program name stands for here (comprehension variables, renamed builtins)."""
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        return self.renames.get(name, name)

    def is_builtin(self, name: str) -> bool:
        """A call of `name` is a call of the Python builtin (the program never binds the name)."""
        return name not in self.bound and name not in self.funcs

    def keywords(self, node: pyast.Call, allowed: tuple[str, ...]) -> dict[str, pyast.expr]:
        out: dict[str, pyast.expr] = {}
        for kw in node.keywords:
            if kw.arg is None or kw.arg not in allowed:
                raise self.no(
                    kw, "keyword arguments are" if kw.arg is None else f"the keyword '{kw.arg}=' is"
                )
            out[kw.arg] = kw.value
        return out

    def flag_keyword(self, node: pyast.Call, name: str) -> bool:
        """A keyword such as `reverse=True`: only a constant is supported."""
        value = self.keywords(node, (name,)).get(name)
        if value is None:
            return False
        if isinstance(value, pyast.Constant) and isinstance(value.value, int):
            return bool(value.value)
        raise self.no(value, f"'{name}=' other than a constant is")

    # ---- errors, names, pending statements --------------------------------------

    def no(self, node: pyast.AST, what: str) -> UnsupportedPython:
        """`what` ends with its verb: "float literals are"."""
        return UnsupportedPython(f"{what} {SUFFIX}", file=self.file, **pos_of(node))

    def syntax(self, node: pyast.AST, message: str) -> ParseError:
        return ParseError(message, file=self.file, **pos_of(node))

    def fresh(self, prefix: str) -> str:
        """A temporary's name: no name of the program, no other temporary."""
        while True:
            self.counter += 1
            name = f"_{prefix}{self.counter}"
            if name not in self.taken:
                self.taken.add(name)
                return name

    def true(self, pos: Pos) -> Num:
        value = Num(1, **pos)
        self.marks.bool_ids.add(id(value))
        return value

    def false(self, pos: Pos) -> Num:
        value = Num(0, **pos)
        self.marks.bool_ids.add(id(value))
        return value

    def capture(self, fn: Callable[..., Any], *args: Any) -> tuple[list[Stmt], Any]:
        """Run `fn`; return the statements it left pending (taking them off `pre`) and its result."""
        saved, self.pre = self.pre, []
        try:
            value = fn(*args)
            return self.pre, value
        finally:
            self.pre = saved

    def spill(self, value: Expr, pos: Pos, *, const_ok: bool = True) -> Expr:
        """Evaluate `value` now, into a fresh temporary (a constant stays as it is if `const_ok`)."""
        if const_ok and const_value(value) is not None:
            return value
        t = self.fresh("t")
        self.pre.append(Assign(Name(t, **pos), value, **pos))
        return Name(t, **pos)

    def operands(self, nodes: list[pyast.expr]) -> list[Expr]:
        """Translate operands left to right, saving earlier ones before a later one's statements."""
        out: list[Expr] = []
        for node in nodes:
            stmts, value = self.capture(self.expr, node)
            if stmts:
                out = [self.spill(v, pos_of(node)) for v in out]
                self.pre += stmts
            out.append(value)
        return out

    def must_be_list(self, value: Expr, who: str) -> Expr:
        self.marks.lists[id(value)] = who
        return value

    def named(self, value: Expr, pos: Pos, assigned: frozenset[str] = frozenset()) -> Expr:
        """`value` as a name to read many times: itself if a name not in `assigned`, else a temporary."""
        if isinstance(value, Name) and value.id not in assigned:
            return value
        return self.spill(value, pos, const_ok=False)

    # ---- ranges -------------------------------------------------------------------

    def is_range(self, node: pyast.expr) -> bool:
        if not (
            isinstance(node, pyast.Call) and isinstance(node.func, pyast.Name) and node.func.id == "range"
        ):
            return False
        if node.keywords:
            raise self.no(node.keywords[0], "keyword arguments are")
        for arg in node.args:
            if isinstance(arg, pyast.Starred):
                raise self.no(arg, "starred arguments are")
        if not 1 <= len(node.args) <= 3:
            raise self.no(node, f"range() with {len(node.args)} arguments is")
        return True

    def range_args(self, node: pyast.Call, *, spill: bool) -> tuple[Expr, Expr, Expr | None]:
        """`range(...)`'s start, stop and step (None for 1); saved in temporaries when `spill`."""
        pos = pos_of(node)
        args = self.operands(node.args)
        if spill:
            args = [self.spill(a, pos) for a in args]
        if len(args) == 1:
            return Num(0, **pos), args[0], None
        return args[0], args[1], args[2] if len(args) == 3 else None

    # ---- iteration -------------------------------------------------------------

    def builtin_call(self, node: pyast.expr, *names: str) -> str | None:
        """The name of the builtin `node` calls, if it is one of `names` (and not the program's own)."""
        if (
            isinstance(node, pyast.Call)
            and isinstance(node.func, pyast.Name)
            and node.func.id in names
            and self.is_builtin(node.func.id)
            and not any(node.func.id in scope for scope in self.scopes)
        ):
            return node.func.id
        return None

    def prepare(self, node: pyast.expr, body: list[pyast.stmt] | None = None) -> Source:
        """Evaluate an iterable as Python does when a loop starts (`body`: the loop's, if a Python loop)."""
        pos = pos_of(node)
        if self.is_range(node):
            assert isinstance(node, pyast.Call)
            start, stop, step = self.range_args(node, spill=True)
            return Source("range", start=start, stop=stop, step=step)
        which = self.builtin_call(node, "reversed", "enumerate", "zip")
        if which is not None:
            assert isinstance(node, pyast.Call)
            for arg in node.args:
                if isinstance(arg, pyast.Starred):
                    raise self.no(arg, "starred arguments are")
            if which == "reversed":
                return self.prepare_reversed(node, body)
            if which == "enumerate":
                return self.prepare_enumerate(node, body)
            return self.prepare_zip(node, body)
        if isinstance(node, pyast.GeneratorExp):
            return self.gen_source(node, body)
        if isinstance(node, pyast.ListComp):  # built in full before the loop starts
            return Source("list", seq=self.materialize(self.gen_source(node), pos))
        return Source("list", seq=self.list_value(node, body))

    def gen_source(
        self, node: pyast.GeneratorExp | pyast.ListComp, body: list[pyast.stmt] | None = None
    ) -> Source:
        """A comprehension's clauses, its first iterable evaluated (in the enclosing scope)."""
        if any(gen.is_async for gen in node.generators):
            raise self.no(node, "asynchronous comprehensions are")
        first = self.prepare(node.generators[0].iter, body)
        outer = list(self.scopes)
        return Source("gen", generators=list(node.generators), element=node.elt, first=first, outer=outer)

    def prepare_reversed(self, node: pyast.Call, body: list[pyast.stmt] | None) -> Source:
        pos = pos_of(node)
        if node.keywords or len(node.args) != 1:
            raise self.no(node, "reversed() takes exactly one argument and")
        arg = node.args[0]
        if self.is_range(arg) and len(arg.args) <= 2:  # type: ignore[attr-defined]
            assert isinstance(arg, pyast.Call)
            start, stop, _ = self.range_args(arg, spill=True)
            one = Num(1, **pos)
            first = BinOp(BinOpKind.SUB, stop, one, **pos)
            last = BinOp(BinOpKind.SUB, start, one, **pos)
            return Source("range", start=first, stop=last, step=num(-1))
        seq = self.list_value(arg, body)
        index = self.fresh("i")
        self.pre.append(
            Assign(Name(index, **pos), BinOp(BinOpKind.SUB, _len(seq, pos), Num(1, **pos), **pos), **pos)
        )
        return Source("rlist", seq=seq, index=index)

    def prepare_enumerate(self, node: pyast.Call, body: list[pyast.stmt] | None) -> Source:
        pos = pos_of(node)
        start_node = self.keywords(node, ("start",)).get("start")
        args = list(node.args)
        if len(args) == 2 and start_node is None:
            start_node = args.pop()
        if len(args) != 1:
            raise self.no(node, f"enumerate() with {len(node.args) + len(node.keywords)} arguments is")
        inner = self.prepare(args[0], body)
        if inner.width != 1:
            raise self.no(node, "enumerate() of enumerate() or zip() is")
        start: Expr = Num(0, **pos) if start_node is None else self.expr(start_node)
        counter = self.fresh("n")
        self.pre.append(Assign(Name(counter, **pos), start, **pos))
        return Source("enum", width=2, inner=inner, counter=counter)

    def prepare_zip(self, node: pyast.Call, body: list[pyast.stmt] | None) -> Source:
        if node.keywords:
            raise self.no(node.keywords[0], "zip() keyword arguments are")
        if not node.args:
            raise self.no(node, "zip() without arguments is")
        parts = []
        for arg in node.args:
            if isinstance(arg, pyast.GeneratorExp) or self.builtin_call(arg, "enumerate", "zip"):
                raise self.no(arg, "zip() of a generator expression, enumerate() or zip() is")
            parts.append(Source("list", seq=self.list_value(arg, body)))
        return Source("zip", width=len(parts), parts=parts)

    def list_value(self, node: pyast.expr, body: list[pyast.stmt] | None = None) -> Expr:
        """Evaluate `node` to a list (materializing ranges and generators): a name to read it by.

        A list a Python loop runs over is read through a temporary when the
        loop's `body` assigns its name (the loop keeps the list it started with).
        """
        pos = pos_of(node)
        if isinstance(node, pyast.GeneratorExp | pyast.ListComp):
            return self.materialize(self.gen_source(node), pos)
        if self.is_range(node) or self.builtin_call(node, "reversed"):
            return self.materialize(self.prepare(node), pos)
        if self.builtin_call(node, "enumerate", "zip"):
            raise self.no(node, "lists of tuples (enumerate() or zip() outside a loop) are")
        if isinstance(node, pyast.Tuple):  # (1, 2, 3) to run over or search: as the list [1, 2, 3]
            node = pyast.List(elts=node.elts, ctx=pyast.Load(), lineno=pos["line"], col_offset=pos["col"] - 1)
        value = self.must_be_list(self.expr(node), "iterating over")
        assigned: frozenset[str] = frozenset()
        if body is not None and isinstance(value, Name):
            assigned = frozenset(self.use(name) for name in binds_names(body))
        return self.named(value, pos, assigned)

    def loop(
        self,
        source: Source,
        pos: Pos,
        body: Body,
        *,
        names: list[str] | None = None,
        stop: Expr | None = None,
    ) -> list[Stmt]:
        """The statements that run `body` on each step of `source` (its values bound to `names`).

        `body` gets the step's values as names (or constants) and returns the
        statements to run. `stop`: a condition that ends the whole iteration
        when it becomes true after a step (for loops nested by a comprehension).
        """
        if names is not None and len(names) != source.width:
            what = "a number" if source.width == 1 else f"{source.width} values"
            raise UnsupportedPython(
                f"unpacking {what} into {len(names)} names is {SUFFIX}", file=self.file, **pos
            )
        kind = source.kind
        if kind == "range":
            var = names[0] if names else self.fresh("k")
            assert source.start is not None and source.stop is not None
            stmts = body([Name(var, **pos)]) or [Pass(**pos)]
            return [For(var, source.start, source.stop, source.step, tuple(stmts), **pos)]
        if kind in ("list", "rlist"):
            seq = source.seq
            assert seq is not None
            var = names[0] if names else self.fresh("x")
            init: list[Stmt] = []
            if kind == "list":
                i = self.fresh("i")
                init.append(Assign(Name(i, **pos), Num(0, **pos), **pos))
                cond: Expr = Compare(CmpKind.LT, Name(i, **pos), _len(seq, pos), **pos)
                step = _inc(i, 1, pos)
            else:
                i = source.index or ""
                cond = BoolOp(
                    BoolKind.AND,
                    Compare(CmpKind.GE, Name(i, **pos), Num(0, **pos), **pos),
                    Compare(CmpKind.LT, Name(i, **pos), _len(seq, pos), **pos),
                    **pos,
                )
                step = _inc(i, -1, pos)
            bind = Assign(Name(var, **pos), Index(seq, Name(i, **pos), **pos), **pos)
            return [*init, While(cond, (bind, step, *body([Name(var, **pos)])), **pos)]
        if kind == "enum":
            assert source.inner is not None and source.counter is not None
            counter = source.counter
            i_name, x_name = names if names else (self.fresh("j"), self.fresh("x"))

            def enum_body(values: list[Expr]) -> list[Stmt]:
                return [
                    Assign(Name(i_name, **pos), Name(counter, **pos), **pos),
                    Assign(Name(x_name, **pos), values[0], **pos),
                    _inc(counter, 1, pos),
                    *body([Name(i_name, **pos), Name(x_name, **pos)]),
                ]

            return self.loop(source.inner, pos, enum_body, stop=stop)
        if kind == "zip":
            i = self.fresh("i")
            seqs = [part.seq for part in source.parts]
            var_names = names if names else [self.fresh("x") for _ in seqs]
            conds = [Compare(CmpKind.LT, Name(i, **pos), _len(s, pos), **pos) for s in seqs if s is not None]
            cond = conds[0]
            for more in conds[1:]:
                cond = BoolOp(BoolKind.AND, cond, more, **pos)
            binds: list[Stmt] = [
                Assign(Name(v, **pos), Index(s, Name(i, **pos), **pos), **pos)
                for v, s in zip(var_names, seqs, strict=True)
                if s is not None
            ]
            values: list[Expr] = [Name(v, **pos) for v in var_names]
            loop = While(cond, (*binds, _inc(i, 1, pos), *body(values)), **pos)
            return [Assign(Name(i, **pos), Num(0, **pos), **pos), loop]
        return self.gen_loop(source, 0, pos, body, names, stop)

    def gen_loop(
        self, source: Source, k: int, pos: Pos, body: Body, names: list[str] | None, stop: Expr | None
    ) -> list[Stmt]:
        """Clause `k` of a comprehension and everything inside it."""
        gen = source.generators[k]
        if k == 0:
            assert source.first is not None
            sub = source.first
        else:
            sub = self.prepare(gen.iter)
        target = gen.target
        if isinstance(target, pyast.Name):
            target_names = [target.id]
        elif isinstance(target, pyast.Tuple | pyast.List) and all(
            isinstance(t, pyast.Name) for t in target.elts
        ):
            target_names = [t.id for t in target.elts]  # type: ignore[attr-defined]
        else:
            raise self.no(target, "comprehension targets other than names are")
        scope = {name: self.fresh("c") for name in target_names}
        temps = [scope[name] for name in target_names]

        def clause_body(_values: list[Expr]) -> list[Stmt]:
            self.scopes.append(scope)
            try:
                saved, self.pre = self.pre, []
                try:
                    return self.gen_rest(source, k, gen, pos, body, names, stop)
                finally:
                    self.pre = saved
            finally:
                self.scopes.pop()

        return self.loop(sub, pos, clause_body, names=temps, stop=stop)

    def gen_rest(
        self,
        source: Source,
        k: int,
        gen: pyast.comprehension,
        pos: Pos,
        body: Body,
        names: list[str] | None,
        stop: Expr | None,
    ) -> list[Stmt]:
        """The `if` clauses of clause `k`, then the next clause or the element."""

        def inner() -> list[Stmt]:
            if k + 1 < len(source.generators):
                stmts = self.gen_loop(source, k + 1, pos, body, names, stop)
                if stop is not None:
                    stmts.append(If(stop, (Break(**pos),), **pos))
                return stmts
            assert source.element is not None
            value = self.expr(source.element)
            if names is not None:
                if len(names) != 1:
                    raise UnsupportedPython(
                        f"unpacking a number into names is {SUFFIX}", file=self.file, **pos
                    )
                self.pre.append(Assign(Name(names[0], **pos), value, **pos))
                value = Name(names[0], **pos)
            elif const_value(value) is None and not isinstance(value, Name):
                value = self.spill(value, pos)
            # the consumer's code (a Python loop's body) does not see the comprehension's variables
            inside, self.scopes = self.scopes, source.outer
            try:
                return body([value])
            finally:
                self.scopes = inside

        stmts, main = self.capture(inner)
        result: list[Stmt] = stmts + main
        for cond_node in reversed(gen.ifs):
            pending, cond = self.capture(self.expr, cond_node)
            result = [*pending, If(cond, tuple(result) or (Pass(**pos),), **pos)]
        return result

    def materialize(self, source: Source, pos: Pos) -> Expr:
        """A new list of the values of `source`."""
        if source.width != 1:
            raise UnsupportedPython(f"lists of tuples are {SUFFIX}", file=self.file, **pos)
        r = self.fresh("r")
        self.pre.append(Assign(Name(r, **pos), ArrayLit((), **pos), **pos))
        self.pre += self.loop(source, pos, lambda values: [_append(Name(r, **pos), values[0], pos)])
        return Name(r, **pos)

    def membership(self, value: Expr, container: pyast.expr, pos: Pos, *, negate: bool = False) -> Expr:
        """`value in container` (`not in` if `negate`): a flag set by a search with `==`, as Python's."""
        value = self.spill(value, pos)
        source = self.prepare(container)
        if source.width != 1:
            raise self.no(container, "'in' over enumerate() or zip() (tuples) is")
        found = self.fresh("f")
        start = self.true(pos) if negate else self.false(pos)
        self.pre.append(Assign(Name(found, **pos), start, **pos))

        def search(values: list[Expr]) -> list[Stmt]:
            hit = Assign(Name(found, **pos), self.false(pos) if negate else self.true(pos), **pos)
            return [If(Compare(CmpKind.EQ, values[0], value, **pos), (hit, Break(**pos)), **pos)]

        stop: Expr = Name(found, **pos)
        if negate:
            stop = Unary(UnaryKind.NOT, stop, **pos)
        self.pre += self.loop(source, pos, search, stop=stop)
        return Name(found, **pos)

    # ---- builtins over iterables -------------------------------------------------------

    def builtin(self, name: str, node: pyast.Call) -> Expr:
        pos = pos_of(node)
        args = node.args
        if name in ("reversed", "enumerate", "zip"):
            raise self.no(node, f"{name}() outside a 'for' loop, a comprehension or list(...) is")
        if name == "divmod":
            raise self.no(node, "divmod() outside a tuple assignment (q, r = divmod(a, b)) is")
        if name == "sorted":
            reverse = self.flag_keyword(node, "reverse")
            self.count_args(node, name, 1, 1)
            r = self.materialize(self.prepare(args[0]), pos)
            assert isinstance(r, Name)
            self.pre += self.sort(r, reverse, pos)
            return r
        if name == "sum":
            start_node = self.keywords(node, ("start",)).get("start")
            self.count_args(node, name, 1, 2 if start_node is None else 1)
            source = self.prepare(args[0])
            if len(args) == 2:
                start_node = args[1]
            start = Num(0, **pos) if start_node is None else self.expr(start_node)
            total = self.fresh("s")
            self.pre.append(Assign(Name(total, **pos), start, **pos))

            def add(values: list[Expr]) -> list[Stmt]:
                return [AugAssign(Name(total, **pos), BinOpKind.ADD, values[0], **pos)]

            self.pre += self.loop(self.single(source, node), pos, add)
            return Name(total, **pos)
        self.keywords(node, ())
        if name in ("any", "all"):
            self.count_args(node, name, 1, 1)
            return self.any_all(name, self.single(self.prepare(args[0]), node), pos)
        if name == "list":
            self.count_args(node, name, 0, 1)
            if not args:
                return ArrayLit((), **pos)
            return self.materialize(self.prepare(args[0]), pos)
        if name in ("min", "max"):
            if not args:
                raise self.no(node, f"{name}() without arguments is")
            if len(args) == 1:
                return self.extreme(name, self.single(self.prepare(args[0]), node), pos)
            values = self.operands(args)
            result = values[0]
            for value in values[1:]:
                result = Call(name, (result, value), **pos)
            return result
        if name == "pow":
            self.count_args(node, name, 2, 3)
            values = self.operands(args)
            if len(values) == 2:
                return BinOp(BinOpKind.POW, values[0], values[1], **pos)
            return self.powmod(values, pos)
        if name == "bool":
            self.count_args(node, name, 1, 1)
            return Compare(CmpKind.NE, self.expr(args[0]), Num(0, **pos), **pos)
        # len, abs
        self.count_args(node, name, 1, 1)
        if name == "len" and (self.is_range(args[0]) or self.builtin_call(args[0], "reversed")):
            return Call("len", (self.list_value(args[0]),), **pos)
        if name == "len" and isinstance(args[0], pyast.GeneratorExp):
            raise self.no(args[0], "len() of a generator expression (a TypeError in CPython) is")
        return Call(name, (self.expr(args[0]),), **pos)

    def count_args(self, node: pyast.Call, name: str, low: int, high: int) -> None:
        if not low <= len(node.args) <= high:
            raise self.no(node, f"{name}() with {len(node.args)} positional arguments is")

    def single(self, source: Source, node: pyast.AST) -> Source:
        if source.width != 1:
            raise self.no(node, "iterating over tuples (enumerate() or zip()) here is")
        return source

    def any_all(self, name: str, source: Source, pos: Pos) -> Expr:
        result = self.fresh("f")
        start = self.false(pos) if name == "any" else self.true(pos)
        self.pre.append(Assign(Name(result, **pos), start, **pos))

        def test(values: list[Expr]) -> list[Stmt]:
            if name == "any":
                cond: Expr = values[0]
                done = Assign(Name(result, **pos), self.true(pos), **pos)
            else:
                cond = Unary(UnaryKind.NOT, values[0], **pos)
                done = Assign(Name(result, **pos), self.false(pos), **pos)
            return [If(cond, (done, Break(**pos)), **pos)]

        stop: Expr = Name(result, **pos)
        if name == "all":
            stop = Unary(UnaryKind.NOT, stop, **pos)
        self.pre += self.loop(source, pos, test, stop=stop)
        return Name(result, **pos)

    def extreme(self, name: str, source: Source, pos: Pos) -> Expr:
        """`min(iterable)` / `max(iterable)`: ValueError when it is empty."""
        seq = (
            source.seq if source.kind == "list" and source.seq is not None else self.materialize(source, pos)
        )
        empty = Compare(CmpKind.GT, _len(seq, pos), Num(0, **pos), **pos)
        self.pre.append(Assert(empty, error=f"ValueError: {name}() arg is an empty sequence", **pos))
        best = self.fresh("m")
        self.pre.append(Assign(Name(best, **pos), Index(seq, Num(0, **pos), **pos), **pos))
        k = self.fresh("k")
        update = Assign(
            Name(best, **pos),
            Call(name, (Name(best, **pos), Index(seq, Name(k, **pos), **pos)), **pos),
            **pos,
        )
        self.pre.append(For(k, Num(1, **pos), _len(seq, pos), None, (update,), **pos))
        return Name(best, **pos)

    def sort(self, seq: Name, reverse: bool, pos: Pos) -> list[Stmt]:
        """Sort `seq` in place (insertion sort: stable, as Python's)."""
        i, j, v = self.fresh("i"), self.fresh("j"), self.fresh("v")
        one = Num(1, **pos)
        later = CmpKind.LT if reverse else CmpKind.GT
        at_j = Index(seq, Name(j, **pos), **pos)
        after_j = Index(seq, BinOp(BinOpKind.ADD, Name(j, **pos), one, **pos), **pos)
        shift = While(
            BoolOp(
                BoolKind.AND,
                Compare(CmpKind.GE, Name(j, **pos), Num(0, **pos), **pos),
                Compare(later, at_j, Name(v, **pos), **pos),
                **pos,
            ),
            (Assign(after_j, at_j, **pos), _inc(j, -1, pos)),
            **pos,
        )
        body = (
            Assign(Name(v, **pos), Index(seq, Name(i, **pos), **pos), **pos),
            Assign(Name(j, **pos), BinOp(BinOpKind.SUB, Name(i, **pos), one, **pos), **pos),
            shift,
            Assign(after_j, Name(v, **pos), **pos),
        )
        return [For(i, Num(1, **pos), _len(seq, pos), None, body, **pos)]

    def powmod(self, values: list[Expr], pos: Pos) -> Expr:
        """`pow(a, b, m)` as CPython computes it (a negative `b` takes the modular inverse)."""
        a, e, m = (self.spill(v, pos, const_ok=False) for v in values)
        assert isinstance(e, Name)
        zero, one = Num(0, **pos), Num(1, **pos)
        self.pre.append(
            Assert(
                Compare(CmpKind.NE, m, zero, **pos), error="ValueError: pow() 3rd argument cannot be 0", **pos
            )
        )
        n, base, r = self.fresh("n"), self.fresh("b"), self.fresh("r")

        def name(ident: str) -> Name:
            return Name(ident, **pos)

        self.pre += [
            Assign(name(n), Call("abs", (m,), **pos), **pos),
            Assign(name(base), BinOp(BinOpKind.FMOD, a, name(n), **pos), **pos),
        ]
        # a negative exponent: the inverse of base modulo n (extended Euclid), then -e
        r0, r1, s0, s1, q = (self.fresh(p) for p in ("g", "g", "u", "u", "q"))
        euclid = While(
            Compare(CmpKind.NE, name(r1), zero, **pos),
            (
                Assign(name(q), BinOp(BinOpKind.FDIV, name(r0), name(r1), **pos), **pos),
                *self.pair_step(r0, r1, q, pos),
                *self.pair_step(s0, s1, q, pos),
            ),
            **pos,
        )
        invert = (
            Assign(name(r0), name(n), **pos),
            Assign(name(r1), name(base), **pos),
            Assign(name(s0), zero, **pos),
            Assign(name(s1), one, **pos),
            euclid,
            Assert(
                Compare(CmpKind.EQ, name(r0), one, **pos),
                error="ValueError: base is not invertible for the given modulus",
                **pos,
            ),
            Assign(name(base), BinOp(BinOpKind.FMOD, name(s0), name(n), **pos), **pos),
            Assign(e, Unary(UnaryKind.NEG, e, **pos), **pos),
        )
        self.pre.append(If(Compare(CmpKind.LT, e, zero, **pos), invert, **pos))
        square = Assign(
            name(base),
            BinOp(BinOpKind.FMOD, BinOp(BinOpKind.MUL, name(base), name(base), **pos), name(n), **pos),
            **pos,
        )
        times = Assign(
            name(r),
            BinOp(BinOpKind.FMOD, BinOp(BinOpKind.MUL, name(r), name(base), **pos), name(n), **pos),
            **pos,
        )
        odd = Compare(CmpKind.EQ, BinOp(BinOpKind.BAND, e, one, **pos), one, **pos)
        self.pre += [
            Assign(name(r), BinOp(BinOpKind.FMOD, one, name(n), **pos), **pos),
            While(
                Compare(CmpKind.GT, e, zero, **pos),
                (If(odd, (times,), **pos), square, AugAssign(e, BinOpKind.SHR, one, **pos)),
                **pos,
            ),
        ]
        return BinOp(BinOpKind.FMOD, name(r), m, **pos)

    def pair_step(self, x0: str, x1: str, q: str, pos: Pos) -> list[Stmt]:
        """`x0, x1 = x1, x0 - q * x1` (one step of Euclid's algorithm)."""
        t = self.fresh("t")
        return [
            Assign(Name(t, **pos), Name(x1, **pos), **pos),
            Assign(
                Name(x1, **pos),
                BinOp(
                    BinOpKind.SUB,
                    Name(x0, **pos),
                    BinOp(BinOpKind.MUL, Name(q, **pos), Name(x1, **pos), **pos),
                    **pos,
                ),
                **pos,
            ),
            Assign(Name(x0, **pos), Name(t, **pos), **pos),
        ]

    # ---- lists: repetition, slicing, methods ------------------------------------------

    def repeat(self, node: pyast.BinOp, lst: pyast.List, count: pyast.expr) -> Expr:
        """`[a, b] * n` (or `n * [a, b]`): a new list, the elements evaluated once."""
        pos = pos_of(node)
        for elt in lst.elts:
            if isinstance(elt, pyast.Starred):
                raise self.no(elt, "starred expressions are")
        order = [*lst.elts, count] if node.left is lst else [count, *lst.elts]
        values = [self.spill(v, pos) for v in self.operands(order)]
        times = values[-1] if node.left is lst else values[0]
        elts = values[:-1] if node.left is lst else values[1:]
        r = self.fresh("r")
        self.pre.append(Assign(Name(r, **pos), ArrayLit((), **pos), **pos))
        body = tuple(_append(Name(r, **pos), v, pos) for v in elts) or (Pass(**pos),)
        self.pre.append(For(self.fresh("k"), Num(0, **pos), times, None, body, **pos))
        return Name(r, **pos)

    def listy(self, node: pyast.expr) -> bool:
        """Whether `node` is, by its form, a new list (a display, comprehension, slice, sorted(...), ...)."""
        if isinstance(node, pyast.List | pyast.ListComp):
            return True
        if isinstance(node, pyast.Subscript):
            return isinstance(node.slice, pyast.Slice)
        if isinstance(node, pyast.BinOp):
            if isinstance(node.op, pyast.Add):
                return self.listy(node.left) or self.listy(node.right)
            return isinstance(node.op, pyast.Mult) and (
                isinstance(node.left, pyast.List) or isinstance(node.right, pyast.List)
            )
        if isinstance(node, pyast.Call) and isinstance(node.func, pyast.Attribute):
            return node.func.attr == "copy"
        return self.builtin_call(node, "sorted", "list") is not None

    def concat(self, node: pyast.BinOp) -> Expr:
        """`a + b` of lists: a new list; both operands evaluated before either is copied."""
        pos = pos_of(node)
        left = self.named(self.must_be_list(self.expr(node.left), "'+' of a list and"), pos)
        right = self.named(self.must_be_list(self.expr(node.right), "'+' of a list and"), pos)
        r = self.fresh("r")
        self.pre.append(Assign(Name(r, **pos), ArrayLit((), **pos), **pos))
        for part in (left, right):
            k = self.fresh("k")
            take = _append(Name(r, **pos), Index(part, Name(k, **pos), **pos), pos)
            self.pre.append(For(k, Num(0, **pos), _len(part, pos), None, (take,), **pos))
        return Name(r, **pos)

    def slice_of(self, node: pyast.Subscript) -> Expr:
        """`seq[lo:hi:step]`: a new list, with Python's clamping of the bounds."""
        pos = pos_of(node)
        sl = node.slice
        assert isinstance(sl, pyast.Slice)
        parts = [p for p in (node.value, sl.lower, sl.upper, sl.step) if p is not None]
        values = self.operands(parts)
        seq = self.must_be_list(values.pop(0), "slicing")
        seq = self.named(seq, pos)
        lo = values.pop(0) if sl.lower is not None else None
        hi = values.pop(0) if sl.upper is not None else None
        step = values.pop(0) if sl.step is not None else None
        zero = Num(0, **pos)
        k = None if step is None else const_value(step)
        neg: bool | Expr
        if step is None or k is not None:
            if k == 0:
                self.pre.append(Assert(zero, error="ValueError: slice step cannot be zero", **pos))
            neg = k is not None and k < 0
            step_expr = None if step is None or k == 1 else step
        else:
            step = self.spill(step, pos)
            self.pre.append(
                Assert(
                    Compare(CmpKind.NE, step, zero, **pos),
                    error="ValueError: slice step cannot be zero",
                    **pos,
                )
            )
            neg = Compare(CmpKind.LT, step, zero, **pos)
            step_expr = step
        start = self.bound_of(lo, neg, seq, pos, is_stop=False)
        stop = self.bound_of(hi, neg, seq, pos, is_stop=True)
        r = self.fresh("r")
        self.pre.append(Assign(Name(r, **pos), ArrayLit((), **pos), **pos))
        var = self.fresh("k")
        take = _append(Name(r, **pos), Index(seq, Name(var, **pos), **pos), pos)
        self.pre.append(For(var, start, stop, step_expr, (take,), **pos))
        return Name(r, **pos)

    def bound_of(self, value: Expr | None, neg: bool | Expr, seq: Expr, pos: Pos, *, is_stop: bool) -> Expr:
        """A slice bound adjusted as CPython's `PySlice_AdjustIndices` does (`neg`: the step is negative)."""
        b = self.fresh("t")

        def n() -> Expr:
            return _len(seq, pos)

        def put(value: Expr) -> Stmt:
            return Assign(Name(b, **pos), value, **pos)

        def pick(when_neg: Expr, otherwise: Expr) -> tuple[Stmt, ...]:
            if isinstance(neg, bool):
                return (put(when_neg if neg else otherwise),)
            return (If(neg, (put(when_neg),), (put(otherwise),), **pos),)

        def last() -> Expr:
            return BinOp(BinOpKind.SUB, n(), Num(1, **pos), **pos)

        if value is None:
            self.pre += pick(num(-1), n()) if is_stop else pick(last(), Num(0, **pos))
            return Name(b, **pos)
        self.pre.append(put(value))
        below = Compare(CmpKind.LT, Name(b, **pos), Num(0, **pos), **pos)
        wrap = (
            AugAssign(Name(b, **pos), BinOpKind.ADD, n(), **pos),
            If(
                Compare(CmpKind.LT, Name(b, **pos), Num(0, **pos), **pos), pick(num(-1), Num(0, **pos)), **pos
            ),
        )
        beyond = If(Compare(CmpKind.GE, Name(b, **pos), n(), **pos), pick(last(), n()), **pos)
        self.pre.append(If(below, wrap, (beyond,), **pos))
        return Name(b, **pos)

    def method(self, node: pyast.Call, *, statement: bool) -> Expr | list[Stmt]:
        """`seq.append(x)` and the other list methods; statements when Python's value is None."""
        pos = pos_of(node)
        func = node.func
        assert isinstance(func, pyast.Attribute)
        attr = func.attr
        for arg in node.args:
            if isinstance(arg, pyast.Starred):
                raise self.no(arg, "starred arguments are")
        arity = _METHODS.get(attr)
        if arity is None:
            raise self.no(node, f"the method '.{attr}()' is")
        if attr in _NONE_METHODS and not statement:
            raise self.no(node, f"{attr}() used as a value (CPython gives None) is")
        reverse = False
        if attr == "sort":
            reverse = self.flag_keyword(node, "reverse")
        else:
            self.keywords(node, ())
        if not arity[0] <= len(node.args) <= arity[1]:
            if attr == "pop":
                raise self.no(node, f"pop with {len(node.args)} arguments is")
            raise self.no(node, f"{attr}() with {len(node.args)} arguments is")
        if attr == "extend":
            seq = self.must_be_list(self.expr(func.value), f".{attr}() on")
            seq = self.named(seq, pos) if not isinstance(seq, Name) else seq
            self.extend(seq, node.args[0], pos)
            return []
        values = self.operands([func.value, *node.args])
        seq = self.must_be_list(values[0], f".{attr}() on")
        args = values[1:]
        if attr == "append":
            return Call("append", (seq, args[0]), **pos)
        if attr == "pop" and not args:
            return Call("pop", (seq,), **pos)
        seq = self.named(seq, pos)
        assert isinstance(seq, Name)
        result: Expr | list[Stmt]
        if attr == "pop":
            result = self.pop_at(seq, args[0], pos)
        elif attr == "insert":
            self.insert(seq, args[0], args[1], pos)
            result = []
        elif attr in ("index", "remove"):
            where = self.find(seq, args[0], pos)
            if attr == "index":
                error = "ValueError: the value is not in the list"
            else:
                error = "ValueError: list.remove(x): x not in list"
            found = Compare(CmpKind.GE, where, Num(0, **pos), **pos)
            self.pre.append(Assert(found, error=error, **pos))
            if attr == "index":
                result = where
            else:
                self.close_gap(seq, where, pos)
                result = []
        elif attr == "count":
            result = self.count(seq, args[0], pos)
        elif attr == "reverse":
            self.reverse(seq, pos)
            result = []
        elif attr == "sort":
            self.pre += self.sort(seq, reverse, pos)
            result = []
        elif attr == "clear":
            pop = ExprStmt(Call("pop", (seq,), **pos), **pos)
            self.pre.append(While(Compare(CmpKind.GT, _len(seq, pos), Num(0, **pos), **pos), (pop,), **pos))
            result = []
        else:  # copy
            result = self.materialize(Source("list", seq=seq), pos)
        if statement and not isinstance(result, list):
            return []  # the value is not used: its statements are the effect
        return result

    def extend(self, seq: Expr, arg: pyast.expr, pos: Pos) -> None:
        """`seq.extend(arg)`: the values of `arg` appended to `seq` (its length as it was, for a list)."""
        source = self.prepare(arg)
        if source.kind == "list" and source.seq is not None:
            # CPython takes the argument's length first: xs.extend(xs) doubles xs
            items = source.seq
            k = self.fresh("k")
            take = _append(seq, Index(items, Name(k, **pos), **pos), pos)
            self.pre.append(For(k, Num(0, **pos), _len(items, pos), None, (take,), **pos))
            return
        self.pre += self.loop(self.single(source, arg), pos, lambda values: [_append(seq, values[0], pos)])

    def pop_at(self, seq: Name, index: Expr, pos: Pos) -> Expr:
        k = self.spill(index, pos, const_ok=False)
        v = self.fresh("v")
        self.pre.append(Assign(Name(v, **pos), Index(seq, k, **pos), **pos))  # IndexError as CPython's
        self.pre.append(
            If(
                Compare(CmpKind.LT, k, Num(0, **pos), **pos),
                (AugAssign(k, BinOpKind.ADD, _len(seq, pos), **pos),),
                **pos,
            )
        )
        self.close_gap(seq, k, pos)
        return Name(v, **pos)

    def close_gap(self, seq: Name, at: Expr, pos: Pos) -> None:
        """Move the elements after index `at` one place down and drop the last."""
        j = self.fresh("j")
        nxt = Index(seq, BinOp(BinOpKind.ADD, Name(j, **pos), Num(1, **pos), **pos), **pos)
        move = Assign(Index(seq, Name(j, **pos), **pos), nxt, **pos)
        end = BinOp(BinOpKind.SUB, _len(seq, pos), Num(1, **pos), **pos)
        self.pre.append(For(j, at, end, None, (move,), **pos))
        self.pre.append(ExprStmt(Call("pop", (seq,), **pos), **pos))

    def insert(self, seq: Name, index: Expr, value: Expr, pos: Pos) -> None:
        k = self.spill(index, pos, const_ok=False)
        value = self.spill(value, pos)
        n = _len(seq, pos)
        clamp = If(
            Compare(CmpKind.LT, k, Num(0, **pos), **pos),
            (Assign(k, Call("max", (BinOp(BinOpKind.ADD, k, n, **pos), Num(0, **pos)), **pos), **pos),),
            (Assign(k, Call("min", (k, _len(seq, pos)), **pos), **pos),),
            **pos,
        )
        j = self.fresh("j")
        prev = Index(seq, BinOp(BinOpKind.SUB, Name(j, **pos), Num(1, **pos), **pos), **pos)
        shift = For(
            j,
            BinOp(BinOpKind.SUB, _len(seq, pos), Num(1, **pos), **pos),
            k,
            num(-1),
            (Assign(Index(seq, Name(j, **pos), **pos), prev, **pos),),
            **pos,
        )
        self.pre += [clamp, _append(seq, value, pos), shift, Assign(Index(seq, k, **pos), value, **pos)]

    def find(self, seq: Name, value: Expr, pos: Pos) -> Expr:
        """The first index of `value` in `seq`, or -1."""
        value = self.spill(value, pos)
        where, k = self.fresh("v"), self.fresh("k")
        self.pre.append(Assign(Name(where, **pos), num(-1), **pos))
        hit = If(
            Compare(CmpKind.EQ, Index(seq, Name(k, **pos), **pos), value, **pos),
            (Assign(Name(where, **pos), Name(k, **pos), **pos), Break(**pos)),
            **pos,
        )
        self.pre.append(For(k, Num(0, **pos), _len(seq, pos), None, (hit,), **pos))
        return Name(where, **pos)

    def count(self, seq: Name, value: Expr, pos: Pos) -> Expr:
        value = self.spill(value, pos)
        total, k = self.fresh("s"), self.fresh("k")
        self.pre.append(Assign(Name(total, **pos), Num(0, **pos), **pos))
        hit = If(
            Compare(CmpKind.EQ, Index(seq, Name(k, **pos), **pos), value, **pos),
            (_inc(total, 1, pos),),
            **pos,
        )
        self.pre.append(For(k, Num(0, **pos), _len(seq, pos), None, (hit,), **pos))
        return Name(total, **pos)

    def reverse(self, seq: Name, pos: Pos) -> None:
        lo, hi, t = self.fresh("i"), self.fresh("j"), self.fresh("t")
        at_lo = Index(seq, Name(lo, **pos), **pos)
        at_hi = Index(seq, Name(hi, **pos), **pos)
        swap = (
            Assign(Name(t, **pos), at_lo, **pos),
            Assign(at_lo, at_hi, **pos),
            Assign(at_hi, Name(t, **pos), **pos),
            _inc(lo, 1, pos),
            _inc(hi, -1, pos),
        )
        self.pre += [
            Assign(Name(lo, **pos), Num(0, **pos), **pos),
            Assign(Name(hi, **pos), BinOp(BinOpKind.SUB, _len(seq, pos), Num(1, **pos), **pos), **pos),
            While(Compare(CmpKind.LT, Name(lo, **pos), Name(hi, **pos), **pos), swap, **pos),
        ]

    # ---- tuple assignment -----------------------------------------------------------

    def unpack(self, targets: list[pyast.expr], value: pyast.expr, pos: Pos) -> list[Stmt]:
        """`a, b = e1, e2` and friends: the right side entirely first, then the targets left to right."""
        width = len(targets)
        if isinstance(value, pyast.Tuple | pyast.List) and len(value.elts) == width:
            for elt in value.elts:
                if isinstance(elt, pyast.Starred):
                    raise self.no(elt, "starred expressions are")
            values = [self.spill(v, pos) for v in self.operands(value.elts)]
        elif self.builtin_call(value, "divmod"):
            assert isinstance(value, pyast.Call)
            if value.keywords or len(value.args) != 2 or width != 2:
                raise self.no(value, "divmod() other than q, r = divmod(a, b) is")
            a, b = (self.spill(v, pos) for v in self.operands(value.args))
            vpos = pos_of(value)
            values = [BinOp(BinOpKind.FDIV, a, b, **vpos), BinOp(BinOpKind.FMOD, a, b, **vpos)]
        else:
            seq = self.list_value(value)
            size = Compare(CmpKind.EQ, _len(seq, pos), Num(width, **pos), **pos)
            error = f"ValueError: wrong number of values to unpack (expected {width})"
            self.pre.append(Assert(size, error=error, **pos))
            values = [self.spill(Index(seq, Num(i, **pos), **pos), pos) for i in range(width)]
        out: list[Stmt] = list(self.pre)
        self.pre.clear()
        for target, v in zip(targets, values, strict=True):
            stmts, main = self.capture(self.assign_to, target, v, pos)
            out += [*stmts, main]
        return out


# method -> (fewest, most) positional arguments
_METHODS: dict[str, tuple[int, int]] = {
    "append": (1, 1),
    "pop": (0, 1),
    "insert": (2, 2),
    "extend": (1, 1),
    "index": (1, 1),
    "count": (1, 1),
    "remove": (1, 1),
    "reverse": (0, 0),
    "sort": (0, 0),
    "clear": (0, 0),
    "copy": (0, 0),
}
_NONE_METHODS = frozenset({"append", "insert", "extend", "remove", "reverse", "sort", "clear"})
