"""Property tests: no text makes the front half raise anything but a Cadmus error."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from cadmus.errors import CadmusError
from cadmus.lang import check_semantics, lexicon, parse, to_dsl
from cadmus.lang.lexer import tokenize

VALID = [
    "def f(n):\n    if n < 2:\n        return n\n    return f(n - 1) + f(n - 2)\nprint(f(7))\n",
    "a = [3, 1, 2]\nfor i in range(len(a)):\n    for j in range(i + 1, len(a)):\n"
    "        if a[j] < a[i]:\n            t = a[i]\n            a[i] = a[j]\n            a[j] = t\nprint(a[0], a[1])\n",
    "x = read()\nwhile x > 0 and not x == 5:\n    x -= 1\n    if x % 2 == 0:\n        continue\n"
    "    elif x > 10:\n        break\n    else:\n        pass\nassert x >= 0\n",
    "s = 0\nfor k in range(10, 0, -2):\n    s += k * (s - 1) / 3 % 7 << 1 | ~k ^ 5 & 3\nprint(s)\n",
]

TOKENS = [
    *lexicon.KEYWORDS,
    *lexicon.OPERATORS,
    *lexicon.PUNCTUATION,
    *lexicon.DSL_BUILTINS,
    "x",
    "y",
    "f",
    "0",
    "7",
    "42",
    "007",
    "99999999999999999999",
    "\n",
    "\n    ",
    "\n        ",
    "\n  ",
    "    ",
    " ",
    "#c",
    "\t",
    "$",
    "\r\n",
]


def _front(text: str) -> None:
    try:
        m = parse(text)
        check_semantics(m)
        check_semantics(m, mode="python")
        assert parse(to_dsl(m)) == m
    except CadmusError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=40), st.sampled_from(["", " ", "\n"]))
def test_token_soup(tokens: list[str], sep: str) -> None:
    text = sep.join(tokens) if sep else " ".join(tokens).replace(" \n", "\n")
    _front(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab1 (),:[]=+-<>!\n#\t_")), max_size=60))
def test_character_soup(text: str) -> None:
    _front(text)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(VALID), st.data())
def test_character_mutations(text: str, data: st.DataObject) -> None:
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(text)))
        action = data.draw(st.sampled_from(["delete", "insert", "duplicate"]))
        if action == "delete" and text:
            i = min(i, len(text) - 1)
            text = text[:i] + text[i + 1 :]
        elif action == "insert":
            text = text[:i] + data.draw(st.sampled_from(list(" \n\t():[],=-x0#"))) + text[i:]
        else:
            text = text[:i] + text[i : i + 1] + text[i:]
    _front(text)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(VALID), st.data())
def test_token_mutations(text: str, data: st.DataObject) -> None:
    pieces = [t[1] if t[0] not in ("NEWLINE", "INDENT", "DEDENT", "EOF") else t[0] for t in tokenize(text)]
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(pieces) - 1))
        action = data.draw(st.sampled_from(["delete", "insert", "duplicate"]))
        if action == "delete":
            del pieces[i]
        elif action == "insert":
            pieces.insert(i, data.draw(st.sampled_from(TOKENS)))
        else:
            pieces.insert(i, pieces[i])
    # Rebuild text: layout tokens become newlines and indentation changes.
    out, depth = [], 0
    for p in pieces:
        if p == "NEWLINE":
            out.append("\n" + "    " * depth)
        elif p == "INDENT":
            depth += 1
            out.append("    ")
        elif p == "DEDENT":
            depth = max(0, depth - 1)
            if out and out[-1].endswith("    "):
                out[-1] = out[-1][:-4]
        elif p != "EOF":
            out.append(p + " ")
    _front("".join(out))
