"""The spec of a generated language: every spelling and layout choice, as data.

A `LanguageSpec` says how the one Cadmus AST is written in a generated
surface syntax: keyword and operator spellings, the identifier sigil and
letter case, the statement terminator, the comment marker, how blocks are
made (indentation or delimiters, opener, closing words) and the word order
of assignment and `for`. It is a validated pydantic model, so a spec read
from YAML names its bad key; `check_spec` then applies the ambiguity rules
(docs/languages.md) a spec must satisfy before anything is printed in it.
The printer (`genlang_print`) and the spec-driven parser (`genlang_parse`)
read only this object.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from cadmus.configio import load_model, validate
from cadmus.lang.ast import BinOpKind, BoolKind, CmpKind
from cadmus.lang.errors import LangError

# Keywords every spec spells, and those of the two `for` word orders.
BASE_KEYWORDS = (
    "print",
    "if",
    "elif",
    "else",
    "while",
    "for",
    "def",
    "return",
    "assert",
    "break",
    "continue",
    "pass",
)
FOR_KEYWORDS = {"range": ("in", "range"), "from_to": ("from", "to", "step")}
# Operators by their DSL spelling (from the AST's own enums; the Python-only `//`, `%%` and
# `**` have no DSL spelling); `neg` is unary minus. The order is part of every generated
# language (the generator draws spellings in it): the binary ones first, so AUG_KEYS below.
UNARY_KEYS = ("not", "~", "neg")
_PYTHON_ONLY = (BinOpKind.FDIV, BinOpKind.FMOD, BinOpKind.POW)
OPERATOR_KEYS = (
    *(k.value for k in BinOpKind if k not in _PYTHON_ONLY),
    *(k.value for k in CmpKind),
    *(k.value for k in BoolKind),
    *UNARY_KEYS,
)
AUG_KEYS = OPERATOR_KEYS[:10]  # the operators with an augmented assignment
CONSTRUCTS = ("if", "while", "for", "def")
# Characters a symbolic spelling may use: no letters, digits, brackets, commas or spaces.
SYMBOL_CHARS = frozenset("+-*/%&|^<>=!~?:;.@$#{}")
WORD = re.compile(r"[A-Za-z]+\Z")
IDENTIFIER_PATTERNS = {
    "lower": r"[a-z_][a-z0-9_]*",
    "upper": r"[A-Z_][A-Z0-9_]*",
    "capital": r"_*[A-Z][a-z0-9_]*",
}
PUNCTUATION = ("(", ")", "[", "]", ",")


class SpecError(LangError):
    """A language spec that is malformed or ambiguous; names the key at fault."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AssignSpec(_Strict):
    """Assignment's word order: `x = 7` (infix), `LET x BE 7` (prefix), `7 -> x` (reversed)."""

    form: Literal["infix", "prefix", "reversed"]
    lead: str = Field("", description="the word before the target (prefix form only)")
    op: str = Field(description="between target and value (value and target when reversed)")

    @model_validator(mode="after")
    def _lead_iff_prefix(self) -> AssignSpec:
        if (self.form == "prefix") != bool(self.lead):
            raise ValueError("'lead' is given exactly when form is 'prefix'")
        return self


class BlockSpec(_Strict):
    """How a compound statement's body is made.

    `indent`: the body is indented (the lexer makes INDENT/DEDENT), after the
    header's `opener` (may be empty); a nonempty closer is a line of its own
    after the body. `delimited`: indentation is cosmetic; the body runs from
    the `opener` to the construct's closer. `else_style`: `close_each` closes
    every body (`} else {`), `close_once` closes an if-chain once at its end.
    """

    layout: Literal["indent", "delimited"]
    opener: str
    closers: dict[str, str]
    else_style: Literal["close_each", "close_once"]
    indent: int = Field(4, ge=1, le=8)

    @model_validator(mode="after")
    def _closers(self) -> BlockSpec:
        if set(self.closers) != set(CONSTRUCTS):
            raise ValueError(f"'closers' must name exactly {', '.join(CONSTRUCTS)}")
        if self.layout == "delimited":
            if not self.opener:
                raise ValueError("a delimited layout needs an opener")
            if not all(self.closers.values()):
                raise ValueError("a delimited layout needs a closer for every construct")
        elif len({bool(c) for c in self.closers.values()}) != 1:
            raise ValueError("an indented layout closes either every construct or none")
        return self


