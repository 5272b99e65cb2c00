"""Every run-time failure of the VM, one builder each.

Both execution paths raise through these, so a message is written once: the
reference interpreter calls them where it fails, the compiled path reports a
fault's name and its values and `cadmus.vm.native` calls the same builder.
The interpreter attaches the pc and instruction afterwards (`VMError.at`).
"""

from __future__ import annotations

from cadmus.vm.errors import (
    AssertionFailed,
    DivisionByZero,
    InputExhausted,
    IntegerOverflow,
    LimitExceeded,
    OutOfBounds,
    StackUnderflow,
)


def underflow(need: int, holds: int) -> StackUnderflow:
    return StackUnderflow(f"stack underflow: needs {need} value(s), the frame holds {holds}")


def overflow(r: int) -> IntegerOverflow:
    return IntegerOverflow(f"result {r} outside the signed 64-bit range")


def pow_overflow(x: int, y: int) -> IntegerOverflow:
    return IntegerOverflow(f"{x} ** {y} outside the signed 64-bit range")


def shl_overflow(x: int, y: int) -> IntegerOverflow:
    return IntegerOverflow(f"{x} << {y} outside the signed 64-bit range")


def division_by_zero() -> DivisionByZero:
    return DivisionByZero("division by zero")


def negative_exponent(y: int) -> OutOfBounds:
    return OutOfBounds(f"negative exponent {y}")


def negative_shift(y: int) -> OutOfBounds:
    return OutOfBounds(f"negative shift count {y}")


def not_array(h: int) -> OutOfBounds:
    return OutOfBounds(f"{h} is not an array handle")


def bad_index(h: int, i: int, n: int) -> OutOfBounds:
    return OutOfBounds(f"index {i} out of range for array {h} of length {n}")


def negative_size(n: int) -> OutOfBounds:
    return OutOfBounds(f"negative array size {n}")


def empty_array(h: int) -> OutOfBounds:
    return OutOfBounds(f"apop from empty array {h}")


def bad_address(x: int) -> OutOfBounds:
    return OutOfBounds(f"address {x} is not an allocated cell")


def header_address(x: int) -> OutOfBounds:
    return OutOfBounds(f"address {x} is an array header")


def bad_local(slot: int, size: int) -> OutOfBounds:
    return OutOfBounds(f"local slot {slot} out of range (the frame has {size})")


def bad_global(slot: int, size: int) -> OutOfBounds:
    return OutOfBounds(f"global slot {slot} out of range (there are {size})")


def input_exhausted(read: int) -> InputExhausted:
    return InputExhausted(f"no input left (read {read} value(s))")


def assertion(assert_id: int) -> AssertionFailed:
    return AssertionFailed(f"assertion {assert_id} failed", assert_id=assert_id)


def assert_equal(assert_id: int, x: int, y: int) -> AssertionFailed:
    return AssertionFailed(f"assertion {assert_id} failed: {x} != {y}", assert_id=assert_id, values=(x, y))


def step_limit(limit: int) -> LimitExceeded:
    return LimitExceeded(f"step limit of {limit} exceeded", limit="max_steps")


def stack_limit(limit: int) -> LimitExceeded:
    return LimitExceeded(f"stack limit of {limit} values exceeded", limit="max_stack")


def depth_limit(limit: int) -> LimitExceeded:
    return LimitExceeded(f"call depth limit of {limit} exceeded", limit="max_call_depth")


def memory_limit(limit: int) -> LimitExceeded:
    return LimitExceeded(f"memory limit of {limit} cells exceeded", limit="max_memory")


def output_limit(limit: int) -> LimitExceeded:
    return LimitExceeded(f"output limit of {limit} values exceeded", limit="max_output")
