"""Example formats: how a true program becomes (prompt, completion), and how an answer is judged.

Each format has a builder (sample -> prompt, completion, judge info) and a
judge (prompt + a model's answer -> `Verdict`). Judges always build a program
from the prompt and the answer and ask the VM; the dataset's completion is
never compared as a string where a program can be run. The exact text shapes
and judging rules are documented in docs/data.md.

Builders take the sample's tree and never re-parse their own text: the
prompt and completion are cut from the canonical print (`to_dsl`) of the very
tree that is compiled and checked, so the verified program is the one the text
shows (tests check that prompt + completion parses back to it).

Languages: an example of `complete` or `output` may show its program in
another surface language than the DSL (`cadmus.lang.RENDERERS`: python,
javascript, lua, c, the skins). The DSL example is built and verified as
usual, then its program is rendered in the language; the judge parses the
answer back where Cadmus reads the language (python), and otherwise
rebuilds the program from the DSL text it keeps in `judge_info` and asks the
VM (see `build_in` and docs/data.md, "Languages").

Each example costs one verification run: `check` (semantics, compile, VM) of
the program with `print` where the true program has its asserts
(`print(answer)`, `print(f(args))`). That run gives the values, and the VM is
deterministic, so the true program (the same program, each one-value print
turned into `assert e == value`) holds by construction; its steps are the
run's plus one per assert. Tests re-`check` the true program of every family
and format and compare verdict and steps; `cadmus data verify` re-judges a
sample of a built dataset through its text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from cadmus.errors import CadmusError
from cadmus.lang import (
    ArrayLit,
    Assert,
    Assign,
    AugAssign,
    BinOp,
    Call,
    CmpKind,
    Compare,
    Expr,
    FuncDef,
    Index,
    Module,
    Name,
    Node,
    Num,
    Pass,
    Print,
    Unary,
    UnaryKind,
    const_value,
    fast_check,
    num,
)

OUTPUT_SEPARATOR = "# output:\n"
TRACE_SEPARATOR = "# trace:\n"
SHOWN_EXAMPLES = 4  # synthesize: tests shown in the prompt (at least one is always held out)
MAX_TRACE_LINES = 200  # trace: longer executions are not made into trace examples
TRACE_MAX_STEPS = 100_000  # trace: VM step limit of traced runs (build and judge)
TRACE_PROBE_STEPS = 1_000  # trace build: a first traced run stops here (longer traces are rare)

FORMATS = ("complete", "complete_stmt", "output", "synthesize", "instruct", "trace", "scratchpad")


class Reject(Exception):
    """A sample that cannot become an example of this format (counted, then retried)."""

    def __init__(self, reason: str, message: str = "") -> None:
        super().__init__(message or reason)
        self.reason = reason
        self.message = message or reason


@dataclass(frozen=True, slots=True)
class Built:
    """One example's text, what its judge needs, and facts from its verification run."""

    prompt: str
    completion: str
    judge_info: dict[str, Any] = field(default_factory=dict)
    steps: int = 0  # VM steps of the verified program
    values: tuple[int, ...] = ()  # the answer values (for the max_abs feature)
    module: Module | None = None  # the verified program


# ---- lang access (imported lazily: the language package is a peer under construction) --


def _lang() -> Any:
    import cadmus.lang as lang

    return lang


def _check(module: Module) -> Any:
    return _lang().check(module)


def _to_dsl(node: Any) -> str:
    return _lang().to_dsl(node)


def _verdict(kind: str, message: str, **extra: Any) -> Any:
    lang = _lang()
    return lang.Verdict(lang.VerdictKind(kind), message, **extra)


def _reject_verdict(verdict: Any) -> Reject:
    kind = str(verdict.kind)
    message = str(verdict)
    if kind == "runtime_error" and "overflow" in message.lower():
        kind = "overflow"
    return Reject(kind, message)


def _run_checked(module: Module) -> Any:
    """The verification run: `check` (semantics, compile, VM) of a program; a failure rejects the sample."""
    verdict = _check(module)
    if not verdict.ok:
        raise _reject_verdict(verdict)
    return verdict


def _answer_value(sample: Any) -> tuple[int, Any]:
    """The answer's value, from the verification run of body + print(answer)."""
    verdict = _run_checked(Module((*tuple(sample.body), Print((sample.answer,)))))
    last = verdict.outputs[-1]
    if len(last) != 1:
        raise Reject("not_applicable", "the answer is not one integer")
    return last[0], verdict


def _asserted_steps(verdict: Any, n_asserts: int) -> int:
    """VM steps of the true program made from a run by turning `n_asserts` one-value prints into asserts.

    `print(e)` compiles to `e; PRINT 1` and `assert e == v` to `e; PUSH v;
    ASSERTEQ`: one step more each, all else identical (tests compare with a
    fresh `check` of the true program). A run that ends within the step limit
    only because of those missing steps is rejected, as the judge would.
    """
    from cadmus.vm import DEFAULT_LIMITS

    steps = verdict.steps + n_asserts
    if steps > DEFAULT_LIMITS.max_steps:
        raise Reject("limit_exceeded", f"the true program takes {steps} steps")
    return steps


