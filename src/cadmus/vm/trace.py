"""A run's trace as a text table: one row per executed instruction.

Without a source map the rows show the raw frame (`locals` as values); with
one (a compiled program's `Compiled` fits `SourceMap`), they add the source
line of each pc and name the locals of the frame that ran the step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from cadmus.vm.isa import Op
from cadmus.vm.machine import TraceStep


class SourceMap(Protocol):
    """What a trace table needs to know about the program's source."""

    @property
    def lines(self) -> Sequence[int]:
        """The source line of each pc."""
        ...

    @property
    def global_names(self) -> Sequence[str]:
        """The names of the main frame's slots."""
        ...

    def slot_names(self, pc: int) -> Sequence[str]:
        """The names of the slots of the frame that runs the code at `pc`."""
        ...


def format_trace(trace: Sequence[TraceStep], source: SourceMap | None = None) -> str:
    """The table of `trace`: step, pc, [line,] instruction, top of stack, locals; one row per line."""
    header = ("step", "pc", "line", "instruction", "top") if source else ("step", "pc", "instruction", "top")
    rows: list[tuple[str, ...]] = [(*header, "locals")]
    frames: list[Sequence[str]] = [source.global_names] if source else []
    for i, step in enumerate(trace, start=1):
        top = "-" if step.top is None else str(step.top)
        if source is None:
            rows.append((str(i), str(step.pc), str(step.instr), top, " ".join(map(str, step.locals))))
            continue
        if step.instr.op == Op.CALL:
            frames.append(source.slot_names(step.instr.args[0]))
        elif step.instr.op == Op.RET and len(frames) > 1:
            frames.pop()
        named = " ".join(f"{n}={v}" for n, v in zip(frames[-1], step.locals))
        rows.append((str(i), str(step.pc), str(source.lines[step.pc]), str(step.instr), top, named))
    padded = len(header)
    numeric = padded - 2  # step, pc (and line) align right; instruction and top align left
    widths = [max(len(r[c]) for r in rows) for c in range(padded)]
    out = []
    for r in rows:
        cells = [f"{r[c]:>{widths[c]}}" if c < numeric else f"{r[c]:<{widths[c]}}" for c in range(padded)]
        out.append(("  ".join(cells) + "  " + r[padded]).rstrip() + "\n")
    return "".join(out)
