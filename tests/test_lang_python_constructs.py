"""Python as people write it: Python's NameError on the VM, the lowered constructs, what stays out.

(That the VM and CPython agree on all of it is `test_lang_python_differential.py`.)
"""

from __future__ import annotations

import random
import textwrap

import pytest

from cadmus.lang import (
    Assign,
    BinOp,
    BinOpKind,
    BoolKind,
    BoolOp,
    CmpKind,
    Compare,
    For,
    Module,
    Name,
    Num,
    SemanticError,
    UnsupportedPython,
    VerdictKind,
    While,
    check,
    check_semantics,
    compile_program,
    from_python,
    to_python,
)
from cadmus.lang.pyprograms import construct_program, tinypy_program
from cadmus.lang.randgen import random_program


def src(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def hidden_flags(module: Module) -> list[str]:
    compiled = compile_program(module, "python")
    names = list(compiled.global_names)
    for info in compiled.functions:
        names += info.slots
    return [name for name in names if name.startswith("$set:")]


# ---- Python's NameError --------------------------------------------------------------------

CONDITIONAL = src(
    """
    x = int(input())
    if x > 0:
        y = x * 2
    print(x)
    print(y)
    """
)


def test_a_name_set_on_the_path_taken_is_read() -> None:
    verdict = check(CONDITIONAL, mode="python", inputs=(4,))
    assert verdict.ok and verdict.output_text == "4\n8"


def test_a_name_not_set_on_the_path_taken_is_a_name_error_at_its_line() -> None:
    verdict = check(CONDITIONAL, mode="python", inputs=(0,))
    assert verdict.kind is VerdictKind.RUNTIME_ERROR
    assert verdict.message == "NameError: name 'y' is not defined"
    assert verdict.line == 5
    assert verdict.output_text == "0"  # what ran before it is kept
    assert str(verdict) == "line 5: NameError: name 'y' is not defined"


def test_a_local_not_set_is_an_unbound_local_error() -> None:
    text = src(
        """
        def f(a):
            if a > 0:
                z = a
            return z + 1
        print(f(2))
        print(f(-2))
        """
    )
    verdict = check(text, mode="python")
    assert verdict.output_text == "3"
    assert verdict.message.startswith("UnboundLocalError: cannot access local variable 'z'")
    assert verdict.line == 4


@pytest.mark.parametrize(
    ("text", "line", "name"),
    [
        ("for i in range(0):\n    pass\nprint(i)\n", 3, "i"),
        ("xs = []\nfor x in xs:\n    pass\nprint(x)\n", 4, "x"),
        ("i = 0\nwhile i < 3:\n    if i > 1:\n        y += 1\n    i += 1\n", 4, "y"),
        ("n = 0\nwhile n < 2 and q > 0:\n    q = 1\n    n += 1\n", 2, "q"),
        ("if 1 > 2:\n    a = 1\nelse:\n    b = 2\nprint(b)\nprint(a)\n", 6, "a"),
    ],
)
def test_name_errors_of_loops_and_branches(text: str, line: int, name: str) -> None:
    verdict = check(text, mode="python")
    assert (verdict.kind, verdict.message, verdict.line) == (
        VerdictKind.RUNTIME_ERROR,
        f"NameError: name '{name}' is not defined",
        line,
    )


def test_a_function_reading_a_global_before_it_is_set() -> None:
    text = src(
        """
        def f():
            return g + 1
        print(0)
        print(f())
        g = 1
        print(f())
        """
    )
    verdict = check(text, mode="python")
    assert (verdict.output_text, verdict.message, verdict.line) == (
        "0",
        "NameError: name 'g' is not defined",
        2,
    )
    # set before every call: no check at all
    assert hidden_flags(from_python("def f():\n    return g + 1\ng = 1\nprint(f())\n")) == []


def test_the_error_is_one_line_from_the_command_line(tmp_path, capsys) -> None:
    from cadmus.cli import main

    path = tmp_path / "prog.py"
    path.write_text(CONDITIONAL)
    code = main(["run", str(path), "--input", "0"])
    captured = capsys.readouterr()
    assert code != 0
    assert captured.out == "0\n"
    assert captured.err.strip().splitlines() == [f"{path}:5: NameError: name 'y' is not defined"]


def test_only_reads_that_may_be_unset_are_checked() -> None:
    module = from_python(CONDITIONAL)
    assert hidden_flags(module) == ["$set:y"]
    # programs whose reads are all definitely assigned compile as they did: no flag, no check
    for seed in range(40):
        tree = random_program(random.Random(seed), mode="python")
        assert hidden_flags(tree) == []
        assert all(trap is None or "NameError" not in trap for trap in compile_program(tree, "python").traps)
    # the DSL keeps its static rule
    with pytest.raises(SemanticError, match="undefined name 'y'"):
        check_semantics(from_python(CONDITIONAL), mode="dsl")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("print(z)\n", "undefined name 'z'"),
        ("print(1)\nprint(z)\nz = 1\n", "undefined name 'z'"),
        ("x = 1\ndef f():\n    print(x)\n    x = 2\n", "undefined name 'x' ('f' assigns it, so it is local"),
        ("def f():\n    return g()\nprint(f())\ndef g():\n    return 1\n", "'g' may be called (through 'f')"),
    ],
)
def test_reads_no_path_can_reach_set_are_refused_before_the_run(text: str, message: str) -> None:
    verdict = check(text, mode="python")
    assert verdict.kind is VerdictKind.SEMANTIC_ERROR
    assert message in verdict.message


