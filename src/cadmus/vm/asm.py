"""Assembly text: one instruction per line, `label:` lines, `;`/`#` comments.

    ; factorial of 5
        push 5
        call fact 1
        print 1
        halt
    fact:
        enter 1
        ...

Mnemonics are case-insensitive; labels are case-sensitive names that may be
used wherever an instruction takes a jump or call target (a plain integer pc
works too). `disassemble` writes labels L0, L1, ... for every target and
round-trips exactly.
"""

from __future__ import annotations

import re

from cadmus.vm.errors import AsmError
from cadmus.vm.isa import BY_NAME, Op, Operand
from cadmus.vm.program import Instr, Program

_TOKEN = re.compile(r"[^\s,]+")
_LABEL = re.compile(r"[A-Za-z_.$][A-Za-z0-9_.$]*\Z")
_INT = re.compile(r"[+-]?[0-9]+\Z")


def _strip_comment(line: str) -> str:
    cut = len(line)
    for ch in ";#":
        i = line.find(ch)
        if 0 <= i < cut:
            cut = i
    return line[:cut]


def assemble(text: str) -> Program:
    """Parse assembly text into a Program; raises AsmError with line and column."""
    labels: dict[str, int] = {}
    pending: list[tuple[Op, list[int | tuple[str, int, int]]]] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        toks = [(m.group(), m.start() + 1) for m in _TOKEN.finditer(_strip_comment(raw))]
        while toks and toks[0][0].endswith(":"):
            name, col = toks.pop(0)
            name = name[:-1]
            if not _LABEL.match(name):
                raise AsmError(f"invalid label name '{name}'", line=lineno, col=col)
            if name in labels:
                raise AsmError(f"duplicate label '{name}'", line=lineno, col=col)
            labels[name] = len(pending)
        if not toks:
            continue
        word, col = toks[0]
        info = BY_NAME.get(word.lower())
        if info is None:
            raise AsmError(f"unknown instruction '{word}'", line=lineno, col=col)
        operands = toks[1:]
        want = len(info.operands)
        if len(operands) < want:
            raise AsmError(
                f"{info.name} expects {want} operand(s), found {len(operands)}", line=lineno, col=col
            )
        if len(operands) > want:
            extra, ecol = operands[want]
            raise AsmError(f"unexpected operand '{extra}' ({info.name} takes {want})", line=lineno, col=ecol)
        args: list[int | tuple[str, int, int]] = []
        for kind, (tok, tcol) in zip(info.operands, operands):
            if _INT.match(tok):
                args.append(int(tok))
            elif kind is Operand.TARGET and _LABEL.match(tok):
                args.append((tok, lineno, tcol))
            else:
                raise AsmError(f"expected an integer, found '{tok}'", line=lineno, col=tcol)
        pending.append((Op(info.code), args))
    code = []
    for op, args in pending:
        resolved = []
        for a in args:
            if isinstance(a, tuple):
                name, lineno, col = a
                if name not in labels:
                    raise AsmError(f"undefined label '{name}'", line=lineno, col=col)
                resolved.append(labels[name])
            else:
                resolved.append(a)
        code.append(Instr(op, tuple(resolved)))
    return Program(tuple(code))


def disassemble(program: Program) -> str:
    """Readable text for `program`; `assemble` of it gives the same program."""
    code = program.code
    n = len(code)
    targets = sorted(
        {
            a
            for ins in code
            for kind, a in zip(ins.info_operands(), ins.args)
            if kind is Operand.TARGET and 0 <= a <= n
        }
    )
    names = {t: f"L{i}" for i, t in enumerate(targets)}
    lines: list[str] = []
    for pc, ins in enumerate(code):
        if pc in names:
            lines.append(f"{names[pc]}:")
        parts = [ins.name]
        kinds = ins.info_operands()
        for i, a in enumerate(ins.args):  # extra operands (an invalid program) are shown too
            target = i < len(kinds) and kinds[i] is Operand.TARGET and a in names
            parts.append(names[a] if target else str(a))
        lines.append("    " + " ".join(parts))
    if n in names:
        lines.append(f"{names[n]}:")
    return "".join(line + "\n" for line in lines)
