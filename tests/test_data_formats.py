"""Example formats: every judge accepts correct answers (also ones that differ from the data) and rejects wrong ones."""

from __future__ import annotations

import random

import pytest

from cadmus.data import Reject, build, judge, normalize_output
from cadmus.data.canon import canonical_form, program_key, rename
from cadmus.data.formats import MAX_TRACE_LINES, OUTPUT_SEPARATOR, TRACE_PROBE_STEPS, TRACE_SEPARATOR
from cadmus.lang import BinOp, BinOpKind, Call, FuncDef, Module, Name, Num, Return, check, parse, to_dsl
from cadmus.tasks import Sample, all_families, get_family


def arith_sample(seed: int = 1) -> Sample:
    fam = get_family("arith")
    return fam.sample(random.Random(seed), fam.knobs({}))


def double_sample() -> Sample:
    """def f(x): return x * 2, tested on 1..8."""
    body = (FuncDef("f", ("x",), (Return(BinOp(BinOpKind.MUL, Name("x"), Num(2))),)),)
    return Sample(
        body=body,
        answer=Call("f", (Num(3),)),
        function="f",
        test_inputs=tuple((Num(i),) for i in range(1, 9)),
        instruction="Return twice the number x.",
    )


def value_of(sample: Sample) -> int:
    built = build("output", sample)
    return int(built.completion)


# ---- complete ------------------------------------------------------------------


def test_complete_shape_and_judge() -> None:
    sample = arith_sample()
    built = build("complete", sample)
    v = value_of(sample)
    assert built.completion == f"{v}\n"
    assert built.prompt.endswith(" == ")
    assert built.prompt.splitlines()[-1].startswith("assert ")
    assert judge("complete", built.prompt, built.completion, built.judge_info).ok
    # any correct answer counts, not only the dataset's text
    assert judge("complete", built.prompt, f"{v - 1} + 1", {}).ok
    assert judge("complete", built.prompt, f"({v + 5}) - 5\n", "{}").ok
    # wrong answers
    wrong = judge("complete", built.prompt, f"{v + 1}", {})
    assert not wrong.ok and wrong.kind == "assertion_failed"
    assert judge("complete", built.prompt, "banana(", {}).kind == "parse_error"


def test_true_program_past_the_step_limit_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    """The value run may end within the limit while the true program (one step more per assert) does not."""
    import cadmus.vm
    from cadmus.vm import Limits

    sample = arith_sample()
    steps = build("complete", sample).steps  # the true program's steps
    monkeypatch.setattr(cadmus.vm, "DEFAULT_LIMITS", Limits(max_steps=steps))
    assert build("complete", sample).steps == steps
    monkeypatch.setattr(cadmus.vm, "DEFAULT_LIMITS", Limits(max_steps=steps - 1))
    with pytest.raises(Reject) as info:
        build("complete", sample)
    assert info.value.reason == "limit_exceeded"


def test_complete_rejects_answers_that_escape_the_assert() -> None:
    built = build("complete", arith_sample())
    var = built.prompt.splitlines()[-1].split()[1]
    for cheat in ("0 or 1", var, f"{var}\nassert 1 == 1", "1 == 1"):
        verdict = judge("complete", built.prompt, cheat, {})
        assert not verdict.ok, cheat


def test_complete_stmt_shape_and_judge() -> None:
    sample = arith_sample(3)
    built = build("complete_stmt", sample)
    assert built.completion == to_dsl(Module((sample.body[-1],)))
    assert built.judge_info["check"].startswith("assert ")
    assert judge("complete_stmt", built.prompt, built.completion, built.judge_info).ok
    target = sample.body[-1].target.id
    v = value_of(sample)
    # a different statement that leaves the same value is also correct (documented rule)
    assert judge("complete_stmt", built.prompt, f"{target} = {v}", built.judge_info).ok
    assert not judge("complete_stmt", built.prompt, f"{target} = {v + 1}", built.judge_info).ok
    # exactly one statement
    assert not judge("complete_stmt", built.prompt, f"{target} = {v}\nprint(1)", built.judge_info).ok


# ---- output ----------------------------------------------------------------------


