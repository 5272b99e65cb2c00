"""The Python front end: a documented subset of Python, read into the Cadmus AST.

The text is parsed with Python's own `ast` module and translated node by
node; nothing is ever executed, compiled to bytecode or evaluated. Anything
outside the subset (see `docs/python.md`) raises `UnsupportedPython` naming
the construct with its line and column (columns count from 1).

Beyond syntax, a small static pass rejects programs whose CPython meaning the
VM cannot reproduce, where that can be told without running them: printing a
comparison result (CPython prints `True`/`False`), printing a list, storing a
boolean in a list, arithmetic on or comparison of lists, the truth value of a
list, a negative constant exponent, and using as a value a function that can
end without returning one (CPython would give `None`).
"""

from __future__ import annotations

import ast as pyast
import builtins
import warnings

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
    children,
    const_value,
)
from cadmus.lang.errors import ParseError, UnsupportedPython
from cadmus.lang.flow import always_returns

__all__ = ["PYTHON_RESERVED", "from_python"]

_SUFFIX = "not supported in the Cadmus Python subset"

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
_CMPOPS: dict[type, CmpKind] = {
    pyast.Eq: CmpKind.EQ,
    pyast.NotEq: CmpKind.NE,
    pyast.Lt: CmpKind.LT,
    pyast.LtE: CmpKind.LE,
    pyast.Gt: CmpKind.GT,
    pyast.GtE: CmpKind.GE,
}

# Python builtins the subset itself uses: a program may not rebind them.
PYTHON_RESERVED = frozenset({"print", "range", "len", "abs", "min", "max", "int", "input"})
# Cadmus builtins that are ordinary names in Python: renamed when a program uses them.
_COLLIDING = frozenset(name for name in BUILTINS if name not in PYTHON_RESERVED)
_PY_BUILTINS = frozenset(dir(builtins))

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
    pyast.ListComp: "list comprehensions are",
    pyast.SetComp: "set comprehensions are",
    pyast.DictComp: "dict comprehensions are",
    pyast.GeneratorExp: "generator expressions are",
    pyast.Dict: "dicts are",
    pyast.Set: "sets are",
    pyast.Tuple: "tuples are",
    pyast.IfExp: "conditional expressions (x if c else y) are",
    pyast.NamedExpr: "assignment expressions (:=) are",
    pyast.Await: "'await' is",
    pyast.Yield: "'yield' is",
    pyast.YieldFrom: "'yield from' is",
    pyast.JoinedStr: "f-strings are",
    pyast.FormattedValue: "f-strings are",
    pyast.Attribute: "attribute access is",
    pyast.Starred: "starred expressions are",
    pyast.Slice: "slicing is",
}

_BOOL, _LIST = 1, 2  # "may be a bool", "may be a list" (kind masks of the static pass)