def _final_assert(answer: Expr, value: int) -> Assert:
    return Assert(Compare(CmpKind.EQ, answer, num(value)))


# ---- complete -------------------------------------------------------------------


def build_complete(sample: Any) -> Built:
    value, verdict = _answer_value(sample)
    module = Module((*tuple(sample.body), _final_assert(sample.answer, value)))
    text = _to_dsl(module)
    completion = _to_dsl(num(value)) + "\n"
    if not text.endswith(completion):
        raise Reject("not_applicable", "the printed assert does not end with its value")
    return Built(text[: -len(completion)], completion, {}, _asserted_steps(verdict, 1), (value,), module)


def _closed(expr: Any) -> bool:
    """An integer expression of constants only (no names, calls, comparisons)."""
    if isinstance(expr, Num):
        return True
    if isinstance(expr, Unary):
        return expr.op is not UnaryKind.NOT and _closed(expr.operand)
    if isinstance(expr, BinOp):
        return _closed(expr.left) and _closed(expr.right)
    return False


@lru_cache(maxsize=4096)
def _parse_cached(text: str) -> Module:
    return _lang().parse(text)


def _parse_answer(text: str) -> tuple[Module | None, Any]:
    lang = _lang()
    try:
        return lang.parse(text), None
    except lang.ParseError as err:
        return None, _verdict("parse_error", err.message, line=err.line, col=err.col)


def _with_newline(answer: str) -> str:
    return answer if answer.endswith("\n") else answer + "\n"


# An answer that can only be one closed integer expression completing `assert x == `:
# digits, + - * / %, parentheses and spaces on one line.
_CLOSED_ANSWER = re.compile(r"[0-9 +\-*/%()]+\n?\Z")


def _balanced(text: str) -> bool:
    """No ')' closes a '(' opened before `text`, and every '(' is closed."""
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def judge_complete(prompt: str, answer: str, info: dict[str, Any]) -> Any:
    if (
        prompt.endswith("== ")
        and prompt[prompt.rfind("\n") + 1 :].startswith("assert ")
        and _CLOSED_ANSWER.match(answer)
        and _balanced(answer)
    ):
        # The last line is `assert L == ` and the answer a closed expression
        # that closes nothing of L: where the compiled front end reads the
        # whole text, its last statement is `assert L == answer` (a comparison
        # inside L would be a chain, which it declines), so the checks below
        # all hold and its verdict is theirs.
        fast = fast_check(prompt + _with_newline(answer))
        if fast is not None:
            return fast
    module, bad = _parse_answer(prompt + _with_newline(answer))
    if module is None:
        return bad
    ref = _parse_cached(prompt + "0\n")
    last = module.body[-1] if module.body else None
    ref_last = ref.body[-1] if ref.body else None
    if not isinstance(ref_last, Assert) or not isinstance(ref_last.test, Compare):
        return _verdict("parse_error", "the prompt does not end with an assert to complete")
    if (
        len(module.body) != len(ref.body)
        or module.body[:-1] != ref.body[:-1]
        or not isinstance(last, Assert)
        or not isinstance(last.test, Compare)
        or last.test.op is not CmpKind.EQ
        or last.test.left != ref_last.test.left
    ):
        return _verdict("parse_error", "the answer must complete the final assert with one expression")
    if not _closed(last.test.right):
        return _verdict("parse_error", "the answer must be an integer expression of constants")
    return _check(module)


# ---- complete_stmt ------------------------------------------------------------------


def build_complete_stmt(sample: Any) -> Built:
    body = tuple(sample.body)
    if len(body) < 2 or not isinstance(body[-1], (Assign, AugAssign)):
        raise Reject("not_applicable", "the program does not end with an assignment")
    value, verdict = _answer_value(sample)
    hidden = _final_assert(sample.answer, value)
    module = Module((*body, hidden))
    head = _to_dsl(Module(body[:-1]))
    whole = _to_dsl(Module(body))
    if not whole.startswith(head):
        raise Reject("not_applicable", "the printed body does not start with its prefix")
    check_text = _to_dsl(Module((hidden,)))
    steps = _asserted_steps(verdict, 1)
    return Built(head, whole[len(head) :], {"check": check_text}, steps, (value,), module)