def test_output_shape_and_judge() -> None:
    sample = arith_sample(4)
    built = build("output", sample)
    assert built.prompt.endswith(OUTPUT_SEPARATOR)
    assert built.prompt[: -len(OUTPUT_SEPARATOR)].rstrip("\n").splitlines()[-1].startswith("print(")
    v = value_of(sample)
    assert built.completion == f"{v}\n"
    assert judge("output", built.prompt, built.completion, {}).ok
    assert judge("output", built.prompt, f"  {v}  \n\n", {}).ok  # surrounding whitespace only
    bad = judge("output", built.prompt, f"{v + 1}\n", {})
    assert not bad.ok and "wrong output" in bad.message
    assert not judge("output", built.prompt, f"{v}\n{v}", {}).ok


def test_normalize_output() -> None:
    assert normalize_output("\n 1 2  \r\n3\n\n") == "1 2\n3"


# ---- synthesize and instruct ------------------------------------------------------


def test_synthesize_shape_and_held_out_judging() -> None:
    built = build("synthesize", double_sample())
    lines = built.prompt.splitlines()
    assert lines[-1] == "def f(x):"
    shown = [ln for ln in lines if ln.startswith("assert f(")]
    assert shown == [f"assert f({i}) == {2 * i}" for i in range(1, 5)]
    assert built.judge_info["shown"] == 4
    assert built.judge_info["tests"].count("assert") == 8
    assert built.completion == "    return x * 2\n"
    ok = judge("synthesize", built.prompt, built.completion, built.judge_info)
    assert ok.ok
    # a different correct body
    assert judge("synthesize", built.prompt, "    y = x + x\n    return y\n", built.judge_info).ok
    # wrong body
    assert not judge("synthesize", built.prompt, "    return x + 2\n", built.judge_info).ok
    # a body that only fits the shown examples fails on the held-out tests
    table = "".join(f"    if x == {i}:\n        return {2 * i}\n" for i in range(1, 5)) + "    return 0\n"
    assert judge("synthesize", built.prompt, table, {"tests": "", "head": "def f(x):\n"}).ok
    held = judge("synthesize", built.prompt, table, built.judge_info)
    assert not held.ok and held.kind == "assertion_failed"
    # the answer may not add top-level statements
    assert not judge("synthesize", built.prompt, "    return x * 2\nx = 1\n", built.judge_info).ok


def test_instruct_shape_and_judge() -> None:
    built = build("instruct", double_sample())
    assert built.prompt == "# Return twice the number x.\ndef f(x):\n"
    assert built.judge_info["shown"] == 0
    assert judge("instruct", built.prompt, built.completion, built.judge_info).ok
    assert judge("instruct", built.prompt, "    return 2 * x", built.judge_info).ok
    assert not judge("instruct", built.prompt, "    return x * 3\n", built.judge_info).ok
    assert judge("instruct", built.prompt, "return x", built.judge_info).kind == "parse_error"


# ---- trace ----------------------------------------------------------------------------


def test_trace_shape_and_judge() -> None:
    body = parse("a = 3\nb = a + 4\nwhile a > 1:\n    a -= 1\nb += a\n").body
    sample = Sample(body=body, answer=Name("b"))
    built = build("trace", sample)
    assert built.prompt.endswith("print(b)\n" + TRACE_SEPARATOR)
    assert built.completion == ("1: a=3\n2: b=7\n3:\n4: a=2\n3:\n4: a=1\n3:\n5: b=8\n6: print 8\n")
    assert judge("trace", built.prompt, built.completion, {}).ok
    assert judge("trace", built.prompt, built.completion.rstrip() + "\n\n", {}).ok
    bad = judge("trace", built.prompt, built.completion.replace("b=8", "b=9"), {})
    assert not bad.ok and "step 8" in bad.message


def test_trace_of_branches_shows_only_what_runs() -> None:
    body = parse("x = 5\nif x > 3:\n    y = 1\nelse:\n    y = 2\nfor i in range(2):\n    x += i\n").body
    built = build("trace", Sample(body=body, answer=Name("x")))
    assert built.completion == "1: x=5\n2:\n3: y=1\n6: i=0\n7: x=5\n6: i=1\n7: x=6\n6:\n8: print 6\n"
    assert judge("trace", built.prompt, built.completion, {}).ok


def test_trace_through_a_function() -> None:
    built = build("trace", double_sample())
    assert built.completion == "3:\n1: x=3\n2: return 6\n3: print 6\n"
    assert built.prompt == "def f(x):\n    return x * 2\nprint(f(3))\n" + TRACE_SEPARATOR
    assert judge("trace", built.prompt, built.completion, {}).ok
    assert not judge("trace", built.prompt, built.completion.replace("return 6", "return 7"), {}).ok