# ---- the lowering ----------------------------------------------------------------------------


def test_a_chained_comparison_of_names_needs_no_temporary() -> None:
    (_, _, stmt) = from_python("i = 1\nn = 3\nok = 0 <= i < n\n").body
    i, n = Name("i"), Name("n")
    assert stmt == Assign(
        Name("ok"), BoolOp(BoolKind.AND, Compare(CmpKind.LE, Num(0), i), Compare(CmpKind.LT, i, n))
    )


def test_a_swap_evaluates_the_right_side_first() -> None:
    body = from_python("a = 1\nb = 2\na, b = b, a + b\n").body[2:]
    assert body == (
        Assign(Name("_t1"), Name("b")),
        Assign(Name("_t2"), BinOp(BinOpKind.ADD, Name("a"), Name("b"))),
        Assign(Name("a"), Name("_t1")),
        Assign(Name("b"), Name("_t2")),
    )


def test_iterating_a_list_reads_its_length_every_step() -> None:
    body = from_python("xs = [1]\nfor x in xs:\n    print(x)\n").body
    assert isinstance(body[-1], While) and not any(isinstance(s, For) for s in body)
    assert to_python(Module(body), mode="python").splitlines()[1:] == [
        "_i1 = 0",
        "while _i1 < len(xs):",
        "    x = xs[_i1]",
        "    _i1 += 1",
        "    print(x)",
    ]


def test_temporaries_never_take_a_name_of_the_program() -> None:
    text = src(
        """
        _t1 = 5
        _i1 = [4, 5]
        _i2 = 0
        _f3 = 7
        a, b = _t1, _f3
        for x in _i1:
            _i2 += x
        print(a, b, _i2, int(_f3 in _i1), sum(_i1))
        """
    )
    verdict = check(text, mode="python")
    assert verdict.ok and verdict.output_text == "5 7 9 0 9"


def test_lowered_trees_read_back_as_themselves() -> None:
    for seed in range(60):
        text = tinypy_program(random.Random(seed)) if seed % 2 else construct_program(random.Random(seed))
        module = from_python(text)
        rendered = to_python(module, mode="python")
        try:
            again = from_python(rendered)
        except UnsupportedPython as err:  # int(...) around a bool is not rendered (docs/python.md)
            assert "comparison or boolean value" in err.message
            continue
        assert again == module, f"seed {seed}\n{text}"


def test_lowered_checks_are_value_errors_at_their_line() -> None:
    verdict = check("xs = [3]\nxs.pop()\nprint(len(xs))\nprint(max(xs))\n", mode="python")
    assert (verdict.kind, verdict.message, verdict.line) == (
        VerdictKind.RUNTIME_ERROR,
        "ValueError: max() arg is an empty sequence",
        4,
    )
    assert check("xs = [1]\nk = 0\nys = xs[::k]\n", mode="python").message == (
        "ValueError: slice step cannot be zero"
    )
    assert check("a, b = [1, 2, 3]\n", mode="python").message.startswith("ValueError: wrong number of values")


# ---- names ---------------------------------------------------------------------------------


def test_builtins_are_the_programs_names_when_it_binds_them() -> None:
    verdict = check(
        "sum = 0\nfor i in range(4):\n    sum += i\nmax = sum * 2\nprint(sum, max)\n", mode="python"
    )
    assert verdict.ok and verdict.output_text == "6 12"
    module = from_python("def max(a, b):\n    return a\nlen = 3\nprint(max(1, 2), len)\n")
    assert module.body[0].name == "max_" and check(module, mode="python").output_text == "1 3"
    with pytest.raises(UnsupportedPython, match="calling 'sum', a name this program assigns"):
        from_python("sum = 0\nprint(sum([1, 2]))\n")


# ---- what the VM cannot reproduce ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("xs = [1]\nprint(1 in xs)", "printing a comparison or boolean value", 2),
        ("xs = [1]\nprint(any(x > 0 for x in xs))", "printing a comparison or boolean value", 2),
        ("xs = [1]\nys = [x > 0 for x in xs]", "storing a comparison or boolean value in a list", 2),
        ("n = 3\nfor x in n:\n    pass", "iterating over a value that may not be a list", 2),
        ("n = 3\nprint(sum(n))", "iterating over a value that may not be a list", 2),
        ("n = 3\nn.sort()", ".sort() on a value that may not be a list", 2),
        ("n = 3\nm = n[1:]", "slicing a value that may not be a list", 2),
        ("n = 3\nn += [1]", "'+=' of a list on a value that may not be a list", 2),
        ("xs = [1]\nxs = 2\nfor x in xs:\n    pass", "iterating over a value that may not be a list", 3),
        ("xs = [1]\nys = [2]\nzs = xs + ys", "arithmetic on lists", 3),
        ("xs = [[0] * 2 for _ in range(2)]", "lists of lists", 1),
        ("xs = [1]\nys = xs[:]\nprint(ys)", "printing a list", 3),
    ],
)
def test_meanings_the_vm_cannot_reproduce(text: str, message: str, line: int) -> None:
    with pytest.raises(UnsupportedPython) as info:
        from_python(text)
    assert message in info.value.message
    assert info.value.line == line
