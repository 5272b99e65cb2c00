"""The compiled front end (`cadmus.lang._cdsl`) against the reference chain.

For every text, either the front end declines (None) and `check` takes the
reference path, or it emits exactly the code `compile_program` emits and
`check` gives exactly the verdict `execute` gives (kind, message, line,
outputs, steps, assert id and values). Texts come from a seeded generator
of straight-line programs with errors mixed in (undefined names, reserved
words, comments, blank and indented lines, bad literals, chained
comparisons, division by zero, overflow, calls, indexing), from hypothesis
over the subset's tokens, and from built datasets with right and wrong
answers through `cadmus.data.judge`. Set CADMUS_FRONT_DIFF_N for a larger
one-off batch (e.g. 100000).
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cadmus.lang.fastpath as fastpath
import cadmus.lang.verdict as verdict_module
from cadmus.data import build_dataset, config_from_dict, judge, program_key
from cadmus.eval import read_split
from cadmus.lang import check, execute, parse
from cadmus.vm import BY_NAME, DEFAULT_LIMITS, ISA, Instr, InvalidProgram, Limits, Op, Program, run, run_code
from cadmus.vm.verify import check_operands

LIMITS = Limits(max_steps=500)
N_SEEDED = int(os.environ.get("CADMUS_FRONT_DIFF_N", "10000"))
NAMES = ("a", "b", "x", "y1", "_t", "total")
RESERVED = ("len", "read", "for", "range", "not", "and", "pass")
ARITHMETIC = ("+", "-", "*", "/", "%", "+", "-", "*", "&", "|", "^", "<<", ">>")
COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
NUMBERS = ("0", "1", "7", "42", "99", "-3", "9223372036854775807", "4611686018427387904", "3037000500")


def _expr(rng: random.Random, defined: list[str], depth: int) -> str:
    roll = rng.random()
    if depth <= 0 or roll < 0.3:
        if defined and rng.random() < 0.6:
            return rng.choice(defined)
        return rng.choice(NUMBERS)
    if roll < 0.4:
        return rng.choice("--~") + rng.choice(("", " ")) + _expr(rng, defined, depth - 1)
    if roll < 0.5:
        return "(" + _expr(rng, defined, depth - 1) + ")"
    space = rng.choice((" ", " ", ""))
    op = rng.choice(COMPARISONS if rng.random() < 0.1 else ARITHMETIC)
    return _expr(rng, defined, depth - 1) + space + op + space + _expr(rng, defined, depth - 1)


# Lines outside the subset or wrong: the front end must decline and the reference judge them.
JUNK = (
    "",
    "# a comment",
    "  x = 1",
    "x = 1 # trailing",
    "x = 007",
    "x = 12ab",
    "x = 99999999999999999999",
    "x = undefined_name",
    "len = 3",
    "x = len(a)",
    "print(1,)",
    "print 1",
    "assert",
    "x = 1 == 2 == 3",
    "x = (1",
    "x = 1 +",
    "x == 1",
    "x = 1\r",
    "\tx = 1",
    "x = 1 // 2",
    "x = 1 <<< 2",
    "x = 1 <> 2",
    "x = 1 ! 2",
    "x = not 1",
    "x = [1, 2]",
    "x = 1 / 0",
    "x = 1 << 64",
    "x = 9223372036854775807 + 1",
    "x = -9223372036854775807 - 2",
    "for i in range(3):\n    x = i",
    "x = 3; y = 4",
    "x = 1 and 0",
)


def random_text(rng: random.Random) -> str:
    defined: list[str] = []
    lines = []
    for _ in range(rng.randint(1, 6)):
        roll = rng.random()
        if roll < 0.04:
            lines.append(rng.choice(JUNK))
            continue
        if roll < 0.45 or not defined:
            name = rng.choice(NAMES) if rng.random() < 0.97 else rng.choice(RESERVED)
            lines.append(f"{name} = {_expr(rng, defined, rng.randint(0, 3))}")
            if name not in defined:
                defined.append(name)
        elif roll < 0.6:
            op = rng.choice(("+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=", ">>="))
            lines.append(f"{rng.choice(defined)} {op} {_expr(rng, defined, rng.randint(0, 2))}")
        elif roll < 0.85:
            cmp = rng.choice(("==", "==", "==", "!=", "<", ">="))
            left = _expr(rng, defined, rng.randint(0, 2))
            lines.append(f"assert {left} {cmp} {_expr(rng, defined, rng.randint(0, 2))}")
        elif roll < 0.9:
            lines.append(f"assert {_expr(rng, defined, 2)}")
        else:
            args = ", ".join(_expr(rng, defined, 1) for _ in range(rng.randint(0, 3)))
            lines.append(f"print({args})")
    return "\n".join(lines) + rng.choice(("\n", "\n", ""))


def reference_code(text: str) -> list[tuple[int, int, int]] | None:
    ex = execute(text)
    return None if ex.compiled is None else check_operands(ex.compiled.program)


def same(text: str, limits: Limits | None = None) -> bool:
    """Asserts both paths agree on `text`; True when the front end read it."""
    fast = fastpath.compile_text(text)
    reference = execute(text, limits=limits)
    if fast is not None:
        assert reference.compiled is not None, text
        assert fast[0] == check_operands(reference.compiled.program), text
        assert fast[1] == reference.compiled.assert_lines, text
    assert check(text, limits=limits) == reference.verdict, text
    return fast is not None


def test_the_front_end_is_built_and_in_use():
    assert fastpath.front_end_info()["front_end"] == "c"
    assert fastpath.compile_text("a = 1\nassert a == 1\n") is not None


def test_seeded_random_texts_agree():
    rng = random.Random(20261201)
    read = 0
    seen: set[str] = set()
    for _ in range(N_SEEDED):
        text = random_text(rng)
        if same(text):
            read += 1
            seen.add(check(text).kind.value)
    # The generator reaches every outcome the front end gives, and the
    # reference path the rest (its own errors and the runs that fault).
    assert read > N_SEEDED // 3, read
    assert {"true", "assertion_failed"} <= seen
    outcomes = {check(random_text(random.Random(i))).kind.value for i in range(3000)}
    assert {"parse_error", "semantic_error", "runtime_error", "assertion_failed", "true"} <= outcomes


@pytest.mark.parametrize("text", JUNK)
def test_each_junk_line_is_left_to_the_reference(text):
    program = f"a = 5\n{text}\nassert a == 5\n"
    same(program)
    if text in ("x = 1 / 0", "x = 9223372036854775807 + 1", "x = -9223372036854775807 - 2", "x = 1 << 64"):
        assert fastpath.compile_text(program) is not None  # read, but the run faults: reference verdict
        assert check(program).kind.value == "runtime_error"
    else:
        assert fastpath.compile_text(program) is None


def test_limits_agree_at_every_step_count():
    text = "a = 3\nb = a * 2 - -1\nprint(a, b)\nb += 4\nassert b == 11\nprint(b / 2, b % 3)\n"
    full = check(text)
    assert full.ok and same(text)
    for steps in range(full.steps + 2):
        same(text, Limits(max_steps=steps))
    for values in range(6):
        same(text, Limits(max_output=values))
    for stack in range(5):
        same(text, Limits(max_stack=stack))


tokens = st.sampled_from(
    [
        "a",
        "b",
        "x",
        "1",
        "0",
        "-",
        "+",
        "*",
        "/",
        "%",
        "(",
        ")",
        "==",
        "<",
        "=",
        "+=",
        ",",
        "print",
        "assert",
        " ",
    ]
)
lines = st.lists(tokens, min_size=1, max_size=9).map(" ".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(lines, min_size=1, max_size=5))
def test_hypothesis_token_texts_agree(program_lines):
    same("a = 2\nb = 3\n" + "\n".join(program_lines) + "\n")


def _dataset(tmp_path, family, knobs, fmt, size=300):
    config = {
        "name": "fast",
        "seed": 11,
        "mixture": [{"family": family, "format": fmt, "weight": 1, "knobs": knobs}],
        "splits": {"train": {"size": 1}, "val": {"size": 1}, "test": {"size": size}},
    }
    out = tmp_path / "data"
    build_dataset(config_from_dict(config), out, progress=False, card=False)
    return read_split(out, "test", size)


WRONG_STATEMENTS = ("{s} + 1", "{s}\n{s}", "{s} # c", "  {s}", "x = 1", "{s}\n", "", "{s};", "print(1)")
WRONG = (
    "{v}+1",
    "-{v}",
    "{v} ",
    "({v})",
    "{v}*1",
    "x",
    "{v} == 1",
    "",
    "1/0",
    "{v}\n5",
    "99999999999999999999",
    "(",
)


@pytest.mark.parametrize(
    "family,knobs,fmt",
    [
        ("arith", {"operators": ["+", "-"], "n_statements_min": 2, "n_statements_max": 3}, "complete"),
        ("arith", {"operators": ["+", "-", "*", "/", "%"], "min_value": -99, "max_value": 99}, "complete"),
        ("arith", {"operators": ["+", "-", "*"]}, "output"),
        ("arith", {}, "complete_stmt"),
        ("bit_ops", {}, "complete"),
        ("bit_ops", {}, "complete_stmt"),
        ("reassign", {}, "complete_stmt"),
        ("expr", {}, "output"),
    ],
)
def test_dataset_answers_are_judged_the_same(tmp_path, monkeypatch, family, knobs, fmt):
    rows = _dataset(tmp_path, family, knobs, fmt)
    cases = []
    rng = random.Random(5)
    for r in rows:
        value = r["completion"].rstrip("\n")
        cases.append((r, r["completion"]))
        if fmt == "complete":
            cases.append((r, rng.choice(WRONG).format(v=value)))
        elif fmt == "complete_stmt":
            cases.append((r, rng.choice(WRONG_STATEMENTS).format(s=value)))
        else:
            cases.append((r, value + "0"))
    calls: list[object] = []

    def counted(text: str) -> object:
        calls.append(fastpath.compile_text(text))
        return calls[-1]

    monkeypatch.setattr(verdict_module, "compile_text", counted)
    fast = [judge(r["format"], r["prompt"], answer, r["judge"]) for r, answer in cases]
    monkeypatch.setattr(fastpath, "_CDSL", None)  # the reference path only
    reference = [judge(r["format"], r["prompt"], answer, r["judge"]) for r, answer in cases]
    assert fast == reference
    assert all(v.ok for v in fast[::2])
    # every right answer of these families is read by the front end, not only declined
    assert sum(c is not None for c in calls) >= len(rows)


def test_the_environment_can_leave_the_front_end_out():
    code = "from cadmus.lang import front_end_info; print(front_end_info()['front_end'])"
    for env, expected in ((None, "c"), ("python", "python"), ("c", "c")):
        environ = {k: v for k, v in os.environ.items() if k != "CADMUS_FRONT"}
        if env is not None:
            environ["CADMUS_FRONT"] = env
        out = subprocess.run(
            [sys.executable, "-c", code], env=environ, capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == expected
    environ = {**os.environ, "CADMUS_VM": "python"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=environ, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "python"  # the front end runs only with the compiled VM
    bad = subprocess.run(
        [sys.executable, "-m", "cadmus", "vm", "info"],
        env={**os.environ, "CADMUS_FRONT": "fast"},
        capture_output=True,
        text=True,
    )
    assert bad.returncode != 0 and "CADMUS_FRONT='fast'" in bad.stderr and "Traceback" not in bad.stderr


def test_without_the_extensions_everything_runs_on_the_reference_paths():
    """A machine without a C compiler: no extension importable, same results."""
    code = """