class LanguageSpec(_Strict):
    """One generated language (see the module docstring and docs/languages.md)."""

    name: str
    keywords: dict[str, str]
    operators: dict[str, str]
    assign: AssignSpec
    for_style: Literal["range", "from_to"] = "range"
    print_parens: bool = True
    cond_parens: bool = False
    sigil: str = Field("", max_length=1)
    names: Literal["lower", "upper", "capital"] = "lower"
    terminator: str = ""
    comment: str = "#"
    block: BlockSpec

    @model_validator(mode="after")
    def _complete(self) -> LanguageSpec:
        want = set(BASE_KEYWORDS) | set(FOR_KEYWORDS[self.for_style])
        if set(self.keywords) != want:
            missing, extra = sorted(want - set(self.keywords)), sorted(set(self.keywords) - want)
            raise ValueError(f"keywords: missing {missing}, unexpected {extra}")
        if set(self.operators) != set(OPERATOR_KEYS):
            missing, extra = (
                sorted(set(OPERATOR_KEYS) - set(self.operators)),
                sorted(set(self.operators) - set(OPERATOR_KEYS)),
            )
            raise ValueError(f"operators: missing {missing}, unexpected {extra}")
        return self

    @property
    def identifier(self) -> str:
        """The regular expression of an identifier, sigil included."""
        return re.escape(self.sigil) + IDENTIFIER_PATTERNS[self.names]

    def spellings(self) -> Iterator[tuple[str, str]]:
        """Every (key, spelling) of a token the spec defines; empty spellings are left out."""
        for k, v in self.keywords.items():
            yield f"keywords.{k}", v
        for k, v in self.operators.items():
            if k != "neg":  # unary minus shares the binary minus's spelling when both are '-'
                yield f"operators.{k}", v
        if self.assign.lead:
            yield "assign.lead", self.assign.lead
        yield "assign.op", self.assign.op
        for k, v in (
            ("terminator", self.terminator),
            ("comment", self.comment),
            ("block.opener", self.block.opener),
        ):
            if v:
                yield k, v
        closers: dict[str, str] = {}
        for k, v in self.block.closers.items():
            if v and v not in closers:  # constructs may share one closer (`end`)
                closers[v] = k
                yield f"block.closers.{k}", v

    def aug(self, op: str) -> str:
        """The augmented assignment token of operator `op` glued, or '' when it is two tokens."""
        spelled, assign = self.operators[op], self.assign.op
        if _is_symbol(spelled) and _is_symbol(assign):
            return spelled + assign
        return ""


def _is_symbol(text: str) -> bool:
    return bool(text) and set(text) <= SYMBOL_CHARS


def symbol_table(spec: LanguageSpec) -> tuple[str, ...]:
    """Every symbolic token of `spec`, longest first: what the lexer matches greedily."""
    table = {text for _key, text in spec.spellings() if _is_symbol(text)}
    table.update(PUNCTUATION)
    if _is_symbol(spec.operators["neg"]):
        table.add(spec.operators["neg"])
    table.update(g for g in (spec.aug(op) for op in AUG_KEYS) if g)
    return tuple(sorted(table, key=lambda t: (-len(t), t)))


def lex_symbols(spec: LanguageSpec, text: str, table: tuple[str, ...] | None = None) -> list[str]:
    """`text` (symbols only) cut into tokens by longest match; an unmatched rest is one last item."""
    table = table or symbol_table(spec)
    out: list[str] = []
    i = 0
    while i < len(text):
        for tok in table:
            if text.startswith(tok, i):
                out.append(tok)
                i += len(tok)
                break
        else:
            out.append(text[i:])
            break
    return out