def judge_complete_stmt(prompt: str, answer: str, info: dict[str, Any]) -> Any:
    check_text = info["check"]
    line = answer[:-1] if answer.endswith("\n") else answer
    if (not prompt or prompt.endswith("\n")) and "\n" not in line:
        # One line between the prompt's lines and the hidden check: where the
        # compiled front end reads the whole text, that line is one statement
        # and the checks below all hold.
        fast = fast_check(prompt + _with_newline(answer) + check_text)
        if fast is not None:
            return fast
    module, bad = _parse_answer(prompt + _with_newline(answer) + check_text)
    if module is None:
        return bad
    ref = _parse_cached(prompt)
    hidden = _parse_cached(check_text).body
    n = len(ref.body)
    if (
        len(module.body) != n + 1 + len(hidden)
        or module.body[:n] != ref.body
        or module.body[n + 1 :] != hidden
    ):
        return _verdict("parse_error", "the answer must be exactly one statement")
    return _check(module)


# ---- output ---------------------------------------------------------------------------


def build_output(sample: Any) -> Built:
    module = Module((*tuple(sample.body), Print((sample.answer,))))
    # The judge runs the prompt's program and compares what it prints with the
    # answer; the completion is defined as that output, so this one run is the
    # judge's own computation and proves the program true.
    verdict = _run_checked(module)
    values = tuple(v for line in verdict.outputs for v in line)
    return Built(
        _to_dsl(module) + OUTPUT_SEPARATOR, verdict.output_text + "\n", {}, verdict.steps, values, module
    )


def normalize_output(text: str) -> str:
    """Output text compared by the judges: line ends unified, trailing spaces and surrounding blank lines dropped."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip()


def _program_of(prompt: str, separator: str) -> tuple[Module | None, Any]:
    text = prompt[: -len(separator)] if prompt.endswith(separator) else prompt
    return _parse_answer(text)


def judge_output(prompt: str, answer: str, info: dict[str, Any]) -> Any:
    if prompt.endswith(OUTPUT_SEPARATOR):
        fast = fast_check(prompt[: -len(OUTPUT_SEPARATOR)])
        if fast is not None:
            return _compare_output(fast, answer)
    module, bad = _program_of(prompt, OUTPUT_SEPARATOR)
    if module is None:
        return bad
    return _compare_output(_check(module), answer)


def _compare_output(verdict: Any, answer: str) -> Any:
    """The verdict of a run, made `assertion_failed` when `answer` is not what it printed."""
    if not verdict.ok:
        return verdict
    printed = verdict.output_text
    if answer == printed or answer == printed + "\n":
        return verdict  # the common case, without normalizing
    expected, got = normalize_output(printed), normalize_output(answer)
    if expected != got:
        return _verdict(
            "assertion_failed",
            f"wrong output: the program prints {expected!r}, the answer says {got!r}",
            outputs=verdict.outputs,
            steps=verdict.steps,
        )
    return verdict


# ---- synthesize and instruct -----------------------------------------------------------------


def _helpers_and_targets(sample: Any) -> tuple[tuple[FuncDef, ...], tuple[FuncDef, ...]]:
    """The sample's other functions, and its definitions of the function under test (one, normally)."""
    defs = [s for s in sample.body if isinstance(s, FuncDef)]
    return (
        tuple(d for d in defs if d.name != sample.function),
        tuple(d for d in defs if d.name == sample.function),
    )


def _function_parts(
    sample: Any, min_tests: int
) -> tuple[tuple[FuncDef, ...], FuncDef, tuple[Assert, ...], Any]:
    """Helpers, the function under test, and one assert per test input (values from the VM)."""
    name = sample.function
    if not name or len(sample.test_inputs) < min_tests:
        raise Reject("not_applicable", "not a function-shaped sample with enough tests")
    helpers, targets = _helpers_and_targets(sample)
    if len(targets) != 1:
        raise Reject("not_applicable", f"no single definition of '{name}'")
    target = targets[0]
    calls = tuple(Call(name, tuple(args)) for args in sample.test_inputs)
    verdict = _run_checked(Module((*helpers, target, *(Print((call,)) for call in calls))))
    if len(verdict.outputs) != len(calls) or any(len(line) != 1 for line in verdict.outputs):
        raise Reject("not_applicable", "the function prints while it runs")
    asserts = tuple(
        Assert(Compare(CmpKind.EQ, call, num(line[0])))
        for call, line in zip(calls, verdict.outputs, strict=True)
    )
    return helpers, target, asserts, verdict


def _split_def(target: FuncDef) -> tuple[str, str]:
    text = _to_dsl(Module((target,)))
    header, _, body = text.partition("\n")
    if not header.startswith("def ") or not body.strip():
        raise Reject("not_applicable", "unexpected print of the function")
    return header + "\n", body if body.endswith("\n") else body + "\n"