import sys
sys.modules["cadmus.vm._cvm"] = None  # import fails as if never built
sys.modules["cadmus.lang._cdsl"] = None
sys.modules["cadmus.data._ccanon"] = None
from cadmus.lang import check, front_end_info, parse
from cadmus.vm import backend_info
from cadmus.data import judge, program_key
from cadmus.data import canon_walk_info
info, front = backend_info(), front_end_info()
assert info["backend"] == "python" and info["compiled"].startswith("not built"), info
assert front["front_end"] == "python" and front["compiled"].startswith("not built"), front
walk = canon_walk_info()
assert walk["walk"] == "python" and walk["compiled"].startswith("not built"), walk
print(check("a = 6\\nb = a * 7\\nprint(b)\\nassert b == 42\\n"))
print(check("a = 6\\nassert a == 7\\n"))
print(judge("complete", "a = 6\\nb = a - 9\\nassert b == ", "-3", "{}"))
print(program_key(parse("def f(n):\\n    return n + 1\\nx = f(41)\\n").body))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "true (13 steps)",
        "line 2: assertion failed: 6 != 7",
        "true (11 steps)",
        str(program_key(parse("def f(n):\n    return n + 1\nx = f(41)\n").body)),  # the compiled walk's key
    ]
    # and what the compiled paths say of the same programs
    assert str(check("a = 6\nb = a * 7\nprint(b)\nassert b == 42\n")) == "true (13 steps)"