def test_trace_length_limit_past_the_probe() -> None:
    """Runs longer than the first traced run's probe: a short trace is still made, a long one rejected."""
    few_lines = (
        "x = 0\ni = 0\nwhile i < 60:\n    x = (x + i * i * i * i * i * i * i * i) % 1000003\n    i += 1\n"
    )
    sample = Sample(body=parse(few_lines).body, answer=Name("x"))
    built = build("trace", sample)
    assert built.steps > TRACE_PROBE_STEPS and built.completion.count("\n") <= MAX_TRACE_LINES
    assert judge("trace", built.prompt, built.completion, {}).ok
    many_lines = "x = 0\nfor i in range(400):\n    x += i\n"
    with pytest.raises(Reject) as info:
        build("trace", Sample(body=parse(many_lines).body, answer=Name("x")))
    assert info.value.reason == "not_applicable" and "longer than" in info.value.message


def test_trace_not_applicable_to_arrays() -> None:
    fam = get_family("array_sum")
    with pytest.raises(Reject) as info:
        build("trace", fam.sample(random.Random(0), fam.knobs({})))
    assert info.value.reason == "not_applicable"


# ---- every family: verified examples parse back to the very program -----------------------


def _program_text(fmt: str, built) -> str:
    if fmt == "complete":
        return built.prompt + built.completion
    if fmt == "complete_stmt":
        return built.prompt + built.completion + built.judge_info["check"]
    if fmt in ("output", "trace"):
        return built.prompt
    return built.judge_info["head"] + built.completion + built.judge_info["tests"]


def test_every_family_and_format_parses_back_and_judges_true() -> None:
    """Also: the true program, checked afresh, holds and takes the steps its example records."""
    made = 0
    for name, fam in all_families().items():
        knobs = fam.knobs({})
        for seed in range(3):
            sample = fam.sample(random.Random(seed), knobs)
            for fmt in ("complete", "complete_stmt", "output", "synthesize", "instruct", "trace"):
                try:
                    built = build(fmt, sample)
                except Reject as rej:
                    assert rej.reason == "not_applicable", (name, fmt, rej.message)
                    continue
                assert parse(_program_text(fmt, built)) == built.module, (name, fmt)
                verdict = check(built.module)
                assert verdict.ok and verdict.steps == built.steps, (name, fmt, str(verdict))
                assert judge(fmt, built.prompt, built.completion, built.judge_info).ok, (name, fmt)
                made += 1
    assert made > 100


# ---- canonical forms ------------------------------------------------------------------------


def test_canonical_form_ignores_names_only() -> None:
    a = parse("x = 1\ny = x + 2\nprint(y)\n").body
    b = parse("foo = 1\nbar = foo + 2\nprint(bar)\n").body
    c = parse("x = 1\ny = x + 3\nprint(y)\n").body
    swapped = parse("y = 1\nx = y + 2\nprint(x)\n").body
    assert canonical_form(a) == canonical_form(b) == canonical_form(swapped)
    assert program_key(a) == program_key(b)
    assert program_key(a) != program_key(c)
    assert program_key(a, rename=False) != program_key(b, rename=False)
    renamed = rename(a, {"x": "p", "y": "q"})
    assert to_dsl(Module(renamed)) == "p = 1\nq = p + 2\nprint(q)\n"


def test_judges_never_raise_on_odd_prompts_or_answers() -> None:
    cases = [
        ("complete", "x = (", "5", {}),
        ("complete", "x = 1\n", "5", {}),
        ("complete_stmt", "x = 1\n", "y = ", {"check": "assert y == 2\n"}),
        ("output", "x = 1\nprint(x)\n# output:\n", "", {}),
        ("synthesize", "def f(x):\n", "\treturn (", {"head": "def f(x):\n", "tests": "assert f(1) == 1\n"}),
        ("trace", "x = 1\nprint(x)\n# trace:\n", "1:", {}),
    ]
    for fmt, prompt, answer, info in cases:
        verdict = judge(fmt, prompt, answer, info)
        assert not verdict.ok and str(verdict), (fmt, prompt, answer)
    with pytest.raises(ValueError, match="unknown format"):
        judge("poem", "", "", {})