def _build_function(sample: Any, instruction: str | None) -> Built:
    min_tests = 1 if instruction is not None else 2
    helpers, target, asserts, verdict = _function_parts(sample, min_tests)
    header, body_text = _split_def(target)
    helpers_text = _to_dsl(Module(helpers)) if helpers else ""
    tests_text = _to_dsl(Module(asserts))
    head = helpers_text + header
    if instruction is None:
        n_shown = _shown_count(len(asserts))
        prompt = helpers_text + "".join(tests_text.splitlines(keepends=True)[:n_shown]) + header
    else:
        n_shown = 0
        comment = "".join(f"# {line.strip()}\n" for line in instruction.strip().splitlines() if line.strip())
        prompt = comment + head
    info = {"head": head, "tests": tests_text, "helpers": len(helpers), "shown": n_shown}
    module = Module((*helpers, target, *asserts))
    values = tuple(const for a in asserts if (const := const_value(a.test.right)) is not None)  # type: ignore[attr-defined]
    return Built(prompt, body_text, info, _asserted_steps(verdict, len(asserts)), values, module)


def build_synthesize(sample: Any) -> Built:
    return _build_function(sample, None)


def build_instruct(sample: Any) -> Built:
    if not sample.instruction:
        raise Reject("not_applicable", "the sample has no instruction")
    return _build_function(sample, sample.instruction)


def judge_function(prompt: str, answer: str, info: dict[str, Any]) -> Any:
    """The function (header + answer) followed by every test; all must hold."""
    tests = info["tests"]
    module, bad = _parse_answer(info["head"] + _with_newline(answer) + tests)
    if module is None:
        return bad
    ref_tests = _parse_cached(tests).body
    n = int(info.get("helpers", 0))
    body = module.body
    if len(body) != n + 1 + len(ref_tests) or not isinstance(body[n], FuncDef) or body[n + 1 :] != ref_tests:
        return _verdict("parse_error", "the answer must be the function's body only")
    return _check(module)


def _shown_count(n_tests: int) -> int:
    return min(SHOWN_EXAMPLES, n_tests - 1)


PARTIAL_FORMATS = frozenset({"synthesize", "instruct"})  # prompts that show less than the whole program


def shown(fmt: str, sample: Any) -> tuple[tuple[Any, ...], str]:
    """What an example of format `fmt` shows of `sample`, as trees and free text (its program key's input).

    Known before the example is built, so that samples outside a split's
    region or repeating one are dropped without a run. Equal prompts always
    give equal keys: for `complete`, `output` and `trace` the program and its
    answer expression; for `synthesize` the helper functions, the signature of
    the function under test and the shown test inputs (their values follow
    from them); for `instruct` the helpers, the signature and the instruction.
    `complete_stmt` keys the whole program and its answer: its prompt (all
    but the last statement) is judged against a hidden check, so equal
    prompts with different hidden statements are different examples.
    """
    if fmt not in PARTIAL_FORMATS or not sample.function:
        return (*sample.body, sample.answer), ""
    helpers, targets = _helpers_and_targets(sample)
    signature = tuple(FuncDef(t.name, t.params, (Pass(),)) for t in targets[:1])
    if fmt == "instruct":
        return (*helpers, *signature), sample.instruction or ""
    tests = sample.test_inputs[: _shown_count(len(sample.test_inputs))]
    return (*helpers, *signature, *(arg for args in tests for arg in args)), ""


# ---- trace ---------------------------------------------------------------------------------


_ARRAY_BUILTINS = frozenset({"array", "len", "read", "append", "pop"})


def _has_arrays(module: Module) -> bool:
    """Whether a program uses arrays (or input), which a trace of locals cannot show."""
    stack: list[Any] = list(module.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ArrayLit, Index)):
            return True
        if isinstance(node, Call) and node.func in _ARRAY_BUILTINS:
            return True
        if isinstance(node, tuple):
            stack.extend(node)
        elif isinstance(node, Node):
            for name in node.__slots__:
                stack.append(getattr(node, name, None))
    return False


_OPS: dict[str, Any] | None = None


def _ops() -> dict[str, Any]:
    """Opcodes the trace looks at."""
    global _OPS
    if _OPS is None:
        from cadmus.vm import Op

        _OPS = {
            "store": frozenset({int(Op.STORE), int(Op.GSTORE)}),
            "gstore": int(Op.GSTORE),
            "incl": int(Op.INCL),
            "print": int(Op.PRINT),
            "enter": int(Op.ENTER),
            "ret": int(Op.RET),
            "jumps": frozenset({int(Op.JMP), int(Op.NOP)}),
        }
    return _OPS


