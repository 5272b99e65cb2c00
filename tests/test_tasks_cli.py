"""`cadmus tasks` through a real subprocess, and the sampling speed budget."""

from __future__ import annotations

import random
import subprocess
import sys
import time

import pytest

from cadmus.tasks import all_families, get_family


def cadmus(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cadmus", "tasks", *args], capture_output=True, text=True, timeout=120
    )


def test_list_and_show() -> None:
    listed = cadmus("list")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert len(lines) == len(all_families()) >= 24
    for name in all_families():
        assert any(line.startswith(name + " ") for line in lines)
    assert "synthesize" in listed.stdout

    shown = cadmus(
        "show", "arith", "--n", "2", "--seed", "3", "--set", "max_value=500", "--set", "operators=[+, *]"
    )
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert "n_statements_min (int) = 2" in out
    assert "max_value (int) = 500 (default 99)" in out
    assert out.count("# answer:") == 2
    again = cadmus(
        "show", "arith", "--n", "2", "--seed", "3", "--set", "max_value=500", "--set", "operators=[+, *]"
    )
    assert again.stdout == out  # deterministic

    gcd = cadmus("show", "gcd", "--n", "1")
    assert gcd.returncode == 0 and "# instruction:" in gcd.stdout and "# tests: gcd(" in gcd.stdout


def test_overrides_reach_knobs_as_yaml_values_and_loose_lists() -> None:
    from cadmus.configio import parse_overrides
    from cadmus.tasks import TaskError

    arith = get_family("arith")
    knobs = arith.knobs(parse_overrides(["max_value=500", "chain=false", "names=heldout"], TaskError))
    assert (knobs.max_value, knobs.chain, knobs.names) == (500, False, "heldout")
    for text in ("operators=[+, -, *]", "operators=+,-,*", "operators=['+', '-', '*']"):
        assert arith.knobs(parse_overrides([text], TaskError)).operators == ("+", "-", "*")
    assert arith.knobs(parse_overrides(["operators=[*]"], TaskError)).operators == ("*",)
    assert arith.knobs(parse_overrides(["operators=-"], TaskError)).operators == ("-",)
    with pytest.raises(TaskError) as info:
        parse_overrides(["novalue"], TaskError)
    assert "expected key=value" in str(info.value)
    with pytest.raises(TaskError) as info:  # `k=` is null (YAML), which no int knob accepts
        arith.knobs(parse_overrides(["max_value="], TaskError))
    assert info.value.key == "max_value"


def test_errors_are_one_line() -> None:
    for args, needle in [
        (("show", "nope"), "unknown task family 'nope'"),
        (("show", "arith", "--set", "max_value=abc"), "key 'max_value'"),
        (("show", "arith", "--set", "depth_min=4"), "key 'depth_max'"),
        (("show", "arith", "--set", "colour=red"), "key 'colour'"),
        (("show", "arith", "--set", "novalue"), "expected key=value"),
    ]:
        result = cadmus(*args)
        assert result.returncode == 2, (args, result.stdout)
        assert needle in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert "Traceback" not in result.stderr


def test_docs_command_matches_library(tmp_path) -> None:
    from cadmus.tasks import tasks_markdown

    out = tmp_path / "tasks.md"
    result = cadmus("docs", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_text(encoding="utf-8") == tasks_markdown()


def test_sampling_is_fast() -> None:
    """The dataset builder needs ~1e6 samples in minutes: keep sample() in microseconds.

    CPU time of this process, so other jobs on a shared machine do not make it flaky."""
    family = get_family("arith")
    knobs = family.knobs({})
    rng = random.Random(0)
    n = 5000
    start = time.process_time()
    for _ in range(n):
        family.sample(rng, knobs)
    per_arith = (time.process_time() - start) / n
    assert per_arith < 300e-6, f"arith: {per_arith * 1e6:.0f} us per sample"
    total, count = 0.0, 0
    for fam in all_families().values():
        k = fam.knobs({})
        start = time.process_time()
        for _ in range(200):
            fam.sample(rng, k)
        total += time.process_time() - start
        count += 200
    assert total / count < 2e-3, f"all families: {total / count * 1e6:.0f} us per sample"
