"""Side inputs for positional levers: digit significance and number order, from token ids."""

import pytest

from cadmus.tokenizer import Tokenizer, side_inputs

PROGRAM = "a = 37\nb = a + 152\nx1 = b - 4\nassert x1 == "


def table(tok: Tokenizer, text: str) -> list[tuple[str, int, int]]:
    ids = tok.encode(text)
    digit, number = side_inputs(tok, ids)
    return [(tok.vocab[i], int(d), int(n)) for i, d, n in zip(ids, digit, number)]


def numbers_of(rows):
    return [(t, d, n) for t, d, n in rows if d]


def test_digits_scheme_counts_significance_from_the_units():
    tok = Tokenizer("digits", identifiers="chars")
    rows = table(tok, PROGRAM)
    assert numbers_of(rows) == [
        ("3", 2, 1),
        ("7", 1, 1),  # a = 37: first number of its statement
        ("1", 3, 1),
        ("5", 2, 1),
        ("2", 1, 1),  # b = a + 152
        ("4", 1, 1),  # x1 = b - 4: the 1 of x1 is part of a name
    ]
    assert ("1", 0, 0) in rows  # x1's digit


def test_reversed_scheme_writes_the_units_digit_first():
    tok = Tokenizer("reversed")
    rows = numbers_of(table(tok, "c = 152 + 37\n"))
    assert rows == [("2", 1, 1), ("5", 2, 1), ("1", 3, 1), ("7", 1, 2), ("3", 2, 2)]


def test_fixed_scheme_pads_count_as_leading_digits():
    tok = Tokenizer("fixed", width=4)
    rows = numbers_of(table(tok, "c = 37\n"))
    assert rows == [("<npad>", 4, 1), ("<npad>", 3, 1), ("3", 2, 1), ("7", 1, 1)]


def test_whole_scheme_number_is_one_digit_and_large_numbers_fall_back():
    tok = Tokenizer("whole", bound=100)
    rows = numbers_of(table(tok, "c = 37 + 1234\n"))
    assert rows == [("37", 1, 1), ("1", 4, 2), ("2", 3, 2), ("3", 2, 2), ("4", 1, 2)]


@pytest.mark.parametrize("scheme", ["digits", "reversed", "fixed", "whole"])
def test_number_index_restarts_each_statement_and_runs_through_the_answer(scheme):
    tok = Tokenizer(scheme)
    ids, start = tok.encode_example("a = 5 + 6\nassert a == ", "11")
    digit, number = side_inputs(tok, ids)
    assert max(number[:start]) == 2  # two numbers in the first statement, none in the assert
    assert set(number[start:-1]) == {1}  # the answer: first number of the assert statement
    assert digit[start:-1].max() == (1 if scheme == "whole" else 2 if scheme != "fixed" else 4)
    assert digit[0] == 0 and digit[-1] == 0  # <bos>, <eos>
