"""Prompts, views, answer extraction, prices and cache keys of `cadmus.llm` (no server, no model)."""

from __future__ import annotations

import json

import pytest

from cadmus.data import judge
from cadmus.llm import (
    LLMError,
    PriceTable,
    Request,
    Shot,
    build_request,
    extract_answer,
    get_view,
    load_prices,
    request_key,
    rules_text,
)

ROW = {
    "id": "d/test/0",
    "family": "arith",
    "format": "complete",
    "prompt": "a = -37\nb = a / 7\nassert b == ",
    "completion": "-5\n",
    "judge": "{}",
}
OUT_ROW = dict(ROW, format="output", prompt="a = -37\nb = a % 7\nprint(b)\n# output:\n", completion="-2\n")


# ---- views ---------------------------------------------------------------------------------


def test_dsl_view_is_the_dataset_row_and_its_judge():
    item = get_view("dsl").item(ROW)
    assert (item.prompt, item.reference) == (ROW["prompt"], ROW["completion"])
    for answer in ("-5", "-6", "-10 / 2", "b", ""):
        assert item.judge(answer).ok == judge("complete", ROW["prompt"], answer, "{}").ok


def test_python_view_has_python_meaning():
    item = get_view("python").item(ROW)
    assert item.prompt == "a = -37\nb = a // 7\nassert b == "
    assert item.reference == "-6\n"  # computed by the VM in mode python
    assert item.judge("-6").ok and not item.judge("-5").ok
    assert item.judge("-12 // 2").ok  # a Python expression of constants
    assert not item.judge("b").ok  # names are not answers
    out = get_view("python").item(OUT_ROW)
    assert out.prompt == "a = -37\nb = a % 7\nprint(b)\n# output:\n" and out.reference == "5\n"
    assert out.judge("5").ok and not out.judge("-2").ok


def test_skin_view_has_dsl_meaning_in_other_words():
    view = get_view("skin")
    item = view.item(ROW)
    assert item.prompt == "a <- -37\nb <- a over 7\nensure b is "
    assert item.reference == "-5\n"
    assert item.judge("-5").ok and item.judge("-10 over 2").ok and not item.judge("-6").ok
    braces = get_view("skin:braces").item(ROW)
    assert braces.prompt.endswith("assert b == ") and braces.reference == "-5;\n"
    assert braces.judge("-5;").ok and braces.judge("-5").ok


def test_views_refuse_what_they_cannot_show():
    with pytest.raises(LLMError, match="unknown view"):
        get_view("cobol")
    with pytest.raises(LLMError, match="unknown skin"):
        get_view("skin:nope")
    with pytest.raises(LLMError, match="only the formats complete, output"):
        get_view("python").check_format("synthesize")
    get_view("dsl").check_format("synthesize")
    # a program whose Python reading divides by zero (b is 0 in the DSL, -1 in Python) is not shown
    bad = dict(ROW, prompt="a = 3\nb = a / -7\nc = 10 / (b + 1)\nassert c == ")
    assert get_view("dsl").item(bad).judge("10").ok
    with pytest.raises(LLMError, match="does not run in mode python"):
        get_view("python").item(bad)


# ---- prompts -------------------------------------------------------------------------------


def test_rules_are_computed_by_the_vm():
    dsl = rules_text(get_view("dsl"))
    assert "-7 / 2 is -3" in dsl and "-7 % 2 is -1" in dsl and "7 % -2 is 1" in dsl
    py = rules_text(get_view("python"))
    assert "-7 // 2 is -4" in py and "-7 % 2 is 1" in py and "7 % -2 is -1" in py
    words = rules_text(get_view("skin"))
    assert "-7 over 2 is -3" in words and "`x <- e` assigns" in words and "ensure a is b" in words


def test_completion_and_chat_requests():
    view = get_view("dsl")
    shots = [Shot("a = 9\nb = a / 2\nassert b == ", "4\n"), Shot("a = -9\nb = a % 2\nassert b == ", "-1\n")]
    raw = build_request(
        ROW["prompt"], "complete", view, api="completions", template="raw", shots=[], max_tokens=8
    )
    assert raw.prompt == ROW["prompt"] and raw.stop == ("\n",)
    text = build_request(
        ROW["prompt"], "complete", view, api="completions", template="rules", shots=shots, max_tokens=8
    ).prompt
    assert text.startswith("# The program is written in Cadmus")
    assert text.endswith(
        "\n\na = 9\nb = a / 2\nassert b == 4\n\na = -9\nb = a % 2\nassert b == -1\n\n" + ROW["prompt"]
    )
    chat = build_request(
        ROW["prompt"], "complete", view, api="chat", template="rules", shots=shots, max_tokens=8
    )
    roles = [role for role, _ in chat.messages]
    assert roles == ["system", "user", "assistant", "user", "assistant", "user"]
    assert chat.messages[2][1] == "4" and chat.messages[-1][1] == ROW["prompt"]
    assert "Reply with the integer only." in chat.messages[0][1]
    out = build_request(
        OUT_ROW["prompt"], "output", view, api="completions", template="raw", shots=shots, max_tokens=8
    )
    assert out.stop == ("\n\n",)  # multi-line answers end at the blank line between examples


