"""The ISA reference, generated from the table in `isa.py`."""

from __future__ import annotations

from cadmus.vm.isa import ISA, Operand, OpInfo

_OPERAND_NAMES = {
    Operand.INT: "k",
    Operand.SLOT: "s",
    Operand.TARGET: "t",
    Operand.COUNT: "n",
    Operand.ID: "id",
}

_INTRO = """\
<!-- Generated from src/cadmus/vm/isa.py by `make docs` (`cadmus vm isa --markdown`). Do not edit. -->
# Cadmus VM instruction set

{n} instructions. Values are signed 64-bit integers; any result outside
[-2**63, 2**63-1] raises `IntegerOverflow` (nothing wraps). Opcodes are the
numbers below; a program's compact form is each opcode followed by its
operands (`Program.to_ints()`).

## Machine model

- **Operand stack**, shared by all frames; a frame sees only the values
  pushed since it was entered. Popping below that base raises
  `StackUnderflow` (decided statically by `verify`, raised when reached).
- **Frames**: `call t n` moves the top n values into slots 0..n-1 of a new
  frame (first argument in slot 0) and jumps to t; the callee sizes its frame
  with `enter m`; `ret` pops the return value, discards what is left of the
  callee's stack, and pushes the value on the caller's. Execution starts at
  pc 0 in the global frame, whose locals are the globals (`gload`/`gstore`
  reach them from anywhere). `ret` in the global frame ends the program, as
  does running past the last instruction.
- **Memory**: a flat array of integer cells. Cell 0 is reserved, so handle 0
  is never valid. An array handle is the address of a header
  `[data, length, capacity]`; `apush` moves a full array to a larger block
  and keeps the handle. Every access is bounds-checked (`OutOfBounds`);
  `mstore` may not write header cells.
- **Input**: `read` takes the next value of the run's inputs
  (`InputExhausted` when none is left). **Output**: `print n` emits one line
  of n values. **Assertions** carry an id reported by `AssertionFailed`.
- **Limits** (`Limits`): steps, stack (operand values plus live locals),
  call depth, memory cells ever allocated, output values. Exceeding one
  raises `LimitExceeded` naming it.
- **Division**: `divt`/`modt` truncate toward zero (C, the DSL);
  `divf`/`modf` floor (Python). A zero divisor raises `DivisionByZero`.
  Negative exponents, shift counts and array sizes raise `OutOfBounds`.

Operands: `k` a 64-bit constant, `s` a local slot (0..65535), `t` a jump
or call target (0..len(program)), `n` a count (0..65535), `id` an assertion
id (>= 0). Stack effects give values popped -> pushed.
"""


def _effect(info: OpInfo) -> str:
    pops = {"call": "n", "print": "n"}.get(info.name, str(info.pops))
    return f"{pops} -> {info.pushes}"


def _operands(info: OpInfo) -> str:
    return " ".join(_OPERAND_NAMES[o] for o in info.operands)


def isa_markdown() -> str:
    """The full text of docs/isa.md."""
    out = [_INTRO.format(n=len(ISA))]
    group = None
    for info in ISA:
        if info.group != group:
            group = info.group
            out.append(f"\n## {group}\n\n| opcode | instruction | stack | meaning |\n|---:|---|---|---|\n")
        ins = f"`{info.name} {_operands(info)}`" if info.operands else f"`{info.name}`"
        meaning = info.meaning.replace("|", "\\|")
        out.append(f"| {info.code} | {ins} | {_effect(info)} | {meaning} |\n")
    return "".join(out)


def isa_text() -> str:
    """The table as plain text columns (for `cadmus vm isa`)."""
    rows = [("op", "instruction", "stack", "meaning")]
    for info in ISA:
        rows.append((str(info.code), f"{info.name} {_operands(info)}".strip(), _effect(info), info.meaning))
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    w2 = max(len(r[2]) for r in rows)
    return "".join(f"{a:>{w0}}  {b:<{w1}}  {c:<{w2}}  {d}".rstrip() + "\n" for a, b, c, d in rows)
