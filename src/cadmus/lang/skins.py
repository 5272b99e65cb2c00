"""Surface syntaxes ("skins") for printing the one AST.

A `Skin` names the spelling of every keyword and operator, the precedence
levels the printer parenthesizes by, and the block style:

- ``"indent"``: ``header:`` then an indented body (the DSL, `DSL_SKIN`);
- ``"braces"``: ``header {`` ... ``}``, with ``} else {`` on one line;
- ``"end"``: ``header then``/``do`` ... ``end`` (Lua-like).

The compiler never sees a skin: skins only change how a tree is printed. Only
the DSL skin has a parser; the others are examples of the mechanism
(`BRACES_SKIN`, `END_SKIN`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Any

from cadmus.lang.ast import BinOpKind, BoolKind, CmpKind, UnaryKind
from cadmus.lang.lexicon import INDENT, KEYWORDS

BLOCK_STYLES = ("indent", "braces", "end")
CONSTRUCTS = ("if", "elif", "else", "while", "for", "def")

# The DSL's precedence levels (higher binds tighter); postfix and atoms are 12.
DSL_LEVELS: Mapping[Enum, int] = MappingProxyType(
    {
        BoolKind.OR: 1,
        BoolKind.AND: 2,
        UnaryKind.NOT: 3,
        **dict.fromkeys(CmpKind, 4),
        BinOpKind.BOR: 5,
        BinOpKind.BXOR: 6,
        BinOpKind.BAND: 7,
        BinOpKind.SHL: 8,
        BinOpKind.SHR: 8,
        BinOpKind.ADD: 9,
        BinOpKind.SUB: 9,
        BinOpKind.MUL: 10,
        BinOpKind.TDIV: 10,
        BinOpKind.TMOD: 10,
        UnaryKind.NEG: 11,
        UnaryKind.INVERT: 11,
    }
)
ATOM_LEVEL = 12

# The DSL's operator spellings: every AST operator except the Python-only ones.
DSL_OPERATORS: Mapping[Enum, str] = MappingProxyType(
    {
        **{k: k.value for k in BinOpKind if k not in (BinOpKind.FDIV, BinOpKind.FMOD, BinOpKind.POW)},
        **{k: k.value for k in CmpKind},
        **{k: k.value for k in BoolKind},
        **{k: k.value for k in UnaryKind},
    }
)

_DEFAULT_OPENERS = {
    "indent": dict.fromkeys(CONSTRUCTS, ":"),
    "braces": dict.fromkeys(CONSTRUCTS, " {"),
    "end": {"if": " then", "elif": " then", "else": "", "while": " do", "for": " do", "def": ""},
}


@dataclass(frozen=True)
class Skin:
    """How the AST is spelled: keywords, operators, precedence and block style.

    `keywords` and `operators` list only what differs from the DSL (`and`,
    `or` and `not` may be respelled in either; `operators` wins); `openers`
    (text after a compound statement's header, per construct) and `levels`
    likewise default to the block style's and the DSL's.
    """

    name: str
    keywords: Mapping[str, str] = field(default_factory=dict)
    operators: Mapping[Enum, str] = field(default_factory=dict)
    block: str = "indent"
    openers: Mapping[str, str] = field(default_factory=dict)
    end_word: str = "end"
    indent: str = INDENT
    cond_parens: bool = False
    terminator: str = ""
    assign: str = "="
    levels: Mapping[Enum, int] = field(default_factory=dict)
    tables: Any = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.block not in BLOCK_STYLES:
            raise ValueError(f"block style must be one of {BLOCK_STYLES}, not {self.block!r}")
        unknown = set(self.keywords) - set(KEYWORDS)
        if unknown:
            raise ValueError(f"not DSL keywords: {sorted(unknown)}")
        object.__setattr__(self, "tables", _Tables(self))

    def __hash__(self) -> int:
        return hash(self.name)

    def word(self, keyword: str) -> str:
        """The skin's spelling of a DSL keyword."""
        return self.keywords.get(keyword, keyword)


class _Tables:
    """Lookup tables the printer reads, computed once per skin."""

    __slots__ = (
        "aug",
        "closer",
        "joined_else",
        "kw",
        "levels",
        "ok_names",
        "openers",
        "ops",
        "reserved",
        "unary",
    )

    def __init__(self, skin: Skin) -> None:
        kw = {k: skin.keywords.get(k, k) for k in KEYWORDS}
        self.kw = kw
        levels = dict(DSL_LEVELS)
        levels.update(skin.levels)
        spell = dict(DSL_OPERATORS)
        # The word operators follow the keyword table unless `operators` spells them.
        spell[BoolKind.AND] = kw["and"]
        spell[BoolKind.OR] = kw["or"]
        spell[UnaryKind.NOT] = kw["not"]
        spell.update(skin.operators)
        # op kind -> (spelling, level), for binary, comparison and boolean operators.
        self.ops = {
            k: (v, levels[k]) for k, v in spell.items() if not isinstance(k, UnaryKind) and k in levels
        }
        # unary kind -> (spelling with its trailing space if it is a word, level)
        self.unary = {}
        for k in UnaryKind:
            if k in spell:
                s = spell[k]
                self.unary[k] = (s + " " if s[-1:].isalnum() or s[-1:] == "_" else s, levels[k])
        self.aug = {k: f"{v[0]}{skin.assign}" for k, v in self.ops.items() if isinstance(k, BinOpKind)}
        self.levels = levels
        openers = dict(_DEFAULT_OPENERS[skin.block])
        openers.update(skin.openers)
        self.openers = openers
        self.closer = {"indent": "", "braces": "}", "end": skin.end_word}[skin.block]
        self.joined_else = skin.block == "braces"
        self.reserved = frozenset(kw.values()) | frozenset(KEYWORDS)
        self.ok_names: set[str] = set()


DSL_SKIN = Skin("dsl")

# A C-like example: braces, `&&`/`||`/`!`, parenthesized conditions, `;`.
# Its precedence table follows C's, where comparisons bind tighter than the
# bit operators, so the printer adds the parentheses C needs.
BRACES_SKIN = Skin(
    "braces",
    keywords={"def": "func", "elif": "else if", "pass": "skip"},
    operators={BoolKind.AND: "&&", BoolKind.OR: "||", UnaryKind.NOT: "!"},
    block="braces",
    cond_parens=True,
    terminator=";",
    levels={
        BoolKind.OR: 1,
        BoolKind.AND: 2,
        BinOpKind.BOR: 3,
        BinOpKind.BXOR: 4,
        BinOpKind.BAND: 5,
        **dict.fromkeys(CmpKind, 6),
        BinOpKind.SHL: 7,
        BinOpKind.SHR: 7,
        BinOpKind.ADD: 8,
        BinOpKind.SUB: 8,
        BinOpKind.MUL: 9,
        BinOpKind.TDIV: 9,
        BinOpKind.TMOD: 9,
        UnaryKind.NEG: 11,
        UnaryKind.INVERT: 11,
        UnaryKind.NOT: 11,
    },
)

# A Lua-like example: `then`/`do` ... `end`, `function`, `elseif`.
END_SKIN = Skin(
    "end",
    keywords={"def": "function", "elif": "elseif"},
    operators={BinOpKind.BXOR: "~", CmpKind.NE: "~="},
    block="end",
    levels={UnaryKind.NOT: 11},  # Lua's `not` binds like unary minus
)

SKINS: Mapping[str, Skin] = MappingProxyType({s.name: s for s in (DSL_SKIN, BRACES_SKIN, END_SKIN)})