# ---- extraction ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "answer", "rule"),
    [
        ("-5", "-5", "whole"),
        (" 12 + 3\nassert", "12 + 3", "whole"),
        ("-5 because it truncates", "-5", "leading"),
        ("Let me think. The answer is **-5**.", "-5", "answer_is"),
        ("b = -37 / 7 = -5.28, so\nassert b == -5", "-5", "assert"),
        ("It divides to give −5 in the end", "-5", "last_integer"),
        ("```\n-5\n```", "-5", "fence"),
        ("```python\nassert b == -5\n```", "-5", "assert"),
        ("I cannot tell.", "", "none"),
    ],
)
def test_lenient_extraction(text, answer, rule):
    assert extract_answer(text, "complete", stop=("\n",) if rule == "whole" else ()) == (answer, rule)


def test_strict_extraction_is_cadmus_evals():
    assert extract_answer("12abc\nmore", "complete", mode="strict", stop=("\n",)) == ("12abc", "strict")
    assert extract_answer("Output:\n-2\n", "output") == ("-2\n", "whole")
    assert extract_answer("x = 5\ny = 6\n", "complete_stmt") == ("x = 5\n", "whole")


# ---- prices and keys -----------------------------------------------------------------------


def test_prices_lookup_and_unknown_models():
    table = PriceTable(
        models={"gpt-4o": {"input": 2.5, "output": 10}, "gpt-4o-mini": {"input": 0.15, "output": 0.6}}
    )
    assert table.lookup("gpt-4o-mini-2024-07-18")[0] == "gpt-4o-mini"  # longest prefix
    assert table.lookup("GPT-4o")[0] == "gpt-4o"
    assert table.cost("gpt-4o", 1_000_000, 100_000) == pytest.approx(3.5)
    assert table.cost("mystery", 10, 10) is None  # unknown, never 0
    bundled = load_prices("configs/llm/prices.yaml")
    assert bundled.lookup("hf:smollm2")[1].input == 0 and bundled.lookup("gpt-5") is not None


def test_bad_price_table_names_the_key(tmp_path):
    bad = tmp_path / "p.yaml"
    bad.write_text("models:\n  m: {input: -1, output: 2}\n")
    with pytest.raises(LLMError) as err:
        load_prices(bad)
    assert err.value.key == "models.m.input" and "p.yaml" in str(err.value)


def test_request_key_covers_the_whole_request():
    who = {"kind": "openai", "url": "http://h/v1/completions", "model": "m", "params": {}}
    base = Request(prompt="x", max_tokens=8)
    k = request_key(who, base.body())
    assert k == request_key(dict(reversed(list(who.items()))), Request(prompt="x", max_tokens=8).body())
    assert k != request_key(who, Request(prompt="x", max_tokens=9).body())
    assert k != request_key(who, Request(prompt="x", max_tokens=8, stop=("\n",)).body())
    assert k != request_key({**who, "model": "m2"}, base.body())
    assert k != request_key({**who, "url": "http://other/v1/completions"}, base.body())


def test_rows_built_in_other_languages(tmp_path):
    from cadmus.data import build_dataset, config_from_dict
    from cadmus.eval import read_split
    from cadmus.llm import classify

    knobs = {"min_value": -30, "max_value": 30, "operators": ["/", "%"]}
    config = {
        "name": "langs",
        "seed": 3,
        "mixture": [
            {"family": "arith", "format": "complete", "weight": 1, "knobs": knobs, "language": "lua"},
            {"family": "arith", "format": "complete", "weight": 1, "knobs": knobs, "language": "python"},
        ],
        "splits": {"train": {"size": 20}, "test": {"size": 8}},
        "dedup": {"holdout": 0.3},
    }
    build_dataset(config_from_dict(config), tmp_path / "d", progress=False, card=False)
    rows = read_split(tmp_path / "d", "test")
    seen = set()
    for r in rows:
        language = json.loads(r["judge"])["language"]
        seen.add(language)
        item = get_view("dsl").item(r)  # as built, with the dataset's judge
        assert item.prompt == r["prompt"] and item.judge(r["completion"]).ok
        if language == "lua":
            assert item.program is not None  # from the DSL text the judge info keeps
            truth = get_view("skin").item(r)
            assert truth.judge(truth.reference).ok and "ensure" in truth.prompt
            assert classify(item.program, "123456").explained == ()
        else:  # Python: read back through the helpers the rendering defines, with the DSL's meaning
            assert item.program is not None and item.program.mode == "dsl"
            assert classify(item.program, "123456").explained == ()
            with pytest.raises(LLMError, match="keeps no DSL text"):
                get_view("skin").item(r)
    assert seen == {"lua", "python"}
