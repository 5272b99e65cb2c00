"""The Python front end: integer Python as people write it, read into the Cadmus AST.

The text is parsed with Python's own `ast` module and translated node by
node; nothing is ever executed, compiled to bytecode or evaluated. Anything
outside the supported language (see `docs/python.md`) raises
`UnsupportedPython` naming the construct with its line and column (columns
count from 1).

Constructs the Cadmus AST has no node for (tuple assignment, chained
comparisons, conditional expressions, `in`, iteration over lists,
comprehensions, slicing, `sum`/`sorted`/..., `for ... else`) are lowered
into the existing nodes by `python_lower`, with fresh temporaries whose
names the program does not use, keeping Python's order of evaluation and
its laziness. A variable that only some paths assign is not refused here:
the compiler checks such reads at run time (Python's `NameError`).

After the translation `python_kinds` rejects programs whose CPython meaning
the VM cannot reproduce (printing a comparison result, printing a list,
iterating over an int, ...).
"""

from __future__ import annotations

import ast as pyast
import warnings
from collections.abc import Callable

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
    const_value,
    num,
)
from cadmus.lang.errors import ParseError, UnsupportedPython
from cadmus.lang.python_kinds import check_kinds
from cadmus.lang.python_lower import SUFFIX, Lowering, breaks_own_loop, pos_of

__all__ = ["PYTHON_RESERVED", "from_python"]

_BINOPS: dict[type, BinOpKind] = {
    pyast.Add: BinOpKind.ADD,
    pyast.Sub: BinOpKind.SUB,
    pyast.Mult: BinOpKind.MUL,
    pyast.FloorDiv: BinOpKind.FDIV,
    pyast.Mod: BinOpKind.FMOD,
    pyast.Pow: BinOpKind.POW,
    pyast.BitAnd: BinOpKind.BAND,
    pyast.BitOr: BinOpKind.BOR,
    pyast.BitXor: BinOpKind.BXOR,
    pyast.LShift: BinOpKind.SHL,
    pyast.RShift: BinOpKind.SHR,
}
CMPOPS: dict[type, CmpKind] = {
    pyast.Eq: CmpKind.EQ,
    pyast.NotEq: CmpKind.NE,
    pyast.Lt: CmpKind.LT,
    pyast.LtE: CmpKind.LE,
    pyast.Gt: CmpKind.GT,
    pyast.GtE: CmpKind.GE,
}

# Python builtins the translation itself relies on: a program may not rebind them.
PYTHON_RESERVED = frozenset({"print", "range", "int", "input"})
# Cadmus builtins that are ordinary names in Python: renamed when a program uses them.
_COLLIDING = frozenset(name for name in BUILTINS if name not in {"len", "abs", "min", "max"})
# Builtins a program may also use as its own names (`max = 0`, `def sum(xs): ...`): renamed
# when the program binds them, since the Cadmus tree (or the Python renderer) reserves them.
_RENAMED_WHEN_BOUND = frozenset({"len", "abs", "min", "max", "bool"})

_UNSUPPORTED_STMTS: dict[type, str] = {
    pyast.ClassDef: "class definitions are",
    pyast.Import: "imports are",
    pyast.ImportFrom: "imports are",
    pyast.Global: "'global' statements are",
    pyast.Nonlocal: "'nonlocal' statements are",
    pyast.Try: "'try' statements are",
    pyast.With: "'with' statements are",
    pyast.AsyncWith: "'async with' statements are",
    pyast.AsyncFor: "'async for' loops are",
    pyast.AsyncFunctionDef: "async functions are",
    pyast.Raise: "'raise' statements are",
    pyast.Delete: "'del' statements are",
    pyast.AnnAssign: "annotated assignments are",
    pyast.Match: "'match' statements are",
}
if hasattr(pyast, "TryStar"):
    _UNSUPPORTED_STMTS[pyast.TryStar] = "'try' statements are"

