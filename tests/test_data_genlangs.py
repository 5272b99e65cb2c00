"""Generated languages in the dataset builder: ranges, held-out languages, the bundled configs at tiny size.

`gen:A-B` in a mixture entry's `language`/`languages` or an OOD split's
`language` stands for generated languages A..B; a held-out range must not
meet training's languages. Each bundled config of the languages experiment
(configs/data/tiers.yaml, langs-n1/n10/n200.yaml) builds at a tiny size with
every example judged true by the VM and wrong answers refused.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from cadmus.data import (
    DataConfigError,
    build_dataset,
    config_from_dict,
    iter_examples,
    judge,
    read_manifest,
    resolve,
    verify_dataset,
)
from cadmus.lang import get_renderer
from cadmus.tasks import get_family

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ("tiers", "langs-n1", "langs-n10", "langs-n200")


def base(**overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "name": "t",
        "seed": 1,
        "mixture": [{"family": "tier1", "format": "output", "languages": ["gen:0-9", "python"]}],
        "splits": {"train": {"size": 10}, "test": {"size": 5}},
    }
    config.update(overrides)
    return config


def error_of(data: dict[str, Any]) -> str:
    with pytest.raises(DataConfigError) as info:
        resolve(config_from_dict(data, file="x.yaml"), file="x.yaml")
    return str(info.value)


def test_ranges_expand_and_share_the_weight() -> None:
    plan = resolve(config_from_dict(base(ood=[{"name": "held", "size": 5, "language": "gen:100-104@2"}])))
    train = [c.language for c in plan.split("train").choices]
    assert train == [f"gen:{i}" for i in range(10)] + ["python"]
    assert {c.weight for c in plan.split("train").choices} == {1 / 11}
    assert [c.language for c in plan.split("held").choices] == [f"gen:{i}@2" for i in range(100, 105)]


@pytest.mark.parametrize(
    ("change", "key", "message"),
    [
        ({"languages": ["gen:9-3"]}, "mixture.0.languages.0", "empty language range"),
        ({"languages": ["gen:0-3", "gen:3"]}, "mixture.0.languages", "repeated language"),
        ({"languages": ["gen:007"]}, "mixture.0.languages.0", "unknown language"),
        ({"languages": ["gen:0-3"], "format": "trace"}, "mixture.0.languages.0", "not available"),
    ],
)
def test_range_errors_name_the_key(change: dict[str, Any], key: str, message: str) -> None:
    entry = {"family": "tier1", "format": "output", **change}
    text = error_of(base(mixture=[entry]))
    assert key in text and message in text


def test_a_held_out_range_must_be_unseen() -> None:
    text = error_of(base(ood=[{"name": "held", "size": 5, "language": "gen:8-20"}]))
    assert "ood.0.language" in text and "gen:8" in text and "in the training mixture" in text


def test_tier2_has_false_ifs_without_else() -> None:
    family = get_family("tier2")
    knobs = family.knobs({"else_prob": 0.0})
    rng = random.Random(3)
    samples = [family.sample(rng, knobs) for _ in range(200)]
    assert all(s.features["has_else"] == 0 for s in samples)
    assert 100 < sum(s.features["taken"] == 0 for s in samples) < 180  # false_if_prob 0.7


def tiny(name: str) -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "configs" / "data" / f"{name}.yaml").read_text())
    data["splits"] = {"train": {"size": 24}, "val": {"size": 6}, "test": {"size": 9}}
    for split in data["ood"]:
        split["size"] = 6
    data["shard_size"] = 50
    return data


@pytest.mark.parametrize("name", CONFIGS)
def test_the_bundled_configs_resolve_at_full_size(name: str) -> None:
    data = yaml.safe_load((ROOT / "configs" / "data" / f"{name}.yaml").read_text())
    plan = resolve(config_from_dict(data))
    for split in plan.splits:
        if split.name != "train":
            assert split.size // 3 >= 500 or split.name == "val"  # >= 500 programs per tier (expected)
    if name.startswith("langs-n"):
        n = int(name.removeprefix("langs-n"))
        assert len({c.language for c in plan.split("train").choices}) == n
        assert plan.split("train").size == 60000


@pytest.mark.parametrize("name", CONFIGS)
def test_the_bundled_configs_build_at_tiny_size(name: str, tmp_path: Path) -> None:
    out = tmp_path / name
    build_dataset(config_from_dict(tiny(name)), out, progress=False)
    assert verify_dataset(out, sample=None) == []
    manifest = read_manifest(out)
    rows = list(iter_examples(out))
    held = [r for r in rows if r["split"] == "heldout_gen"]
    assert held and all(1000 <= int(r["language"].removeprefix("gen:")) <= 1019 for r in held)
    assert not set(manifest["splits"]["heldout_gen"]["languages"]) & set(
        manifest["splits"]["train"]["languages"]
    )
    for row in rows:
        if not row["language"].startswith("gen:"):
            continue
        info = json.loads(row["judge"])
        assert info["language"] == row["language"] and "program" in info
        assert row["prompt"].endswith(f"{get_renderer(row['language']).comment} output:\n")
        assert judge(row["format"], row["prompt"], row["completion"], row["judge"]).ok
        assert not judge(row["format"], row["prompt"], "1" + row["completion"], row["judge"]).ok
    assert {json.loads(r["features"])["tier"] for r in rows} == {1, 2, 3}
    card = (out / "README.md").read_text()
    table = card[card.index("## Languages (examples per split)") :]
    table = table[: table.index("\n## ")]
    # generated languages are grouped in runs of consecutive indices: fewer rows than languages
    assert "| gen:" in table and table.count("| gen:") <= len(manifest["languages"])