def from_python(text: str, file: str | None = None) -> Module:
    """Translate Python source in the documented subset to a Cadmus `Module`.

    Raises `ParseError` for text that is not Python and `UnsupportedPython`
    for Python outside the subset. The source is only parsed, never run.
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
        _KindCheck(translator, module).run()
    except RecursionError:
        raise UnsupportedPython(
            f"programs nested this deeply are {_SUFFIX}", file=file, line=1, col=1
        ) from None
    return module


def _pos(node: pyast.AST) -> dict[str, int]:
    return {"line": getattr(node, "lineno", 0), "col": getattr(node, "col_offset", -1) + 1}


def _is_docstring(stmt: pyast.stmt) -> bool:
    return (
        isinstance(stmt, pyast.Expr)
        and isinstance(stmt.value, pyast.Constant)
        and isinstance(stmt.value.value, str)
    )


class _Translator:
    def __init__(self, file: str | None, tree: pyast.Module) -> None:
        self.file = file
        self.funcs: set[str] = set()
        self.loop_depth = 0
        self.in_function = False
        # identity sets the static pass reads: literal True/False, and int(...) results
        self.bool_ids: set[int] = set()
        self.int_ids: set[int] = set()
        used: set[str] = set()
        for node in pyast.walk(tree):
            if isinstance(node, pyast.Name):
                used.add(node.id)
            elif isinstance(node, pyast.FunctionDef):
                used.add(node.name)
            elif isinstance(node, pyast.arg):
                used.add(node.arg)
        self.renames: dict[str, str] = {}
        taken = set(used) | set(BUILTINS)
        for name in sorted(used & _COLLIDING):
            new = name + "_"
            while new in taken:
                new += "_"
            taken.add(new)
            self.renames[name] = new

    # ---- errors -------------------------------------------------------------

    def no(self, node: pyast.AST, what: str) -> UnsupportedPython:
        """`what` ends with its verb: "float literals are"."""
        return UnsupportedPython(f"{what} {_SUFFIX}", file=self.file, **_pos(node))

    def syntax(self, node: pyast.AST, message: str) -> ParseError:
        return ParseError(message, file=self.file, **_pos(node))

    # ---- names --------------------------------------------------------------

    def bind(self, name: str, node: pyast.AST) -> str:
        """A name the program defines (variable, parameter, loop variable, function)."""
        if name in PYTHON_RESERVED:
            raise UnsupportedPython(
                f"rebinding the builtin '{name}' is {_SUFFIX}", file=self.file, **_pos(node)
            )
        return self.renames.get(name, name)

    def use(self, name: str) -> str:
        return self.renames.get(name, name)

    # ---- statements ---------------------------------------------------------

    def module(self, tree: pyast.Module) -> Module:
        body = tree.body
        if body and _is_docstring(body[0]):
            body = body[1:]
        for stmt in body:
            if isinstance(stmt, pyast.FunctionDef):
                self.funcs.add(stmt.name)
        stmts = self.block(body, top=True)
        return Module(tuple(stmts), line=1, col=1)

    def block(self, body: list[pyast.stmt], top: bool = False) -> list[Stmt]:
        out: list[Stmt] = []
        for stmt in body:
            out.append(self.stmt(stmt, top))
        return out

    def stmt(self, node: pyast.stmt, top: bool = False) -> Stmt:
        pos = _pos(node)
        kind = type(node)
        if kind is pyast.Assign:
            if len(node.targets) != 1:
                raise self.no(node, "chained assignments (a = b = ...) are")
            target = self.target(node.targets[0])
            return Assign(target, self.expr(node.value), **pos)
        if kind is pyast.AugAssign:
            op = self.binop_kind(node.op, node)
            return AugAssign(self.target(node.target), op, self.expr(node.value), **pos)
        if kind is pyast.If:
            return If(self.expr(node.test), self.body(node.body), self.body(node.orelse), **pos)
        if kind is pyast.While:
            if node.orelse:
                raise self.no(node, "'while ... else' is")
            test = self.expr(node.test)
            return While(test, self.loop_body(node.body), **pos)
        if kind is pyast.For:
            return self.for_(node)
        if kind is pyast.FunctionDef:
            return self.funcdef(node, top)
        if kind is pyast.Return:
            if not self.in_function:
                raise self.syntax(node, "'return' outside function")
            return Return(None if node.value is None else self.expr(node.value), **pos)
        if kind is pyast.Expr:
            return self.expr_stmt(node)
        if kind is pyast.Assert:
            if node.msg is not None:
                raise self.no(node.msg, "assert messages are")
            return Assert(self.expr(node.test), **pos)
        if kind is pyast.Break or kind is pyast.Continue:
            if not self.loop_depth:
                word = "break" if kind is pyast.Break else "continue"
                raise self.syntax(node, f"'{word}' outside loop")
            return Break(**pos) if kind is pyast.Break else Continue(**pos)
        if kind is pyast.Pass:
            return Pass(**pos)
        what = _UNSUPPORTED_STMTS.get(kind, f"'{kind.__name__}' statements are")
        raise self.no(node, what)

    def body(self, body: list[pyast.stmt]) -> tuple[Stmt, ...]:
        return tuple(self.block(body))

    def loop_body(self, body: list[pyast.stmt]) -> tuple[Stmt, ...]:
        self.loop_depth += 1
        try:
            return self.body(body)
        finally:
            self.loop_depth -= 1

    def target(self, node: pyast.expr) -> Name | Index:
        if isinstance(node, pyast.Name):
            return Name(self.bind(node.id, node), **_pos(node))
        if isinstance(node, pyast.Subscript):
            return self.subscript(node)
        if isinstance(node, pyast.Tuple | pyast.List):
            raise self.no(node, "tuple unpacking is")
        if isinstance(node, pyast.Attribute):
            raise self.no(node, "assignment to attributes is")
        if isinstance(node, pyast.Starred):
            raise self.no(node, "starred assignment is")
        raise self.no(node, f"assignment to {type(node).__name__} is")

    def for_(self, node: pyast.For) -> For:
        if node.orelse:
            raise self.no(node, "'for ... else' is")
        if not isinstance(node.target, pyast.Name):
            raise self.no(node.target, "loop targets other than a single name are")
        it = node.iter
        if not (
            isinstance(it, pyast.Call)
            and isinstance(it.func, pyast.Name)
            and it.func.id == "range"
            and it.func.id not in self.funcs
        ):
            raise self.no(it, "'for' loops over anything but range(...) are")
        if it.keywords:
            raise self.no(it.keywords[0], "keyword arguments are")
        for arg in it.args:
            if isinstance(arg, pyast.Starred):
                raise self.no(arg, "starred arguments are")
        if not 1 <= len(it.args) <= 3:
            raise self.no(it, f"range() with {len(it.args)} arguments is")
        args = [self.expr(arg) for arg in it.args]
        var = self.bind(node.target.id, node.target)
        if len(args) == 1:
            start: Expr = Num(0, **_pos(it))
            stop, step = args[0], None
        else:
            start, stop = args[0], args[1]
            step = args[2] if len(args) == 3 else None
        return For(var, start, stop, step, self.loop_body(node.body), **_pos(node))

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
        if a.defaults or a.kw_defaults:
            raise self.no(node, "default parameter values are")
        if getattr(node, "type_params", None):
            raise self.no(node, "type parameters are")
        params = tuple(self.bind(arg.arg, arg) for arg in a.args)
        body = node.body
        if body and _is_docstring(body[0]):
            body = body[1:]
        self.in_function = True
        try:
            stmts = self.body(body) if body else (Pass(**_pos(node)),)
        finally:
            self.in_function = False
        return FuncDef(self.bind(node.name, node), params, stmts, **_pos(node))

    def expr_stmt(self, node: pyast.Expr) -> Stmt:
        value = node.value
        if not isinstance(value, pyast.Call):
            if _is_docstring(node):
                raise self.no(node, "strings (other than docstrings) are")
            raise self.no(node, "expression statements other than calls are")
        if isinstance(value.func, pyast.Name) and value.func.id == "print" and "print" not in self.funcs:
            return self.print_(value)
        call = self.call(value, statement=True)
        if not isinstance(call, Call):  # e.g. int(x), which the subset reads as x: a value nobody uses
            raise self.no(node, "statements that only compute a value (a call of int() on its own) are")
        return ExprStmt(call, **_pos(node))

    def print_(self, node: pyast.Call) -> Print:
        if node.keywords:
            raise self.no(node.keywords[0], "print() keyword arguments (sep=, end=, ...) are")
        args = []
        for arg in node.args:
            if isinstance(arg, pyast.Starred):
                raise self.no(arg, "starred arguments are")
            args.append(self.expr(arg))
        return Print(tuple(args), **_pos(node))

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
        pos = _pos(node)
        kind = type(node)
        if kind is pyast.Constant:
            return self.constant(node)
        if kind is pyast.Name:
            if node.id in self.funcs:
                raise self.no(node, "functions used as values are")
            if node.id in PYTHON_RESERVED:
                raise self.no(node, f"the builtin '{node.id}' used as a value is")
            return Name(self.use(node.id), **pos)
        if kind is pyast.UnaryOp:
            operand = self.expr(node.operand)
            op = node.op
            if isinstance(op, pyast.USub):
                return Unary(UnaryKind.NEG, operand, **pos)
            if isinstance(op, pyast.Not):
                return Unary(UnaryKind.NOT, operand, **pos)
            if isinstance(op, pyast.Invert):
                return Unary(UnaryKind.INVERT, operand, **pos)
            raise self.no(node, "unary '+' is")
        if kind is pyast.BinOp:
            return self.binop(node)
        if kind is pyast.BoolOp:
            op = BoolKind.AND if isinstance(node.op, pyast.And) else BoolKind.OR
            values = [self.expr(v) for v in node.values]
            result = values[0]
            for value in values[1:]:
                result = BoolOp(op, result, value, **pos)
            return result
        if kind is pyast.Compare:
            if len(node.ops) != 1:
                raise self.no(node, "chained comparisons (a < b < c) are")
            cmp = _CMPOPS.get(type(node.ops[0]))
            if cmp is None:
                word = {
                    pyast.Is: "'is'",
                    pyast.IsNot: "'is not'",
                    pyast.In: "'in'",
                    pyast.NotIn: "'not in'",
                }.get(type(node.ops[0]), "this comparison")
                raise self.no(node, f"{word} comparisons are")
            return Compare(cmp, self.expr(node.left), self.expr(node.comparators[0]), **pos)
        if kind is pyast.Call:
            return self.call(node, statement=False)
        if kind is pyast.Subscript:
            return self.subscript(node)
        if kind is pyast.List:
            return ArrayLit(tuple(self.expr(e) for e in node.elts), **pos)
        what = _UNSUPPORTED_EXPRS.get(kind, f"'{kind.__name__}' expressions are")
        raise self.no(node, what)

    def constant(self, node: pyast.Constant) -> Expr:
        value = node.value
        pos = _pos(node)
        if isinstance(value, bool):
            out = Num(int(value), **pos)
            self.bool_ids.add(id(out))
            return out
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
        pos = _pos(node)
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
                    raise self.no(node, "list repetition other than [0] * n is")
        if isinstance(node.op, pyast.Add) and (
            isinstance(node.left, pyast.List) or isinstance(node.right, pyast.List)
        ):
            raise self.no(node, "list concatenation is")
        op = self.binop_kind(node.op, node)
        return BinOp(op, self.expr(node.left), self.expr(node.right), **pos)

    def subscript(self, node: pyast.Subscript) -> Index:
        if isinstance(node.slice, pyast.Slice):
            raise self.no(node, "slicing is")
        if isinstance(node.slice, pyast.Tuple):
            raise self.no(node, "tuple indices are")
        return Index(self.expr(node.value), self.expr(node.slice), **_pos(node))

    def call(self, node: pyast.Call, *, statement: bool) -> Expr:
        pos = _pos(node)
        if node.keywords:
            raise self.no(node.keywords[0], "keyword arguments are")
        for arg in node.args:
            if isinstance(arg, pyast.Starred):
                raise self.no(arg, "starred arguments are")
        func = node.func
        nargs = len(node.args)
        if isinstance(func, pyast.Attribute):
            obj = self.expr(func.value)
            if func.attr == "append":
                if not statement:
                    raise self.no(node, "append() used as a value (CPython gives None) is")
                if nargs != 1:
                    raise self.no(node, f"append with {nargs} arguments is")
                return Call("append", (obj, self.expr(node.args[0])), **pos)
            if func.attr == "pop":
                if nargs:
                    raise self.no(node, "pop with an index is")
                return Call("pop", (obj,), **pos)
            raise self.no(node, f"the method '.{func.attr}()' is")
        if not isinstance(func, pyast.Name):
            raise self.no(node, "calls of anything but a named function are")
        name = func.id
        if name in self.funcs:
            return Call(self.use(name), tuple(self.expr(a) for a in node.args), **pos)
        if name == "print":
            raise self.no(node, "print() used as a value is")
        if name == "int":
            if nargs != 1:
                raise self.no(node, f"int() with {nargs} arguments is")
            arg = node.args[0]
            if isinstance(arg, pyast.Call) and isinstance(arg.func, pyast.Name) and arg.func.id == "input":
                if arg.args or arg.keywords:
                    raise self.no(arg, "input() with a prompt is")
                return Call("read", (), **pos)
            inner = self.expr(arg)
            self.int_ids.add(id(inner))
            return inner
        if name == "input":
            raise self.no(node, "input() other than int(input()) is")
        if name == "range":
            raise self.no(node, "range() outside a 'for' loop is")
        if name in ("len", "abs"):
            if nargs != 1:
                raise self.no(node, f"{name}() with {nargs} arguments is")
        elif name in ("min", "max"):
            if nargs != 2:
                raise self.no(node, f"{name}() with {nargs} arguments (only 2) is")
        elif name in _PY_BUILTINS:
            raise self.no(node, f"the builtin '{name}' is")
        else:
            name = self.use(name)  # undefined: the semantic check reports it
        return Call(name, tuple(self.expr(a) for a in node.args), **pos)


# ---- the static pass: what CPython would print or do differently -----------


def _exprs_of(stmt: Stmt) -> list[Expr]:
    if isinstance(stmt, Assign):
        out = [stmt.value]
        if isinstance(stmt.target, Index):
            out += [stmt.target.array, stmt.target.index]
        return out
    if isinstance(stmt, AugAssign):
        out = [stmt.value]
        if isinstance(stmt.target, Index):
            out += [stmt.target.array, stmt.target.index]
        return out
    if isinstance(stmt, If | While):
        return [stmt.cond]
    if isinstance(stmt, For):
        return [e for e in (stmt.start, stmt.stop, stmt.step) if e is not None]
    if isinstance(stmt, Return):
        return [] if stmt.value is None else [stmt.value]
    if isinstance(stmt, Print):
        return list(stmt.args)
    if isinstance(stmt, Assert):
        return [stmt.test]
    if isinstance(stmt, ExprStmt):
        return [stmt.value]
    return []


def _walk_stmts(body: tuple[Stmt, ...]):
    for stmt in body:
        yield stmt
        if isinstance(stmt, If):
            yield from _walk_stmts(stmt.body)
            yield from _walk_stmts(stmt.orelse)
        elif isinstance(stmt, While | For):
            yield from _walk_stmts(stmt.body)


def _walk_expr(expr: Expr):
    yield expr
    for child in children(expr):
        yield from _walk_expr(child)


class _KindCheck:
    """Flow-insensitive "may be a bool / may be a list" masks per scope, then checks."""

    def __init__(self, translator: _Translator, module: Module) -> None:
        self.t = translator
        self.module = module
        self.funcs = {s.name: s for s in module.body if isinstance(s, FuncDef)}
        self.top = tuple(s for s in module.body if not isinstance(s, FuncDef))
        self.env: dict[str | None, dict[str, int]] = {None: {}}
        self.local_names: dict[str, set[str]] = {}
        self.ret: dict[str, int] = {}
        for name, fd in self.funcs.items():
            self.env[name] = {}
            self.ret[name] = 0
            names = set(fd.params)
            for stmt in _walk_stmts(fd.body):
                if isinstance(stmt, Assign | AugAssign) and isinstance(stmt.target, Name):
                    names.add(stmt.target.id)
                elif isinstance(stmt, For):
                    names.add(stmt.var)
            self.local_names[name] = names

    def scopes(self):
        yield None, self.top
        for name, fd in self.funcs.items():
            yield name, fd.body

    def lookup(self, name: str, scope: str | None) -> int:
        if scope is not None and name in self.local_names[scope]:
            return self.env[scope].get(name, 0)
        return self.env[None].get(name, 0)

    def kind(self, e: Expr, scope: str | None) -> int:
        if id(e) in self.t.int_ids:
            return 0
        if isinstance(e, Num):
            return _BOOL if id(e) in self.t.bool_ids else 0
        if isinstance(e, Name):
            return self.lookup(e.id, scope)
        if isinstance(e, Compare):
            return _BOOL
        if isinstance(e, Unary):
            return _BOOL if e.op is UnaryKind.NOT else 0
        if isinstance(e, BoolOp):
            return self.kind(e.left, scope) | self.kind(e.right, scope)
        if isinstance(e, BinOp):
            if e.op in (BinOpKind.BAND, BinOpKind.BOR, BinOpKind.BXOR):
                return self.kind(e.left, scope) & self.kind(e.right, scope) & _BOOL
            return 0
        if isinstance(e, ArrayLit):
            return _LIST
        if isinstance(e, Call):
            if e.func in self.funcs:
                return self.ret[e.func]
            if e.func == "array":
                return _LIST
            if e.func in ("min", "max"):
                return self.kind(e.args[0], scope) | self.kind(e.args[1], scope)
            return 0
        return 0

    def join(self, table: dict[str, int], key: str, mask: int) -> bool:
        old = table.get(key, 0)
        if old | mask != old:
            table[key] = old | mask
            return True
        return False

    def propagate(self) -> bool:
        changed = False
        for scope, body in self.scopes():
            env = self.env[scope]
            for stmt in _walk_stmts(body):
                if isinstance(stmt, Assign) and isinstance(stmt.target, Name):
                    changed |= self.join(env, stmt.target.id, self.kind(stmt.value, scope))
                elif isinstance(stmt, Return) and scope is not None and stmt.value is not None:
                    changed |= self.join(self.ret, scope, self.kind(stmt.value, scope))
                for top in _exprs_of(stmt):
                    for e in _walk_expr(top):
                        if isinstance(e, Call) and e.func in self.funcs:
                            fd = self.funcs[e.func]
                            for param, arg in zip(fd.params, e.args):
                                changed |= self.join(self.env[e.func], param, self.kind(arg, scope))
        return changed

    def fail(self, node: Expr | Stmt, message: str) -> UnsupportedPython:
        return UnsupportedPython(message, file=self.t.file, line=node.line, col=node.col)

    def run(self) -> None:
        for _ in range(50):
            if not self.propagate():
                break
        used_as_value: set[str] = set()
        for _scope, body in self.scopes():
            for stmt in _walk_stmts(body):
                for top in _exprs_of(stmt):
                    for e in _walk_expr(top):
                        discarded = isinstance(stmt, ExprStmt) and e is stmt.value
                        if isinstance(e, Call) and e.func in self.funcs and not discarded:
                            used_as_value.add(e.func)
        for name in sorted(used_as_value):
            fd = self.funcs[name]
            bare = next((s for s in _walk_stmts(fd.body) if isinstance(s, Return) and s.value is None), None)
            if bare is not None or not always_returns(fd.body):
                where = bare if bare is not None else fd
                raise self.fail(
                    where,
                    f"function '{name}' is used as a value but can end without returning one "
                    "(CPython would give None)",
                )
        for scope, body in self.scopes():
            for stmt in _walk_stmts(body):
                self.check_stmt(stmt, scope)

    def check_stmt(self, stmt: Stmt, scope: str | None) -> None:
        kind = self.kind
        if isinstance(stmt, Print):
            for arg in stmt.args:
                k = kind(arg, scope)
                if k & _BOOL:
                    raise self.fail(
                        arg,
                        "printing a comparison or boolean value is not supported: CPython prints "
                        "True/False (wrap it in int(...))",
                    )
                if k & _LIST:
                    raise self.fail(arg, "printing a list is not supported in the Cadmus Python subset")
        elif isinstance(stmt, Assign) and isinstance(stmt.target, Index):
            self.element(stmt.value, scope)
        elif isinstance(stmt, AugAssign):
            if kind(stmt.target, scope) & _LIST or kind(stmt.value, scope) & _LIST:
                raise self.fail(stmt, f"augmented assignment on a list is {_SUFFIX}")
        elif isinstance(stmt, If | While):
            self.truth(stmt.cond, scope)
        elif isinstance(stmt, Assert):
            self.truth(stmt.test, scope)
        for top in _exprs_of(stmt):
            for e in _walk_expr(top):
                self.check_expr(e, scope)

    def element(self, value: Expr, scope: str | None) -> None:
        k = self.kind(value, scope)
        if k & _BOOL:
            raise self.fail(
                value,
                "storing a comparison or boolean value in a list is not supported: CPython keeps "
                "True/False (wrap it in int(...))",
            )
        if k & _LIST:
            raise self.fail(value, f"lists of lists are {_SUFFIX}")

    def truth(self, cond: Expr, scope: str | None) -> None:
        if self.kind(cond, scope) & _LIST:
            raise self.fail(cond, f"the truth value of a list is {_SUFFIX} (use len(...) > 0)")

    def check_expr(self, e: Expr, scope: str | None) -> None:
        kind = self.kind
        if isinstance(e, BinOp):
            if kind(e.left, scope) & _LIST or kind(e.right, scope) & _LIST:
                raise self.fail(e, f"arithmetic on lists is {_SUFFIX}")
            if e.op is BinOpKind.POW:
                k = const_value(e.right)
                if k is not None and k < 0:
                    raise self.fail(e, f"negative exponents (CPython gives a float) are {_SUFFIX}")
        elif isinstance(e, Compare):
            if kind(e.left, scope) & _LIST or kind(e.right, scope) & _LIST:
                raise self.fail(e, f"comparing lists is {_SUFFIX}")
        elif isinstance(e, Unary):
            if kind(e.operand, scope) & _LIST:
                if e.op is UnaryKind.NOT:
                    raise self.fail(e, f"the truth value of a list is {_SUFFIX} (use len(...) > 0)")
                raise self.fail(e, f"arithmetic on lists is {_SUFFIX}")
        elif isinstance(e, BoolOp):
            self.truth(e.left, scope)
            self.truth(e.right, scope)
        elif isinstance(e, ArrayLit):
            for elt in e.elts:
                self.element(elt, scope)
        elif isinstance(e, Call):
            if e.func == "append" and e.func not in self.funcs:
                self.element(e.args[1], scope)
            elif e.func in ("abs", "min", "max") and e.func not in self.funcs:
                for arg in e.args:
                    if kind(arg, scope) & _LIST:
                        raise self.fail(arg, f"{e.func}() of a list is {_SUFFIX}")
