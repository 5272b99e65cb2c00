"""Side inputs for positional levers: where each token stands inside its number and statement.

Computed from token ids alone, so they are the same at training and at
generation time (a model recomputes them as it appends tokens):

- ``digit_index``: 0 for a token that is not part of a number; else the
  significance of the digit, 1 for the units digit, 2 for the tens, and so on,
  whatever the number scheme writes first (`reversed` writes the units digit
  first, `digits` last). A `<npad>` of the `fixed` scheme counts as a leading
  digit; a `whole` number token is one digit of index 1. This is the index an
  Abacus embedding looks up, and the one position coupling shares across
  numbers.
- ``number_index``: 0 outside numbers; else 1 for the first number of its
  statement, 2 for the second, ... A statement ends at a newline.

Digits inside identifiers (`x1`, spelled by characters) are not numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cadmus.tokenizer.core import Tokenizer
from cadmus.tokenizer.vocab import NEWLINE, NUMBER_PAD, WORD_RE

# Token kinds, per id of a vocabulary.
_OTHER, _DIGIT, _WHOLE, _WORD, _NEWLINE = range(5)


def token_kinds(tokenizer: Tokenizer) -> np.ndarray:
    """The kind of every token id: digit (or `<npad>`), whole number, identifier-like, newline, other."""
    kinds = np.full(tokenizer.vocab_size, _OTHER, dtype=np.int8)
    for i, tok in enumerate(tokenizer.vocab):
        if tok == NEWLINE:
            kinds[i] = _NEWLINE
        elif tok == NUMBER_PAD or (len(tok) == 1 and tok.isdigit()):
            kinds[i] = _DIGIT
        elif tok.isdigit():
            kinds[i] = _WHOLE
        elif WORD_RE.fullmatch(tok) or tok == "_" or tok.isalpha():
            kinds[i] = _WORD
    return kinds


def side_inputs(tokenizer: Tokenizer, ids: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(digit_index, number_index) of every token of one sequence of ids, as int64 arrays."""
    kinds = _kinds(tokenizer)[np.asarray(ids, dtype=np.int64)]
    n = len(kinds)
    digit = np.zeros(n, dtype=np.int64)
    number = np.zeros(n, dtype=np.int64)
    reverse = tokenizer.numbers == "reversed"
    in_statement = 0
    i = 0
    while i < n:
        kind = kinds[i]
        if kind == _NEWLINE:
            in_statement = 0
        elif kind == _WHOLE:
            in_statement += 1
            digit[i], number[i] = 1, in_statement
        elif kind == _DIGIT:
            j = i
            while j < n and kinds[j] == _DIGIT:
                j += 1
            if i > 0 and kinds[i - 1] == _WORD:  # digits that continue an identifier
                i = j
                continue
            in_statement += 1
            width = j - i
            digit[i:j] = np.arange(1, width + 1) if reverse else np.arange(width, 0, -1)
            number[i:j] = in_statement
            i = j
            continue
        i += 1
    return digit, number


_KINDS: dict[str, np.ndarray] = {}


def _kinds(tokenizer: Tokenizer) -> np.ndarray:
    key = tokenizer.sha256
    if key not in _KINDS:
        _KINDS[key] = token_kinds(tokenizer)
    return _KINDS[key]
