"""`cadmus run`, `cadmus check` and `cadmus compile` through real subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "src" / "cadmus" / "examples"


def cadmus(*args: str, stdin: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "cadmus", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


@pytest.fixture
def progs(tmp_path: Path) -> Path:
    (tmp_path / "ok.cad").write_text("x = read()\nprint(x * 2)\nprint(x, 1)\n")
    (tmp_path / "fail.cad").write_text("x = 12\nprint(x)\n\nassert x == 13\n")
    (tmp_path / "div.py").write_text("x = -7\nprint(x // 2)\nprint(x // (x + 7))\n")
    (tmp_path / "bad.cad").write_text("x = 1\ny = (x +\n")
    (tmp_path / "sem.cad").write_text("x = 1\nprint(y)\n")
    return tmp_path


def test_run_prints_the_output(progs: Path) -> None:
    proc = cadmus("run", str(progs / "ok.cad"), "--input", "21")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "42\n21 1\n", "")


def test_run_a_failed_assert(progs: Path) -> None:
    path = str(progs / "fail.cad")
    proc = cadmus("run", path)
    assert proc.returncode == 1
    assert proc.stdout == "12\n"
    assert proc.stderr == f"{path}:4: assertion failed: 12 != 13\n"


def test_run_python_with_a_runtime_error(progs: Path) -> None:
    path = str(progs / "div.py")
    proc = cadmus("run", path)
    assert proc.returncode == 1
    assert proc.stdout == "-4\n"
    assert proc.stderr == f"{path}:3: division by zero\n"


def test_run_reads_the_program_from_stdin() -> None:
    proc = cadmus("run", "-", stdin="print(7 / -2, 7 % -2)\n")
    assert (proc.returncode, proc.stdout) == (0, "-3 1\n")


def test_run_with_step_limit() -> None:
    proc = cadmus("run", "-", "--max-steps", "100", stdin="x = 0\nwhile 1:\n    x += 1\n")
    assert proc.returncode == 1
    assert proc.stderr.startswith("<stdin>:") and "step" in proc.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["run", "{dir}/bad.cad"], "{dir}/bad.cad:2:"),
        (["run", "{dir}/sem.cad"], "{dir}/sem.cad:2:7:"),
        (["run", "{dir}/missing.cad"], "{dir}/missing.cad: cannot read file"),
        (["run", "{dir}/ok.cad", "--input", "1,x"], "--input"),
        (["compile", "{dir}/bad.cad"], "{dir}/bad.cad:2:"),
        (["check", "{dir}/missing.cad"], "{dir}/missing.cad"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(progs: Path, args: list[str], needle: str) -> None:
    proc = cadmus(*(a.format(dir=progs) for a in args))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1
    assert needle.format(dir=progs) in proc.stderr


def test_check_prints_verdicts(progs: Path) -> None:
    proc = cadmus("check", str(EXAMPLES / "gcd.cad"), str(EXAMPLES / "sort.py"))
    assert proc.returncode == 0
    rows = proc.stdout.splitlines()
    assert len(rows) == 2 and all(": true (" in row for row in rows)
    proc = cadmus(
        "check", str(progs / "ok.cad"), str(progs / "fail.cad"), str(progs / "bad.cad"), "--input", "1"
    )
    assert proc.returncode == 1
    rows = proc.stdout.splitlines()
    assert rows[0].startswith(f"{progs / 'ok.cad'}: true (")
    assert rows[1] == f"{progs / 'fail.cad'}: line 4: assertion failed: 12 != 13"
    assert rows[2].startswith(f"{progs / 'bad.cad'}: line 2, col ")


def test_check_json(progs: Path) -> None:
    proc = cadmus("check", "--json", str(progs / "fail.cad"))
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    assert data["kind"] == "assertion_failed" and data["line"] == 4 and data["values"] == [12, 13]


def test_compile_shows_assembly_by_source_line() -> None:
    proc = cadmus("compile", str(EXAMPLES / "recursion.cad"))
    assert proc.returncode == 0
    out = proc.stdout
    assert "# line 12: print(fact(10), fib(15))" in out
    assert "# function fact(n)" in out
    assert "    enter 0" in out and "call L" in out


def test_trace_shows_steps_with_source_lines() -> None:
    proc = cadmus("run", "--trace", "-", stdin="def f(a):\n    return a + 1\nx = f(2)\nprint(x)\n")
    assert proc.returncode == 0
    rows = proc.stdout.splitlines()
    assert rows[0].split() == ["step", "pc", "line", "instruction", "top", "locals"]
    assert rows[-1] == "3"
    assert any("call" in row and "a=2" in row for row in rows)
    assert any(
        row.split()[1:4] == ["7", "1", "enter"] for row in rows[1:-2]
    )  # f starts at pc 7, its def line
    assert any(row.split()[1:4] == ["10", "2", "add"] for row in rows[1:-2])
