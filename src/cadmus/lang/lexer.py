"""The DSL lexer: text to tokens, with the indentation layout rule.

Tokens are plain tuples ``(kind, text, line, col)`` (1-based positions) for
speed. ``kind`` is the token's own text for keywords, operators and
punctuation (``"if"``, ``"+="``, ``"("``), and one of the constants below for
the rest. Layout follows Python: a line indented deeper than the enclosing
block opens a block (``INDENT``), a shallower one closes blocks (one
``DEDENT`` each) and must line up with an enclosing level; every logical line
ends with ``NEWLINE``; blank and comment-only lines produce nothing.
"""

from __future__ import annotations

import re

from cadmus.lang.errors import ParseError
from cadmus.lang.lexicon import COMMENT, KEYWORDS, OPERATORS, PUNCTUATION

NAME = "NAME"
NUM = "NUM"
NEWLINE = "NEWLINE"
INDENT = "INDENT"
DEDENT = "DEDENT"
EOF = "EOF"

Token = tuple[str, str, int, int]

MAX_INT = 2**63 - 1  # the largest integer literal (values are signed 64-bit)
_MAX_DIGITS = len(str(MAX_INT))

_KEYWORDS = frozenset(KEYWORDS)
_SYMBOLS = sorted(set(OPERATORS) | set(PUNCTUATION), key=len, reverse=True)
_SYMBOL_SET = frozenset(_SYMBOLS)
_NAME_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_DIGITS = frozenset("0123456789")
# Each match is (spaces before, token). Every character but a space starts a
# token (the last alternative takes any other character, reported as an
# error), so matches are contiguous and columns follow from their lengths.
_TOKEN_RE = re.compile(
    r"( *)([A-Za-z_][A-Za-z0-9_]*"
    r"|" + "|".join(re.escape(s) for s in _SYMBOLS) + r"|[0-9][A-Za-z0-9_]*"
    r"|" + re.escape(COMMENT) + r".*"
    r"|[^ ])"
)


_HINTS = {
    "!": " (use 'not', or '!=')",
    ";": " (one statement per line)",
    "{": " (blocks are made by indentation)",
    "}": " (blocks are made by indentation)",
    '"': " (the DSL has no strings)",
    "'": " (the DSL has no strings)",
}


def _describe_char(ch: str) -> str:
    if ch == "\t":
        return "tab character"
    if ch.isprintable() and not ch.isspace():
        return f"character '{ch}'"
    return f"character {ch!r}"


def _check_number(text: str, file: str | None, line: int, col: int) -> None:
    if not text.isdigit():
        raise ParseError(f"invalid integer literal '{text}'", file=file, line=line, col=col)
    if len(text) > 1 and text[0] == "0":
        raise ParseError(
            f"leading zeros in integer literal '{text}' are not allowed", file=file, line=line, col=col
        )
    if len(text) > _MAX_DIGITS or int(text) > MAX_INT:
        raise ParseError(
            f"integer literal too large (the largest is {MAX_INT})", file=file, line=line, col=col
        )


def tokenize(text: str, file: str | None = None) -> list[Token]:
    """Split `text` into tokens; raises `ParseError` with the position of the first problem."""
    tokens: list[Token] = []
    append = tokens.append
    levels = [0]
    findall = _TOKEN_RE.findall
    keywords = _KEYWORDS
    symbols = _SYMBOL_SET
    name_start = _NAME_START
    digits = _DIGITS
    lines = text.split("\n")
    last_line = len(lines)
    lineno = 0
    for raw in lines:
        lineno += 1
        line = raw[:-1] if raw.endswith("\r") else raw
        # Indentation: leading spaces only.
        rest = line.lstrip(" ")
        if not rest or rest[0] == COMMENT:
            continue  # blank or comment-only line
        pos = len(line) - len(rest)
        if rest[0] == "\t":
            raise ParseError(
                "tab characters are not allowed; indent with spaces",
                file=file,
                line=lineno,
                col=pos + 1,
            )
        if pos > levels[-1]:
            levels.append(pos)
            append((INDENT, "", lineno, pos + 1))
        elif pos < levels[-1]:
            while pos < levels[-1]:
                levels.pop()
                append((DEDENT, "", lineno, pos + 1))
            if pos != levels[-1]:
                raise ParseError(
                    "unindent does not match any outer indentation level",
                    file=file,
                    line=lineno,
                    col=pos + 1,
                )
        col = pos  # 0-based start of the next token
        for spaces, text_ in findall(line, pos):
            if spaces:
                col += len(spaces)
            if text_ in symbols:
                append((text_, text_, lineno, col + 1))
            else:
                first = text_[0]
                if first in name_start:
                    append((text_ if text_ in keywords else NAME, text_, lineno, col + 1))
                elif first in digits:
                    _check_number(text_, file, lineno, col + 1)
                    append((NUM, text_, lineno, col + 1))
                elif first == COMMENT:
                    col -= len(spaces)  # the newline sits after the last token, not the comment
                    break
                elif first == "\t":
                    raise ParseError(
                        "tab characters are not allowed; use spaces", file=file, line=lineno, col=col + 1
                    )
                else:
                    msg = f"unexpected {_describe_char(first)}{_HINTS.get(first, '')}"
                    raise ParseError(msg, file=file, line=lineno, col=col + 1)
            col += len(text_)
        end = col
        # A synthetic newline (last line without '\n') has empty text.
        append((NEWLINE, "\n" if lineno < last_line else "", lineno, end + 1))
    last = lines[-1]
    eof_line, eof_col = last_line, len(last) + 1
    while len(levels) > 1:
        levels.pop()
        append((DEDENT, "", eof_line, eof_col))
    append((EOF, "", eof_line, eof_col))
    return tokens


def describe(tok: Token) -> str:
    """How an error message names a token: `'x'`, `'+'`, `newline`, `end of input`."""
    kind = tok[0]
    if kind == NEWLINE:
        return "newline" if tok[1] else "end of input"
    if kind == EOF:
        return "end of input"
    if kind == INDENT:
        return "indent"
    if kind == DEDENT:
        return "end of block"
    return f"'{tok[1]}'"