@pytest.mark.parametrize(
    "fmt,prompt,answer",
    [
        ("complete", "x = 1\ny = x == ", "1"),  # the last line is no assert
        ("complete", "x = 1\nx += x == ", "1"),
        ("complete", "x = 1\nassert (x == ", "1)"),  # the answer closes the prompt's parenthesis
        ("complete", "x = 1\nprint(x == ", "1)"),
        ("complete", "x = 1\nassert x < 2 == ", "1"),  # a chain
        ("complete", "x = 1\nassert x == ", "(1"),
        ("complete", "assert 1 == ", "1"),
        ("complete_stmt", "x = 1", "y = 2"),  # no newline between the prompt and the answer
        ("output", "x = 1\nprint(x)\n# output:\n", "1\n\n"),
        ("output", "x = 1\nprint(x)\n# output:\n", " 1 "),
    ],
)
def test_odd_prompts_are_judged_like_the_reference(monkeypatch, fmt, prompt, answer):
    info = {"check": "assert y == 2\n"} if fmt == "complete_stmt" else {}
    fast = judge(fmt, prompt, answer, info)
    monkeypatch.setattr(fastpath, "_CDSL", None)
    assert fast == judge(fmt, prompt, answer, info)


def test_run_code_checks_operands():
    load, enter, push, jmp = (BY_NAME[name].code for name in ("load", "enter", "push", "jmp"))
    printed = run_code([(enter, 1, 0), (push, 5, 0), (BY_NAME["print"].code, 1, 0)], (), DEFAULT_LIMITS)
    assert printed is not None and printed[2] == ((5,),)
    bad_code = {
        "slot -1 outside": [(enter, 1, 0), (load, -1, 0)],
        "count -3 outside": [(enter, -3, 0)],
        "unknown opcode 999": [(999, 0, 0)],
        "an operand past its count": [(push, 1, 7)],
        "target 9 outside 0..1": [(jmp, 9, 0)],
        "not an (op, a, b) tuple": [(push, 1)],
        "constant": [(push, 2**63, 0)],
    }
    for message, bad in bad_code.items():
        with pytest.raises(InvalidProgram, match=re.escape(message)):
            run_code(bad, (), DEFAULT_LIMITS)