_UNSUPPORTED_EXPRS: dict[type, str] = {
    pyast.Lambda: "lambdas are",
    pyast.SetComp: "set comprehensions are",
    pyast.DictComp: "dict comprehensions are",
    pyast.GeneratorExp: "generator expressions (other than the argument of sum, min, max, any, all, "
    "sorted or list) are",
    pyast.Dict: "dicts are",
    pyast.Set: "sets are",
    pyast.Tuple: "tuples (other than in assignments and loop targets) are",
    pyast.NamedExpr: "assignment expressions (:=) are",
    pyast.Await: "'await' is",
    pyast.Yield: "'yield' is",
    pyast.YieldFrom: "'yield from' is",
    pyast.JoinedStr: "f-strings are",
    pyast.FormattedValue: "f-strings are",
    pyast.Attribute: "attribute access is",
    pyast.Starred: "starred expressions are",
    pyast.Slice: "slices outside a subscript are",
}


def from_python(text: str, file: str | None = None) -> Module:
    """Translate integer Python source to a Cadmus `Module`.

    Raises `ParseError` for text that is not Python and `UnsupportedPython`
    for Python outside what Cadmus supports. The source is only parsed,
    never run.
    """
    try:
        with warnings.catch_warnings():  # e.g. SyntaxWarning: the error (if any) says it better
            warnings.simplefilter("ignore")
            tree = pyast.parse(text, filename=file or "<python>", mode="exec")
    except SyntaxError as err:
        col = err.offset if err.offset else None
        raise ParseError(f"Python syntax error: {err.msg}", file=file, line=err.lineno, col=col) from None
    except RecursionError:
        raise ParseError("Python syntax error: nested too deeply", file=file, line=1, col=1) from None
    except ValueError as err:  # e.g. NUL bytes in the source
        raise ParseError(f"Python syntax error: {err}", file=file, line=1, col=1) from None
    translator = _Translator(file, tree)
    try:
        module = translator.module(tree)
        check_kinds(module, translator.marks, file)
    except RecursionError:
        raise UnsupportedPython(
            f"programs nested this deeply are {SUFFIX}", file=file, line=1, col=1
        ) from None
    return module


def _is_docstring(stmt: pyast.stmt) -> bool:
    return (
        isinstance(stmt, pyast.Expr)
        and isinstance(stmt.value, pyast.Constant)
        and isinstance(stmt.value.value, str)
    )


def _is_call_of(node: pyast.expr, name: str) -> bool:
    return isinstance(node, pyast.Call) and isinstance(node.func, pyast.Name) and node.func.id == name


