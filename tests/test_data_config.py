"""Dataset configs: typed, strict, and every error names the key (and the file) on one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cadmus.data import DataConfigError, config_from_dict, load_config, load_plan, resolve

ROOT = Path(__file__).resolve().parents[1]


def base() -> dict[str, Any]:
    return {
        "name": "t",
        "seed": 1,
        "mixture": [{"family": "arith", "format": "complete"}],
        "splits": {"train": {"size": 10}, "test": {"size": 5}},
    }


def error_of(data: dict[str, Any]) -> DataConfigError:
    with pytest.raises(DataConfigError) as info:
        resolve(config_from_dict(data, file="x.yaml"), file="x.yaml")
    err = info.value
    assert "\n" not in str(err)
    return err


def with_(path: str, value: Any) -> dict[str, Any]:
    data = base()
    node: Any = data
    keys = path.split(".")
    for k in keys[:-1]:
        node = node[int(k)] if isinstance(node, list) else node.setdefault(k, {})
    last = keys[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "key", "words"),
    [
        ("splits.test.size", 0, "splits.test.size", "must be > 0"),
        ("splits.test.sise", 3, "splits.test.sise", "unknown key"),
        ("shard_size", -1, "shard_size", "must be > 0"),
        ("colour", "red", "colour", "unknown key"),
        ("mixture.0.family", "nope", "mixture.0.family", "unknown task family 'nope'"),
        ("mixture.0.format", "poem", "mixture.0.format", "unknown format 'poem'"),
        ("mixture.0.format", "synthesize", "mixture.0.format", "does not support format"),
        ("mixture.0.weight", 0, "mixture.0.weight", "must be > 0"),
        ("mixture.0.knobs", {"max_value": "many"}, "mixture.0.knobs.max_value", "integer"),
        ("mixture.0.knobs", {"bogus": 1}, "mixture.0.knobs.bogus", ""),
        ("dedup.holdout", 1.5, "dedup.holdout", "must be < 1"),
    ],
)
def test_bad_values_name_the_key(path: str, value: Any, key: str, words: str) -> None:
    err = error_of(with_(path, value))
    assert err.key == key
    assert str(err).startswith(f"x.yaml: key '{key}': ")
    assert words in str(err)


def test_missing_and_structural_errors() -> None:
    data = base()
    del data["seed"]
    assert error_of(data).key == "seed"
    data = base()
    data["mixture"] = [{"family": "arith"}]
    assert "exactly one of 'format' and 'formats'" in str(error_of(data))
    data = base()
    data["ood"] = [{"name": "test", "size": 3}]
    assert error_of(data).key == "ood.0.name"
    data = base()
    data["ood"] = [{"name": "o", "size": 3, "knobs": {"gcd": {"max_value": 3}}}]
    assert error_of(data).key == "ood.0.knobs.gcd"
    data = base()
    data["ood"] = [{"name": "o", "size": 3, "knobs": {"arith": {"min_value": 500, "max_value": 10}}}]
    assert error_of(data).key.startswith("ood.0.knobs.arith")
    data = base()
    data["ood"] = [{"name": "o", "size": 3, "mixture": [{"family": "arith", "format": "complete"}]}]
    err = error_of(data)
    assert err.key == "ood.0.mixture.0" and "training mixture" in str(err)
    data = base()
    data["ood"] = [{"name": "r", "size": 6, "renamed": {"of": "test"}}]
    assert error_of(data).key == "ood.0.size"


def test_yaml_file_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: x\nseed: 1\nsplits: {test: {size: 0}, train: {size: 3}}\nmixture: [{family: arith, format: complete}]\n"
    )
    with pytest.raises(DataConfigError) as info:
        load_config(bad)
    assert str(info.value) == f"{bad}: key 'splits.test.size': must be > 0"
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    with pytest.raises(DataConfigError) as info:
        load_config(broken)
    assert str(info.value).startswith(f"{broken}:")
    with pytest.raises(DataConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")


def test_cli_prints_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: x\nseed: 1\nsplits: {test: {size: 0}, train: {size: 3}}\nmixture: [{family: arith, format: complete}]\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "cadmus", "data", "build", str(bad), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"cadmus: error: {bad}: key 'splits.test.size': must be > 0"


@pytest.mark.parametrize("name", ["arith", "mix"])
def test_bundled_configs_resolve(name: str) -> None:
    plan = load_plan(ROOT / "configs" / "data" / f"{name}.yaml")
    assert plan.split("train").size > 0
    if name == "arith":
        assert {c.format for c in plan.split("train").choices} == {"complete"}
        assert {s.name for s in plan.splits} >= {
            "ood_values_3digit",
            "ood_values_5digit",
            "ood_renamed",
            "ood_depth",
        }
    else:
        from cadmus.tasks import all_families

        assert {c.family.name for c in plan.split("train").choices} == set(all_families())
        assert sum(s.size for s in plan.splits) == 1_000_000
