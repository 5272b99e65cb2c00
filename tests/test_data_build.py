"""The dataset builder: determinism across workers and shards, resume, leakage, verify, loading."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from cadmus.data import (
    COLUMNS,
    DataBuildError,
    build_dataset,
    config_from_dict,
    judge,
    plan_tasks,
    read_manifest,
    regenerate,
    resolve,
    verify_dataset,
)
from cadmus.data.canon import canonical_form
from cadmus.lang import parse


def small_config(**overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "name": "tiny",
        "seed": 7,
        "mixture": [
            {"family": "arith", "formats": ["complete", "output"], "weight": 2},
            {"family": "gcd", "formats": ["synthesize", "instruct"], "weight": 1},
            {"family": "for_loop", "format": "trace", "weight": 1},
        ],
        "splits": {"train": {"size": 260}, "val": {"size": 40}, "test": {"size": 60}},
        "ood": [
            {"name": "ood_values", "size": 30, "knobs": {"arith": {"min_value": 1000, "max_value": 9999}}},
            {"name": "ood_names", "size": 30, "names": "heldout"},
            {"name": "ood_renamed", "size": 60, "renamed": {"of": "test", "names": "heldout"}},
            {"name": "ood_pair", "size": 20, "mixture": [{"family": "arith", "format": "complete_stmt"}]},
        ],
        "shard_size": 100,
        "dedup": {"holdout": 0.25},
    }
    config.update(overrides)
    return config


def shard_hashes(out: Path) -> dict[str, str]:
    manifest = read_manifest(out)
    return {s["file"]: s["sha256"] for info in manifest["splits"].values() for s in info["shards"]}


def file_bytes(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.glob("*/shard-*.parquet"))}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("data") / "tiny"
    result = build_dataset(config_from_dict(small_config()), out, workers=1, progress=False)
    assert result.manifest is not None and result.remaining == 0
    return out


def test_layout_manifest_and_card(built: Path) -> None:
    manifest = read_manifest(built)
    assert (built / "README.md").exists()
    assert list((built / "plots").glob("*.png"))
    assert manifest["seed"] == 7 and manifest["cadmus_version"]
    assert manifest["columns"] == list(COLUMNS)
    sizes = {name: info["examples"] for name, info in manifest["splits"].items()}
    assert sizes == {
        "train": 260,
        "val": 40,
        "test": 60,
        "ood_values": 30,
        "ood_names": 30,
        "ood_renamed": 60,
        "ood_pair": 20,
    }
    assert len(manifest["splits"]["train"]["shards"]) == 3
    counts = manifest["splits"]["train"]["counts"]
    assert set(counts) == {"arith", "gcd", "for_loop"}
    assert set(counts["gcd"]) == {"synthesize", "instruct"}
    assert sum(n for fam in counts.values() for n in fam.values()) == 260
    assert manifest["splits"]["ood_pair"]["counts"] == {"arith": {"complete_stmt": 20}}
    for split in ("train", "test"):
        table = pq.read_table(built / split / "shard-00000.parquet")
        assert tuple(table.column_names) == COLUMNS
        assert set(table["split"].to_pylist()) == {split}


def test_no_leakage(built: Path) -> None:
    manifest = read_manifest(built)
    leak = manifest["leakage"]
    assert set(leak["overlap_with_train"]) == set(manifest["splits"]) - {"train"}
    assert all(n == 0 for n in leak["overlap_with_train"].values())
    assert leak["overlap_with_val"]["test"] == 0  # OOD splits may share programs with val, by design
    assert leak["repeated_within_split"]["test"] == 0
    assert_no_test_example_in_train(built)


def assert_no_test_example_in_train(out: Path) -> None:
    """Independently of the keys: no test prompt occurs in train (with its hidden check, for `complete_stmt`)."""

    def shown(split: str) -> set[str]:
        table = pq.read_table(out / split, columns=["format", "prompt", "judge"]).to_pylist()
        return {r["prompt"] + (r["judge"] if r["format"] == "complete_stmt" else "") for r in table}

    test = shown("test")
    assert test and not shown("train") & test


def test_instruct_prompts_are_held_out_even_when_few(tmp_path: Path) -> None:
    """A family has few instructions: test instruct prompts must still never be train prompts."""
    config = small_config(
        mixture=[{"family": f, "format": "instruct"} for f in ("gcd", "collatz", "is_prime")],
        splits={"train": {"size": 120}, "test": {"size": 30}},
        ood=[],
        dedup={"holdout": 0.5, "within_split": False},
    )
    out = tmp_path / "instruct"
    build_dataset(config_from_dict(config), out, progress=False, card=False)
    assert_no_test_example_in_train(out)
    for row in pq.read_table(out / "test").to_pylist():
        assert judge("instruct", row["prompt"], row["completion"], row["judge"]).ok


def test_renamed_split_holds_the_test_programs_renamed(built: Path) -> None:
    test = pq.read_table(built / "test").to_pylist()
    renamed = pq.read_table(built / "ood_renamed").to_pylist()
    assert len(renamed) == len(test)
    differ = 0
    for a, b in zip(test, renamed):
        assert a["index"] == b["index"] and a["format"] == b["format"] and a["seed"] == b["seed"]
        differ += a["prompt"] != b["prompt"]
        if a["format"] in ("complete", "output", "trace"):
            pa_, pb = (r["prompt"] + (r["completion"] if r["format"] == "complete" else "") for r in (a, b))
            pa_, pb = (p.split("# ")[0] for p in (pa_, pb))
            assert canonical_form(parse(pa_).body) == canonical_form(parse(pb).body)
        if a["format"] != "trace":
            assert a["completion"] == b["completion"] or a["format"] in ("synthesize", "instruct")
    assert differ > len(test) // 2


def test_rows_regenerate_from_their_seed(built: Path) -> None:
    plan = resolve(config_from_dict(small_config()))
    rows = (
        pq.read_table(built / "test").to_pylist()[:10] + pq.read_table(built / "ood_renamed").to_pylist()[:5]
    )
    for row in rows:
        _, again = regenerate(plan, row["split"], row["index"], row["seed"])
        assert (again.prompt, again.completion) == (row["prompt"], row["completion"])


def test_every_row_is_judged_true(built: Path) -> None:
    for split in ("train", "ood_names", "ood_pair"):
        for row in pq.read_table(built / split).to_pylist()[:80]:
            assert judge(row["format"], row["prompt"], row["completion"], row["judge"]).ok, row["id"]
            assert json.loads(row["knobs"])["names"]
            assert row["n_statements"] > 0 and row["steps"] > 0


def test_determinism_across_workers_and_shards(built: Path, tmp_path: Path) -> None:
    cfg = config_from_dict(small_config())
    two = tmp_path / "two"
    build_dataset(cfg, two, workers=2, progress=False, card=False)
    sharded = tmp_path / "sharded"
    first = build_dataset(cfg, sharded, shard=(1, 3), progress=False, card=False)
    assert first.manifest is None and first.remaining > 0
    build_dataset(cfg, sharded, shard=(0, 3), progress=False, card=False)
    last = build_dataset(cfg, sharded, shard=(2, 3), progress=False, card=False)
    assert last.manifest is not None
    reference = file_bytes(built)
    assert len(reference) == len(plan_tasks(resolve(cfg)))
    assert file_bytes(two) == reference
    assert file_bytes(sharded) == reference
    assert read_manifest(two) == read_manifest(built)


def test_resume_after_interruption(built: Path, tmp_path: Path) -> None:
    out = tmp_path / "resume"
    shutil.copytree(built, out)
    (out / "manifest.json").unlink()
    # an interrupted shard: the file never renamed into place, no sidecar
    (out / "train" / "shard-00001.parquet").rename(out / "train" / ".shard-00001.parquet.tmp")
    (out / ".shards" / "train-00001.json").unlink()
    # a shard whose bytes no longer match its sidecar is rebuilt too
    with open(out / "test" / "shard-00000.parquet", "r+b") as f:
        f.seek(100)
        f.write(b"garbage")
    result = build_dataset(config_from_dict(small_config()), out, progress=False, card=False)
    assert sorted(result.built) == ["test/shard-00000.parquet", "train/shard-00001.parquet"]
    assert len(result.skipped) == len(plan_tasks(resolve(config_from_dict(small_config())))) - 2
    assert shard_hashes(out) == shard_hashes(built)
    assert file_bytes(out) == file_bytes(built)
    assert not list(out.glob("*/.shard-*.tmp"))


def test_different_config_refuses_the_folder(built: Path, tmp_path: Path) -> None:
    out = tmp_path / "other"
    shutil.copytree(built, out)
    with pytest.raises(DataBuildError, match="different config") as info:
        build_dataset(config_from_dict(small_config(seed=8)), out, progress=False)
    assert info.value.file == str(out)


def test_every_stored_example_is_judged_true(built: Path) -> None:
    """All 520 rows, re-judged through their text in two processes: each completion makes a true program."""
    assert verify_dataset(built, sample=None, workers=2) == []


def test_verify_detects_corruption_and_wrong_answers(built: Path, tmp_path: Path) -> None:
    assert verify_dataset(built, sample=40) == []
    out = tmp_path / "bad"
    shutil.copytree(built, out)
    with open(out / "val" / "shard-00000.parquet", "r+b") as f:
        f.seek(200)
        f.write(b"\x00\x01\x02")
    problems = verify_dataset(out, sample=10)
    assert len(problems) == 1 and "val/shard-00000.parquet" in problems[0] and "SHA-256" in problems[0]
    # a shard whose hash is updated but whose answers are wrong fails the re-judging
    shutil.copy(built / "val" / "shard-00000.parquet", out / "val" / "shard-00000.parquet")
    table = pq.read_table(out / "test" / "shard-00000.parquet")
    rows = table.to_pylist()
    for row in rows:
        if row["format"] == "complete":
            row["completion"] = str(int(row["completion"]) + 1) + "\n"
    import pyarrow as pa

    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), out / "test" / "shard-00000.parquet")
    manifest = json.loads((out / "manifest.json").read_text())
    from cadmus.files import sha256_file

    manifest["splits"]["test"]["shards"][0]["sha256"] = sha256_file(out / "test" / "shard-00000.parquet")
    (out / "manifest.json").write_text(json.dumps(manifest))
    problems = verify_dataset(out, sample=None)
    assert problems and all("test/shard-00000.parquet" in p and "judged" in p for p in problems)


def test_loads_with_pandas_and_datasets(built: Path, tmp_path: Path) -> None:
    import datasets
    import pandas as pd

    frame = pd.read_parquet(built / "train")
    assert len(frame) == 260 and list(frame.columns) == list(COLUMNS)
    ds = datasets.load_dataset(
        "parquet",
        data_files={"train": str(built / "train" / "*.parquet"), "test": str(built / "test" / "*.parquet")},
        cache_dir=str(tmp_path / "hf"),
    )
    assert ds["train"].num_rows == 260 and ds["test"].num_rows == 60
    assert ds["train"].column_names == list(COLUMNS)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_format_that_never_applies_fails_with_one_line(tmp_path: Path, workers: int) -> None:
    from cadmus.data import DataBuildError

    data = small_config(max_attempts=3, ood=[])
    data["mixture"] = [{"family": "arith", "format": "complete"}, {"family": "array_sum", "format": "trace"}]
    with pytest.raises(DataBuildError) as info:
        build_dataset(config_from_dict(data), tmp_path / "x", workers=workers, progress=False)
    message = str(info.value)
    assert "\n" not in message
    assert "no example after" in message and "array_sum/trace" in message


def test_resume_after_a_killed_build(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    import yaml

    data = {
        "name": "killed",
        "seed": 5,
        "mixture": [{"family": "arith", "format": "complete"}],
        "splits": {"train": {"size": 2400}, "test": {"size": 100}},
        "shard_size": 100,
    }
    config = tmp_path / "killed.yaml"
    config.write_text(yaml.safe_dump(data))
    out = tmp_path / "interrupted"
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "cadmus", "data", "build", str(config), "--out", str(out), "-q", "--no-card"],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list((out / ".shards").glob("train-*.json"))) < 3:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = len(list((out / ".shards").glob("train-*.json")))
    assert 3 <= finished < 24 and not (out / "manifest.json").exists()
    result = build_dataset(config, out, progress=False, card=False)
    assert len(result.skipped) >= finished and result.manifest is not None
    fresh = tmp_path / "fresh"
    build_dataset(config, fresh, workers=2, progress=False, card=False)
    assert file_bytes(out) == file_bytes(fresh)
    assert shard_hashes(out) == shard_hashes(fresh)