def trace_text(compiled: Any, result: Any) -> str:
    """A run's statement-level trace: one line per executed source line.

    A new line of trace starts whenever execution moves to a different source
    line (from the compiler's source map). Each line is ``N:`` followed by
    ``name=value`` for every variable the statement stored (in order of first
    store, value after the statement; a function's header line shows its
    parameters on entry), ``print V`` for what it printed and ``return V``
    for what a `return` gave back. A visit that only jumps (the jump over an
    `else`, attributed to the `if`) is not a line of the trace.
    """
    ops = _ops()
    stores, gstore, incl, print_op = ops["store"], ops["gstore"], ops["incl"], ops["print"]
    enter, ret, jumps = ops["enter"], ops["ret"], ops["jumps"]
    lines_of = compiled.lines
    global_names = compiled.global_names
    outputs = result.outputs
    out_i = 0
    rows: list[str] = []
    current = -1
    written: dict[str, int] = {}
    extras: list[str] = []
    works = False
    prev_top: int | None = None

    def flush() -> None:
        if current > 0 and works:
            parts = [f"{current}:"]
            parts.extend(f"{name}={value}" for name, value in written.items())
            parts.extend(extras)
            rows.append(" ".join(parts))

    for step in result.trace:
        pc = step.pc
        line = lines_of[pc] if pc < len(lines_of) else 0
        if line != current and line > 0:
            flush()
            current = line
            written = {}
            extras = []
            works = False
        op = int(step.instr.op)
        if op not in jumps:
            works = True
        if op in stores:
            slot = step.instr.args[0]
            names = global_names if op == gstore else compiled.slot_names(pc)
            if slot < len(names) and names[slot].isidentifier() and prev_top is not None:
                written[names[slot]] = prev_top
        elif op == incl:
            slot = step.instr.args[0]
            names = compiled.slot_names(pc)
            if slot < len(names) and names[slot].isidentifier():
                written[names[slot]] = step.locals[slot]
        elif op == print_op and out_i < len(outputs):
            extras.append("print " + " ".join(map(str, outputs[out_i])))
            out_i += 1
        elif op == enter:
            info = compiled.function_at(pc)
            if info is not None:
                for i, param in enumerate(info.params):
                    written[param] = step.locals[i]
        elif op == ret and prev_top is not None:
            extras.append(f"return {prev_top}")
        prev_top = step.top
    flush()
    return "\n".join(rows) + "\n"


def _traced(module: Module, max_steps: int = TRACE_MAX_STEPS) -> Any:
    """`execute` with tracing, its steps capped so a runaway program cannot fill memory with its trace."""
    from cadmus.vm import Limits

    return _lang().execute(module, trace=True, limits=Limits(max_steps=max_steps))


def _reject_long(text: str) -> None:
    if text.count("\n") > MAX_TRACE_LINES:
        raise Reject("not_applicable", f"the trace is longer than {MAX_TRACE_LINES} lines")


def _trace_of(module: Module) -> tuple[str, Any]:
    """The trace and verdict of a program whose trace fits in `MAX_TRACE_LINES` (else `Reject`).

    Stepping the VM for a trace is slow, so a first run stops after
    `TRACE_PROBE_STEPS`: the trace of a prefix of the run has at most as
    many lines as the whole, so a prefix already too long rejects the program
    without running the rest; a run that reaches the probe's end with a short
    trace so far is traced again in full.
    """
    execution = _traced(module, TRACE_PROBE_STEPS)
    verdict = execution.verdict
    if not verdict.ok and execution.result is not None and execution.result.steps >= TRACE_PROBE_STEPS:
        _reject_long(trace_text(execution.compiled, execution.result))
        execution = _traced(module)
        verdict = execution.verdict
    if not verdict.ok:
        raise _reject_verdict(verdict)
    text = trace_text(execution.compiled, execution.result)
    _reject_long(text)
    return text, verdict


def build_trace(sample: Any) -> Built:
    module = Module((*tuple(sample.body), Print((sample.answer,))))
    if _has_arrays(module):
        raise Reject("not_applicable", "trace examples hold programs without arrays")
    # The source map needs line numbers: trace the program parsed from its own
    # canonical text (the prompt), exactly as the judge will. As for `output`,
    # the judge re-derives the trace from this very run.
    program_text = _to_dsl(module)
    text, verdict = _trace_of(_lang().parse(program_text))  # each text is new: not cached
    values = tuple(v for line in verdict.outputs for v in line)
    return Built(program_text + TRACE_SEPARATOR, text, {}, verdict.steps, values, module)


def judge_trace(prompt: str, answer: str, info: dict[str, Any]) -> Any:
    module, bad = _program_of(prompt, TRACE_SEPARATOR)
    if module is None:
        return bad
    execution = _traced(module)
    verdict = execution.verdict
    if not verdict.ok:
        return verdict
    expected = normalize_output(trace_text(execution.compiled, execution.result))
    got = normalize_output(answer)
    if expected != got:
        exp_lines, got_lines = expected.split("\n"), got.split("\n")
        k = next(
            (i for i, (a, b) in enumerate(zip(exp_lines, got_lines)) if a != b),
            min(len(exp_lines), len(got_lines)),
        )
        want = exp_lines[k] if k < len(exp_lines) else "<end>"
        have = got_lines[k] if k < len(got_lines) else "<end>"
        return _verdict(
            "assertion_failed",
            f"wrong trace at step {k + 1}: expected {want!r}, got {have!r}",
            outputs=verdict.outputs,
            steps=verdict.steps,
        )
    return verdict


# ---- scratchpad -------------------------------------------------------------------------------

