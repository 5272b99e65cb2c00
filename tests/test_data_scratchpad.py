"""The `scratchpad` format: the value of every statement, then the answer; judged on the VM.

Its judge accepts every correct answer (the dataset's, and others: another
spelling of the same values, an answer expression instead of a literal) and
rejects each kind of wrong one (wrong final, wrong intermediate, malformed,
missing items, extra items).
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import pytest

from cadmus.data import STOP, Built, Reject, build, build_dataset, config_from_dict, judge, load_plan
from cadmus.data.formats import judge_scratchpad
from cadmus.lang import Name, check, parse
from cadmus.tasks import Sample, get_family

ROOT = Path(__file__).resolve().parents[1]

# arith chains as the harder headline makes them, plus the knobs that vary their shape
ARITH_KNOBS = (
    {"min_value": 0, "max_value": 99, "operators": ["+", "-"], "n_statements_min": 2, "n_statements_max": 4},
    {"n_statements_min": 1, "n_statements_max": 6, "depth_min": 1, "depth_max": 3},
    {"min_value": 100, "max_value": 999, "n_statements_min": 5, "n_statements_max": 6, "var_prob": 0.8},
    {"chain": False, "n_inits": 2, "n_statements_min": 3, "n_statements_max": 5},
)


def samples(n: int) -> list[tuple[str, Sample]]:
    """`n` samples of each arith setting and of `reassign` (`x += e`, swaps, reassigned names)."""
    out: list[tuple[str, Sample]] = []
    arith = get_family("arith")
    for k, knobs in enumerate(ARITH_KNOBS):
        parsed = arith.knobs(knobs)
        out.extend(("arith", arith.sample(random.Random(1000 * k + i), parsed)) for i in range(n))
    reassign = get_family("reassign")
    parsed = reassign.knobs({})
    out.extend(("reassign", reassign.sample(random.Random(i), parsed)) for i in range(n))
    return out


def parts(completion: str) -> tuple[list[tuple[str, int]], str]:
    """The (name, value) items and the answer of a scratchpad completion."""
    head, _, answer = completion.rstrip("\n").partition(" => ")
    items = []
    for item in head.split(", "):
        name, _, value = item.partition(" = ")
        items.append((name, int(value)))
    return items, answer


def text(items: list[tuple[str, int]], answer: str) -> str:
    return ", ".join(f"{n} = {v}" for n, v in items) + f" => {answer}\n"


def trace_values(sample: Sample) -> list[tuple[str, int]]:
    """The stores of every statement, read from the `trace` format (an independent VM derivation)."""
    built = build("trace", sample)
    out = []
    for line in built.completion.splitlines()[:-1]:  # the last line is the print of the answer
        stores = re.findall(r"(\w+)=(-?\d+)", line)
        assert len(stores) == 1, line
        out.append((stores[0][0], int(stores[0][1])))
    return out


def test_layout() -> None:
    fam = get_family("arith")
    knobs = fam.knobs({"n_statements_min": 3, "n_statements_max": 3})
    built = build("scratchpad", fam.sample(random.Random(3), knobs))
    complete = build("complete", fam.sample(random.Random(3), knobs))
    assert built.prompt == complete.prompt  # the prompt is complete's: the final assert's value hidden
    assert re.fullmatch(r"\w+ = -?\d+, \w+ = -?\d+, \w+ = -?\d+ => -?\d+\n", built.completion), (
        built.completion
    )
    items, answer = parts(built.completion)
    assert answer + "\n" == complete.completion and str(items[-1][1]) == answer
    assert built.steps == complete.steps and built.module == complete.module
    assert set(built.values) == {v for _, v in items}
    assert STOP["scratchpad"] == "\n"


def test_accepts_every_correct_answer_on_many_examples() -> None:
    made = 0
    for family, sample in samples(60):
        built = build("scratchpad", sample)
        assert judge("scratchpad", built.prompt, built.completion, built.judge_info).ok, built.completion
        # the written values are the VM's stores, as the trace format derives them independently
        items, answer = parts(built.completion)
        assert items == trace_values(sample), (family, built.prompt)
        # the true program is complete's: prompt + answer, checked afresh
        verdict = check(parse(built.prompt + answer + "\n"))
        assert verdict.ok and verdict.steps == built.steps
        # other correct answers: no newline, another spelling of the items, an expression as the answer
        value = int(answer)
        tight = ",".join(f"{n}={v}" for n, v in items) + f"=>{value}"
        for good in (
            built.completion.rstrip("\n"),
            tight,
            text(items, f"{value - 7} + 7"),
            text(items, f"({value + 3}) - 3"),
        ):
            assert judge("scratchpad", built.prompt, good, {}).ok, good
        made += 1
    assert made == 300


def test_rejects_each_kind_of_wrong_answer() -> None:
    for _family, sample in samples(15):
        built = build("scratchpad", sample)
        items, answer = parts(built.completion)
        value = int(answer)

        def verdict(answer_text: str, built: Built = built) -> Any:
            return judge("scratchpad", built.prompt, answer_text, built.judge_info)

        # wrong final answer, every value right
        wrong = verdict(text(items, str(value + 1)))
        assert not wrong.ok and wrong.kind == "assertion_failed"
        # each wrong intermediate counts as wrong, even with the right final answer
        for k in range(len(items)):
            bad = list(items)
            bad[k] = (bad[k][0], bad[k][1] + 1)
            wrong = verdict(text(bad, answer))
            assert not wrong.ok and wrong.kind == "assertion_failed", (k, built.completion)
            assert f"statement {k + 1}" in str(wrong)
        # missing and extra items
        for short in (items[:-1], items[1:], []):
            assert verdict(text(short, answer)).kind == "parse_error"
        assert verdict(text([*items, items[-1]], answer)).kind == "parse_error"
        assert verdict(text([items[0], *items], answer)).kind == "parse_error"
        # items that name another variable, or are out of order
        renamed = [("zz_" + items[0][0], items[0][1]), *items[1:]]
        assert verdict(text(renamed, answer)).kind == "parse_error"
        names = [n for n, _ in items]
        if names != names[::-1]:
            assert verdict(text(items[::-1], answer)).kind == "parse_error"
        # malformed: no answer, no separator, an expression for a value, two lines, garbage
        line = built.completion.rstrip("\n")
        for malformed in (
            line.partition(" => ")[0],
            line.replace(" => ", " "),
            line.replace(" => ", " = "),
            text([(items[0][0], f"{items[0][1] - 1} + 1"), *items[1:]], answer),  # type: ignore[list-item]
            line.replace(", ", "\n", 1) if len(items) > 1 else line + "\n" + line,
            f"{answer}",
            "",
            "=>",
            "banana(",
            line + " => " + answer,
        ):
            wrong = verdict(malformed)
            assert not wrong.ok and wrong.kind == "parse_error", malformed
        # an answer that escapes the final assert (a name, a comparison)
        last_name = items[-1][0]
        for cheat in (last_name, f"{value} == {value}", f"{value}\nassert 1 == 1"):
            assert not verdict(text(items, cheat)).ok, cheat


def test_only_straight_line_programs_and_odd_prompts() -> None:
    loop = Sample(body=parse("x = 0\nwhile x < 3:\n    x += 1\n").body, answer=Name("x"))
    with pytest.raises(Reject) as info:
        build("scratchpad", loop)
    assert info.value.reason == "not_applicable"
    for prompt in ("x = (", "x = 1\n", "", "x = 0\nwhile x < 3:\n    x += 1\nassert x == "):
        wrong = judge("scratchpad", prompt, "x = 1 => 1", {})
        assert not wrong.ok and wrong.kind == "parse_error" and str(wrong), prompt
    # a prompt whose program fails on the VM is judged as that failure, whatever the answer
    wrong = judge_scratchpad("a = 5\nb = a / 0\nassert b == ", "a = 5, b = 0 => 0", {})
    assert not wrong.ok and wrong.kind == "runtime_error"


def test_headline_configs_resolve_and_hold_the_same_programs(tmp_path: Path) -> None:
    """chain4 and chain4-scratchpad load; scaled down, they build the same programs in each format."""
    plans = {name: load_plan(ROOT / f"configs/data/{name}.yaml") for name in ("chain4", "chain4-scratchpad")}
    for name, plan in plans.items():
        assert plan.config.splits.test.size >= 1000, name
        assert plan.config.dedup.within_split, name  # distinct test programs
    built = {}
    for name in plans:
        raw = {
            "name": name,
            "seed": 5,
            "mixture": [
                {
                    "family": "arith",
                    "format": "complete" if name == "chain4" else "scratchpad",
                    "knobs": {"n_statements_min": 2, "n_statements_max": 4, "operators": ["+", "-"]},
                }
            ],
            "splits": {"train": {"size": 40}, "val": {"size": 10}, "test": {"size": 20}},
            "ood": [{"name": "ood_renamed", "size": 10, "renamed": {"of": "test", "names": "heldout"}}],
        }
        out = tmp_path / name
        build_dataset(config_from_dict(raw), out)
        import pandas as pd

        built[name] = {split: pd.read_parquet(out / split) for split in ("train", "test", "ood_renamed")}
    for split, plain in built["chain4"].items():
        scratch = built["chain4-scratchpad"][split]
        assert list(plain["prompt"]) == list(scratch["prompt"]), split
        assert list(plain["n_statements"]) == list(scratch["n_statements"]), split
        assert set(plain["n_statements"]) <= {2, 3, 4}
        for row in scratch.itertuples():
            assert row.format == "scratchpad"
            assert judge("scratchpad", row.prompt, row.completion, row.judge).ok


def test_headline_train_configs_differ_only_in_data() -> None:
    """The plain and scratchpad recipes: same levers, budget and difficulty-driven curriculum."""
    from cadmus.train import load_config

    plain = load_config(ROOT / "configs/train/chain4-cpu.yaml")
    scratch = load_config(ROOT / "configs/train/chain4-scratchpad-cpu.yaml")
    assert plain.data.build == "configs/data/chain4.yaml"
    assert scratch.data.build == "configs/data/chain4-scratchpad.yaml"
    assert plain.data.where == {"n_statements": (2.0, 2.0)}
    assert [s.when is not None for s in plain.curriculum] == [True, True]
    assert plain.stop.max_tokens is not None and plain.stop.max_steps is not None
    differ = {key for key in plain.model_dump() if plain.model_dump()[key] != scratch.model_dump()[key]}
    assert differ == {"out_dir", "data"}
    assert plain.data.model_copy(update={"build": scratch.data.build}) == scratch.data
