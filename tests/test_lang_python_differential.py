"""Python as people write it: the VM and CPython must behave the same.

Each program runs on the VM (`execute(text, mode="python")`) and under
CPython, in ONE separate process per test (a runner given every program at
once through a file, never this process: the Cadmus library never executes
program text; this test does, on programs it wrote itself, on purpose). A
program agrees when both print the same lines and either both finish, or
both stop with the same kind of error (`NameError`, `ValueError`,
`IndexError`, ...) at the same line.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import textwrap
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from cadmus.lang import Execution, execute
from cadmus.lang.pyprograms import construct_program, tinypy_program
from cadmus.vm.errors import DivisionByZero, InputExhausted, IntegerOverflow, LimitExceeded, OutOfBounds

DOCS = Path(__file__).resolve().parents[1] / "docs" / "python.md"
N_CONSTRUCTS = 2000
N_TINYPY = 2000

RUNNER = textwrap.dedent(
    """
    import builtins, contextlib, io, json, signal, sys
    jobs = json.load(open(sys.argv[1]))
    results = []
    def timeout(signum, frame):
        raise TimeoutError("took too long")
    signal.signal(signal.SIGALRM, timeout)
    for job in jobs:
        out = io.StringIO()
        sys.stdin = io.StringIO("".join(f"{v}\\n" for v in job["inputs"]))
        kind, line = "ok", None
        try:
            code = compile(job["source"], "<program>", "exec")
            signal.alarm(10)
            with contextlib.redirect_stdout(out):
                exec(code, {"__name__": "__main__", "__builtins__": builtins})
        except BaseException as err:
            kind = type(err).__name__
            tb = err.__traceback__
            while tb is not None:
                if tb.tb_frame.f_code.co_filename == "<program>":
                    line = tb.tb_lineno
                tb = tb.tb_next
        signal.alarm(0)
        results.append({"kind": kind, "line": line, "stdout": out.getvalue()})
    sys.stdin = sys.__stdin__
    json.dump(results, sys.stdout)
    """
)


@dataclass
class Outcome:
    kind: str  # "ok", a Python exception's name, or why the VM could not judge ("rejected: ...")
    line: int | None
    lines: list[str]


def run_cpython(programs: list[tuple[str, tuple[int, ...]]], tmp_path: Path) -> list[Outcome]:
    runner = tmp_path / "runner.py"
    runner.write_text(RUNNER)
    jobs = tmp_path / "jobs.json"
    jobs.write_text(json.dumps([{"source": src, "inputs": list(inputs)} for src, inputs in programs]))
    proc = subprocess.run(
        [sys.executable, str(runner), str(jobs)], capture_output=True, text=True, timeout=600, check=False
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(proc.stdout)
    assert len(results) == len(programs)
    return [Outcome(r["kind"], r["line"], r["stdout"].splitlines()) for r in results]


def vm_kind(ex: Execution) -> str:
    """The Python exception a VM failure stands for."""
    v = ex.verdict
    kind = v.kind.value
    if kind == "true":
        return "ok"
    if kind == "assertion_failed":
        return "AssertionError"
    if kind in ("parse_error", "semantic_error"):
        return f"rejected: {v}"
    head = re.match(r"(\w+Error): ", v.message)
    if head:  # NameError, UnboundLocalError, the lowered constructs' ValueErrors
        return head.group(1)
    err = ex.result.error if ex.result is not None else None
    if isinstance(err, DivisionByZero):
        return "ZeroDivisionError"
    if isinstance(err, InputExhausted):
        return "EOFError"
    if isinstance(err, IntegerOverflow):
        return "overflow"
    if isinstance(err, LimitExceeded):
        return "RecursionError" if err.limit == "max_call_depth" else f"limit: {err.limit}"
    if isinstance(err, OutOfBounds) and re.search(r"index .* out of range|apop from empty", v.message):
        return "IndexError"
    if isinstance(err, OutOfBounds) and "negative shift count" in v.message:
        return "ValueError"
    if v.message == "range() step must not be zero":
        return "ValueError"
    return f"unexplained: {v}"


def vm_outcome(text: str, inputs: tuple[int, ...] = ()) -> Outcome:
    ex = execute(text, mode="python", inputs=inputs)
    v = ex.verdict
    lines = [" ".join(map(str, values)) for values in v.outputs]
    return Outcome(vm_kind(ex), v.line, lines)


def agree(vm: Outcome, py: Outcome) -> bool:
    if vm.lines != py.lines or vm.kind != py.kind:
        return False
    return vm.kind == "ok" or vm.line == py.line


def compare(
    programs: list[tuple[str, str, tuple[int, ...]]], tmp_path: Path
) -> tuple[Counter[str], list[str]]:
    """Run (label, text, inputs) on both sides: counts of agreeing outcomes, and the disagreements."""
    vm = [vm_outcome(text, inputs) for _, text, inputs in programs]
    py = run_cpython([(text, inputs) for _, text, inputs in programs], tmp_path)
    counts: Counter[str] = Counter()
    problems = []
    for (label, text, _), mine, theirs in zip(programs, vm, py, strict=True):
        if agree(mine, theirs):
            counts[mine.kind] += 1
        else:
            problems.append(
                f"--- {label}: VM {mine.kind} at {mine.line} {mine.lines[-4:]!r}\n"
                f"    CPython {theirs.kind} at {theirs.line} {theirs.lines[-4:]!r}\n{text}"
            )
    return counts, problems


# ---- generated programs ---------------------------------------------------------------


def test_construct_programs_agree_with_cpython(tmp_path: Path) -> None:
    programs = [(f"seed {seed}", construct_program(random.Random(seed)), ()) for seed in range(N_CONSTRUCTS)]
    counts, problems = compare(programs, tmp_path)
    assert not problems, f"{len(problems)} disagreements; first:\n" + "\n".join(problems[:3])
    assert sum(counts.values()) == N_CONSTRUCTS
    assert counts["ok"] >= N_CONSTRUCTS * 7 // 10, counts  # most run to the end
    for kind in ("NameError", "UnboundLocalError", "ValueError", "IndexError", "AssertionError"):
        assert counts[kind] >= 5, counts  # and each kind of failure is exercised
    print(f"\nconstruct programs: {N_CONSTRUCTS}, {dict(counts)}")


def test_tinypy_programs_acceptance(tmp_path: Path) -> None:
    """The acceptance figure: TinyPy-shaped programs run with CPython's exact behaviour."""
    programs = [(f"seed {seed}", tinypy_program(random.Random(seed)), ()) for seed in range(N_TINYPY)]
    vm = [vm_outcome(text) for _, text, _ in programs]
    py = run_cpython([(text, ()) for _, text, _ in programs], tmp_path)
    exact = rejected = 0
    kinds: Counter[str] = Counter()
    wrong = []
    for (label, text, _), mine, theirs in zip(programs, vm, py, strict=True):
        lines = text.splitlines()
        assert 5 <= len(lines) <= 10, text
        if mine.kind.startswith("rejected: "):
            rejected += 1
            assert "\n" not in mine.kind, mine.kind  # a one-line message
            kinds[mine.kind.split(": ", 2)[-1]] += 1
        elif agree(mine, theirs):
            exact += 1
            kinds[mine.kind] += 1
        else:
            wrong.append(f"--- {label}: VM {mine} / CPython {theirs}\n{text}")
    assert not wrong, f"{len(wrong)} wrong answers; first:\n" + "\n".join(wrong[:3])
    assert exact >= N_TINYPY * 98 // 100, (exact, rejected, kinds)
    print(
        f"\nTinyPy-shaped: {N_TINYPY} programs, {exact / N_TINYPY:.1%} exact, {rejected} rejected, {dict(kinds)}"
    )


