"""The surface languages a Cadmus program can be shown in: one registry for all of Cadmus.

`RENDERERS` maps a language's name to a `Renderer`: how to print a tree in
it, how it writes an integer constant and a line comment, whether Cadmus can
read it back (`parse_mode`), and how to read a constant answer written in it
(`constant`, used by the dataset judges). The command line (`cadmus render
--to`), the dataset builder (a mixture entry's `language`) and the docs take
their lists of languages from here.

- `dsl` and the skins (`braces`, `end`; `cadmus.lang.SKINS`): `to_dsl`.
  They show DSL programs only: a Python-mode tree means something else in
  the DSL (flooring division, `and`/`or` values, globals, negative indices).
- `python`: `to_python`, read back by `from_python`.
- `javascript`, `lua`, `c`: `to_javascript`, `to_lua`, `to_c`, for Node,
  Lua 5.4 and C99; Cadmus never runs or parses them.

- `gen:N` (`gen:N@S`): generated language N of seed 0 (of seed S), made on
  first lookup from `generate_language` and printed by `to_generated`
  (docs/languages.md). They are not listed in `RENDERERS` (there are as many
  as there are integers); `is_language` answers for them too. The dataset
  judges keep the DSL text of their examples, and a `complete` answer in one
  is an integer literal, with an optional `-`.

`get_renderer(name)` is the one lookup; `register_renderer` adds a language
under a new name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from cadmus.lang.ast import BinOp, BinOpKind, Expr, Module, Num, Unary, UnaryKind
from cadmus.lang.c_source import literal as c_literal
from cadmus.lang.c_source import to_c
from cadmus.lang.errors import LangError, ParseError, PrintError
from cadmus.lang.genlang_make import generate_language, language_name
from cadmus.lang.genlang_print import to_generated
from cadmus.lang.genlang_spec import LanguageSpec
from cadmus.lang.javascript import literal as js_literal
from cadmus.lang.javascript import to_javascript
from cadmus.lang.lexer import MAX_INT
from cadmus.lang.lua import literal as lua_literal
from cadmus.lang.lua import to_lua
from cadmus.lang.printer import to_dsl
from cadmus.lang.python_render import to_python
from cadmus.lang.skins import SKINS, Skin

__all__ = [
    "GENERATED_PREFIX",
    "RENDERERS",
    "Renderer",
    "generated_spec",
    "get_renderer",
    "is_language",
    "register_renderer",
    "render",
]


@dataclass(frozen=True)
class Renderer:
    """One surface language.

    `render(module, mode)` prints a tree whose meaning is that of `mode`
    ("dsl" or "python"); `literal(v)` spells an integer constant;
    `comment` starts a line comment; `parse_mode` is the mode Cadmus reads
    the language back in (None: Cadmus does not parse it); `numbers` and
    `operators` describe the constant expressions `constant` reads (the
    language's integer literals, and the AST operator each binary operator
    means there).
    """

    name: str
    title: str
    render: Callable[[Module, str], str]
    literal: Callable[[int], str]
    comment: str
    parse_mode: str | None = None
    numbers: str = r"[0-9]+"
    operators: Mapping[str, BinOpKind] = field(default_factory=dict)

    def constant(self, text: str) -> Expr:
        """The tree of a constant integer expression written in this language.

        Integer literals, unary minus, `+ - *`, the language's own division
        and remainder, and parentheses; anything else raises `ParseError`.
        """
        return _ConstantParser(self, text).parse()


_ARITH = {"+": BinOpKind.ADD, "-": BinOpKind.SUB, "*": BinOpKind.MUL}
_TRUNCATING = {**_ARITH, "/": BinOpKind.TDIV, "%": BinOpKind.TMOD}


def _dsl_only(shown: str, to_text: Callable[[Module], str]) -> Callable[[Module, str], str]:
    """A render function for a surface of the DSL (a skin, a generated language): it refuses a
    Python-mode program, whose meaning the DSL's operators would change."""

    def render(module: Module, mode: str) -> str:
        if mode != "dsl":
            raise PrintError(
                f"a Python program cannot be shown {shown} (its meaning would change); "
                "show it as python, javascript, lua or c"
            )
        return to_text(module)

    return render


def _skin_renderer(skin: Skin) -> Callable[[Module, str], str]:
    return _dsl_only(f"as {skin.name}", lambda module: to_dsl(module, skin))


def _python(module: Module, mode: str) -> str:
    return to_python(module, mode=mode)


def _javascript(module: Module, mode: str) -> str:
    return to_javascript(module, mode=mode)


def _lua(module: Module, mode: str) -> str:
    return to_lua(module, mode=mode)


def _c(module: Module, mode: str) -> str:
    return to_c(module, mode=mode)


def _builtin() -> dict[str, Renderer]:
    out: dict[str, Renderer] = {}
    for name, skin in SKINS.items():
        title = "the Cadmus DSL" if name == "dsl" else f"the DSL in the {name} skin (printing only)"
        out[name] = Renderer(
            name,
            title,
            _skin_renderer(skin),
            str,
            "#",
            "dsl" if name == "dsl" else None,
            operators=_TRUNCATING,
        )
    flooring = {**_ARITH, "//": BinOpKind.FDIV, "%": BinOpKind.FMOD}
    out["python"] = Renderer("python", "Python 3", _python, str, "#", "python", operators=flooring)
    out["javascript"] = Renderer(
        "javascript",
        "JavaScript (Node, BigInt)",
        _javascript,
        js_literal,
        "//",
        None,
        r"[0-9]+n",
        _TRUNCATING,
    )
    out["lua"] = Renderer("lua", "Lua 5.4", _lua, lua_literal, "--", None, operators=flooring)
    out["c"] = Renderer("c", "C99 (int64_t)", _c, c_literal, "//", None, operators=_TRUNCATING)
    order = ("dsl", "python", "javascript", "lua", "c")
    return {name: out[name] for name in (*order, *(n for n in out if n not in order))}