def _flat_entry(op: int, a: int, b: int, tidy: bool) -> tuple[int, int, int]:
    """(op, a, b), mostly with the operands past the instruction's count zeroed."""
    k = len(ISA[op].operands)
    return (op, *(*(a, b)[:k], 0, 0)[:2]) if tidy else (op, a, b)


_PUSH_CODE = BY_NAME["push"].code
flat_entries = st.builds(
    _flat_entry,
    st.sampled_from([i.code for i in ISA] + [_PUSH_CODE] * 30),
    st.integers(-2, 6),
    st.integers(-1, 3),
    st.integers(0, 9).map(bool),
)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(flat_entries, min_size=1, max_size=12), st.lists(st.integers(-5, 5), max_size=3))
def test_run_code_agrees_with_run_on_any_flat_code(flat, inputs):
    """Random flat code: refused as the Program would be, else the same run (or left to the reference)."""
    try:
        if any((a, b)[len(ISA[op].operands) :] != (0, 0)[len(ISA[op].operands) :] for op, a, b in flat):
            raise InvalidProgram("an operand past its count")
        program = Program(tuple(Instr(Op(op), (a, b)[: len(ISA[op].operands)]) for op, a, b in flat))
        reference = run(program, tuple(inputs), LIMITS)
    except InvalidProgram:
        reference = None
    try:
        ran = run_code(list(flat), tuple(inputs), LIMITS)
    except InvalidProgram:
        assert reference is None
        return
    if ran is None:
        return  # the reference path runs it (or says what is wrong)
    assert reference is not None
    fault, steps, outputs, _ = ran
    assert (
        (fault is None) == reference.ok and steps == reference.steps and outputs == tuple(reference.outputs)
    )


def test_a_bad_cadmus_vm_does_not_break_importing_the_language():
    code = "import cadmus.lang, cadmus.data; print(cadmus.lang.front_end_info()['front_end'])"
    out = subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, "CADMUS_VM": "bogus"}, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "python"
