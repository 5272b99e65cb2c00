"""The vocabulary: which strings are tokens, in which order, and why.

Ids are positions in one list built here. The order is fixed so that ids
stay stable: specials, layout, the character fallback (every printable
ASCII character), the DSL's keywords, built-ins and multi-character
operators (the lexicon that `cadmus.lang` exports), frequent English words for
instructions, identifiers from the name pools, and last the tokens that only
one number scheme needs. Changing anything here changes ids, so it bumps
`VOCAB_VERSION`; a saved tokenizer keeps its own list and never depends on
this module's current contents.
"""

from __future__ import annotations

import re

from cadmus.lang import BUILTINS, COMMENT, DSL_BUILTINS, INDENT, KEYWORDS, OPERATORS, PUNCTUATION
from cadmus.tasks import HELDOUT, POOLS

VOCAB_VERSION = 2

PAD, BOS, EOS, SEP = "<pad>", "<bos>", "<eos>", "<sep>"
SPECIALS = (PAD, BOS, EOS, SEP)
NUMBER_PAD = "<npad>"  # the `fixed` scheme's left padding; decodes to nothing
NEWLINE = "\n"
CHARS = tuple(chr(c) for c in range(0x20, 0x7F))  # printable ASCII, space included

NUMBER_SCHEMES = ("digits", "reversed", "fixed", "whole")
IDENTIFIER_MODES = ("pools", "chars")
# Pools whose names become whole tokens under identifiers="pools"; `heldout`
# is deliberately absent (its names are spelled by characters), and `random`
# has no fixed names.
TOKEN_POOLS = tuple(name for name in POOLS if name != "heldout")

# Frequent words of English task statements (instruction prompts, comments).
# Names from any identifier pool are left out on purpose: a pool name is a
# token only through the identifier pools, so identifiers="chars" spells
# every pool name by characters and held-out names are never whole tokens.
ENGLISH = (
    "the",
    "of",
    "to",
    "is",
    "it",
    "its",
    "as",
    "be",
    "by",
    "on",
    "at",
    "an",
    "are",
    "that",
    "this",
    "with",
    "from",
    "each",
    "every",
    "all",
    "then",
    "than",
    "when",
    "which",
    "what",
    "how",
    "many",
    "given",
    "write",
    "function",
    "program",
    "returns",
    "prints",
    "takes",
    "compute",
    "computes",
    "find",
    "finds",
    "number",
    "numbers",
    "integer",
    "integers",
    "sum",
    "product",
    "list",
    "element",
    "elements",
    "length",
    "maximum",
    "minimum",
    "largest",
    "smallest",
    "positive",
    "negative",
    "even",
    "odd",
    "prime",
    "primes",
    "divisor",
    "divisors",
    "digit",
    "digits",
    "greatest",
    "common",
    "multiple",
    "remainder",
    "divided",
    "times",
    "plus",
    "minus",
    "power",
    "square",
    "sorted",
    "order",
    "reverse",
    "reversed",
    "position",
    "until",
    "between",
    "zero",
    "one",
    "two",
    "ten",
    "output",
    "input",
    "inputs",
    "argument",
    "arguments",
    "variable",
    "variables",
    "following",
    "binary",
    "bits",
    "equal",
    "greater",
    "less",
    "true",
    "false",
    "has",
    "steps",
    "nth",
    "fibonacci",
    "factorial",
    "sequence",
    "value",
    "values",
    # instruction templates (cadmus.tasks.families) and common function names
    "Write",
    "Implement",
    "Define",
    "Complete",
    "Return",
    "Compute",
    "Given",
    "implement",
    "define",
    "returning",
    "must",
    "so",
    "raised",
    "decimal",
    "recursively",
    "computed",
    "none",
    "there",
    "non",
    "empty",
    "answer",
    "search",
    "argmax",
    "argmin",
    "gcd",
    "lcm",
    "fib",
)

# Canonical text always puts one space on each side of an infix operator, so
# `a = 37` is three tokens, not five: shorter sequences train faster and the
# spaces carry no information.
SPACED = (*(f" {op} " for op in OPERATORS if op != "~"), ", ")

WORD_RE = re.compile(r"[A-Za-z0-9_]+")
IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# Categories in vocabulary order; each entry: (name, description).
CATEGORIES = (
    ("special", "sequence structure; never produced by encoding text"),
    ("layout", "newline and one indentation level (4 spaces; deeper levels repeat it)"),
    ("char", "character fallback: every printable ASCII character (digits and space included)"),
    ("keyword", "DSL keywords (`cadmus.lang.lexicon.KEYWORDS`)"),
    ("builtin", "built-in functions (DSL first, then Python-only ones)"),
    ("operator", "multi-character operators (single-character ones are `char` tokens)"),
    ("spaced", "an infix operator with the single spaces canonical text puts around it, and `, `"),
    ("english", "frequent English words of task statements"),
    ("identifier", 'names of the identifier pools except `heldout` (identifiers="pools" only)'),
    ("number", 'whole-number tokens 10..bound-1 (numbers="whole" only; 0..9 are `char` tokens)'),
    ("number-pad", 'left padding of a number to a multiple of the width (numbers="fixed" only)'),
)


def _pool_names() -> tuple[str, ...]:
    names: dict[str, None] = {}
    for pool in TOKEN_POOLS:
        for name in POOLS[pool]:
            names[name] = None
    return tuple(names)


def build_vocab(
    numbers: str = "digits", *, width: int = 4, bound: int = 1000, identifiers: str = "pools"
) -> list[tuple[str, str]]:
    """The vocabulary as (token, category) pairs in id order, duplicates dropped.

    A string reached by two categories keeps the first (for example the
    identifier `x` is the character token `x`, and `min` is a built-in).
    """
    # `english` must never reach a pool name: that would undo identifiers="chars".
    every_pool_name = {n for pool in POOLS.values() for n in pool} | set(HELDOUT)
    groups: list[tuple[str, tuple[str, ...]]] = [
        ("special", SPECIALS),
        ("layout", (NEWLINE, INDENT)),
        ("char", CHARS),
        ("keyword", KEYWORDS),
        ("builtin", (*DSL_BUILTINS, *sorted(n for n in BUILTINS if n not in DSL_BUILTINS))),
        ("operator", tuple(op for op in (*OPERATORS, *PUNCTUATION, COMMENT) if len(op) > 1)),
        ("spaced", SPACED),
        ("english", tuple(w for w in ENGLISH if w not in every_pool_name)),
    ]
    if identifiers == "pools":
        groups.append(("identifier", _pool_names()))
    if numbers == "whole":
        groups.append(("number", tuple(str(n) for n in range(10, bound))))
    elif numbers == "fixed":
        groups.append(("number-pad", (NUMBER_PAD,)))
    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    for category, tokens in groups:
        for tok in tokens:
            if tok not in seen:
                seen.add(tok)
                out.append((tok, category))
    return out


def categorize(token: str) -> str:
    """The category of a token string, by its shape and the lexicon (for docs)."""
    if token in SPECIALS:
        return "special"
    if token == NUMBER_PAD:
        return "number-pad"
    if token in (NEWLINE, INDENT):
        return "layout"
    if len(token) == 1:
        return "char"
    if token.isdigit():
        return "number"
    if token in KEYWORDS:
        return "keyword"
    if token in BUILTINS:
        return "builtin"
    if token in SPACED:
        return "spaced"
    if not WORD_RE.fullmatch(token):
        return "operator"
    if token in _pool_names():
        return "identifier"
    return "english"
