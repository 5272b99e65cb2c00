"""`make bench-data-stages` still times every stage it names, and its figures add up."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cadmus.figures import bench_data_stages

ROOT = Path(__file__).resolve().parents[1]


def test_the_stages_are_timed_and_add_up(tmp_path: Path) -> None:
    record = tmp_path / "bench-data-stages.json"
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "bench_data_stages.py"),
            "--n",
            "400",
            "--record",
            str(record),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr  # a renamed stage fails here (AttributeError)
    r = json.loads(record.read_text())
    assert r["examples"] == 400 and r["drawn"] >= 400
    stages = {s["stage"]: s for s in r["stages"]}
    # every stage ran: the wrappers sit on functions the build calls
    assert all(s["calls"] > 0 and s["seconds"] > 0 for s in r["stages"]), stages
    assert stages["drawing programs (family samplers)"]["calls"] == r["drawn"]
    assert stages["canonical keys (dedup, split regions)"]["calls"] <= r["drawn"]
    assert stages["rows (columns, JSON)"]["calls"] == 400
    assert abs(sum(s["seconds"] for s in r["stages"]) - r["seconds"]) < 1e-6
    text = bench_data_stages(tmp_path)
    assert "programs drawn per example kept" in text and "whatever verifying and keying cost" in text
    assert "stages that neither verify nor key programs: 1M examples on 2 cores take at least" in out.stdout
