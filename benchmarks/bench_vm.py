"""VM speed: instructions per second, and time relative to plain CPython.

Each program is written in VM assembly and, for comparison, as the same
computation in plain Python, timed in the same run. A figure, not a test:
`make bench-vm`. Times are CPU time of this process (best of 7), so other
work on a shared machine disturbs them less than wall-clock time would.

The VM runs on the path `cadmus.vm.run` takes by default (the compiled one
wherever it was built; the first line says which); `--backend python` times
the reference interpreter instead.

    .venv/bin/python benchmarks/bench_vm.py [--backend c|python] [--record docs/results/bench-vm.json]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from cadmus.vm import Limits, assemble, backend_info, run

N_LOOP = 200_000
N_NESTED = 300
N_FIB = 20
N_SORT = 300

ARITH = f"""
; s = sum of (i * 3 + 7) % 11 for i in range(N)
    enter 2              ; 0: i, 1: s
loop:
    load 0
    push {N_LOOP}
    lt
    jz done
    load 1
    load 0
    push 3
    mul
    push 7
    add
    push 11
    modt
    add
    store 1
    incl 0 1
    jmp loop
done:
    load 1
    print 1
"""

NESTED = f"""
; c = number of (i, j) with (i ^ j) & 1 == 0, i, j in range(N)
    enter 3              ; 0: i, 1: j, 2: c
outer:
    load 0
    push {N_NESTED}
    lt
    jz done
    push 0
    store 1
inner:
    load 1
    push {N_NESTED}
    lt
    jz next
    load 0
    load 1
    bxor
    push 1
    band
    jnz skip
    incl 2 1
skip:
    incl 1 1
    jmp inner
next:
    incl 0 1
    jmp outer
done:
    load 2
    print 1
"""

FIB = f"""
    push {N_FIB}
    call fib 1
    print 1
    halt
fib:                     ; fib(n) = n if n < 2 else fib(n-1) + fib(n-2)
    enter 1
    load 0
    push 2
    lt
    jz rec
    load 0
    ret
rec:
    load 0
    push 1
    sub
    call fib 1
    load 0
    push 2
    sub
    call fib 1
    add
    ret
"""

SORT = f"""
; bubble sort of N values (i * 7919) % 1000, then print a[0] and a[N-1]
    enter 4              ; 0: a, 1: i, 2: j, 3: tmp
    push {N_SORT}
    newarr
    store 0
fill:
    load 1
    push {N_SORT}
    lt
    jz sort
    load 0
    load 1
    load 1
    push 7919
    mul
    push 1000
    modt
    astore
    incl 1 1
    jmp fill
sort:
    push 0
    store 1
outer:
    load 1
    push {N_SORT}
    lt
    jz done
    push 0
    store 2
inner:
    load 2
    push {N_SORT - 1}
    load 1
    sub
    lt
    jz next
    load 0
    load 2
    aload
    load 0
    load 2
    inc
    aload
    gt
    jz noswap
    load 0
    load 2
    aload
    store 3
    load 0
    load 2
    load 0
    load 2
    inc
    aload
    astore
    load 0
    load 2
    inc
    load 3
    astore
noswap:
    incl 2 1
    jmp inner
next:
    incl 1 1
    jmp outer
done:
    load 0
    push 0
    aload
    load 0
    push {N_SORT - 1}
    aload
    print 2
"""


def py_arith() -> int:
    s = 0
    for i in range(N_LOOP):
        s += (i * 3 + 7) % 11
    return s


def py_nested() -> int:
    c = 0
    for i in range(N_NESTED):
        for j in range(N_NESTED):
            if not (i ^ j) & 1:
                c += 1
    return c


def py_fib(n: int = N_FIB) -> int:
    return n if n < 2 else py_fib(n - 1) + py_fib(n - 2)


def py_sort() -> tuple[int, int]:
    a = [(i * 7919) % 1000 for i in range(N_SORT)]
    for i in range(N_SORT):
        for j in range(N_SORT - 1 - i):
            if a[j] > a[j + 1]:
                a[j], a[j + 1] = a[j + 1], a[j]
    return a[0], a[-1]


def best_of(fn: Callable[[], object], repeat: int = 3) -> tuple[float, object]:
    best, value = float("inf"), None
    for _ in range(repeat):
        t0 = time.process_time()
        value = fn()
        best = min(best, time.process_time() - t0)
    return best, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["c", "python"], default=None, help="default: run's default")
    parser.add_argument("--record", metavar="FILE", help="also write the figures here")
    args = parser.parse_args()
    info = backend_info()
    backend = args.backend or info["backend"]
    print(
        f"VM backend: {backend} (default {info['backend']}, chosen by {info['chosen_by']}; compiled path {info['compiled']})"
    )
    cases = [
        ("arith loop", ARITH, py_arith),
        ("nested loops", NESTED, py_nested),
        ("recursive fib", FIB, py_fib),
        ("bubble sort", SORT, py_sort),
    ]
    limits = Limits(max_steps=100_000_000)
    print(
        f"{'program':<14} {'VM steps':>10} {'VM s':>8} {'instr/s':>12} {'CPython s':>10} {'VM/CPython':>10}"
    )
    tot_steps, tot_vm, tot_py = 0, 0.0, 0.0
    runs = []
    for name, text, py in cases:
        program = assemble(text)
        run(program, limits=limits, backend=backend)  # verify and decode once (cached)
        t_vm, result = best_of(lambda p=program: run(p, limits=limits, backend=backend), repeat=7)
        t_py, value = best_of(py, repeat=7)
        assert result.status == "ok", result.error
        expect = " ".join(map(str, value)) if isinstance(value, tuple) else str(value)
        assert result.output_text() == expect, (name, result.output_text(), expect)
        tot_steps += result.steps
        tot_vm += t_vm
        tot_py += t_py
        runs.append({"program": name, "steps": result.steps, "vm_s": t_vm, "cpython_s": t_py})
        print(
            f"{name:<14} {result.steps:>10,} {t_vm:>8.3f} {result.steps / t_vm:>12,.0f}"
            f" {t_py:>10.4f} {t_vm / t_py:>9.1f}x"
        )
    print(
        f"{'total':<14} {tot_steps:>10,} {tot_vm:>8.3f} {tot_steps / tot_vm:>12,.0f}"
        f" {tot_py:>10.4f} {tot_vm / tot_py:>9.1f}x"
    )
    if args.record:
        from cadmus.figures import record_result

        record_result(args.record, {"command": "make bench-vm", "backend": backend, "runs": runs})
        print(f"recorded: {args.record}")


if __name__ == "__main__":
    main()
