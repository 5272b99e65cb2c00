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
_TOKEN_RE = re.compile(
    r"(?P<ws> +)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<num>[0-9][A-Za-z0-9_]*)"
    r"|(?P<sym>" + "|".join(re.escape(s) for s in _SYMBOLS) + ")"
    r"|(?P<comment>" + re.escape(COMMENT) + r".*)"
)


def _describe_char(ch: str) -> str:
    if ch == "\t":
        return "tab character"
    if ch.isprintable() and not ch.isspace():
        return f"character '{ch}'"
    return f"character {ch!r}"


def tokenize(text: str, file: str | None = None) -> list[Token]:
    """Split `text` into tokens; raises `ParseError` with the position of the first problem."""
    tokens: list[Token] = []
    append = tokens.append
    levels = [0]
    match = _TOKEN_RE.match
    keywords = _KEYWORDS
    lines = text.split("\n")
    last_line = len(lines)
    lineno = 0
    for raw in lines:
        lineno += 1
        line = raw[:-1] if raw.endswith("\r") else raw
        n = len(line)
        # Indentation: leading spaces only.
        pos = 0
        while pos < n and line[pos] == " ":
            pos += 1
        if pos == n or line[pos] == COMMENT:
            continue  # blank or comment-only line
        if line[pos] == "\t":
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
        end = pos
        while pos < n:
            m = match(line, pos)
            if m is None:
                ch = line[pos]
                if ch == "\t":
                    msg = "tab characters are not allowed; use spaces"
                else:
                    msg = f"unexpected {_describe_char(ch)}"
                raise ParseError(msg, file=file, line=lineno, col=pos + 1)
            group = m.lastgroup
            text_ = m.group()
            if group == "name":
                append((text_ if text_ in keywords else NAME, text_, lineno, pos + 1))
            elif group == "sym":
                append((text_, text_, lineno, pos + 1))
            elif group == "num":
                if not text_.isdigit():
                    raise ParseError(
                        f"invalid integer literal '{text_}'", file=file, line=lineno, col=pos + 1
                    )
                if len(text_) > 1 and text_[0] == "0":
                    raise ParseError(
                        f"leading zeros in integer literal '{text_}' are not allowed",
                        file=file,
                        line=lineno,
                        col=pos + 1,
                    )
                if len(text_) > _MAX_DIGITS or int(text_) > MAX_INT:
                    raise ParseError(
                        f"integer literal too large (the largest is {MAX_INT})",
                        file=file,
                        line=lineno,
                        col=pos + 1,
                    )
                append((NUM, text_, lineno, pos + 1))
            elif group == "comment":
                break
            pos = m.end()
            if group != "ws":
                end = pos
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