def test_generated_programs_are_deterministic_and_varied() -> None:
    for make in (tinypy_program, construct_program):
        texts = [make(random.Random(seed)) for seed in range(40)]
        assert texts == [make(random.Random(seed)) for seed in range(40)]
        assert len(set(texts)) == 40


# ---- hand-written programs --------------------------------------------------------------

HAND_WRITTEN: list[tuple[str, str, tuple[int, ...]]] = [
    (
        "operands once, left to right, chained links only while true",
        """
        def f(k):
            print(k)
            return k
        print(int(f(1) < f(2) < f(3) < f(9)), int(f(5) < f(2) < f(7)))
        x = f(1) + (f(2) if f(3) else f(4))
        print(f(1), f(0) and (f(5) if f(6) else 0), f(7), x)
        print(int(f(2) in [f(5), f(2), f(7)]), int(1 < f(2) in [2, 3]))
        """,
        (),
    ),
    (
        "keyword arguments are evaluated as written",
        """
        def f(a, b=2, c=-3):
            print(a, b, c)
            return a * 100 + b * 10 + c
        def g(k):
            print(k)
            return k
        print(f(1), f(1, 5), f(1, c=7), f(c=g(1), a=g(2)), f(1, 2, 3))
        """,
        (),
    ),
    (
        "lists changed while a loop runs over them",
        """
        xs = [1, 2, 3]
        for x in xs:
            if x < 3:
                xs.append(x + 10)
            print(x)
        ys = [1, 2, 3, 4]
        for y in ys:
            ys.pop()
            print(y)
        zs = [1, 2, 3]
        for z in reversed(zs):
            zs.pop()
            print(z)
        ws = [3, 1, 2]
        for w in ws:
            ws = [9]
            print(w)
        vs = [1, 2]
        vs.extend(vs)
        print(len(vs), vs[3])
        """,
        (),
    ),
    (
        "comprehension variables do not leak",
        """
        x = 5
        ys = [x * 2 for x in range(3)]
        print(x, ys[2], len([x for x in range(3) for x in range(x)]))
        def f(x):
            zs = [x for x in range(3)]
            return x + sum(zs)
        print(f(10))
        for y in (x * 2 for x in [1, 2] if x > 0):
            print(x, y)
        """,
        (),
    ),
    (
        "tuple assignment evaluates the right side first",
        """
        a = [1, 2, 3]
        a[0], a[2] = a[2], a[0]
        i = 0
        xs = [10, 20]
        i, xs[i] = 1, 5
        p, q = [7, 8]
        q, p = p, q
        print(a[0], a[2], i, xs[0], xs[1], p, q)
        """,
        (),
    ),
    (
        "slices of every sign",
        """
        xs = list(range(10))
        for lo in (-12, -3, 0, 4, 11):
            for hi in (-11, -2, 0, 6, 12):
                for step in (1, 2, -1, -3):
                    print(lo, hi, step, len(xs[lo:hi:step]), sum(xs[lo:hi:step]))
        print(sum(xs[::3]), sum(xs[::-2]), len(xs[:]), xs[::-1][0])
        """,
        (),
    ),
    (
        "pow with a modulus, divmod of every sign",
        """
        for a in (-7, 3, 10):
            for b in (-2, -1, 0, 5):
                for m in (-7, 1, 11):
                    if b >= 0 or a % 7 != 0:
                        print(a, b, m, pow(a, b, m))
        for a in (-17, 17):
            for d in (-5, 5):
                q, r = divmod(a, d)
                print(q, r)
        """,
        (),
    ),
    (
        "for and while with else",
        """
        xs = [1, 2, 3, 4]
        for x in xs:
            for y in xs:
                if y > 1:
                    break
            else:
                print(7)
            if x == 3:
                break
        else:
            print(8)
        k = 0
        while k in xs:
            k += 1
        else:
            print(k)
        """,
        (),
    ),
    ("a name set on a path not taken", "x = int(input())\nif x > 0:\n    y = 1\nprint(x)\nprint(y)\n", (0,)),
    ("a name set on the path taken", "x = int(input())\nif x > 0:\n    y = 1\nprint(x)\nprint(y)\n", (4,)),
    (
        "a local set on a path not taken",
        "def f(a):\n    if a:\n        z = 2\n    return z\nprint(f(1))\nprint(f(0))\n",
        (),
    ),
    (
        "a loop variable after no iteration",
        "for i in range(3):\n    pass\nfor j in []:\n    pass\nprint(i)\nprint(j)\n",
        (),
    ),
    ("a global read before it is set", "def f():\n    return g + 1\nprint(0)\nprint(f())\ng = 1\n", ()),
    ("min of an empty list", "xs = [1]\nxs.pop()\nprint(len(xs))\nprint(min(xs))\n", ()),
    ("index of a missing value", "xs = [1, 2]\nprint(xs.index(2))\nprint(xs.index(3))\n", ()),
    ("remove of a missing value", "xs = [1, 2]\nxs.remove(1)\nxs.remove(1)\n", ()),
    ("pop at an index out of range", "xs = [1, 2, 3]\nprint(xs.pop(-1), xs.pop(0))\nprint(xs.pop(4))\n", ()),
    ("unpacking a list of another length", "a, b = [1, 2]\nprint(a, b)\na, b = [1, 2, 3]\n", ()),
    ("a zero slice step", "xs = [1, 2]\nk = 0\nprint(len(xs[::k]))\n", ()),
    ("pow without an inverse", "print(pow(3, -1, 7))\nprint(pow(2, -1, 4))\n", ()),
    ("divmod by zero", "q, r = divmod(7, 2)\nprint(q, r)\nq, r = divmod(3, 0)\n", ()),
    ("a failed assert with a message", "assert 1 < 2, 'fine'\nassert 2 < 1, 'boom'\n", ()),
]


