"""The priors classifier on constructed wrong answers: each prior explains the answer it predicts, and only that."""

from __future__ import annotations

import pytest

from cadmus.lang import Module, Print, parse, to_dsl, to_python
from cadmus.llm import PATTERNS, PRIORS, classify, get_view, priors_table, python_program, summarize_priors


def row(prompt: str, fmt: str = "complete") -> dict:
    return {
        "id": "t/0",
        "family": "arith",
        "format": fmt,
        "prompt": prompt,
        "completion": "0\n",
        "judge": "{}",
    }


def explain(prompt: str, answer: str, view: str = "dsl", fmt: str = "complete"):
    item = get_view(view).item(row(prompt, fmt))
    assert not item.judge(answer).ok, "the constructed answer must be wrong"
    return classify(item.program, answer)


SEMANTIC = {p.name for p in PRIORS}


def semantic(c) -> set[str]:
    return set(c.explained) & SEMANTIC


@pytest.mark.parametrize(
    ("prompt", "answer", "expected"),
    [
        # flooring instead of truncation: -37 / 7 is -5 in the DSL, -6 in Python
        ("a = -37\nb = a / 7\nassert b == ", "-6", {"floor_division", "euclidean_remainder"}),
        # with a negative divisor flooring and the Euclidean remainder part ways
        ("a = 37\nb = a % -7\nassert b == ", "-5", {"floor_division"}),
        ("a = -37\nb = a % -7\nassert b == ", "5", {"euclidean_remainder"}),
        # signs dropped
        ("a = -37\nb = a / 7\nassert b == ", "5", {"unsigned_division"}),
        # 32-bit wrap-around
        ("a = 70000\nb = a * a\nassert b == ", str((70000 * 70000 + 2**31) % 2**32 - 2**31), {"wrap32"}),
        ("a = 2147483647\nb = a + 1\nassert b == ", "-2147483648", {"wrap32"}),
        # left to right without precedence: 2 + 3 * 4 read as (2 + 3) * 4
        ("a = 2\nb = a + 3 * 4\nassert b == ", "20", {"no_precedence"}),
        # ... parentheses still hold: 20 - (2 + 3 * 4) read as 20 - ((2 + 3) * 4)
        ("a = 2\nb = 20 - (a + 3 * 4)\nassert b == ", "0", {"no_precedence"}),
        # the value before the last reassignment
        ("x = 5\ny = 2\nx = x * y\nassert x == ", "5", {"previous_value"}),
        ("x = 5\nx += 3\nassert x + 1 == ", "6", {"previous_value"}),
        # one loop iteration more or fewer
        ("s = 0\nfor i in range(5):\n    s += i\nassert s == ", "6", {"loop_off_by_one"}),
        ("s = 0\nfor i in range(5):\n    s += i\nassert s == ", "15", {"loop_off_by_one"}),
        ("n = 0\nwhile n < 4:\n    n += 1\nassert n == ", "5", {"loop_off_by_one"}),
        # and/or giving an operand, as in Python
        ("a = 3\nb = a and 7\nassert b == ", "7", {"python_and_or"}),
        # + joining digits
        ("a = 12\nb = a + 5\nassert b == ", "125", {"string_concat"}),
    ],
)
def test_semantic_priors_explain_what_they_predict(prompt, answer, expected):
    assert semantic(explain(prompt, answer)) == expected


def test_python_programs_get_the_reverse_prior():
    # the Python rendering of a = -37 / b = a / 7: b = a // 7 is -6; a C reader says -5
    found = explain("a = -37\nb = a / 7\nassert b == ", "-5", view="python")
    assert "truncating_division" in found.explained
    assert "floor_division" not in found.applicable  # it applies to DSL programs only
    dsl = explain("a = -37\nb = a / 7\nassert b == ", "-6")
    assert "truncating_division" not in dsl.applicable


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("-17", {"negated"}),
        ("16", {"off_by_one"}),
        ("71", {"digits_reversed"}),
        ("5", {"copied_literal"}),
        ("12", {"copied_literal", "other_variable"}),
    ],
)
def test_error_patterns(answer, expected):
    found = explain("a = 12\nb = a + 5\nassert b == ", answer)
    assert set(found.explained) == expected