def glue_pairs(spec: LanguageSpec) -> Iterator[tuple[str, str]]:
    """The pairs of symbolic tokens the printer may write with no space between them."""
    ops = spec.operators
    sigil = [spec.sigil] if spec.sigil else []
    unary = [ops[k] for k in UNARY_KEYS if _is_symbol(ops[k])]
    starts = [*unary, "(", "[", *sigil]
    after_end = [")", "]", ",", "(", "["]
    for s in (spec.terminator, spec.block.opener):
        if _is_symbol(s):
            after_end.append(s)
    # The printer parenthesizes a prefix operator's operand when it is `-` or `~` (`-(-x)`),
    # so only `not` and the brackets are ever followed by another prefix operator.
    for key in ("neg", "~"):
        if _is_symbol(ops[key]):
            for b in ("(", "[", *sigil):
                yield ops[key], b
    for a in ([ops["not"]] if _is_symbol(ops["not"]) else []) + ["(", "["]:
        for b in starts:
            yield a, b
    for a in (")", "]"):
        for b in after_end:
            yield a, b
    for k in ("print", "range"):
        word = spec.keywords.get(k, "")
        if _is_symbol(word):
            yield word, "("


def check_spec(spec: LanguageSpec) -> None:
    """Raise `SpecError` (naming the key) if text in `spec` could be read two ways.

    The rules: every spelling is nonempty where required, a word (letters) or
    a symbol (characters of `SYMBOL_CHARS`); all spellings are distinct
    (glued augmented-assignment tokens included); no word is an identifier
    under the naming style; every pair of symbols the printer glues lexes
    back as the same two tokens; the sigil is no symbol's first character.
    """
    ident = re.compile(spec.identifier + r"\Z")
    seen: dict[str, str] = {}
    for key, text in spec.spellings():
        if not (WORD.match(text) or _is_symbol(text)):
            raise SpecError(f"{text!r} is neither a word (letters) nor a symbol", key=key)
        if WORD.match(text) and ident.match(text):
            raise SpecError(f"{text!r} is also an identifier under naming style {spec.names!r}", key=key)
        if spec.sigil and text.startswith(spec.sigil):
            raise SpecError(f"{text!r} starts with the sigil {spec.sigil!r}", key=key)
        if text in seen:
            raise SpecError(f"{text!r} spells both {seen[text]} and {key}", key=key)
        seen[text] = key
    if spec.operators["neg"] != "-" and spec.operators["neg"] in seen:
        raise SpecError(
            f"{spec.operators['neg']!r} spells unary minus and {seen[spec.operators['neg']]}",
            key="operators.neg",
        )
    if spec.operators["neg"] == "-" and seen.get("-", "operators.-") != "operators.-":
        raise SpecError(f"'-' spells unary minus and {seen['-']}", key="operators.neg")
    if spec.sigil and spec.sigil not in SYMBOL_CHARS:
        raise SpecError(f"sigil {spec.sigil!r} is not a symbol character", key="sigil")
    for op in AUG_KEYS:
        glued = spec.aug(op)
        if glued and glued in seen:
            raise SpecError(
                f"augmented {op!r} spelled {glued!r} is also {seen[glued]}", key=f"operators.{op}"
            )
    table = symbol_table(spec)
    for a, b in glue_pairs(spec):
        got = lex_symbols(spec, a + b, table)
        if got != [a, b]:
            raise SpecError(f"{a!r} followed by {b!r} reads as {got}", key="operators")


def spec_from_dict(data: object, *, file: str | None = None) -> LanguageSpec:
    """Validate a parsed YAML document into a checked spec (`SpecError` names the key)."""
    spec = validate(LanguageSpec, data, SpecError, file=file, what="a language spec")
    check_spec(spec)
    return spec


def load_spec(path: str | Path) -> LanguageSpec:
    """Read, validate and check a YAML language spec."""
    spec = load_model(path, LanguageSpec, SpecError, what="a language spec")
    check_spec(spec)
    return spec


def dump_spec(spec: LanguageSpec) -> str:
    """The spec as YAML text (`spec_from_dict(yaml.safe_load(text)) == spec`)."""
    return yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False, allow_unicode=False)
