"""`cadmus vm ...` through a real subprocess, the ISA document, the demo."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cadmus.vm import assemble, isa_markdown, run

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "src" / "cadmus" / "examples"


def cadmus(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cadmus", *args], capture_output=True, text=True, timeout=60, cwd=ROOT
    )


def test_docs_isa_md_is_generated_from_the_table():
    assert (ROOT / "docs" / "isa.md").read_text(encoding="utf-8") == isa_markdown(), (
        "docs/isa.md is stale: run `make docs`"
    )


EXPECTED = {
    "factorial.asm": ((), "1 1\n2 2\n3 6\n4 24\n5 120\n6 720\n7 5040\n8 40320\n9 362880\n10 3628800"),
    "gcd.asm": ((), "21"),
    "sort.asm": ((), "1 -8 6 -3 11 2 -7 7\n-8 -7 -3 1 2 6 7 11"),
    "sum_inputs.asm": ((3, 5, -2, 10), "13"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bundled_examples(name):
    inputs, expected = EXPECTED[name]
    r = run(assemble((EXAMPLES / name).read_text()), inputs)
    assert r.status == "ok" and r.output_text() == expected


def test_cli_run_ok_and_inputs(tmp_path):
    r = cadmus("vm", "run", str(EXAMPLES / "sum_inputs.asm"), "--input", "3, 5,-2,10")
    assert (r.returncode, r.stdout, r.stderr) == (0, "13\n", "")


def test_cli_runtime_failure_is_one_line_exit_1():
    path = str(EXAMPLES / "failing_assert.asm")
    r = cadmus("vm", "run", path)
    assert r.returncode == 1
    assert r.stdout == "42\n"
    assert r.stderr == f"{path}: pc 7 (assert): assertion 2 failed\n"


def test_cli_bad_file_and_bad_args(tmp_path):
    bad = tmp_path / "bad.asm"
    bad.write_text("push 1\n\n   ad 3\n")
    r = cadmus("vm", "run", str(bad))
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.strip().splitlines() == [f"cadmus: error: {bad}:3:4: unknown instruction 'ad'"]
    invalid = tmp_path / "invalid.asm"
    invalid.write_text("jmp 7\n")
    r = cadmus("vm", "run", str(invalid))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "pc 0 (jmp)" in r.stderr
    for args in (["--input", "1,x"], []):
        target = str(EXAMPLES / "gcd.asm") if args else str(tmp_path / "missing.asm")
        r = cadmus("vm", "run", target, *args)
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
        assert "Traceback" not in r.stderr


def test_cli_trace_and_max_steps():
    r = cadmus("vm", "run", str(EXAMPLES / "gcd.asm"), "--trace")
    lines = r.stdout.splitlines()
    assert r.returncode == 0 and lines[0].split() == ["step", "pc", "instruction", "top", "locals"]
    assert lines[2].split() == ["2", "1", "push", "1071", "1071", "0", "0"]
    assert lines[-1] == "21"
    r = cadmus("vm", "run", str(EXAMPLES / "gcd.asm"), "--max-steps", "10")
    assert r.returncode == 1 and "step limit of 10 exceeded" in r.stderr


def test_cli_isa():
    r = cadmus("vm", "isa", "--markdown")
    assert r.returncode == 0 and r.stdout == isa_markdown()
    r = cadmus("vm", "isa")
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 66 and "asserteq" in r.stdout


def test_vm_showcase_runs_quickly():
    r = subprocess.run(
        [sys.executable, "-c", "from cadmus.demo import vm_showcase; vm_showcase()"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert r.returncode == 0, r.stderr
    assert "3628800" in r.stdout and "trace of gcd.asm" in r.stdout and "failing" not in r.stdout


def test_vm_info_names_the_execution_path():
    def info(**extra: str) -> list[str]:
        env = {k: v for k, v in os.environ.items() if k not in ("CADMUS_VM", "CADMUS_FRONT")} | extra
        command = [sys.executable, "-m", "cadmus", "vm", "info"]
        r = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=ROOT, env=env)
        assert r.returncode == 0, r.stderr
        return r.stdout.splitlines()

    assert info() == [
        "backend: c (chosen by default)",
        "compiled path: built",
        "DSL front end: c (default; compiled front end built)",
        "canonical keys (data builds): c (compiled walk built)",
    ]
    assert info(CADMUS_VM="python")[0] == "backend: python (chosen by CADMUS_VM=python)"
    assert (
        info(CADMUS_VM="python")[2]
        == "DSL front end: python (the reference VM is in use; compiled front end built)"
    )
    assert (
        info(CADMUS_FRONT="python")[2]
        == "DSL front end: python (CADMUS_FRONT=python; compiled front end built)"
    )
