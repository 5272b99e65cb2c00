"""The semantics of every construct, judged end to end by `check` (parse, semantics, compile, run)."""

from __future__ import annotations

import itertools

import pytest

from cadmus.lang import Module, Verdict, VerdictKind, check, execute, parse
from cadmus.vm import Limits


def out(source: str, mode: str = "dsl", inputs: tuple[int, ...] = ()) -> str:
    verdict = check(source, mode=mode, inputs=inputs)
    assert verdict.ok, str(verdict)
    return verdict.output_text


def lines(*rows: str) -> str:
    return "\n".join(rows) + "\n"


def trunc_div(a: int, b: int) -> tuple[int, int]:
    q = abs(a) // abs(b)
    if (a < 0) != (b < 0):
        q = -q
    return q, a - q * b


# ---- arithmetic ---------------------------------------------------------------


def test_arithmetic_and_precedence() -> None:
    assert out("print(1 + 2 * 3, (1 + 2) * 3, 10 - 4 - 3, -2 * 3, -(4 - 6))") == "7 9 3 -6 2"


def test_bit_operators_and_unary() -> None:
    src = "print(~5, not 0, not 7, 2 << 3, 7 & 3, 5 | 2, 5 ^ 1, -16 >> 2, - -3)"
    assert out(src) == f"{~5} 1 0 16 3 7 4 -4 3"


def test_comparisons_give_one_or_zero() -> None:
    src = "a = 3\nb = 5\nprint(a < b, a <= b, a > b, a >= b, a == b, a != b, a == 3)"
    assert out(src) == "1 1 0 0 0 1 1"


DIVIDENDS = (7, -7, 6, -6, 0, 1, -1)
DIVISORS = (2, -2, 3, -3, 1, -1, 7)


def test_dsl_division_truncates_for_every_sign() -> None:
    pairs = list(itertools.product(DIVIDENDS, DIVISORS))
    # literal operands and variable operands
    body = "".join(f"print({a} / {b}, {a} % {b})\n" for a, b in pairs)
    body += "".join(f"x = {a}\ny = {b}\nprint(x / y, x % y)\n" for a, b in pairs)
    expected = [trunc_div(a, b) for a, b in pairs] * 2
    got = [tuple(map(int, row.split())) for row in out(body).splitlines()]
    assert got == expected


