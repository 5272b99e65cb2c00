"""The reference interpreter: limits, run results, traces and the hot loop.

`run` hands untraced runs (and `trace=True` runs) to the compiled path where
it was built (`native.py`, `_cvm.c`: the same machine, the same results);
this module's loop is the definition that path is tested against.

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
from cadmus.vm import faults, native
from cadmus.vm.errors import LimitExceeded, VMError
from cadmus.vm.fold import fold
from cadmus.vm.isa import ISA, Op
from cadmus.vm.program import INT_MAX, INT_MIN, Instr, Program
from cadmus.vm.verify import analyze, check_operands

_UNDERFLOW = len(ISA)  # pseudo-opcode the decoder puts where verify proved an underflow
_HALT = int(Op.HALT)


def _first_of_groups() -> dict[str, int]:
    """The first opcode of each group; the dispatch tests groups by range, so
    each group must be one contiguous run of opcodes."""
    first: dict[str, int] = {}
    for info in ISA:
        if info.group in first and ISA[info.code - 1].group != info.group:
            raise AssertionError(f"ISA group {info.group!r} is not contiguous")
        first.setdefault(info.group, info.code)
    return first


_FIRST = _first_of_groups()
_FIRST_ARITH = _FIRST["arith"]
_FIRST_COMPARE = _FIRST["compare"]
_FIRST_MEMORY = _FIRST["memory"]
_FIRST_CONTROL = _FIRST["control"]
# names `_exec` reads as constants once folded (see `fold`)
_FOLDED = {
    "_UNDERFLOW": _UNDERFLOW,
    "_FIRST_ARITH": _FIRST_ARITH,
    "_FIRST_COMPARE": _FIRST_COMPARE,
    "_FIRST_MEMORY": _FIRST_MEMORY,
    "_FIRST_CONTROL": _FIRST_CONTROL,
}


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
    packed: bytes | None = None  # the compiled path's form, made on its first run


def _decode(program: Program) -> _Decoded:
    """Verify once and cache the pre-decoded form on the program.

    The depth analysis runs in C where the compiled path is in use (the same
    algorithm; tests compare the two); a program it rejects goes through the
    reference analysis, which raises InvalidProgram saying why.
    """
    cached = program._cache
    if cached is not None:
        return cached
    code = check_operands(program)  # a fresh list, owned from here on
    fast = native.analyze(code)
    if fast is not None:
        max_depth, underflows = fast
        for pc, need, depth in underflows:
            code[pc] = (_UNDERFLOW, need, depth)
    else:
        an = analyze(program)
        code = an.flat
        max_depth = an.max_depth
        for pc, need in an.underflow.items():
            code[pc] = (_UNDERFLOW, need, an.depth[pc])
    code.append((_HALT, 0, 0))  # running off the end halts
    dec = _Decoded(code, max_depth)
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


def _exec(m: _Machine, budget: int) -> None:
    """Run until halt, an error, or `budget` total steps. Writes state back.

    Dispatch reads opcodes from the ISA (`Op.ADD`); `fold` below turns them
    into constants at import, so the comparisons cost what literals would.
    """
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
            if op == Op.LOAD:  # load
                push(loc[a])
            elif op == Op.PUSH:  # push
                push(a)
            elif op == Op.STORE:  # store
                loc[a] = pop()
            elif op == Op.JZ:  # jz
                if not pop():
                    pc = a
            elif op == Op.JMP:  # jmp
                pc = a
            elif op == Op.ADD:  # add
                r = pop() + st[-1]
                if r > 9223372036854775807 or r < -9223372036854775808:
                    raise faults.overflow(r)
                st[-1] = r
            elif op == Op.LT:  # lt
                y = pop()
                st[-1] = 1 if st[-1] < y else 0
            elif op == Op.INCL:  # incl
                r = loc[a] + b
                if r > 9223372036854775807 or r < -9223372036854775808:
                    raise faults.overflow(r)
                loc[a] = r
            elif op == Op.SUB:  # sub
                y = pop()
                r = st[-1] - y
                if r > 9223372036854775807 or r < -9223372036854775808:
                    raise faults.overflow(r)
                st[-1] = r
            elif op == Op.ALOAD:  # aload
                i = pop()
                h = st[-1]
                if h not in heads:
                    raise faults.not_array(h)
                if i < 0 or i >= mem[h + 1]:
                    raise faults.bad_index(h, i, mem[h + 1])
                st[-1] = mem[mem[h] + i]
            elif op == Op.MUL:  # mul
                r = pop() * st[-1]
                if r > 9223372036854775807 or r < -9223372036854775808:
                    raise faults.overflow(r)
                st[-1] = r
            elif op == Op.LE:  # le
                y = pop()
                st[-1] = 1 if st[-1] <= y else 0
            elif op == Op.JNZ:  # jnz
                if pop():
                    pc = a
            elif op == Op.EQ:  # eq
                y = pop()
                st[-1] = 1 if st[-1] == y else 0
            elif op < _FIRST_ARITH:  # stack, locals
                if op == Op.GLOAD:  # gload
                    push(glob[a])
                elif op == Op.GSTORE:  # gstore
                    glob[a] = pop()
                elif op == Op.DUP:  # dup
                    push(st[-1])
                elif op == Op.POP:  # pop
                    pop()
                elif op == Op.ENTER:  # enter
                    n = len(loc)
                    if a > n:
                        lused += a - n
                        if len(st) + lused + dmax > max_stack:
                            lused -= a - n
                            raise faults.stack_limit(max_stack)
                        loc.extend([0] * (a - n))
                    elif a < n:
                        lused -= n - a
                        del loc[a:]
                elif op == Op.SWAP:  # swap
                    st[-1], st[-2] = st[-2], st[-1]
                elif op == Op.OVER:  # over
                    push(st[-2])
                elif op == Op.DUP2:  # dup2
                    st.extend(st[-2:])
                elif op == Op.ROT:  # rot
                    push(st.pop(-3))
                elif op == Op.PICK:  # pick
                    push(st[-1 - a])
                # op 0: nop
            elif op < _FIRST_COMPARE:  # arithmetic
                if op == Op.INC:  # inc
                    r = st[-1] + 1
                    if r > 9223372036854775807:
                        raise faults.overflow(r)
                    st[-1] = r
                elif op == Op.DEC:  # dec
                    r = st[-1] - 1
                    if r < -9223372036854775808:
                        raise faults.overflow(r)
                    st[-1] = r
                elif op == Op.MODT:  # modt
                    y = pop()
                    x = st[-1]
                    if y == 0:
                        raise faults.division_by_zero()
                    r = abs(x) % abs(y)
                    st[-1] = -r if x < 0 else r
                elif op == Op.DIVT:  # divt
                    y = pop()
                    x = st[-1]
                    if y == 0:
                        raise faults.division_by_zero()
                    r = abs(x) // abs(y)
                    if (x < 0) != (y < 0):
                        r = -r
                    elif r > 9223372036854775807:
                        raise faults.overflow(r)
                    st[-1] = r
                elif op == Op.MODF:  # modf
                    y = pop()
                    if y == 0:
                        raise faults.division_by_zero()
                    st[-1] = st[-1] % y
                elif op == Op.DIVF:  # divf
                    y = pop()
                    if y == 0:
                        raise faults.division_by_zero()
                    r = st[-1] // y
                    if r > 9223372036854775807:
                        raise faults.overflow(r)
                    st[-1] = r
                elif op == Op.MIN:  # min
                    y = pop()
                    if y < st[-1]:
                        st[-1] = y
                elif op == Op.MAX:  # max
                    y = pop()
                    if y > st[-1]:
                        st[-1] = y
                elif op == Op.NEG:  # neg
                    r = -st[-1]
                    if r > 9223372036854775807:
                        raise faults.overflow(r)
                    st[-1] = r
                elif op == Op.ABS:  # abs
                    r = abs(st[-1])
                    if r > 9223372036854775807:
                        raise faults.overflow(r)
                    st[-1] = r
                elif op == Op.POW:  # pow
                    y = pop()
                    x = st[-1]
                    if y < 0:
                        raise faults.negative_exponent(y)
                    if x == 0 or x == 1:
                        r = 1 if y == 0 else x
                    elif x == -1:
                        r = -1 if y & 1 else 1
                    elif y > 63:
                        raise faults.pow_overflow(x, y)
                    else:
                        r = x**y
                        if r > 9223372036854775807 or r < -9223372036854775808:
                            raise faults.overflow(r)
                    st[-1] = r
            elif op < _FIRST_MEMORY:  # comparison, logic, bits
                if op == Op.GT:  # gt
                    y = pop()
                    st[-1] = 1 if st[-1] > y else 0
                elif op == Op.GE:  # ge
                    y = pop()
                    st[-1] = 1 if st[-1] >= y else 0
                elif op == Op.NE:  # ne
                    y = pop()
                    st[-1] = 1 if st[-1] != y else 0
                elif op == Op.NOT:  # not
                    st[-1] = 0 if st[-1] else 1
                elif op == Op.LAND:  # land
                    y = pop()
                    st[-1] = 1 if st[-1] and y else 0
                elif op == Op.LOR:  # lor
                    y = pop()
                    st[-1] = 1 if st[-1] or y else 0
                elif op == Op.CMP:  # cmp
                    y = pop()
                    x = st[-1]
                    st[-1] = (x > y) - (x < y)
                elif op == Op.SGN:  # sgn
                    x = st[-1]
                    st[-1] = (x > 0) - (x < 0)
                elif op == Op.BAND:  # band
                    y = pop()
                    st[-1] &= y
                elif op == Op.BOR:  # bor
                    y = pop()
                    st[-1] |= y
                elif op == Op.BXOR:  # bxor
                    y = pop()
                    st[-1] ^= y
                elif op == Op.BNOT:  # bnot
                    st[-1] = ~st[-1]
                elif op == Op.SHL:  # shl
                    y = pop()
                    x = st[-1]
                    if y < 0:
                        raise faults.negative_shift(y)
                    if x:
                        if y > 63:
                            raise faults.shl_overflow(x, y)
                        r = x << y
                        if r > 9223372036854775807 or r < -9223372036854775808:
                            raise faults.overflow(r)
                        st[-1] = r
                elif op == Op.SHR:  # shr
                    y = pop()
                    if y < 0:
                        raise faults.negative_shift(y)
                    st[-1] = st[-1] >> (y if y < 64 else 64)
            elif op < _FIRST_CONTROL:  # memory
                if op == Op.ASTORE:  # astore
                    v = pop()
                    i = pop()
                    h = pop()
                    if h not in heads:
                        raise faults.not_array(h)
                    if i < 0 or i >= mem[h + 1]:
                        raise faults.bad_index(h, i, mem[h + 1])
                    mem[mem[h] + i] = v
                elif op == Op.ALEN:  # alen
                    h = st[-1]
                    if h not in heads:
                        raise faults.not_array(h)
                    st[-1] = mem[h + 1]
                elif op == Op.NEWARR:  # newarr
                    n = st[-1]
                    if n < 0:
                        raise faults.negative_size(n)
                    h = len(mem)
                    if h + 3 + n > max_mem:
                        raise faults.memory_limit(max_mem - 1)
                    mem += (h + 3, n, n)
                    mem += [0] * n
                    heads.add(h)
                    st[-1] = h
                elif op == Op.APUSH:  # apush
                    v = pop()
                    h = pop()
                    if h not in heads:
                        raise faults.not_array(h)
                    d = mem[h]
                    n = mem[h + 1]
                    if n == mem[h + 2]:
                        cap = 2 * n if n >= 4 else 4
                        nd = len(mem)
                        if nd + cap > max_mem:
                            raise faults.memory_limit(max_mem - 1)
                        mem += mem[d : d + n]
                        mem += [0] * (cap - n)
                        mem[h] = d = nd
                        mem[h + 2] = cap
                    mem[d + n] = v
                    mem[h + 1] = n + 1
                elif op == Op.APOP:  # apop
                    h = st[-1]
                    if h not in heads:
                        raise faults.not_array(h)
                    n = mem[h + 1] - 1
                    if n < 0:
                        raise faults.empty_array(h)
                    mem[h + 1] = n
                    st[-1] = mem[mem[h] + n]
                elif op == Op.ACOPY:  # acopy
                    h = st[-1]
                    if h not in heads:
                        raise faults.not_array(h)
                    d = mem[h]
                    n = mem[h + 1]
                    h2 = len(mem)
                    if h2 + 3 + n > max_mem:
                        raise faults.memory_limit(max_mem - 1)
                    mem += (h2 + 3, n, n)
                    mem += mem[d : d + n]
                    heads.add(h2)
                    st[-1] = h2
                elif op == Op.MLOAD:  # mload
                    x = st[-1]
                    if x < 1 or x >= len(mem):
                        raise faults.bad_address(x)
                    st[-1] = mem[x]
                elif op == Op.MSTORE:  # mstore
                    v = pop()
                    x = pop()
                    if x < 1 or x >= len(mem):
                        raise faults.bad_address(x)
                    if x in heads or x - 1 in heads or x - 2 in heads:
                        raise faults.header_address(x)
                    mem[x] = v
            elif op == Op.CALL:  # call
                if len(frames) >= max_depth:
                    raise faults.depth_limit(max_depth)
                if len(st) + lused + dmax > max_stack:
                    raise faults.stack_limit(max_stack)
                frames.append((pc, base, loc))
                if b:
                    loc = st[-b:]
                    del st[-b:]
                    lused += b
                else:
                    loc = []
                base = len(st)
                pc = a
            elif op == Op.RET:  # ret
                v = pop()
                if not frames:
                    m.halted = True
                    break
                del st[base:]
                lused -= len(loc)
                pc, base, loc = frames.pop()
                push(v)
            elif op == Op.PRINT:  # print
                nout += a if a else 1
                if nout > max_out:
                    raise faults.output_limit(max_out)
                if a:
                    out.append(tuple(st[-a:]))
                    del st[-a:]
                else:
                    out.append(())
            elif op == Op.READ:  # read
                if inpos >= len(inputs):
                    raise faults.input_exhausted(inpos)
                push(inputs[inpos])
                inpos += 1
            elif op == Op.ASSERT:  # assert
                if not pop():
                    raise faults.assertion(a)
            elif op == Op.ASSERTEQ:  # asserteq
                y = pop()
                x = pop()
                if x != y:
                    raise faults.assert_equal(a, x, y)
            elif op == Op.HALT:  # halt
                pc -= 1
                steps -= 1 if pc == len(code) - 1 else 0
                m.halted = True
                break
            elif op == _UNDERFLOW:
                raise faults.underflow(a, b)
    except IndexError:
        op, a, b = code[pc - 1]
        if op in (Op.LOAD, Op.STORE, Op.INCL):
            raise faults.bad_local(a, len(loc)) from None
        if op in (Op.GLOAD, Op.GSTORE):
            raise faults.bad_global(a, len(glob)) from None
        raise
    finally:
        m.pc = pc
        m.steps = steps
        m.loc = loc
        m.base = base
        m.lused = lused
        m.nout = nout
        m.inpos = inpos


_exec = fold(_exec, Op, _FOLDED)


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
    *,
    backend: str | None = None,
) -> RunResult:
    """Verify and run `program`. Run-time failures come back in the result
    (`status="error"`, `error`); a malformed program raises InvalidProgram.

    `trace=True` records a TraceStep after every instruction in
    `result.trace`; a callable receives each step instead. Untraced runs take
    the fast path, which never looks at tracing.

    `backend` picks the execution path: "c" (compiled) or "python" (this
    module's reference interpreter); None takes `cadmus.vm.backend()`, the
    compiled path wherever it was built. Both paths give identical results,
    traces included. A callable `trace` always takes the reference path: it
    sees each step as it happens (the compiled path would report them only
    at the end).
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
    if (not trace or trace is True) and native.check_backend(backend) == "c":
        packed = dec.packed
        if packed is None:
            packed = dec.packed = native.pack(dec.code)
        outputs, steps, failure, taken = native.execute(program, packed, dec.max_depth, ins, lim, bool(trace))
        steps_taken = None
        if taken is not None:
            code = program.code
            new = tuple.__new__  # TraceStep's own __new__ is Python code: a third of a long trace's cost
            steps_taken = [new(TraceStep, (pc, code[pc], top, loc)) for pc, top, loc in taken]
        return RunResult("ok" if failure is None else "error", outputs, steps, failure, steps_taken)
    m = _Machine(dec, ins, lim)
    steps_out: list[TraceStep] | None = [] if trace is True else None
    error: VMError | None = None
    try:
        if dec.max_depth > lim.max_stack:
            raise faults.stack_limit(lim.max_stack)
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
            raise faults.step_limit(lim.max_steps)
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
