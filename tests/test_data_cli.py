"""`cadmus data build / show / verify` through the real command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIG = {
    "name": "cli",
    "seed": 3,
    "mixture": [
        {"family": "arith", "formats": ["complete", "trace"]},
        {"family": "is_prime", "format": "synthesize"},
    ],
    "splits": {"train": {"size": 120}, "test": {"size": 30}},
    "ood": [{"name": "ood_big", "size": 20, "knobs": {"arith": {"min_value": 100, "max_value": 999}}}],
    "shard_size": 50,
}


def cadmus(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cadmus", *args], capture_output=True, text=True, cwd=ROOT)


def test_build_show_verify(tmp_path: Path) -> None:
    config = tmp_path / "cli.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    out = tmp_path / "ds"
    first = cadmus("data", "build", str(config), "--out", str(out), "--workers", "2", "--shard", "0/2", "-q")
    assert first.returncode == 0, first.stderr
    assert "still missing" in first.stderr and not (out / "manifest.json").exists()
    done = cadmus("data", "build", str(config), "--out", str(out), "-q")
    assert done.returncode == 0, done.stderr
    assert "dataset complete" in done.stderr and (out / "manifest.json").exists()
    assert (out / "README.md").read_text().startswith("# Dataset `cli`")

    shown = cadmus("data", "show", str(out), "--split", "test", "--format", "trace", "-n", "2")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.count("=== cli/test/") == 2
    assert "# trace:\n|1: " in shown.stdout
    assert cadmus("data", "show", str(out), "--family", "nope").returncode == 1

    ok = cadmus("data", "verify", str(out), "--sample", "30")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    every = cadmus("data", "verify", str(out), "--all", "--workers", "2")
    assert every.returncode == 0 and every.stderr.strip() == f"{out}: ok", every.stdout + every.stderr
    assert (
        cadmus("data", "verify", str(out), "--workers", "0").stderr.strip().endswith("--workers must be >= 1")
    )
    with open(out / "train" / "shard-00001.parquet", "r+b") as f:
        f.seek(64)
        f.write(b"corrupt")
    bad = cadmus("data", "verify", str(out))
    assert bad.returncode == 1
    assert bad.stdout.strip().splitlines() == [
        f"{out}: train/shard-00001.parquet: SHA-256 differs from the manifest (file changed or corrupted)"
    ]
    missing = cadmus("data", "verify", str(tmp_path / "nothing"))
    assert missing.returncode == 1 and "manifest.json" in missing.stdout
    assert cadmus("data", "build", str(config), "--out", str(out), "--shard", "3/2").returncode == 2