def test_python_division_floors_for_every_sign() -> None:
    pairs = list(itertools.product(DIVIDENDS, DIVISORS))
    body = "".join(f"print({a} // {b}, {a} % {b})\n" for a, b in pairs)
    body += "".join(f"x = {a}\ny = {b}\nprint(x // y, x % y)\n" for a, b in pairs)
    expected = [(a // b, a % b) for a, b in pairs] * 2
    got = [tuple(map(int, row.split())) for row in out(body, "python").splitlines()]
    assert got == expected


def test_python_power() -> None:
    assert out("print(2 ** 10, (-3) ** 3, 5 ** 0)", "python") == "1024 -27 1"


# ---- and / or -------------------------------------------------------------------


def test_and_or_give_one_or_zero_in_dsl() -> None:
    src = "print(3 and 5, 0 and 5, 3 and 0, 3 or 5, 0 or 0, 0 or 7, not (2 and 0))"
    assert out(src) == "1 0 0 1 0 1 1"


def test_and_or_give_the_deciding_operand_in_python() -> None:
    src = "print(3 and 5, 0 and 5, 3 and 0, 3 or 5, 0 or 0, 0 or 7)"
    assert out(src, "python") == "5 0 0 3 0 7"


@pytest.mark.parametrize("mode", ["dsl", "python"])
def test_and_or_short_circuit(mode: str) -> None:
    src = lines(
        "def loud(v):",
        "    print(v)",
        "    return v",
        "x = loud(0) and loud(1)",
        "y = loud(2) or loud(3)",
        "if loud(0) and loud(4):",
        "    print(99)",
        "if loud(5) or loud(6):",
        "    print(98)",
        "while loud(0) or loud(0):",
        "    print(97)",
    )
    assert out(src, mode).split() == ["0", "2", "0", "5", "98", "0", "0"]


@pytest.mark.parametrize("mode", ["dsl", "python"])
def test_nested_boolean_conditions(mode: str) -> None:
    for a, b, c in itertools.product((0, 1), repeat=3):
        src = lines(
            f"a = {a}",
            f"b = {b}",
            f"c = {c}",
            "if (a or b) and not c:",
            "    print(1)",
            "else:",
            "    print(0)",
            "if not (a and b) or c:",
            "    print(1)",
            "else:",
            "    print(0)",
        )
        want = [int(bool((a or b) and not c)), int(bool(not (a and b) or c))]
        assert out(src, mode).split() == [str(v) for v in want]


# ---- control flow ----------------------------------------------------------------


def test_if_elif_else() -> None:
    src = lines(
        "for x in range(0, 4):",
        "    if x == 0:",
        "        print(10)",
        "    elif x == 1:",
        "        print(11)",
        "    elif x == 2:",
        "        print(12)",
        "    else:",
        "        print(13)",
    )
    assert out(src).split() == ["10", "11", "12", "13"]


def test_while_loop() -> None:
    assert out("i = 0\ns = 0\nwhile i < 5:\n    s += i\n    i += 1\nprint(s, i)") == "10 5"


RANGES = [
    (0, 5, 1),
    (0, 5, 2),
    (5, 0, 1),
    (5, 0, -1),
    (5, 0, -2),
    (0, 0, 1),
    (-3, 3, 1),
    (3, -3, -3),
    (0, 10, 3),
    (10, 0, -3),
    (-5, -1, 2),
    (-1, -5, -2),
    (0, 1, 100),
    (0, -1, -100),
    (7, 7, -1),
]


@pytest.mark.parametrize("mode", ["dsl", "python"])
def test_range_matches_python(mode: str) -> None:
    for a, b, s in RANGES:
        # constant step, step in a variable, step as an expression of unknown sign
        for step in (str(s), "st", "st * one"):
            src = lines(
                f"st = {s}",
                "one = 1",
                "n = 0",
                f"for i in range({a}, {b}, {step}):",
                "    print(i)",
                "    n += 1",
                "print(n)",
            )
            want = [*range(a, b, s), len(range(a, b, s))]
            assert out(src, mode).split() == [str(v) for v in want], (a, b, step)


def test_range_with_default_step_and_python_one_argument_form() -> None:
    assert out("for i in range(2, 5):\n    print(i)").split() == ["2", "3", "4"]
    assert out("for i in range(3):\n    print(i)", "python").split() == ["0", "1", "2"]


def test_range_bounds_are_evaluated_once() -> None:
    src = lines(
        "n = 3",
        "s = 1",
        "for i in range(0, n, s):",
        "    n = 10",
        "    s = 5",
        "    print(i)",
    )
    assert out(src).split() == ["0", "1", "2"]


def test_assigning_the_loop_variable_does_not_change_the_iteration() -> None:
    src = "i = -1\nfor i in range(0, 3):\n    print(i)\n    i = 100\nprint(i)"
    assert out(src).split() == ["0", "1", "2", "100"]


@pytest.mark.parametrize("mode", ["dsl", "python"])
def test_loop_variable_keeps_its_last_value(mode: str) -> None:
    src = lines(
        "i = 42",
        "for i in range(5, 0):",
        "    pass",
        "print(i)",
        "for i in range(0, 3):",
        "    pass",
        "print(i)",
        "for i in range(10, 0, -4):",
        "    pass",
        "print(i)",
    )
    assert out(src, mode).split() == ["42", "2", "2"]


@pytest.mark.parametrize("step", ["0", "z", "z * 5"])
def test_range_step_zero_is_a_runtime_error_at_the_for_line(step: str) -> None:
    src = f"z = 0\nprint(1)\nfor i in range(0, 5, {step}):\n    print(i)\n"
    verdict = check(src)
    assert verdict.kind is VerdictKind.RUNTIME_ERROR
    assert verdict.line == 3
    assert "step" in verdict.message and "zero" in verdict.message
    assert verdict.outputs == ((1,),)


def test_unreached_step_zero_is_fine() -> None:
    assert check("if 0:\n    for i in range(0, 5, 0):\n        print(i)\nprint(1)").ok


@pytest.mark.parametrize("mode", ["dsl", "python"])
def test_break_and_continue_in_both_loop_kinds(mode: str) -> None:
    src = lines(
        "i = -1",
        "for i in range(0, 10):",
        "    if i % 2 == 1:",
        "        continue",
        "    if i > 6:",
        "        break",
        "    print(i)",
        "j = 0",
        "while j < 10:",
        "    j += 1",
        "    if j % 3 == 0:",
        "        continue",
        "    if j == 8:",
        "        break",
        "    print(j)",
        "print(i, j)",
    )
    assert out(src, mode).splitlines() == ["0", "2", "4", "6", "1", "2", "4", "5", "7", "8 8"]


def test_break_leaves_only_the_inner_loop() -> None:
    src = lines(
        "for i in range(0, 3):",
        "    for j in range(0, 3):",
        "        if j == 1:",
        "            break",
        "        print(i, j)",
    )
    assert out(src).splitlines() == ["0 0", "1 0", "2 0"]


def test_continue_in_for_still_steps() -> None:
    assert out("i = 0\nfor i in range(10, 0, -3):\n    continue\nprint(i)") == "1"


# ---- functions ------------------------------------------------------------------


def test_recursion() -> None:
    src = lines(
        "def fact(n):",
        "    if n <= 1:",
        "        return 1",
        "    return n * fact(n - 1)",
        "def fib(n):",
        "    if n < 2:",
        "        return n",
        "    return fib(n - 1) + fib(n - 2)",
        "print(fact(20), fib(20))",
    )
    assert out(src) == "2432902008176640000 6765"


def test_mutual_recursion_and_call_before_definition() -> None:
    src = lines(
        "print(is_even(10), is_even(7))",
        "def is_even(n):",
        "    if n == 0:",
        "        return 1",
        "    return is_odd(n - 1)",
        "def is_odd(n):",
        "    if n == 0:",
        "        return 0",
        "    return is_even(n - 1)",
    )
    assert out(src) == "1 0"


def test_bare_return_and_falling_off_return_zero() -> None:
    src = lines(
        "def f(x):",
        "    if x > 0:",
        "        return",
        "    print(7)",
        "print(f(1), f(0))",
    )
    assert out(src).splitlines() == ["7", "0 0"]


def test_arguments_are_evaluated_left_to_right_and_locals_are_private() -> None:
    src = lines(
        "def sub(a, b):",
        "    t = a - b",
        "    return t",
        "t = 5",
        "print(sub(read(), read()), t)",
    )
    assert out(src, inputs=(10, 3)) == "7 5"


def test_python_functions_read_globals() -> None:
    src = lines(
        "def f(k):",
        "    return base + k",
        "def g():",
        "    base = 1",
        "    return base",
        "base = 100",
        "print(f(1), g(), base)",
    )
    assert out(src, "python") == "101 1 100"


def test_python_functions_mutate_global_arrays() -> None:
    src = "def push(v):\n    xs.append(v)\nxs = []\npush(3)\npush(4)\nprint(len(xs), xs[-1])\n"
    assert out(src, "python") == "2 4"


def test_dsl_functions_do_not_see_globals() -> None:
    verdict = check("x = 1\ndef f():\n    return x\nprint(f())")
    assert verdict.kind is VerdictKind.SEMANTIC_ERROR
    assert verdict.line == 3


# ---- arrays -----------------------------------------------------------------------


def test_array_literal_array_len_and_index() -> None:
    src = lines(
        "a = [3, 1, 4, 1, 5]",
        "b = array(3)",
        "b[1] = a[2] * 10",
        "b[2] += 7",
        "e = []",
        "print(len(a), a[0], a[4], b[0], b[1], b[2], len(e), len(array(0)))",
    )
    assert out(src) == "5 3 5 0 40 7 0 0"


def test_arrays_are_shared_by_reference() -> None:
    src = "def fill(a, v):\n    for i in range(0, len(a)):\n        a[i] = v\n    return 0\n"
    src += "xs = array(3)\nys = xs\nfill(ys, 9)\nprint(xs[0], xs[2])\n"
    assert out(src) == "9 9"


def test_indexed_augmented_assignment_evaluates_array_and_index_once() -> None:
    src = "a = [10, 20, 30]\na[read()] += read()\nprint(a[0], a[1], a[2])"
    assert out(src, inputs=(1, 5)) == "10 25 30"


def test_assignment_evaluates_the_value_first() -> None:
    src = "a = [0, 0, 0]\na[read()] = read()\nprint(a[0], a[1], a[2])"
    assert out(src, inputs=(7, 2)) == "0 0 7"
    # the same order in mode python (a call that prints shows it)
    src = "def f(v):\n    print(v)\n    return v\na = [0, 0, 0]\na[f(1)] = f(2)\na[f(0)] += f(3)\nprint(a[0], a[1])"
    assert out(src, "python").splitlines() == ["2", "1", "0", "3", "3 2"]


def test_out_of_bounds_is_reported_at_its_line() -> None:
    src = "a = [1, 2, 3]\nprint(a[2])\nx = a[3]\nprint(x)"
    verdict = check(src)
    assert verdict.kind is VerdictKind.RUNTIME_ERROR
    assert verdict.line == 3
    assert verdict.outputs == ((3,),)
    assert check("a = [1]\nprint(a[-1])").kind is VerdictKind.RUNTIME_ERROR
    assert check("a = array(2)\na[2] = 1").line == 2


def test_python_negative_indices() -> None:
    src = lines(
        "a = [1, 2, 3]",
        "k = -2",
        "print(a[-1], a[k], a[-3], a[0])",
        "a[-1] = 9",
        "a[k] += 10",
        "print(a[0], a[1], a[2])",
    )
    assert out(src, "python").splitlines() == ["3 2 1 1", "1 12 9"]
    for bad in ("a[-4]", "a[k - 2]", "a[3]"):
        verdict = check(f"a = [1, 2, 3]\nk = -2\nx = {bad}\n", mode="python")
        assert verdict.kind is VerdictKind.RUNTIME_ERROR and verdict.line == 3, bad


def test_python_append_and_pop() -> None:
    src = "xs = []\nfor i in range(4):\n    xs.append(i * i)\nprint(xs.pop(), len(xs), xs[-1])"
    assert out(src, "python") == "9 3 4"
    assert check("xs = []\nxs.pop()", mode="python").kind is VerdictKind.RUNTIME_ERROR


# ---- input, output, asserts ------------------------------------------------------


def test_print_forms_and_read() -> None:
    assert check("print()").outputs == ((),)
    assert out("x = read()\ny = read()\nprint(x + y)\nprint(x, y, x * y)", inputs=(4, -5)) == "-1\n4 -5 -20"
    verdict = check("x = read()\ny = read()", inputs=(1,))
    assert verdict.kind is VerdictKind.RUNTIME_ERROR and verdict.line == 2


def test_failed_assert_reports_line_and_both_values() -> None:
    src = "x = 12\nassert x == 12\nprint(x)\nassert x + 0 == x\nassert x == 13\nprint(99)"
    verdict = check(src)
    assert verdict.kind is VerdictKind.ASSERTION_FAILED
    assert not verdict.ok
    assert verdict.line == 5
    assert verdict.values == (12, 13)
    assert verdict.assert_id == 2
    assert verdict.message == "assertion failed: 12 != 13"
    assert str(verdict) == "line 5: assertion failed: 12 != 13"
    assert verdict.outputs == ((12,),)


def test_failed_plain_assert() -> None:
    verdict = check("x = 3\nassert x < 2")
    assert verdict.kind is VerdictKind.ASSERTION_FAILED
    assert str(verdict) == "line 2: assertion failed"
    assert verdict.assert_id == 0


def test_assert_in_function_reports_its_line() -> None:
    src = "def f(n):\n    assert n > 0\n    return n\nprint(f(1))\nprint(f(0))"
    verdict = check(src)
    assert verdict.kind is VerdictKind.ASSERTION_FAILED and verdict.line == 2


# ---- run-time errors and limits --------------------------------------------------


@pytest.mark.parametrize(
    "stmt",
    [
        "x = 1 / z",
        "x = 1 % z",
        "x = 9223372036854775807 + 1",
        "x = 3037000500 * 3037000500",
        "x = array(z - 1)",
    ],
)
def test_runtime_errors_are_reported_at_their_line(stmt: str) -> None:
    verdict = check(f"z = 0\nprint(z)\n{stmt}\nprint(x)")
    assert verdict.kind is VerdictKind.RUNTIME_ERROR, str(verdict)
    assert verdict.line == 3
    assert verdict.outputs == ((0,),)
    assert verdict.steps > 0
    assert str(verdict).startswith("line 3: ")


def test_overflow_in_augmented_assignment_and_function() -> None:
    verdict = check("x = 9223372036854775800\nwhile 1:\n    x += 1\n")
    assert verdict.kind is VerdictKind.RUNTIME_ERROR and verdict.line == 3
    verdict = check("def f(a):\n    return a * a\nprint(f(10))\nprint(f(10000000000))")
    assert verdict.kind is VerdictKind.RUNTIME_ERROR and verdict.line == 2


def test_infinite_loop_exceeds_the_step_limit() -> None:
    verdict = check("x = 0\nwhile 1:\n    x += 1", limits=Limits(max_steps=1000))
    assert verdict.kind is VerdictKind.LIMIT_EXCEEDED
    assert verdict.line in (2, 3)
    assert verdict.steps == 1000


def test_infinite_recursion_exceeds_a_limit() -> None:
    verdict = check("def f(n):\n    return f(n + 1)\nprint(f(0))")
    assert verdict.kind is VerdictKind.LIMIT_EXCEEDED
    assert verdict.line == 2


# ---- verdicts -----------------------------------------------------------------------


def test_true_verdict() -> None:
    verdict = check("x = 6 * 7\nprint(x)\nprint(x, 1)")
    assert verdict.ok and verdict.kind is VerdictKind.TRUE and verdict.kind == "true"
    assert verdict.outputs == ((42,), (42, 1))
    assert verdict.output_text == "42\n42 1"
    assert str(verdict) == f"true ({verdict.steps} steps)"
    assert verdict.to_dict()["kind"] == "true"


def test_parse_error_verdict() -> None:
    verdict = check("x = (1 +\nprint(x)\n")
    assert verdict.kind is VerdictKind.PARSE_ERROR
    assert verdict.line is not None and verdict.col is not None
    assert str(verdict).startswith(f"line {verdict.line}, col {verdict.col}: ")
    assert verdict.steps == 0 and verdict.outputs == ()


def test_semantic_error_verdicts() -> None:
    for src, line in [
        ("x = 1\nprint(y)", 2),
        ("def f(a):\n    return a\nprint(f(1, 2))", 3),
        ("return 3", 1),
        ("x = 1\nbreak", 2),
    ]:
        verdict = check(src)
        assert verdict.kind is VerdictKind.SEMANTIC_ERROR, src
        assert verdict.line == line, src


def test_python_verdicts() -> None:
    assert check("import os", mode="python").kind is VerdictKind.PARSE_ERROR
    assert check("x = (", mode="python").kind is VerdictKind.PARSE_ERROR
    assert check("print(y)", mode="python").kind is VerdictKind.SEMANTIC_ERROR
    assert check("x = 3\nassert x == 4", mode="python").kind is VerdictKind.ASSERTION_FAILED


def test_check_accepts_a_module_and_execute_keeps_the_run() -> None:
    module = parse("x = 2\nprint(x * 21)\n")
    assert isinstance(module, Module)
    assert check(module).output_text == "42"
    ex = execute(module, trace=True)
    assert ex.verdict.ok and ex.module is module
    assert ex.compiled is not None and ex.result is not None
    assert ex.result.trace is not None and len(ex.result.trace) == ex.verdict.steps


PARSE, SEMANTIC = VerdictKind.PARSE_ERROR, VerdictKind.SEMANTIC_ERROR


@pytest.mark.parametrize(
    ("text", "dsl", "python", "line"),
    [
        (")))", PARSE, PARSE, 1),
        ("def", PARSE, PARSE, 1),
        ("x = = 1", PARSE, PARSE, 1),
        ("\tx = 1", PARSE, PARSE, 1),
        ("if 1:\nprint(2)", PARSE, PARSE, 2),
        # the DSL's lexer refuses the literal; Python parses it and the range check rejects it
        ("x = 99999999999999999999", PARSE, SEMANTIC, 1),
    ],
)
def test_garbage_is_rejected_with_a_verdict(
    text: str, dsl: VerdictKind, python: VerdictKind, line: int
) -> None:
    for mode, kind in (("dsl", dsl), ("python", python)):
        verdict = check(text, mode=mode)
        assert isinstance(verdict, Verdict)
        assert not verdict.ok
        assert (verdict.kind, verdict.line) == (kind, line), (mode, verdict)
        assert verdict.message and verdict.steps == 0 and verdict.outputs == ()


def test_an_empty_program_is_true_and_prints_nothing() -> None:
    for text in ("", "\n\n"):
        for mode in ("dsl", "python"):
            verdict = check(text, mode=mode)
            assert verdict.ok and verdict.outputs == ()


def test_bad_mode_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        check("x = 1", mode="lua")