def test_hand_written_programs_agree_with_cpython(tmp_path: Path) -> None:
    programs = [(label, textwrap.dedent(src).lstrip("\n"), inputs) for label, src, inputs in HAND_WRITTEN]
    counts, problems = compare(programs, tmp_path)
    assert not problems, "\n".join(problems[:3])
    assert counts["ok"] == 9, counts
    assert counts["NameError"] == 3 and counts["UnboundLocalError"] == 1, counts
    assert counts["ValueError"] == 6 and counts["IndexError"] == 1, counts


# ---- the documentation -------------------------------------------------------------------


def documented_constructs() -> tuple[list[str], dict[str, str]]:
    """The first column of "The language" table, and the examples by their `# construct` line."""
    text = DOCS.read_text()
    section = text[text.index("## The language") : text.index("### Examples")]
    rows = [
        line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| construct")
    ]
    names = [row.split(" | ")[0].removeprefix("| ").strip().replace("`", "") for row in rows]
    examples_text = text[text.index("### Examples") : text.index("### Names")]
    examples = {}
    for block in re.findall(r"```python\n(.*?)```", examples_text, re.S):
        first = block.partition("\n")[0]
        examples[first.removeprefix("# ").strip()] = block
    return names, examples


def test_every_documented_construct_has_an_example_that_runs(tmp_path: Path) -> None:
    names, examples = documented_constructs()
    assert len(names) >= 30
    assert sorted(names) == sorted(examples), set(names) ^ set(examples)
    programs = [(name, examples[name], (3, 10, -4, 7)) for name in names]
    counts, problems = compare(programs, tmp_path)
    assert not problems, "\n".join(problems[:3])
    # every example runs to the end, except the one that shows Python's NameError
    assert counts["ok"] == len(names) - 1 and counts["UnboundLocalError"] == 1, counts