SCRATCHPAD_ITEMS = ", "  # between the written values
SCRATCHPAD_ANSWER = " => "  # between the last written value and the answer
_SCRATCH_ITEM = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(-?[0-9]+)$")


def _assigned_names(body: tuple[Any, ...]) -> tuple[str, ...] | None:
    """The variable each statement assigns, when the program is only assignments to names (else None)."""
    names: list[str] = []
    for stmt in body:
        if not isinstance(stmt, (Assign, AugAssign)) or not isinstance(stmt.target, Name):
            return None
        names.append(stmt.target.id)
    return tuple(names) if names else None


def _written_values(body: tuple[Any, ...], names: tuple[str, ...]) -> tuple[tuple[int, ...] | None, Any]:
    """The VM's value of each statement's variable just after it runs (a run of the program with
    `print(name)` after every statement), and the run's verdict (values None when it fails)."""
    stmts: list[Any] = []
    for stmt, name in zip(body, names, strict=True):
        stmts.extend((stmt, Print((Name(name),))))
    verdict = _check(Module(tuple(stmts)))
    if not verdict.ok:
        return None, verdict
    return tuple(line[0] for line in verdict.outputs), verdict


def scratchpad_text(names: tuple[str, ...], values: tuple[int, ...], answer: str) -> str:
    """`a = 37, b = 89, c = 45 => 45`: each statement's variable and value, then the answer."""
    items = SCRATCHPAD_ITEMS.join(f"{name} = {_to_dsl(num(value))}" for name, value in zip(names, values))
    return items + SCRATCHPAD_ANSWER + answer


def build_scratchpad(sample: Any) -> Built:
    """The `complete` example, with the value of every statement written before the answer.

    Two runs: `complete`'s verification run (the answer's value and the true
    program's steps) and one with a `print` after each statement for the
    values written (programs of straight-line assignments to names only).
    """
    body = tuple(sample.body)
    names = _assigned_names(body)
    if names is None:
        raise Reject("not_applicable", "scratchpad examples hold programs of assignments to names only")
    base = build_complete(sample)
    values, verdict = _written_values(body, names)
    if values is None:
        raise _reject_verdict(verdict)
    completion = scratchpad_text(names, values, base.completion.rstrip("\n")) + "\n"
    return Built(base.prompt, completion, {}, base.steps, (*values, *base.values), base.module)


def judge_scratchpad(prompt: str, answer: str, info: dict[str, Any]) -> Any:
    """Every written value must be the VM's, and the answer must complete the program as `complete`'s.

    Shape (else `parse_error`): one line, `name = integer` items separated by
    commas, one per statement in program order naming the variable that
    statement assigns, then `=>` and the answer. A value the VM does not
    compute at that point is `assertion_failed`, even when the answer is
    right: the format asks for the values. The answer is judged by
    `judge_complete` (any integer expression of constants that makes the
    program true counts).
    """
    ref = _parse_cached(prompt + "0\n")
    names = _assigned_names(tuple(ref.body[:-1]))
    if names is None:
        return _verdict("parse_error", "cannot judge: the prompt's program is not straight-line assignments")
    line = answer[:-1] if answer.endswith("\n") else answer
    if "\n" in line:
        return _verdict("parse_error", "a scratchpad answer is one line")
    head, sep, final = line.partition(SCRATCHPAD_ANSWER.strip())
    if not sep:
        return _verdict("parse_error", f"the answer must follow {SCRATCHPAD_ANSWER.strip()!r}")
    items = [item.strip() for item in head.split(SCRATCHPAD_ITEMS.strip())] if head.strip() else []
    if len(items) != len(names):
        return _verdict("parse_error", f"write {len(names)} values (one per statement), not {len(items)}")
    written: list[int] = []
    for k, (item, name) in enumerate(zip(items, names, strict=True), start=1):
        match = _SCRATCH_ITEM.match(item)
        if match is None or match.group(1) != name:
            return _verdict("parse_error", f"item {k} must be '{name} = <integer>', not {item!r}")
        written.append(int(match.group(2)))
    verdict = judge_complete(prompt, final.strip(), info)
    if not verdict.ok:
        return verdict
    values, run = _written_values(tuple(ref.body[:-1]), names)
    if values is None:
        return run
    for k, (name, want, got) in enumerate(zip(names, values, written, strict=True), start=1):
        if want != got:
            return _verdict(
                "assertion_failed",
                f"wrong value at statement {k}: the VM gives {name} = {want}, the answer says {got}",
                outputs=run.outputs,
                steps=verdict.steps,
            )
    return verdict


# ---- languages ------------------------------------------------------------------------------

DSL = "dsl"
LANGUAGE_FORMATS = ("complete", "output")  # the formats an example can show in a language other than the DSL


def formats_in(language: str) -> tuple[str, ...]:
    """The formats whose examples can be shown in `language`."""
    return FORMATS if language == DSL else LANGUAGE_FORMATS


