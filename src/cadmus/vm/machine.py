"""The interpreter: limits, run results, traces and the hot loop.

Machine model (see docs/isa.md): one operand stack shared by all frames, each
frame seeing only the values above its base; call frames with local slots
(the outermost frame's locals are the globals); a flat memory of integer
cells holding arrays; an output channel of lines; an input channel.

Memory layout. Cell 0 is reserved (so 0 is never a handle). An array's
handle `h` is the address of a three-cell header `[data, length, capacity]`;
its elements live at `data .. data+length-1`. `apush` on a full array moves
the elements to a new block of twice the capacity and updates `data`, so the
handle stays valid. Every cell ever allocated, headers and abandoned blocks
included, counts against `max_memory`. Raw `mload`/`mstore` address cells
directly; `mstore` refuses header cells so an array can never be corrupted.

Stack limit. `verify` knows the depth of every frame's own stack at every pc,
so underflow is decided before the run (the interpreter raises
StackUnderflow when it reaches such a pc) and a frame's stack never grows
beyond the program's static maximum `D`. `max_stack` bounds the operand stack
plus the local slots of all live frames; it is checked when a frame is
entered or resized (`call`, `enter`) against height + locals + D, so the
bound holds at every step without a check on every push.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from cadmus.errors import CadmusError
from cadmus.vm.errors import (
    AssertionFailed,
    DivisionByZero,
    InputExhausted,
    IntegerOverflow,
    LimitExceeded,
    OutOfBounds,
    StackUnderflow,
    VMError,
)
from cadmus.vm.isa import Op
from cadmus.vm.program import INT_MAX, INT_MIN, Instr, Program
from cadmus.vm.verify import analyze

_UNDERFLOW = 99  # pseudo-opcode the decoder puts where verify proved an underflow
_HALT = int(Op.HALT)


@dataclass(frozen=True, slots=True)
class Limits:
    """Resource limits of one run; exceeding one raises LimitExceeded."""

    max_steps: int = 1_000_000  # instructions executed
    max_stack: int = 100_000  # operand-stack values plus live local slots
    max_call_depth: int = 1_000  # nested calls
    max_memory: int = 1_000_000  # memory cells ever allocated
    max_output: int = 100_000  # values printed (an empty line counts 1)

    def __post_init__(self) -> None:
        for name in ("max_steps", "max_stack", "max_call_depth", "max_memory", "max_output"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise CadmusError(f"limit {name} must be a non-negative integer, found {v!r}", key=name)


DEFAULT_LIMITS = Limits()


class TraceStep(NamedTuple):
    """State after executing one instruction."""

    pc: int  # the instruction executed
    instr: Instr
    top: int | None  # top of the operand stack afterwards (None if empty)
    locals: tuple[int, ...]  # the current frame's locals afterwards


@dataclass(slots=True)
class RunResult:
    status: str  # "ok" or "error"
    outputs: list[tuple[int, ...]]
    steps: int
    error: VMError | None = None
    trace: list[TraceStep] | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def output_text(self) -> str:
        """What the program printed: values joined by spaces, lines by newlines."""
        return "\n".join(" ".join(map(str, line)) for line in self.outputs)


@dataclass(slots=True)
class _Decoded:
    code: list[tuple[int, int, int]]
    max_depth: int


def _decode(program: Program) -> _Decoded:
    """Verify once and cache the pre-decoded form on the program."""
    cached = program._cache
    if cached is not None:
        return cached
    an = analyze(program)
    code = an.flat  # a fresh list, owned from here on
    for pc, need in an.underflow.items():
        code[pc] = (_UNDERFLOW, need, an.depth[pc])
    code.append((_HALT, 0, 0))  # running off the end halts
    dec = _Decoded(code, an.max_depth)
    object.__setattr__(program, "_cache", dec)
    return dec


class _Machine:
    """Resumable machine state (the loop copies it into locals)."""

    __slots__ = (
        "base",
        "code",
        "depth",
        "frames",
        "glob",
        "halted",
        "heads",
        "inpos",
        "inputs",
        "limits",
        "loc",
        "lused",
        "mem",
        "nout",
        "out",
        "pc",
        "st",
        "steps",
    )

    def __init__(self, dec: _Decoded, inputs: tuple[int, ...], limits: Limits) -> None:
        self.code = dec.code
        self.depth = dec.max_depth
        self.limits = limits
        self.inputs = inputs
        self.inpos = 0
        self.pc = 0
        self.st: list[int] = []
        self.base = 0
        self.glob: list[int] = []
        self.loc = self.glob
        self.lused = 0
        self.frames: list[tuple[int, int, list[int]]] = []
        self.mem: list[int] = [0]
        self.heads: set[int] = set()
        self.out: list[tuple[int, ...]] = []
        self.nout = 0
        self.steps = 0
        self.halted = False


def _bad_index(h: int, i: int, n: int) -> OutOfBounds:
    return OutOfBounds(f"index {i} out of range for array {h} of length {n}")


def _not_array(h: int) -> OutOfBounds:
    return OutOfBounds(f"{h} is not an array handle")


def _overflow(r: int) -> IntegerOverflow:
    return IntegerOverflow(f"result {r} outside the signed 64-bit range")


def _no_memory(limit: int) -> LimitExceeded:
    return LimitExceeded(f"memory limit of {limit} cells exceeded", limit="max_memory")


def _exec(m: _Machine, budget: int) -> None:
    """Run until halt, an error, or `budget` total steps. Writes state back."""
    code = m.code
    st = m.st
    push = st.append
    pop = st.pop
    pc = m.pc
    steps = start = m.steps
    loc = m.loc
    glob = m.glob
    base = m.base
    frames = m.frames
    mem = m.mem
    heads = m.heads
    out = m.out
    nout = m.nout
    lused = m.lused
    inputs = m.inputs
    inpos = m.inpos
    lim = m.limits
    dmax = m.depth
    max_stack = lim.max_stack
    max_depth = lim.max_call_depth
    max_mem = lim.max_memory + 1  # cell 0 is free
    max_out = lim.max_output
    try:
        # The for loop counts the steps (cheaper than a counter and a test);
        # `steps` is the number executed including the current instruction.
        for steps in range(start + 1, budget + 1):
            op, a, b = code[pc]
            pc += 1
            # The most frequent instructions first, then the rest by group.
            if op == 10:  # load
                push(loc[a])
            elif op == 1:  # push
                push(a)
            elif op == 11:  # store
                loc[a] = pop()
            elif op == 56:  # jz
                if not pop():
                    pc = a
            elif op == 55:  # jmp
                pc = a
            elif op == 15:  # add
                r = pop() + st[-1]
                if r > 9223372036854775807 or r < -9223372036854775808:
                    raise _overflow(r)
                st[-1] = r
            elif op == 31:  # lt
                y = pop()
                st[-1] = 1 if st[-1] < y else 0
            elif op == 12:  # incl
                r = loc[a] + b
                if r > 9223372036854775807 or r < -9223372036854775808:
                    raise _overflow(r)
                loc[a] = r
            elif op == 16:  # sub
                y = pop()
                r = st[-1] - y
                if r > 9223372036854775807 or r < -9223372036854775808:
                    raise _overflow(r)
                st[-1] = r
            elif op == 47:  # aload
                i = pop()
                h = st[-1]
                if h not in heads:
                    raise _not_array(h)
                if i < 0 or i >= mem[h + 1]:
                    raise _bad_index(h, i, mem[h + 1])
                st[-1] = mem[mem[h] + i]
            elif op == 17:  # mul
                r = pop() * st[-1]
                if r > 9223372036854775807 or r < -9223372036854775808:
                    raise _overflow(r)
                st[-1] = r
            elif op == 32:  # le
                y = pop()
                st[-1] = 1 if st[-1] <= y else 0
            elif op == 57:  # jnz
                if pop():
                    pc = a
            elif op == 29:  # eq
                y = pop()
                st[-1] = 1 if st[-1] == y else 0
            elif op < 15:  # stack, locals
                if op == 13:  # gload
                    push(glob[a])
                elif op == 14:  # gstore
                    glob[a] = pop()
                elif op == 3:  # dup
                    push(st[-1])
                elif op == 2:  # pop
                    pop()
                elif op == 9:  # enter
                    n = len(loc)
                    if a > n:
                        lused += a - n
                        if len(st) + lused + dmax > max_stack:
                            lused -= a - n
                            raise LimitExceeded(
                                f"stack limit of {max_stack} values exceeded", limit="max_stack"
                            )
                        loc.extend([0] * (a - n))
                    elif a < n:
                        lused -= n - a
                        del loc[a:]
                elif op == 5:  # swap
                    st[-1], st[-2] = st[-2], st[-1]
                elif op == 6:  # over
                    push(st[-2])
                elif op == 4:  # dup2
                    st.extend(st[-2:])
                elif op == 7:  # rot
                    push(st.pop(-3))
                elif op == 8:  # pick
                    push(st[-1 - a])
                # op 0: nop
            elif op < 29:  # arithmetic
                if op == 27:  # inc
                    r = st[-1] + 1
                    if r > 9223372036854775807:
                        raise _overflow(r)
                    st[-1] = r
                elif op == 28:  # dec
                    r = st[-1] - 1
                    if r < -9223372036854775808:
                        raise _overflow(r)
                    st[-1] = r
                elif op == 19:  # modt
                    y = pop()
                    x = st[-1]
                    if y == 0:
                        raise DivisionByZero("division by zero")
                    r = abs(x) % abs(y)
                    st[-1] = -r if x < 0 else r
                elif op == 18:  # divt
                    y = pop()
                    x = st[-1]
                    if y == 0:
                        raise DivisionByZero("division by zero")
                    r = abs(x) // abs(y)
                    if (x < 0) != (y < 0):
                        r = -r
                    elif r > 9223372036854775807:
                        raise _overflow(r)
                    st[-1] = r
                elif op == 21:  # modf
                    y = pop()
                    if y == 0:
                        raise DivisionByZero("division by zero")
                    st[-1] = st[-1] % y
                elif op == 20:  # divf
                    y = pop()
                    if y == 0:
                        raise DivisionByZero("division by zero")
                    r = st[-1] // y
                    if r > 9223372036854775807:
                        raise _overflow(r)
                    st[-1] = r
                elif op == 25:  # min
                    y = pop()
                    if y < st[-1]:
                        st[-1] = y
                elif op == 26:  # max
                    y = pop()
                    if y > st[-1]:
                        st[-1] = y
                elif op == 22:  # neg
                    r = -st[-1]
                    if r > 9223372036854775807:
                        raise _overflow(r)
                    st[-1] = r
                elif op == 23:  # abs
                    r = abs(st[-1])
                    if r > 9223372036854775807:
                        raise _overflow(r)
                    st[-1] = r
                elif op == 24:  # pow
                    y = pop()
                    x = st[-1]
                    if y < 0:
                        raise OutOfBounds(f"negative exponent {y}")
                    if x == 0 or x == 1:
                        r = 1 if y == 0 else x
                    elif x == -1:
                        r = -1 if y & 1 else 1
                    elif y > 63:
                        raise IntegerOverflow(f"{x} ** {y} outside the signed 64-bit range")
                    else:
                        r = x**y
                        if r > 9223372036854775807 or r < -9223372036854775808:
                            raise _overflow(r)
                    st[-1] = r
            elif op < 46:  # comparison, logic, bits
                if op == 33:  # gt
                    y = pop()
                    st[-1] = 1 if st[-1] > y else 0
                elif op == 34:  # ge
                    y = pop()
                    st[-1] = 1 if st[-1] >= y else 0
                elif op == 30:  # ne
                    y = pop()
                    st[-1] = 1 if st[-1] != y else 0
                elif op == 37:  # not
                    st[-1] = 0 if st[-1] else 1
                elif op == 38:  # land
                    y = pop()
                    st[-1] = 1 if st[-1] and y else 0
                elif op == 39:  # lor
                    y = pop()
                    st[-1] = 1 if st[-1] or y else 0
                elif op == 35:  # cmp
                    y = pop()
                    x = st[-1]
                    st[-1] = (x > y) - (x < y)
                elif op == 36:  # sgn
                    x = st[-1]
                    st[-1] = (x > 0) - (x < 0)
                elif op == 40:  # band
                    y = pop()
                    st[-1] &= y
                elif op == 41:  # bor
                    y = pop()
                    st[-1] |= y
                elif op == 42:  # bxor
                    y = pop()
                    st[-1] ^= y
                elif op == 43:  # bnot
                    st[-1] = ~st[-1]
                elif op == 44:  # shl
                    y = pop()
                    x = st[-1]
                    if y < 0:
                        raise OutOfBounds(f"negative shift count {y}")
                    if x:
                        if y > 63:
                            raise IntegerOverflow(f"{x} << {y} outside the signed 64-bit range")
                        r = x << y
                        if r > 9223372036854775807 or r < -9223372036854775808:
                            raise _overflow(r)
                        st[-1] = r
                elif op == 45:  # shr
                    y = pop()
                    if y < 0:
                        raise OutOfBounds(f"negative shift count {y}")
                    st[-1] = st[-1] >> (y if y < 64 else 64)
            elif op < 55:  # memory
                if op == 48:  # astore
                    v = pop()
                    i = pop()
                    h = pop()
                    if h not in heads:
                        raise _not_array(h)
                    if i < 0 or i >= mem[h + 1]:
                        raise _bad_index(h, i, mem[h + 1])
                    mem[mem[h] + i] = v
                elif op == 49:  # alen
                    h = st[-1]
                    if h not in heads:
                        raise _not_array(h)
                    st[-1] = mem[h + 1]
                elif op == 46:  # newarr
                    n = st[-1]
                    if n < 0:
                        raise OutOfBounds(f"negative array size {n}")
                    h = len(mem)
                    if h + 3 + n > max_mem:
                        raise _no_memory(max_mem - 1)
                    mem += (h + 3, n, n)
                    mem += [0] * n
                    heads.add(h)
                    st[-1] = h
                elif op == 50:  # apush
                    v = pop()
                    h = pop()
                    if h not in heads:
                        raise _not_array(h)
                    d = mem[h]
                    n = mem[h + 1]
                    if n == mem[h + 2]:
                        cap = 2 * n if n >= 4 else 4
                        nd = len(mem)
                        if nd + cap > max_mem:
                            raise _no_memory(max_mem - 1)
                        mem += mem[d : d + n]
                        mem += [0] * (cap - n)
                        mem[h] = d = nd
                        mem[h + 2] = cap
                    mem[d + n] = v
                    mem[h + 1] = n + 1
                elif op == 51:  # apop
                    h = st[-1]
                    if h not in heads:
                        raise _not_array(h)
                    n = mem[h + 1] - 1
                    if n < 0:
                        raise OutOfBounds(f"apop from empty array {h}")
                    mem[h + 1] = n
                    st[-1] = mem[mem[h] + n]
                elif op == 52:  # acopy
                    h = st[-1]
                    if h not in heads:
                        raise _not_array(h)
                    d = mem[h]
                    n = mem[h + 1]
                    h2 = len(mem)
                    if h2 + 3 + n > max_mem:
                        raise _no_memory(max_mem - 1)
                    mem += (h2 + 3, n, n)
                    mem += mem[d : d + n]
                    heads.add(h2)
                    st[-1] = h2
                elif op == 53:  # mload
                    x = st[-1]
                    if x < 1 or x >= len(mem):
                        raise OutOfBounds(f"address {x} is not an allocated cell")
                    st[-1] = mem[x]
                elif op == 54:  # mstore
                    v = pop()
                    x = pop()
                    if x < 1 or x >= len(mem):
                        raise OutOfBounds(f"address {x} is not an allocated cell")
                    if x in heads or x - 1 in heads or x - 2 in heads:
                        raise OutOfBounds(f"address {x} is an array header")
                    mem[x] = v
            elif op == 58:  # call
                if len(frames) >= max_depth:
                    raise LimitExceeded(f"call depth limit of {max_depth} exceeded", limit="max_call_depth")
                if len(st) + lused + dmax > max_stack:
                    raise LimitExceeded(f"stack limit of {max_stack} values exceeded", limit="max_stack")
                frames.append((pc, base, loc))
                if b:
                    loc = st[-b:]
                    del st[-b:]
                    lused += b
                else:
                    loc = []
                base = len(st)
                pc = a
            elif op == 59:  # ret
                v = pop()
                if not frames:
                    m.halted = True
                    break
                del st[base:]
                lused -= len(loc)
                pc, base, loc = frames.pop()
                push(v)
            elif op == 61:  # print
                nout += a if a else 1
                if nout > max_out:
                    raise LimitExceeded(f"output limit of {max_out} values exceeded", limit="max_output")
                if a:
                    out.append(tuple(st[-a:]))
                    del st[-a:]
                else:
                    out.append(())
            elif op == 62:  # read
                if inpos >= len(inputs):
                    raise InputExhausted(f"no input left (read {inpos} value(s))")
                push(inputs[inpos])
                inpos += 1
            elif op == 63:  # assert
                if not pop():
                    raise AssertionFailed(f"assertion {a} failed", assert_id=a)
            elif op == 64:  # asserteq
                y = pop()
                x = pop()
                if x != y:
                    raise AssertionFailed(f"assertion {a} failed: {x} != {y}", assert_id=a, values=(x, y))
            elif op == 60:  # halt
                pc -= 1
                steps -= 1 if pc == len(code) - 1 else 0
                m.halted = True
                break
            elif op == _UNDERFLOW:
                raise StackUnderflow(f"stack underflow: needs {a} value(s), the frame holds {b}")
    except IndexError:
        op, a, b = code[pc - 1]
        if op in (10, 11, 12):
            raise OutOfBounds(f"local slot {a} out of range (the frame has {len(loc)})") from None
        if op in (13, 14):
            raise OutOfBounds(f"global slot {a} out of range (there are {len(glob)})") from None
        raise
    finally:
        m.pc = pc
        m.steps = steps
        m.loc = loc
        m.base = base
        m.lused = lused
        m.nout = nout
        m.inpos = inpos


def _input_value(v: Any) -> int:
    try:
        x = operator.index(v)  # ints and NumPy integers; not floats or strings
    except TypeError:
        x = None
    if x is None or isinstance(v, bool) or not INT_MIN <= x <= INT_MAX:
        raise CadmusError(f"input {v!r} is not a signed 64-bit integer")
    return x


def run(
    program: Program,
    inputs: Iterable[int] = (),
    limits: Limits | None = None,
    trace: bool | Callable[[TraceStep], Any] = False,
) -> RunResult:
    """Verify and run `program`. Run-time failures come back in the result
    (`status="error"`, `error`); a malformed program raises InvalidProgram.

    `trace=True` records a TraceStep after every instruction in
    `result.trace`; a callable receives each step instead. Untraced runs take
    the fast path, which never looks at tracing.
    """
    if not isinstance(program, Program):
        raise TypeError(f"run() needs a Program, found {type(program).__name__}")
    dec = _decode(program)
    lim = limits if limits is not None else DEFAULT_LIMITS
    ins = tuple(inputs)
    for v in ins:
        if type(v) is not int or not INT_MIN <= v <= INT_MAX:
            ins = tuple(_input_value(x) for x in ins)
            break
    m = _Machine(dec, ins, lim)
    steps_out: list[TraceStep] | None = [] if trace is True else None
    error: VMError | None = None
    try:
        if dec.max_depth > lim.max_stack:
            raise LimitExceeded(f"stack limit of {lim.max_stack} values exceeded", limit="max_stack")
        if not trace:
            _exec(m, lim.max_steps)
        else:
            sink = steps_out.append if steps_out is not None else trace
            code = program.code
            n = len(code)
            while not m.halted and m.steps < lim.max_steps:
                pc = m.pc
                _exec(m, m.steps + 1)
                if pc >= n:  # ran off the end
                    break
                st = m.st
                sink(TraceStep(pc, code[pc], st[-1] if st else None, tuple(m.loc)))  # type: ignore[operator]
        if not m.halted and m.pc < len(program.code):
            raise LimitExceeded(f"step limit of {lim.max_steps} exceeded", limit="max_steps")
    except VMError as err:
        if err.pc is None:
            pc = m.pc - 1 if m.steps else m.pc
            if isinstance(err, LimitExceeded) and err.limit == "max_steps":
                pc = m.pc
            instr = program.code[pc] if pc < len(program.code) else None
            err.at(pc, instr)
        # The result carries the error, not its traceback: the traceback holds this
        # frame, whose `error` holds the traceback, a cycle left to the garbage collector.
        error = err.with_traceback(None)
    return RunResult(
        status="ok" if error is None else "error",
        outputs=m.out,
        steps=m.steps,
        error=error,
        trace=steps_out,
    )
