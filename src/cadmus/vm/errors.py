"""The VM's error hierarchy: every failure names the pc and the instruction."""

from __future__ import annotations

from typing import Any

from cadmus.errors import CadmusError


def _rebuild(cls: type, state: dict[str, Any]) -> Exception:
    err = cls.__new__(cls)
    err.__dict__.update(state)
    err.args = (state.get("message", ""),)
    return err


class VMError(CadmusError):
    """A program failed verification or at run time.

    `pc` is the failing instruction's index and `instr` the instruction itself
    (both None when the failure is not tied to one instruction). The message
    reads `pc 12 (divt): division by zero`.
    """

    def __init__(self, detail: str = "", *, pc: int | None = None, instr: Any = None) -> None:
        self.detail = detail
        self.pc = pc
        self.instr = instr
        super().__init__(self._text())

    def _text(self) -> str:
        if self.pc is None:
            return self.detail
        name = self.instr.name if self.instr is not None else "end"
        return f"pc {self.pc} ({name}): {self.detail}"

    def at(self, pc: int, instr: Any) -> VMError:
        """Attach the location (used by the interpreter once it knows it)."""
        self.pc = pc
        self.instr = instr
        self.message = self._text()
        self.args = (self.message,)
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), dict(self.__dict__)))


class InvalidProgram(VMError):
    """The program is malformed: bad opcode, operand, target or stack depth."""


class StackUnderflow(VMError):
    """An instruction needs more values than its frame's stack holds."""


class DivisionByZero(VMError):
    """divt, modt, divf or modf with a zero divisor."""


class IntegerOverflow(VMError):
    """A result outside the signed 64-bit range (values never wrap)."""


class OutOfBounds(VMError):
    """An operand outside what the instruction accepts: array index, handle,
    raw address, local slot, negative size, exponent or shift count."""


class InputExhausted(VMError):
    """`read` with no input left."""


class LimitExceeded(VMError):
    """A configured limit was reached; `limit` names it (e.g. `max_steps`)."""

    def __init__(
        self, detail: str = "", *, limit: str = "", pc: int | None = None, instr: Any = None
    ) -> None:
        self.limit = limit
        super().__init__(detail, pc=pc, instr=instr)


class AssertionFailed(VMError):
    """`assert id` saw 0, or `asserteq id` saw two different values."""

    def __init__(
        self,
        detail: str = "",
        *,
        assert_id: int = 0,
        values: tuple[int, ...] = (),
        pc: int | None = None,
        instr: Any = None,
    ) -> None:
        self.assert_id = assert_id
        self.values = values
        super().__init__(detail, pc=pc, instr=instr)


class AsmError(CadmusError):
    """A syntax error in assembly text, with its line and column."""

    def __str__(self) -> str:
        if self.file is None and self.line is not None:
            return f"line {self.line}, col {self.col}: {self.message}"
        return super().__str__()