def output_separator(language: str) -> str:
    """The `output` format's separator line: `# output:` as a comment of `language`."""
    return f"{_lang().get_renderer(language).comment} {OUTPUT_SEPARATOR[2:]}"


@lru_cache(maxsize=4096)
def _cut_program(language: str, program: str) -> tuple[str, str]:
    """:func:`_cut` of an example's program (its final assert's value left open) in `language`:
    judging k answers to one prompt renders its program twice, not 2k times."""
    return _cut(_lang().get_renderer(language), _parse_cached(program + "0\n"))


def _cut(renderer: Any, module: Module) -> tuple[str, str]:
    """The text of `module` in `renderer`'s language cut before the value of its final assert.

    The value's spelling is found by rendering the program again with
    another value whose spelling starts differently: the texts agree up to
    the value. Returns (the text up to the value, the rest of its line).
    """
    last = module.body[-1]
    value = const_value(last.test.right)  # type: ignore[attr-defined]
    other = 1 if renderer.literal(value).startswith(renderer.literal(0)[0]) else 0
    text = renderer.render(module, DSL)
    changed = Module((*module.body[:-1], _final_assert(last.test.left, other)))  # type: ignore[attr-defined]
    alt = renderer.render(changed, DSL)
    n = 0
    limit = min(len(text), len(alt))
    while n < limit and text[n] == alt[n]:
        n += 1
    rest = text[n:]
    end = rest.find("\n")
    if end < 0 or not rest.startswith(renderer.literal(value)):
        raise Reject(
            "not_applicable", f"the final assert's value is not a constant of its line in {renderer.name}"
        )
    return text[:n], rest[: end + 1]


def build_in(fmt: str, built: Built, language: str) -> Built:
    """The verified DSL example `built` with its program shown in `language`.

    Only the text changes: the program, its values and steps are those the
    DSL example verified. `judge_info` names the language and, where Cadmus
    does not read the text back, keeps the DSL text the judge rebuilds the
    program from (for `complete` only the part before the hidden value).
    """
    if fmt not in LANGUAGE_FORMATS:
        raise Reject("not_applicable", f"format '{fmt}' is not shown in languages other than the DSL")
    lang = _lang()
    renderer = lang.get_renderer(language)
    module = built.module
    assert module is not None
    info: dict[str, Any] = {"language": language}
    try:
        if fmt == "output":
            prompt = renderer.render(module, DSL) + output_separator(language)
            completion = built.completion
            program = built.prompt[: -len(OUTPUT_SEPARATOR)]
        else:
            prompt, completion = _cut(renderer, module)
            program = built.prompt
    except lang.PrintError as err:
        raise Reject("not_applicable", f"no {language} rendering: {err}") from None
    if renderer.parse_mode is not None:
        # The judge will read this text back: make sure it means the verified program. A text
        # Cadmus cannot read back (a construct of the rendering outside the front end's subset)
        # keeps its DSL text and is judged through it, as the languages Cadmus does not read are.
        verdict = _judge_parsed(fmt, renderer, prompt, completion)
        if verdict.kind in ("parse_error", "semantic_error"):
            info["program"] = program
        elif not verdict.ok:
            raise Reject("language_mismatch", f"{language}: {verdict}")
    else:
        info["program"] = program
    return Built(prompt, completion, info, built.steps, built.values, module)


def judge_in(fmt: str, language: str, prompt: str, answer: str, info: dict[str, Any]) -> Any:
    """The judge of an example shown in `language` (not the DSL)."""
    lang = _lang()
    try:
        renderer = lang.get_renderer(language)
    except lang.LangError as err:
        return _verdict("parse_error", f"cannot judge: {err}")
    if fmt not in LANGUAGE_FORMATS:
        return _verdict("parse_error", f"cannot judge: format '{fmt}' is not shown in {language}")
    if renderer.parse_mode is not None and "program" not in info:
        return _judge_parsed(fmt, renderer, prompt, answer)
    program = info.get("program")
    if not isinstance(program, str):
        return _verdict("parse_error", "cannot judge: the example keeps no program")
    if fmt == "output":
        module, bad = _parse_answer(program)
        if module is None:
            return bad
        if renderer.render(module, DSL) + output_separator(language) != prompt:
            return _verdict(
                "parse_error", f"the prompt is not the {language} rendering of the example's program"
            )
        return _compare_output(_check(module), answer)
    ref = _parse_cached(program + "0\n")
    last = ref.body[-1] if ref.body else None
    if not isinstance(last, Assert) or not isinstance(last.test, Compare) or last.test.op is not CmpKind.EQ:
        return _verdict("parse_error", "cannot judge: the example's program does not end with an assert")
    try:
        head, rest = _cut_program(language, program)
    except Reject as rej:
        return _verdict("parse_error", f"cannot judge: {rej.message}")
    if head != prompt:
        return _verdict("parse_error", f"the prompt is not the {language} rendering of the example's program")
    suffix = rest[len(renderer.literal(0)) :].rstrip()
    line = answer.split("\n", 1)[0].rstrip() if answer.strip() else ""
    if "\n" in answer.strip("\n") or not line.endswith(suffix):
        return _verdict("parse_error", f"the answer must complete the line: a value, then {suffix!r}")
    try:
        expr = renderer.constant(line[: len(line) - len(suffix)])
    except lang.ParseError as err:
        return _verdict("parse_error", err.message, line=err.line, col=err.col)
    # The VM computes the answer's value (the language's own division and remainder), then the program.
    value = lang.check(Module((Print((expr,)),)), mode="python")
    if not value.ok:
        return value
    module = Module((*ref.body[:-1], _final_assert(last.test.left, value.outputs[0][0])))
    return _check(module)