class _Translator(Lowering):
    """Statements and expressions; the lowering of what has no node lives in `Lowering`."""

    def __init__(self, file: str | None, tree: pyast.Module) -> None:
        used: set[str] = set()
        bound: set[str] = set()
        for node in pyast.walk(tree):
            if isinstance(node, pyast.Name):
                used.add(node.id)
                if isinstance(node.ctx, pyast.Store):
                    bound.add(node.id)
            elif isinstance(node, pyast.FunctionDef):
                used.add(node.name)
                bound.add(node.name)
            elif isinstance(node, pyast.arg):
                used.add(node.arg)
                bound.add(node.arg)
        renames: dict[str, str] = {}
        taken = used | set(BUILTINS)
        for name in sorted((used & _COLLIDING) | (bound & _RENAMED_WHEN_BOUND)):
            new = name + "_"
            while new in taken:
                new += "_"
            taken.add(new)
            renames[name] = new
        super().__init__(file, taken, bound, renames)
        self.signatures: dict[str, tuple[list[str], dict[str, pyast.expr]]] = {}  # params, defaults
        self.in_function = False

    # ---- names --------------------------------------------------------------

    def bind(self, name: str, node: pyast.AST) -> str:
        """A name the program defines (variable, parameter, loop variable, function)."""
        if name in PYTHON_RESERVED:
            raise UnsupportedPython(
                f"rebinding the builtin '{name}' is {SUFFIX}", file=self.file, **pos_of(node)
            )
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        return self.renames.get(name, name)

    # ---- statements ---------------------------------------------------------

    def module(self, tree: pyast.Module) -> Module:
        body = tree.body
        if body and _is_docstring(body[0]):
            body = body[1:]
        for stmt in body:
            if isinstance(stmt, pyast.FunctionDef):
                self.funcs.add(stmt.name)
                params = [arg.arg for arg in stmt.args.args]
                defaults = dict(
                    zip(params[len(params) - len(stmt.args.defaults) :], stmt.args.defaults, strict=True)
                )
                self.signatures[stmt.name] = (params, defaults)
        out: list[Stmt] = []
        for stmt in body:
            out += self.stmt(stmt, top=True)
        return Module(tuple(out), line=1, col=1)

    def block(self, body: list[pyast.stmt]) -> tuple[Stmt, ...]:
        """Translate a nested block (the statement around it keeps its own pending statements)."""
        saved, self.pre = self.pre, []
        try:
            out: list[Stmt] = []
            for stmt in body:
                out += self.stmt(stmt)
            return tuple(out) if out else (Pass(**pos_of(body[0])),) if body else ()
        finally:
            self.pre = saved

    def stmt(self, node: pyast.stmt, top: bool = False) -> list[Stmt]:
        """The statements for one Python statement: what its expressions need first, then itself."""
        saved, self.pre = self.pre, []
        try:
            main = self.stmt_main(node, top)
            return self.pre + main
        finally:
            self.pre = saved

    def stmt_main(self, node: pyast.stmt, top: bool) -> list[Stmt]:
        pos = pos_of(node)
        kind = type(node)
        if kind is pyast.Assign:
            return self.assign(node)
        if kind is pyast.AugAssign:
            return self.aug_assign(node)
        if kind is pyast.If:
            test = self.expr(node.test)
            return [If(test, self.block(node.body), self.block(node.orelse), **pos)]
        if kind is pyast.While:
            return self.while_(node)
        if kind is pyast.For:
            return self.for_(node)
        if kind is pyast.FunctionDef:
            return [self.funcdef(node, top)]
        if kind is pyast.Return:
            if not self.in_function:
                raise self.syntax(node, "'return' outside function")
            if isinstance(node.value, pyast.Tuple):
                raise self.no(node.value, "returning several values (a tuple) is")
            return [Return(None if node.value is None else self.expr(node.value), **pos)]
        if kind is pyast.Expr:
            return self.expr_stmt(node)
        if kind is pyast.Assert:
            if node.msg is not None and not (
                isinstance(node.msg, pyast.Constant) and isinstance(node.msg.value, str)
            ):
                raise self.no(node.msg, "assert messages other than a string literal are")
            return [Assert(self.expr(node.test), **pos)]
        if kind is pyast.Break or kind is pyast.Continue:
            if not self.loops:
                word = "break" if kind is pyast.Break else "continue"
                raise self.syntax(node, f"'{word}' outside loop")
            if kind is pyast.Continue:
                return [Continue(**pos)]
            flag = self.loops[-1]
            if flag is None:
                return [Break(**pos)]
            return [Assign(Name(flag, **pos), self.true(pos), **pos), Break(**pos)]
        if kind is pyast.Pass:
            return [Pass(**pos)]
        what = _UNSUPPORTED_STMTS.get(kind, f"'{kind.__name__}' statements are")
        raise self.no(node, what)

    def loop_body(self, body: list[pyast.stmt], flag: str | None) -> tuple[Stmt, ...]:
        self.loops.append(flag)
        try:
            return self.block(body)
        finally:
            self.loops.pop()

    def assign(self, node: pyast.Assign) -> list[Stmt]:
        pos = pos_of(node)
        targets = node.targets
        for target in targets:
            self.check_target(target)
        if len(targets) == 1 and not isinstance(targets[0], pyast.Tuple | pyast.List):
            value = self.expr(node.value)
            return [self.assign_to(targets[0], value, pos)]
        if len(targets) == 1:
            return self.unpack(targets[0].elts, node.value, pos)
        # a = b = e: e once, then the targets left to right
        if any(isinstance(t, pyast.Tuple | pyast.List) for t in targets):
            raise self.no(node, "chained assignments with a tuple target are")
        value = self.spill(self.expr(node.value), pos)
        out: list[Stmt] = []
        for target in targets:
            out += self.stmt_of(lambda t=target: [self.assign_to(t, value, pos)])
        return out

    def check_target(self, node: pyast.expr) -> None:
        if isinstance(node, pyast.Name | pyast.Subscript):
            if isinstance(node, pyast.Subscript) and isinstance(node.slice, pyast.Slice):
                raise self.no(node, "assignment to a slice is")
            return
        if isinstance(node, pyast.Tuple | pyast.List):
            for elt in node.elts:
                if isinstance(elt, pyast.Tuple | pyast.List):
                    raise self.no(elt, "nested tuple targets are")
                if isinstance(elt, pyast.Starred):
                    raise self.no(elt, "starred assignment is")
                self.check_target(elt)
            return
        if isinstance(node, pyast.Attribute):
            raise self.no(node, "assignment to attributes is")
        if isinstance(node, pyast.Starred):
            raise self.no(node, "starred assignment is")
        raise self.no(node, f"assignment to {type(node).__name__} is")

    def assign_to(self, target: pyast.expr, value: Expr, pos: dict[str, int]) -> Stmt:
        """`target = value` where `value` is already evaluated (Python: the target's parts come after)."""
        if isinstance(target, pyast.Name):
            return Assign(Name(self.bind(target.id, target), **pos_of(target)), value, **pos)
        assert isinstance(target, pyast.Subscript)
        stmts, parts = self.capture(lambda: self.operands([target.value, target.slice]))
        if stmts:
            value = self.spill(value, pos)
            self.pre += stmts
        return Assign(Index(parts[0], parts[1], **pos_of(target)), value, **pos)

    def stmt_of(self, make: Callable[[], list[Stmt]]) -> list[Stmt]:
        """Statements `make` returns, preceded by what it added to the pending statements."""
        stmts, main = self.capture(make)
        return stmts + main

    def aug_assign(self, node: pyast.AugAssign) -> list[Stmt]:
        pos = pos_of(node)
        op = self.binop_kind(node.op, node)
        target = node.target
        if isinstance(target, pyast.Name) and isinstance(node.op, pyast.Add) and self.listy(node.value):
            # xs += [..]: list.extend in place (other names for the list see it)
            seq = self.must_be_list(Name(self.use(target.id), **pos_of(target)), "'+=' of a list on")
            self.extend(seq, node.value, pos)
            return [
                Assign(
                    Name(self.bind(target.id, target), **pos_of(target)),
                    Name(self.use(target.id), **pos),
                    **pos,
                )
            ]
        if isinstance(target, pyast.Name):
            name = Name(self.bind(target.id, target), **pos_of(target))
            stmts, value = self.capture(self.expr, node.value)
            if not stmts:
                return [AugAssign(name, op, value, **pos)]
            old = self.spill(Name(name.id, **pos_of(target)), pos)
            self.pre += stmts
            return [Assign(name, BinOp(op, old, value, **pos), **pos)]
        if isinstance(target, pyast.Subscript):
            if isinstance(target.slice, pyast.Slice):
                raise self.no(target, "augmented assignment to a slice is")
            array, index = self.operands([target.value, target.slice])
            stmts, value = self.capture(self.expr, node.value)
            if not stmts:
                return [AugAssign(Index(array, index, **pos_of(target)), op, value, **pos)]
            array = self.spill(array, pos)
            index = self.spill(index, pos)
            old = self.spill(Index(array, index, **pos_of(target)), pos)
            self.pre += stmts
            return [Assign(Index(array, index, **pos_of(target)), BinOp(op, old, value, **pos), **pos)]
        self.check_target(target)
        raise self.no(target, "augmented assignment to a tuple is")  # pragma: no cover - a syntax error

    def while_(self, node: pyast.While) -> list[Stmt]:
        pos = pos_of(node)
        flag = self.fresh("brk") if node.orelse and breaks_own_loop(node.body) else None
        stmts, test = self.capture(self.expr, node.test)
        body = self.loop_body(node.body, flag)
        if stmts:  # the test needs statements: evaluate it first thing in every iteration
            exit_ = If(Unary(UnaryKind.NOT, test, **pos), (Break(**pos),), **pos)
            loop: Stmt = While(Num(1, **pos), (*stmts, exit_, *body), **pos)
        else:
            loop = While(test, body, **pos)
        return self.with_else([loop], node.orelse, flag, pos)

    def with_else(
        self, loop: list[Stmt], orelse: list[pyast.stmt], flag: str | None, pos: dict[str, int]
    ) -> list[Stmt]:
        """A loop and its `else` block (run unless a `break` of the loop's own left it)."""
        if not orelse:
            return loop
        els = self.block(orelse)
        if flag is None:
            return loop + list(els)
        start = Assign(Name(flag, **pos), self.false(pos), **pos)
        return [start, *loop, If(Unary(UnaryKind.NOT, Name(flag, **pos), **pos), els, **pos)]

    def for_(self, node: pyast.For) -> list[Stmt]:
        pos = pos_of(node)
        flag = self.fresh("brk") if node.orelse and breaks_own_loop(node.body) else None
        target, it = node.target, node.iter
        if isinstance(target, pyast.Name) and self.is_range(it):
            start, stop, step = self.range_args(it, spill=False)
            var = self.bind(target.id, target)
            loop: list[Stmt] = [For(var, start, stop, step, self.loop_body(node.body, flag), **pos)]
            return self.with_else(loop, node.orelse, flag, pos)
        if isinstance(target, pyast.Tuple | pyast.List):
            for elt in target.elts:
                if not isinstance(elt, pyast.Name):
                    raise self.no(elt, "loop targets other than names are")
            names = [self.bind(elt.id, elt) for elt in target.elts]
        elif isinstance(target, pyast.Name):
            names = [self.bind(target.id, target)]
        else:
            raise self.no(target, "loop targets other than names are")
        source = self.prepare(it, body=node.body)
        if source.generators and len(source.generators) > 1:
            raise self.no(it, "'for' loops over a generator expression with several 'for' clauses are")
        loop = self.loop(source, pos, lambda _elems: list(self.loop_body(node.body, flag)), names=names)
        return self.with_else(loop, node.orelse, flag, pos)

    def funcdef(self, node: pyast.FunctionDef, top: bool) -> FuncDef:
        if not top:
            raise self.no(node, "function definitions inside other statements are")
        if node.decorator_list:
            raise self.no(node.decorator_list[0], "decorators are")
        a = node.args
        if a.vararg or a.kwarg:
            raise self.no(node, "*args and **kwargs are")
        if a.kwonlyargs or a.posonlyargs:
            raise self.no(node, "keyword-only and positional-only parameters are")
        for default in a.defaults:
            if const_value(self.default_value(default)) is None:
                raise self.no(default, "default parameter values other than integer constants are")
        if getattr(node, "type_params", None):
            raise self.no(node, "type parameters are")
        params = tuple(self.bind(arg.arg, arg) for arg in a.args)
        body = node.body
        if body and _is_docstring(body[0]):
            body = body[1:]
        self.in_function = True
        try:
            stmts = self.block(body) if body else (Pass(**pos_of(node)),)
        finally:
            self.in_function = False
        return FuncDef(self.bind(node.name, node), params, stmts, **pos_of(node))

    def expr_stmt(self, node: pyast.Expr) -> list[Stmt]:
        pos = pos_of(node)
        value = node.value
        if not isinstance(value, pyast.Call):
            if _is_docstring(node):
                raise self.no(node, "strings (other than docstrings) are")
            raise self.no(node, "expression statements other than calls are")
        if _is_call_of(value, "print"):
            return [self.print_(value)]
        if isinstance(value.func, pyast.Attribute):
            done = self.method(value, statement=True)
            if isinstance(done, list):
                return done
            return [ExprStmt(done, **pos)]
        call = self.call(value)
        if isinstance(call, Call):
            return [ExprStmt(call, **pos)]
        if self.pre:  # a builtin computed by statements (sum(xs) alone): they are the effect
            return []
        # e.g. int(x), which reads as x: a value nobody uses
        raise self.no(node, "statements that only compute a value (a call of int() on its own) are")

    def print_(self, node: pyast.Call) -> Print:
        if node.keywords:
            raise self.no(node.keywords[0], "print() keyword arguments (sep=, end=, ...) are")
        for arg in node.args:
            if isinstance(arg, pyast.Starred):
                raise self.no(arg, "starred arguments are")
        return Print(tuple(self.operands(node.args)), **pos_of(node))

    # ---- expressions --------------------------------------------------------

    def binop_kind(self, op: pyast.operator, node: pyast.AST) -> BinOpKind:
        kind = _BINOPS.get(type(op))
        if kind is not None:
            return kind
        if isinstance(op, pyast.Div):
            raise self.no(node, "true division '/' is")
        if isinstance(op, pyast.MatMult):
            raise self.no(node, "matrix multiplication '@' is")
        raise self.no(node, f"the operator {type(op).__name__} is")  # pragma: no cover

    def expr(self, node: pyast.expr) -> Expr:
        pos = pos_of(node)
        kind = type(node)
        if kind is pyast.Constant:
            return self.constant(node)
        if kind is pyast.Name:
            ident = node.id
            if not any(ident in scope for scope in self.scopes):
                if ident in self.funcs:
                    raise self.no(node, "functions used as values are")
                if ident in PYTHON_RESERVED or (ident in self.builtin_funcs and self.is_builtin(ident)):
                    raise self.no(node, f"the builtin '{ident}' used as a value is")
            return Name(self.use(ident), **pos)
        if kind is pyast.UnaryOp:
            op = node.op
            if isinstance(op, pyast.UAdd):
                value = const_value(operand := self.expr(node.operand))
                if value is not None and not self.marks.is_bool(operand):
                    return operand
                return BinOp(BinOpKind.ADD, Num(0, **pos), operand, **pos)  # +x: x as an int
            operand = self.expr(node.operand)
            if isinstance(op, pyast.USub):
                return Unary(UnaryKind.NEG, operand, **pos)
            if isinstance(op, pyast.Not):
                return Unary(UnaryKind.NOT, operand, **pos)
            return Unary(UnaryKind.INVERT, operand, **pos)
        if kind is pyast.BinOp:
            return self.binop(node)
        if kind is pyast.BoolOp:
            return self.boolop(node)
        if kind is pyast.Compare:
            return self.compare(node)
        if kind is pyast.IfExp:
            return self.ifexp(node)
        if kind is pyast.Call:
            if isinstance(node.func, pyast.Attribute):
                value = self.method(node, statement=False)
                assert not isinstance(value, list)
                return value
            return self.call(node)
        if kind is pyast.Subscript:
            if isinstance(node.slice, pyast.Slice):
                return self.slice_of(node)
            if isinstance(node.slice, pyast.Tuple):
                raise self.no(node, "tuple indices are")
            array, index = self.operands([node.value, node.slice])
            return Index(array, index, **pos)
        if kind is pyast.List:
            for elt in node.elts:
                if isinstance(elt, pyast.Starred):
                    raise self.no(elt, "starred expressions are")
            return ArrayLit(tuple(self.operands(node.elts)), **pos)
        if kind is pyast.ListComp:
            return self.materialize(self.gen_source(node), pos)
        what = _UNSUPPORTED_EXPRS.get(kind, f"'{kind.__name__}' expressions are")
        raise self.no(node, what)

    def constant(self, node: pyast.Constant) -> Expr:
        value = node.value
        pos = pos_of(node)
        if isinstance(value, bool):
            return self.true(pos) if value else self.false(pos)
        if isinstance(value, int):
            return Num(value, **pos)
        if isinstance(value, float):
            raise self.no(node, "float literals are")
        if isinstance(value, complex):
            raise self.no(node, "complex literals are")
        if isinstance(value, str):
            raise self.no(node, "string literals are")
        if isinstance(value, bytes):
            raise self.no(node, "bytes literals are")
        if value is None:
            raise self.no(node, "None is")
        raise self.no(node, "'...' is")

    def binop(self, node: pyast.BinOp) -> Expr:
        pos = pos_of(node)
        if isinstance(node.op, pyast.Mult):
            for lst, count in ((node.left, node.right), (node.right, node.left)):
                if isinstance(lst, pyast.List):
                    if (
                        len(lst.elts) == 1
                        and isinstance(lst.elts[0], pyast.Constant)
                        and type(lst.elts[0].value) is int
                        and lst.elts[0].value == 0
                    ):
                        return Call("array", (self.expr(count),), **pos)
                    return self.repeat(node, lst, count)
        if isinstance(node.op, pyast.Add) and (self.listy(node.left) or self.listy(node.right)):
            return self.concat(node)
        op = self.binop_kind(node.op, node)
        left, right = self.operands([node.left, node.right])
        return BinOp(op, left, right, **pos)

    def boolop(self, node: pyast.BoolOp) -> Expr:
        pos = pos_of(node)
        op = BoolKind.AND if isinstance(node.op, pyast.And) else BoolKind.OR
        result = self.expr(node.values[0])
        for value in node.values[1:]:
            stmts, right = self.capture(self.expr, value)
            if not stmts:
                result = BoolOp(op, result, right, **pos)
                continue
            # the right operand needs statements: they run only when the left one does not decide
            t = self.fresh("t")
            self.pre.append(Assign(Name(t, **pos), result, **pos))
            test: Expr = Name(t, **pos) if op is BoolKind.AND else Unary(UnaryKind.NOT, Name(t, **pos), **pos)
            self.pre.append(If(test, (*stmts, Assign(Name(t, **pos), right, **pos)), **pos))
            result = Name(t, **pos)
        return result

    def ifexp(self, node: pyast.IfExp) -> Expr:
        pos = pos_of(node)
        test = self.expr(node.test)
        t = self.fresh("t")
        yes = self.stmt_of(lambda: [Assign(Name(t, **pos), self.expr(node.body), **pos)])
        no = self.stmt_of(lambda: [Assign(Name(t, **pos), self.expr(node.orelse), **pos)])
        self.pre.append(If(test, tuple(yes), tuple(no), **pos))
        return Name(t, **pos)

    def compare(self, node: pyast.Compare) -> Expr:
        """One comparison, or a chain: each operand once, the later comparisons only while true."""
        pos = pos_of(node)
        ops = node.ops
        for i, op in enumerate(ops):
            if isinstance(op, pyast.Is | pyast.IsNot):
                word = "'is'" if isinstance(op, pyast.Is) else "'is not'"
                raise self.no(node, f"{word} comparisons are")
            if isinstance(op, pyast.In | pyast.NotIn) and i < len(ops) - 1:
                raise self.no(node, "'in' in the middle of a chained comparison is")
        left = self.expr(node.left)
        first, left = self.compare_step(ops[0], left, node.comparators[0], len(ops) > 1, pos)
        if len(ops) == 1:
            return first
        later: list[tuple[list[Stmt], Expr]] = []
        for i in range(1, len(ops)):
            middle = i < len(ops) - 1
            stmts, (cond, left) = self.capture(
                self.compare_step, ops[i], left, node.comparators[i], middle, pos
            )
            later.append((stmts, cond))
        if not any(stmts for stmts, _ in later):
            result = first
            for _, cond in later:
                result = BoolOp(BoolKind.AND, result, cond, **pos)
            return result
        r = self.fresh("t")
        nested: tuple[Stmt, ...] = ()
        for stmts, cond in reversed(later):
            inner: list[Stmt] = [*stmts, Assign(Name(r, **pos), cond, **pos)]
            if nested:
                inner.append(If(Name(r, **pos), nested, **pos))
            nested = tuple(inner)
        self.pre.append(Assign(Name(r, **pos), first, **pos))
        self.pre.append(If(Name(r, **pos), nested, **pos))
        return Name(r, **pos)

    def compare_step(
        self,
        op: pyast.cmpop,
        left: Expr,
        right_node: pyast.expr,
        middle: bool,
        pos: dict[str, int],
    ) -> tuple[Expr, Expr]:
        """`left op right`; returns it and the right operand (the next comparison's left)."""
        if isinstance(op, pyast.In | pyast.NotIn):
            found = self.membership(left, right_node, pos, negate=isinstance(op, pyast.NotIn))
            return found, found
        stmts, right = self.capture(self.expr, right_node)
        if stmts:
            left = self.spill(left, pos)
            self.pre += stmts
        if middle and const_value(right) is None and not isinstance(right, Name):
            left = self.spill(left, pos)  # evaluated before the operand saved now
            right = self.spill(right, pos)
        return Compare(CMPOPS[type(op)], left, right, **pos), right

    # ---- calls --------------------------------------------------------------

    def call(self, node: pyast.Call) -> Expr:
        pos = pos_of(node)
        for arg in node.args:
            if isinstance(arg, pyast.Starred):
                raise self.no(arg, "starred arguments are")
        func = node.func
        if not isinstance(func, pyast.Name):
            raise self.no(node, "calls of anything but a named function are")
        name = func.id
        if any(name in scope for scope in self.scopes):
            raise self.no(node, f"calling the loop variable '{name}' is")
        if name in self.funcs:
            return self.user_call(name, node)
        if name == "print":
            raise self.no(node, "print() used as a value is")
        if name == "input":
            raise self.no(node, "input() other than int(input()) is")
        if name == "int":
            return self.int_call(node)
        if name == "range":
            raise self.no(node, "range() outside a 'for' loop, a comprehension or list(...) is")
        if name in self.builtin_funcs and self.is_builtin(name):
            return self.builtin(name, node)
        if name in self.bound:
            raise self.no(node, f"calling '{name}', a name this program assigns (not a function), is")
        if node.keywords:
            raise self.no(node.keywords[0], "keyword arguments are")
        if name in self.python_builtins and name not in self.bound:
            raise self.no(node, f"the builtin '{name}' is")
        # a variable or an undefined name: the semantic check reports it
        return Call(self.use(name), tuple(self.operands(node.args)), **pos)

    def default_value(self, node: pyast.expr) -> Expr:
        """A parameter's default: an integer constant (Python evaluates it once, at the `def`)."""
        if isinstance(node, pyast.UnaryOp) and isinstance(node.op, pyast.USub | pyast.UAdd):
            inner = self.default_value(node.operand)
            value = const_value(inner)
            if value is not None and isinstance(node.op, pyast.USub):
                return num(-value)
            return inner
        if isinstance(node, pyast.Constant) and isinstance(node.value, int):
            return Num(int(node.value), **pos_of(node))
        return Name("", **pos_of(node))  # not a constant: funcdef refuses it

    def user_call(self, name: str, node: pyast.Call) -> Expr:
        """A call of the program's function: keyword arguments and defaults become positions."""
        pos = pos_of(node)
        params, defaults = self.signatures[name]
        if not node.keywords and len(node.args) >= len(params) - len(defaults):
            args = self.operands(node.args)
            args += [self.default_value(defaults[p]) for p in params[len(args) :] if p in defaults]
            return Call(self.use(name), tuple(args), **pos)
        for kw in node.keywords:
            if kw.arg is None:
                raise self.no(kw, "** arguments are")
        values = self.operands([*node.args, *(kw.value for kw in node.keywords)])
        if node.keywords:  # the values are passed in another order than written: evaluate them now
            values = [self.spill(v, pos) for v in values]
        slots: dict[str, Expr] = dict(zip(params, values[: len(node.args)], strict=False))
        for kw, value in zip(node.keywords, values[len(node.args) :], strict=True):
            if kw.arg not in params:
                raise self.no(kw, f"the keyword argument '{kw.arg}' (not a parameter of '{name}') is")
            if kw.arg in slots:
                raise self.no(kw, f"giving the argument '{kw.arg}' twice is")
            slots[kw.arg] = value
        args: list[Expr] = []
        for param in params:
            if param in slots:
                args.append(slots[param])
            elif param in defaults:
                args.append(self.default_value(defaults[param]))
            else:
                raise self.no(node, f"calling '{name}' without its argument '{param}' is")
        return Call(self.use(name), tuple(args), **pos)

    def int_call(self, node: pyast.Call) -> Expr:
        if node.keywords or len(node.args) != 1:
            raise self.no(node, f"int() with {len(node.args) + len(node.keywords)} arguments is")
        arg = node.args[0]
        if _is_call_of(arg, "input"):
            assert isinstance(arg, pyast.Call)
            if arg.args or arg.keywords:
                raise self.no(arg, "input() with a prompt is")
            return Call("read", (), **pos_of(node))
        inner = self.expr(arg)
        self.marks.int_ids.add(id(inner))
        return inner
