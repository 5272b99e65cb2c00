"""Differential tests: the VM and CPython must agree.

(a) Random DSL programs (randgen, mode "dsl"): the VM runs the tree, CPython
    runs `to_python(tree)`.
(b) Random Python-subset programs (randgen, mode "python", rendered with
    `to_python(..., mode="python")`) and hand-written ones: the VM runs
    `from_python(text)` in mode "python", CPython runs the text itself.

CPython runs in ONE separate process (a small runner given every program at
once through a file), never in this one: the Cadmus library never executes
program text; this test does, on programs it generated itself, on purpose.
Outputs must be equal line for line; a failure must be a failure on both
sides (an assertion on both, or a run-time error on both), with the same
output before it. Programs that overflow the VM's 64-bit integers are skipped
(CPython's integers are unbounded) and counted: they must stay rare.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from cadmus.lang import execute, from_python, parse, to_python
from cadmus.lang.randgen import random_program
from cadmus.vm.errors import IntegerOverflow
from conftest import FLOOR_DIVISION_PROGRAM, LIST_PROGRAM, differential_inputs

N_DSL = 600
N_PYTHON = 400

RUNNER = textwrap.dedent(
    """
    import builtins, contextlib, io, json, signal, sys
    sys.setrecursionlimit(20000)
    jobs = json.load(open(sys.argv[1]))
    results = []
    def timeout(signum, frame):
        raise TimeoutError("took too long")
    signal.signal(signal.SIGALRM, timeout)
    for job in jobs:
        out = io.StringIO()
        sys.stdin = io.StringIO("".join(f"{v}\\n" for v in job["inputs"]))
        status = "ok"
        try:
            code = compile(job["source"], "<program>", "exec")
            signal.alarm(10)
            with contextlib.redirect_stdout(out):
                exec(code, {"__name__": "__main__", "__builtins__": builtins})
        except AssertionError:
            status = "assertion"
        except Exception as err:
            status = "error:" + type(err).__name__
        signal.alarm(0)
        results.append({"status": status, "stdout": out.getvalue()})
    sys.stdin = sys.__stdin__
    json.dump(results, sys.stdout)
    """
)


@dataclass
class Case:
    label: str
    source: str  # what CPython runs
    vm_input: object  # Module or text given to `execute`
    mode: str
    inputs: tuple[int, ...] = ()


def run_cpython(cases: list[Case], tmp_path: Path) -> list[dict]:
    runner = tmp_path / "runner.py"
    runner.write_text(RUNNER)
    jobs = tmp_path / "jobs.json"
    jobs.write_text(json.dumps([{"source": c.source, "inputs": list(c.inputs)} for c in cases]))
    proc = subprocess.run(
        [sys.executable, str(runner), str(jobs)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(proc.stdout)
    assert len(results) == len(cases)
    return results


def vm_outcome(case: Case) -> tuple[str, list[str]]:
    ex = execute(case.vm_input, mode=case.mode, inputs=case.inputs)
    v = ex.verdict
    lines = [" ".join(map(str, values)) for values in v.outputs]
    kind = v.kind.value
    if kind == "runtime_error" and ex.result is not None and isinstance(ex.result.error, IntegerOverflow):
        return "overflow", lines
    return kind, lines


def compare(cases: list[Case], tmp_path: Path) -> dict[str, int]:
    """Run every case on both sides; fail on any disagreement; return the counts.

    The VM runs first: a program that overflows there is skipped before
    CPython sees it (with unbounded integers it could run for ever), so
    CPython only ever computes with values the VM could hold.
    """
    counts = {"agree": 0, "overflow": 0, "limit": 0, "ok": 0, "assertion": 0, "error": 0}
    expected_of = {"true": "ok", "assertion_failed": "assertion", "runtime_error": "error"}
    kept: list[tuple[Case, str, list[str]]] = []
    for case in cases:
        kind, vm_lines = vm_outcome(case)
        if kind == "overflow":
            counts["overflow"] += 1
        elif kind == "limit_exceeded":
            counts["limit"] += 1
        else:
            kept.append((case, kind, vm_lines))
    results = run_cpython([case for case, _, _ in kept], tmp_path)
    problems = []
    for (case, kind, vm_lines), py in zip(kept, results):
        py_lines = py["stdout"].splitlines()
        status = py["status"]
        expected = expected_of.get(kind)
        if expected is not None and status.split(":")[0] == expected and vm_lines == py_lines:
            counts["agree"] += 1
            counts[expected] += 1
        else:
            problems.append(
                f"--- {case.label}: VM {kind} {vm_lines[-5:]!r} vs CPython {status} {py_lines[-5:]!r}\n"
                f"{case.source}"
            )
    assert not problems, f"{len(problems)} disagreements; first:\n" + "\n".join(problems[:3])
    return counts


def test_random_dsl_programs_agree_with_cpython(tmp_path: Path) -> None:
    cases = []
    for seed in range(N_DSL):
        module = random_program(random.Random(seed), mode="dsl", reads=seed % 2 == 0)
        cases.append(Case(f"dsl seed {seed}", to_python(module), module, "dsl", differential_inputs(seed)))
    counts = compare(cases, tmp_path)
    assert counts["overflow"] <= N_DSL // 20, counts
    assert counts["limit"] == 0, counts
    assert counts["ok"] >= N_DSL * 3 // 4, counts
    print(f"\nDSL differential: {N_DSL} programs, {counts}")


def test_random_python_programs_agree_with_cpython(tmp_path: Path) -> None:
    cases = []
    for seed in range(N_PYTHON):
        module = random_program(random.Random(10_000 + seed), mode="python", reads=seed % 2 == 0)
        text = to_python(module, mode="python")
        assert from_python(text) == module, f"seed {seed}: round trip\n{text}"
        cases.append(Case(f"python seed {seed}", text, text, "python", differential_inputs(seed)))
    counts = compare(cases, tmp_path)
    assert counts["overflow"] <= N_PYTHON // 20, counts
    assert counts["limit"] == 0, counts
    assert counts["ok"] >= N_PYTHON * 3 // 4, counts
    print(f"\nPython differential: {N_PYTHON} programs, {counts}")


HAND_WRITTEN: list[tuple[str, str, tuple[int, ...]]] = [
    (
        "floor division and modulo of every sign",
        FLOOR_DIVISION_PROGRAM,
        (),
    ),
    (
        "and/or give the deciding operand",
        """
        x = 0
        y = 7
        print(x and y, x or y, y and x, y or x, 3 and 4, 0 or 0)
        print((x < y) + 0, (not x) * 5, (y > 100) * 5)
        """,
        (),
    ),
    (
        "functions read globals they do not assign",
        """
        limit = 10
        seen = [0]

        def bump(k):
            seen.append(k)
            return k + limit

        def shadow(k):
            limit = 3
            return k * limit

        print(bump(1), shadow(2))
        limit = 20
        print(bump(2), len(seen), seen[-1], seen[-2])
        """,
        (),
    ),
    (
        "negative indices, append and pop",
        LIST_PROGRAM,
        (),
    ),
    (
        "power, shifts and bit operators",
        """
        print(2 ** 10, (-3) ** 3, -3 ** 2, 2 ** 3 ** 2)
        print(-17 >> 2, 5 << 3, -5 & 12, 6 | 9, ~7, 6 ^ 3)
        """,
        (),
    ),
    (
        "recursion, while, break, continue",
        """
        def fib(n):
            if n < 2:
                return n
            return fib(n - 1) + fib(n - 2)

        i = 0
        total = 0
        while True:
            i += 1
            if i % 3 == 0:
                continue
            if i > 20:
                break
            total += fib(i % 10)
        print(total, i)
        """,
        (),
    ),
    (
        "for with negative steps leaves the loop variable",
        """
        k = 99
        for k in range(10, 0, -3):
            print(k)
        print(k)
        for j in range(0):
            k = 5
        print(k)
        n = 3
        for n in range(n, n + 2):
            n = n * 10
        print(n)
        """,
        (),
    ),
    (
        "reads input",
        """
        n = int(input())
        acc = 0
        for _ in range(n):
            acc += int(input())
        print(acc, n)
        """,
        (3, 10, -4, 7),
    ),
    (
        "input exhausted is an error on both sides",
        """
        a = int(input())
        print(a)
        b = int(input())
        print(b)
        """,
        (1,),
    ),
    (
        "division by zero is an error on both sides",
        """
        z = 0
        print(1)
        print(5 // z)
        """,
        (),
    ),
    (
        "index out of range is an error on both sides",
        """
        xs = [1, 2]
        print(xs[-2])
        print(xs[-3])
        """,
        (),
    ),
    (
        "a failing assert fails on both sides",
        """
        x = 3
        assert x == 3
        print(x)
        assert x > 4
        print(0)
        """,
        (),
    ),
    (
        "True/False as numbers and conditions",
        """
        done = False
        count = 0
        while not done:
            count += 1
            if count >= 4:
                done = True
        print(count, int(done), True + True, int(3 > 2))
        """,
        (),
    ),
    (
        "arrays are shared references",
        """
        a = [1, 2, 3]
        b = a
        b[0] = 50

        def fill(xs, v):
            for i in range(len(xs)):
                xs[i] = v
            return len(xs)

        print(a[0], fill(a, 9), b[2])
        """,
        (),
    ),
    (
        "min, max, abs and nested calls",
        """
        def clamp(x, lo, hi):
            return max(lo, min(x, hi))

        print(clamp(15, 0, 10), clamp(-4, 0, 10), abs(-9), min(-2, -3), max(0, -1))
        """,
        (),
    ),
    (
        "docstrings and annotations are ignored",
        '''
        """A module docstring."""

        def double(x: int) -> int:
            """Twice x."""
            return 2 * x

        print(double(21))
        ''',
        (),
    ),
    (
        "names that are Cadmus builtins",
        """
        def read(array):
            return array + 1

        append = 4
        pop = read(append)
        print(pop, append)
        """,
        (),
    ),
]


def test_hand_written_python_programs_agree_with_cpython(tmp_path: Path) -> None:
    cases = []
    for label, source, inputs in HAND_WRITTEN:
        text = textwrap.dedent(source).lstrip("\n")
        cases.append(Case(label, text, text, "python", inputs))
    counts = compare(cases, tmp_path)
    assert counts["agree"] == len(HAND_WRITTEN), counts
    assert counts["error"] == 3 and counts["assertion"] == 1, counts


@pytest.mark.parametrize("seed", range(5))
def test_python_rendering_of_python_trees_is_a_fixed_point(seed: int) -> None:
    module = random_program(random.Random(seed), mode="python")
    text = to_python(module, mode="python")
    assert to_python(from_python(text), mode="python") == text


DSL_HAND_WRITTEN: list[tuple[str, str, tuple[int, ...]]] = [
    (
        "truncating division and remainder of every sign",
        """
        for a in range(-7, 8):
            for b in range(-3, 4):
                if b != 0:
                    x = a
                    x /= b
                    y = a
                    y %= b
                    print(a, b, a / b, a % b, x, y)
        """,
        (),
    ),
    (
        "truth values are 1 and 0",
        """
        x = 0
        y = 7
        z = x < y
        print(x and y, x or y, y and 3, not y, not x, z, (x < y) + (y < x), x == 0 or y)
        if x or y and not x:
            print(1)
        """,
        (),
    ),
    (
        "functions defined after use, bare return gives 0",
        """
        print(twice(4), nothing(1), nothing(-1))
        def twice(v):
            return 2 * v
        def nothing(v):
            if v > 0:
                return
            print(v)
        """,
        (),
    ),
    (
        "a negative index is an error",
        """
        xs = [1, 2, 3]
        i = 1
        print(xs[i])
        i -= 2
        print(xs[i])
        """,
        (),
    ),
    (
        "names Python reserves",
        """
        lambda = 3
        int = 4
        None = lambda * int
        print(None, read(), lambda)
        """,
        (9,),
    ),
    (
        "arrays, aliases, functions that change them",
        """
        def fill(a, v):
            for i in range(len(a)):
                a[i] = v + i
            return a[len(a) - 1]
        xs = array(4)
        ys = xs
        print(fill(ys, 10), xs[0], xs[3])
        xs[1] /= -3
        xs[2] %= -4
        print(xs[1], xs[2])
        """,
        (),
    ),
]


def test_hand_written_dsl_programs_agree_with_cpython(tmp_path: Path) -> None:

    cases = []
    for label, source, inputs in DSL_HAND_WRITTEN:
        module = parse(textwrap.dedent(source).lstrip("\n"))
        cases.append(Case(label, to_python(module), module, "dsl", inputs))
    counts = compare(cases, tmp_path)
    assert counts["agree"] == len(DSL_HAND_WRITTEN), counts
    assert counts["error"] == 1, counts


# ---- the generator itself ------------------------------------------------------


@pytest.mark.parametrize("mode", ["dsl", "python"])
def test_random_programs_are_well_formed_and_deterministic(mode: str) -> None:
    from cadmus.lang import check_semantics, to_dsl

    seen = set()
    for seed in range(60):
        sizes = {"max_statements": 5 + seed % 30, "max_depth": 1 + seed % 4, "reads": seed % 2 == 1}
        module = random_program(random.Random(seed), mode=mode, **sizes)
        assert module == random_program(random.Random(seed), mode=mode, **sizes)
        check_semantics(module, mode)
        if mode == "dsl":
            to_dsl(module)  # DSL constructs only
        else:
            assert from_python(to_python(module, mode="python")) == module
        seen.add(to_python(module, mode=mode))
    assert len(seen) == 60


def test_random_program_checks_its_mode() -> None:
    with pytest.raises(ValueError):
        random_program(random.Random(0), mode="c")
