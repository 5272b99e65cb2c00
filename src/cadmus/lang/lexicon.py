"""The DSL's lexical inventory: the one list the lexer, printer and tokenizer read."""

from __future__ import annotations

from cadmus.lang.ast import BUILTINS, PYTHON_ONLY_BUILTINS

INDENT = "    "  # one block level in canonical text
KEYWORDS = (
    "if",
    "elif",
    "else",
    "while",
    "for",
    "in",
    "range",
    "def",
    "return",
    "print",
    "assert",
    "and",
    "or",
    "not",
    "break",
    "continue",
    "pass",
)
DSL_BUILTINS = tuple(name for name in BUILTINS if name not in PYTHON_ONLY_BUILTINS)
# Longest first, so a lexer can match greedily.
OPERATORS = (
    "<<=",
    ">>=",
    "==",
    "!=",
    "<=",
    ">=",
    "<<",
    ">>",
    "+=",
    "-=",
    "*=",
    "/=",
    "%=",
    "&=",
    "|=",
    "^=",
    "+",
    "-",
    "*",
    "/",
    "%",
    "&",
    "|",
    "^",
    "~",
    "<",
    ">",
    "=",
)
PUNCTUATION = ("(", ")", "[", "]", ",", ":")
COMMENT = "#"