def _judge_parsed(fmt: str, renderer: Any, prompt: str, answer: str) -> Any:
    """Judges of a language Cadmus reads back: parse prompt + answer in it, run in its mode."""
    lang = _lang()
    mode = renderer.parse_mode

    def parse(text: str) -> tuple[Module | None, Any]:
        try:
            return lang.parse_program(text, mode=mode), None
        except lang.SemanticError as err:
            return None, _verdict("semantic_error", err.message, line=err.line, col=err.col)
        except lang.LangError as err:
            return None, _verdict("parse_error", err.message, line=err.line, col=err.col)

    if fmt == "output":
        separator = output_separator(renderer.name)
        module, bad = parse(prompt[: -len(separator)] if prompt.endswith(separator) else prompt)
        if module is None:
            return bad
        return _compare_output(lang.check(module, mode=mode), answer)
    module, bad = parse(prompt + _with_newline(answer))
    if module is None:
        return bad
    ref, bad = parse(prompt + "0\n")
    if ref is None:
        return _verdict("parse_error", "the prompt does not end with an assert to complete")
    last, ref_last = module.body[-1] if module.body else None, ref.body[-1] if ref.body else None
    if (
        not isinstance(ref_last, Assert)
        or not isinstance(ref_last.test, Compare)
        or len(module.body) != len(ref.body)
        or module.body[:-1] != ref.body[:-1]
        or not isinstance(last, Assert)
        or not isinstance(last.test, Compare)
        or last.test.op is not CmpKind.EQ
        or last.test.left != ref_last.test.left
    ):
        return _verdict("parse_error", "the answer must complete the final assert with one expression")
    if not _closed(last.test.right):
        return _verdict("parse_error", "the answer must be an integer expression of constants")
    return lang.check(module, mode=mode)


# ---- registry -----------------------------------------------------------------------------

BUILDERS: dict[str, Callable[[Any], Built]] = {
    "complete": build_complete,
    "complete_stmt": build_complete_stmt,
    "output": build_output,
    "synthesize": build_synthesize,
    "instruct": build_instruct,
    "trace": build_trace,
    "scratchpad": build_scratchpad,
}
JUDGES: dict[str, Callable[[str, str, dict[str, Any]], Any]] = {
    "complete": judge_complete,
    "complete_stmt": judge_complete_stmt,
    "output": judge_output,
    "synthesize": judge_function,
    "instruct": judge_function,
    "trace": judge_trace,
    "scratchpad": judge_scratchpad,
}
# Where a model's answer for each format stops (for generation and packing).
STOP = {
    "complete": "\n",
    "complete_stmt": "\n",  # the hidden statement is an assignment: one line
    "output": None,
    "synthesize": None,
    "instruct": None,
    "trace": None,
    "scratchpad": "\n",  # one line: the values, then the answer
}


def build(fmt: str, sample: Any, language: str = DSL) -> Built:
    """Turn a sample into a verified example of format `fmt` shown in `language` (raises `Reject`)."""
    try:
        builder = BUILDERS[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})") from None
    built = builder(sample)
    return built if language == DSL else build_in(fmt, built, language)


def judge(fmt: str, prompt: str, answer: str, judge_info: dict[str, Any] | str | None = None) -> Any:
    """The verdict on a model's `answer` to `prompt` in format `fmt` (a `cadmus.lang.Verdict`).

    `judge_info` is the example's `judge` column (a dict or its JSON text);
    its `language` (absent: the DSL) says which judge applies (`judge_in`).
    """
    if isinstance(judge_info, str):
        judge_info = json.loads(judge_info) if judge_info and judge_info != "{}" else {}
    try:
        fn = JUDGES[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})") from None
    info = judge_info or {}
    language = info.get("language", DSL)
    try:
        if language != DSL:
            return judge_in(fmt, language, prompt, answer, info)
        return fn(prompt, answer, info)
    except CadmusError as err:  # e.g. a prompt that is not one of this format's prompts
        return _verdict("parse_error", f"cannot judge: {err}")