def test_an_answer_no_prior_predicts_is_unexplained():
    found = explain("a = -37\nb = a / 7\nassert b == ", "42")
    assert found.explained == ()
    assert "floor_division" in found.applicable and "wrap32" not in found.applicable


def test_a_prior_that_does_not_change_the_value_is_not_applicable():
    # same signs: truncation and flooring agree, so flooring can explain nothing here
    found = explain("a = 37\nb = a / 7\nassert b == ", "4")
    assert "floor_division" not in found.applicable
    assert found.explained == ("off_by_one",)


def test_answers_are_read_as_values():
    # an expression of constants is its value; text that is no value is unreadable
    assert "floor_division" in explain("a = -37\nb = a / 7\nassert b == ", "-3 - 3").explained
    found = explain("a = -37\nb = a / 7\nassert b == ", "minus six")
    assert found.answer is None and found.explained == ()


def test_output_answers():
    prompt = "a = -37\nb = a / 7\nprint(b)\nprint(a % 7)\n# output:\n"
    found = explain(prompt, "-6\n5\n", fmt="output")
    assert "floor_division" in found.explained
    found = explain(prompt, "-5\n5", fmt="output")  # half right is not explained by flooring
    assert "floor_division" not in found.explained


@pytest.mark.parametrize("where", ["judge", "record"])
def test_python_rendered_rows_read_back_with_dsl_meaning(where):
    # A dataset row shown in Python calls the helpers the rendering defines for the DSL's `/` and `%`;
    # read back, the calls are the truncating operators again, so flooring (Python's `//`) explains -6.
    dsl = "a = -37\nb = a / 7\nc = b % -4\nassert c == "
    text = to_python(parse(dsl + "0\n"))
    assert "def _tdiv" in text and "_tmod(b, -4)" in text
    prompt = text[: text.rindex("0\n")]
    shown = (
        {**row(prompt), "judge": '{"language": "python"}'}
        if where == "judge"
        else {**row(prompt), "language": "python"}
    )
    program = get_view("dsl").program(shown)
    assert program is not None and program.mode == "dsl"
    assert (
        to_dsl(Module((*program.body, Print((program.answer,)))))
        == "a = -37\nb = a / 7\nc = b % -4\nprint(c)\n"
    )
    # truncation: b = -5, c = -1; flooring: b = -6, c = -6 % -4 = -2
    found = classify(program, "-2")
    assert "floor_division" in found.explained and "truncating_division" not in found.applicable


def test_python_text_without_helpers_has_python_meaning():
    program = python_program("a = -37\nb = a // 7\nassert b == ", "complete")
    assert program is not None and program.mode == "python"
    assert "truncating_division" in classify(program, "-5").explained
    assert python_program("a = (\n", "complete") is None


def test_skin_view_programs_keep_dsl_semantics():
    found = explain("a = -37\nb = a / 7\nassert b == ", "-6", view="skin")
    assert "floor_division" in found.explained


def test_summary_and_table():
    found = [
        explain("a = -37\nb = a / 7\nassert b == ", "-6"),
        explain("a = 2\nb = a + 3 * 4\nassert b == ", "20"),
        explain("a = 2\nb = a + 3 * 4\nassert b == ", "99"),
        None,  # a wrong answer of a format the priors cannot read
    ]
    summary = summarize_priors(found)
    assert summary["errors"] == 4 and summary["analysed"] == 3
    assert summary["priors"]["floor_division"] == {"applicable": 1, "explained": 1, "share": 0.25}
    assert summary["priors"]["no_precedence"]["applicable"] == 2
    assert summary["explained_by_a_semantic_prior"] == 2 and summary["unexplained"] == 1
    table = priors_table(summary)
    assert "| `floor_division` |" in table and "| any semantic prior | | | 2 | 50.0% |" in table


def test_every_prior_is_documented():
    from cadmus.llm import priors_report

    names = [p.name for p in PRIORS] + list(PATTERNS)
    assert len(names) == len(set(names))
    assert "## Priors" in priors_report({"test": summarize_priors([])})