_REGISTRY: dict[str, Renderer] = _builtin()
RENDERERS: Mapping[str, Renderer] = MappingProxyType(_REGISTRY)


def register_renderer(renderer: Renderer) -> None:
    """Add a language under a new name (a name already taken is an error)."""
    if renderer.name in _REGISTRY:
        raise ValueError(f"a language named {renderer.name!r} is already registered")
    _REGISTRY[renderer.name] = renderer


GENERATED_PREFIX = "gen:"
_GENERATED_NAME = re.compile(r"gen:(0|[1-9][0-9]*)(?:@(0|[1-9][0-9]*))?\Z")
_GENERATED: dict[str, Renderer] = {}


def generated_spec(name: str) -> LanguageSpec | None:
    """The spec of generated language `name` (`gen:N`, `gen:N@S`), or None for any other name."""
    m = _GENERATED_NAME.match(name)
    if m is None:
        return None
    index, seed = int(m.group(1)), int(m.group(2) or 0)
    if language_name(index, seed) != name:  # `gen:3@0` is spelled `gen:3`
        return None
    return generate_language(index, seed)


def _generated_renderer(name: str) -> Renderer | None:
    found = _GENERATED.get(name)
    if found is not None:
        return found
    spec = generated_spec(name)
    if spec is None:
        return None

    render = _dsl_only(f"in {name}", lambda module: to_generated(module, spec))
    found = Renderer(name, f"generated language {name}", render, str, spec.comment, None, operators={})
    if len(_GENERATED) > 100_000:
        _GENERATED.clear()
    _GENERATED[name] = found
    return found


def is_language(name: str) -> bool:
    """Whether `name` is a registered language or a generated one (`gen:N`, `gen:N@S`, in its
    canonical spelling); a name check only, so checking a range of 100,000 generated languages
    generates none of them."""
    if name in _REGISTRY:
        return True
    m = _GENERATED_NAME.match(name)
    return m is not None and language_name(int(m.group(1)), int(m.group(2) or 0)) == name


def get_renderer(name: str) -> Renderer:
    """The language `name`; `LangError` naming the known ones otherwise."""
    found = _REGISTRY.get(name) or _generated_renderer(name)
    if found is None:
        raise LangError(f"unknown language {name!r} (known: {', '.join(_REGISTRY)}, gen:N, gen:N@SEED)")
    return found


def render(module: Module, to: str, *, mode: str = "dsl") -> str:
    """`module` (with the meaning of `mode`) as text in language `to`; `PrintError` if it has no rendering."""
    return get_renderer(to).render(module, mode)


# ---- constant answers -----------------------------------------------------------------


class _ConstantParser:
    def __init__(self, renderer: Renderer, text: str) -> None:
        ops = sorted(renderer.operators, key=len, reverse=True)
        pattern = "|".join([r"[0-9][0-9A-Za-z_]*", *(re.escape(o) for o in ops), r"\(", r"\)", r"\S"])
        self.tokens: list[tuple[str, int]] = []
        for m in re.finditer(pattern, text):
            self.tokens.append((m.group(0), m.start() + 1))
        self.renderer = renderer
        self.numbers = re.compile(renderer.numbers)
        self.pos = 0
        self.depth = 0

    def fail(self, message: str) -> ParseError:
        col = self.tokens[self.pos][1] if self.pos < len(self.tokens) else None
        return ParseError(f"{message} (a constant expression of {self.renderer.title})", line=1, col=col)

    def peek(self) -> str | None:
        return self.tokens[self.pos][0] if self.pos < len(self.tokens) else None

    def parse(self) -> Expr:
        if not self.tokens:
            raise self.fail("expected a number")
        e = self.sum()
        if self.peek() is not None:
            raise self.fail(f"unexpected {self.peek()!r}")
        return e

    def sum(self) -> Expr:
        e = self.term()
        while self.peek() in ("+", "-"):
            op = self.renderer.operators[self.tokens[self.pos][0]]
            self.pos += 1
            e = BinOp(op, e, self.term())
        return e

    def term(self) -> Expr:
        e = self.unary()
        while (tok := self.peek()) is not None and tok in self.renderer.operators and tok not in ("+", "-"):
            self.pos += 1
            e = BinOp(self.renderer.operators[tok], e, self.unary())
        return e

    def unary(self) -> Expr:
        self.depth += 1
        if self.depth > 200:
            raise self.fail("nesting too deep")
        try:
            tok = self.peek()
            if tok == "-":
                self.pos += 1
                return Unary(UnaryKind.NEG, self.unary())
            if tok == "(":
                self.pos += 1
                e = self.sum()
                if self.peek() != ")":
                    raise self.fail("expected ')'")
                self.pos += 1
                return e
            if tok is not None and tok[0].isdigit():
                if not self.numbers.fullmatch(tok):
                    raise self.fail(f"{tok!r} is not an integer literal")
                self.pos += 1
                value = int(re.sub(r"[^0-9]", "", tok))
                if value > MAX_INT:
                    raise self.fail(f"integer literal {value} is out of range")
                return Num(value)
            raise self.fail("expected a number" if tok is None else f"unexpected {tok!r}")
        finally:
            self.depth -= 1
