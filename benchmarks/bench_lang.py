"""Language throughput: parse, compile and end-to-end `check`, in programs per second.

    python benchmarks/bench_lang.py [--programs 200] [--seconds 1.0]

The programs are generated deterministically (fixed seed) from templates
covering straight-line arithmetic, loops, functions (incl. recursion) and
arrays; every one is a true program (the benchmark checks that first).
Each figure runs the whole set repeatedly for at least `--seconds` of CPU
time; rates are per CPU second of this process (wall-clock rates beside
them depend on what else the machine runs).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable

from cadmus.lang import Module, check, check_semantics, compile_program, parse


def _straight_line(rng: random.Random) -> str:
    names = rng.sample(["a", "b", "c", "d", "e", "total", "x", "y", "z", "acc"], 6)
    rows = [f"{names[0]} = {rng.randint(0, 99)}", f"{names[1]} = {rng.randint(-50, 50)}"]
    for i in range(2, rng.randint(6, 14)):
        left = names[rng.randrange(min(i, len(names)))]
        right = names[rng.randrange(min(i, len(names)))]
        op = rng.choice(["+", "-", "*", "+", "-"])
        k = rng.randint(1, 9)
        target = names[i % len(names)]
        form = rng.randrange(4)
        if form == 0:
            rows.append(f"{target} = {left} {op} {right}")
        elif form == 1:
            rows.append(f"{target} = ({left} {op} {k}) % {rng.randint(2, 97)}")
        elif form == 2:
            rows.append(f"{target} = {left} / {k} + {right}")
        else:
            rows.append(f"{target} = -{left} + {k} * {right}")
        rows.append(f"{target} = {target} % 1000")
    rows.append(f"print({', '.join(names[:3])})")
    rows.append(f"assert {names[0]} == {names[0]}")
    return "\n".join(rows) + "\n"


def _loops(rng: random.Random) -> str:
    n = rng.randint(5, 40)
    step = rng.choice([1, 2, 3])
    m = rng.randint(2, 9)
    return (
        f"total = 0\ncount = 0\nfor i in range(0, {n}, {step}):\n"
        f"    if i % {m} == 0:\n        total += i * {rng.randint(1, 9)}\n"
        f"    elif i % 2 == 1 and i > {rng.randint(0, 5)}:\n        count += 1\n"
        f"    else:\n        total -= 1\n"
        f"j = {n}\nwhile j > 0:\n    j -= {rng.randint(1, 4)}\n    if j == {rng.randint(0, n)}:\n"
        "        break\n    count += 1\n"
        "print(total, count)\nassert count >= 0\n"
    )


def _functions(rng: random.Random) -> str:
    a, b = rng.randint(10, 500), rng.randint(10, 500)
    k = rng.randint(3, 12)
    return (
        "def gcd(a, b):\n    while b != 0:\n        t = a % b\n        a = b\n        b = t\n    return a\n"
        "def fact(n):\n    if n <= 1:\n        return 1\n    return n * fact(n - 1)\n"
        "def clamp(v, lo, hi):\n    return max(lo, min(v, hi))\n"
        f"g = gcd({a}, {b})\nf = fact({k})\n"
        f"print(g, f, clamp({rng.randint(-20, 20)}, -5, 5))\n"
        f"assert gcd({a}, {b}) == g\nassert f > 0\n"
    )


def _arrays(rng: random.Random) -> str:
    values = [rng.randint(-99, 99) for _ in range(rng.randint(3, 10))]
    return (
        "def sort(a):\n    for i in range(1, len(a)):\n        key = a[i]\n        j = i - 1\n"
        "        while j >= 0 and a[j] > key:\n            a[j + 1] = a[j]\n            j -= 1\n"
        "        a[j + 1] = key\n    return 0\n"
        f"xs = [{', '.join(map(str, values))}]\n"
        "sort(xs)\ns = 0\nfor i in range(0, len(xs)):\n    s += xs[i]\n"
        f"ys = array({len(values)})\nfor i in range(0, len(ys)):\n    ys[i] = xs[len(xs) - 1 - i]\n"
        f"print(s, xs[0], ys[0])\nassert s == {sum(values)}\nassert xs[0] <= xs[len(xs) - 1]\n"
    )


TEMPLATES = (_straight_line, _loops, _functions, _arrays)


def programs(n: int, seed: int = 1234) -> list[str]:
    rng = random.Random(seed)
    return [TEMPLATES[i % len(TEMPLATES)](rng) for i in range(n)]


def rate(fn: Callable[[], object], items: int, seconds: float) -> tuple[float, float]:
    """Items per second of `fn` (which handles `items` items), by CPU time and by wall time.

    CPU time (of this process) is the figure to quote on a shared machine;
    the loop runs until at least `seconds` of it have been spent.
    """
    fn()  # warm up
    rounds = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    while True:
        fn()
        rounds += 1
        cpu = time.process_time() - cpu0
        if cpu >= seconds:
            wall = time.perf_counter() - wall0
            return rounds * items / cpu, rounds * items / wall


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--programs", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=1.0)
    args = ap.parse_args(argv)

    texts = programs(args.programs)
    modules: list[Module] = [parse(t) for t in texts]
    for text in texts:
        verdict = check(text)
        if not verdict.ok:
            print(f"benchmark program is not true: {verdict}\n{text}", file=sys.stderr)
            return 1
    n = len(texts)
    lines = sum(t.count("\n") for t in texts)
    steps = sum(check(m).steps for m in modules)
    instrs = sum(len(compile_program(m).program) for m in modules)
    print(
        f"{n} programs: {lines / n:.1f} lines, {instrs / n:.1f} instructions, {steps / n:.0f} VM steps on average"
    )

    def do_parse() -> None:
        for t in texts:
            parse(t)

    def do_parse_compile() -> None:
        for t in texts:
            compile_program(parse(t))

    def do_compile() -> None:
        for m in modules:
            compile_program(m)

    def do_front_end() -> None:
        for t in texts:
            m = parse(t)
            check_semantics(m)
            compile_program(m)

    def do_check() -> None:
        for t in texts:
            check(t)

    def do_check_ast() -> None:
        for m in modules:
            check(m)

    rows = [
        ("parse", do_parse),
        ("compile (pre-built AST)", do_compile),
        ("parse + compile", do_parse_compile),
        ("parse + semantics + compile", do_front_end),
        ("check end to end (parse+semantics+compile+run)", do_check),
        ("check on a pre-built AST (semantics+compile+run)", do_check_ast),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"{'':<{width}}  {'programs/s (CPU)':>16}  {'us each':>8}  {'programs/s (wall)':>17}")
    for name, fn in rows:
        per_cpu, per_wall = rate(fn, n, args.seconds)
        print(f"{name:<{width}}  {per_cpu:>16,.0f}  {1e6 / per_cpu:>8.1f}  {per_wall:>17,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
