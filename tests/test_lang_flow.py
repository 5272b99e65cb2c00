"""`always_returns`: one analysis for the Python front end and the Python renderer."""

from __future__ import annotations

import contextlib
import io

import pytest

from cadmus.lang import FuncDef, UnsupportedPython, check, from_python, parse, to_python
from cadmus.lang.flow import always_returns


def body_of(source: str) -> tuple:
    """The body of the one function `f` in DSL `source`."""
    (fd,) = [s for s in parse(source).body if isinstance(s, FuncDef)]
    return fd.body


@pytest.mark.parametrize(
    ("body", "returns"),
    [
        ("    return a", True),
        ("    return", True),  # a bare return does not fall through either
        ("    print(a)", False),
        ("    if a > 0:\n        return 1\n    else:\n        return 2", True),
        ("    if a > 0:\n        return 1", False),
        ("    print(a)\n    return a\n    print(a)", True),
        ("    while 1:\n        a += 1\n        if a > 9:\n            return a", True),
        ("    while 1:\n        if a > 9:\n            break\n        a += 1\n    print(a)", False),
        # a `break` of an inner loop leaves only that loop
        ("    while 1:\n        for i in range(3):\n            break\n        return a", True),
        ("    while 0:\n        return a", False),
        ("    while a > 0:\n        return a", False),
        ("    for i in range(3):\n        return i", False),  # the range may be empty
    ],
)
def test_always_returns(body: str, returns: bool) -> None:
    assert always_returns(body_of(f"def f(a):\n{body}\nprint(f(1))\n")) is returns


LOOP = "def f(n):\n    while True:\n        if n > 3:\n            {exit}\n        n += 1\n{tail}x = f(1)\nprint(x)\n"


def test_python_front_accepts_a_function_that_leaves_an_endless_loop_only_by_return() -> None:
    module = from_python(LOOP.format(exit="return n", tail=""))
    assert check(module).output_text == "4"
    with pytest.raises(UnsupportedPython) as info:
        from_python(LOOP.format(exit="break", tail=""))
    assert "can end without returning one" in info.value.message
    assert check(from_python(LOOP.format(exit="break", tail="    return n\n"))).output_text == "4"


def run_python(text: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(text, "<rendered>", "exec"), {})
    return out.getvalue().rstrip("\n")


def test_renderer_adds_return_0_only_where_control_can_fall_off() -> None:
    endless = parse(LOOP.format(exit="return n", tail="").replace("True", "1"))
    text = to_python(endless)
    assert "return 0" not in text
    assert run_python(text) == check(endless).output_text == "4"
    leaving = parse(LOOP.format(exit="break", tail="").replace("True", "1"))
    text = to_python(leaving)
    assert "    return 0\n" in text
    assert run_python(text) == check(leaving).output_text == "0"
