"""The same test programs in another surface syntax, each with its own judge.

A *view* shows a dataset row's program in some language and judges an
answer to it:

- `dsl`: the row as built (its prompt, its reference, the dataset's own
  judge through `cadmus.data.judge`, exactly as `cadmus eval` judges);
- `python`: the program as Python 3 would be written (`/` and `%` become
  Python's flooring `//` and `%`, rendered by `cadmus.lang.to_python` in
  mode "python") with Python's meaning: the reference answer is what the
  VM computes in mode "python", so on negative operands it differs from the
  DSL's on purpose;
- `skin:NAME`: the DSL tree printed in a skin (`words`, an unfamiliar
  surface made here: `<-`, `plus`, `over`, `mod`, `ensure ... is`, `when
  ... then ... end`; or one of `cadmus.lang.SKINS`) with the DSL's meaning.

The `python` and skin views cover the formats whose answer is a value
(`complete`, `output`). Their judges follow the rule of the dataset's: for
`complete` the answer must be an integer expression of constants completing
the final assert, and the program with it must be true on the VM (in the
view's mode); for `output` the program is run and its output compared after
the same normalization. A skin has no parser, so an answer to a skin prompt
is read back through the skin's operator spellings and judged on the DSL
tree it was printed from.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cadmus.data import OUTPUT_SEPARATOR, judge, normalize_output
from cadmus.lang import (
    SKINS,
    TRUNCATION_HELPERS,
    Assert,
    BinOp,
    BinOpKind,
    Call,
    CmpKind,
    Compare,
    Expr,
    FuncDef,
    LangError,
    Module,
    Num,
    Print,
    Skin,
    Stmt,
    Unary,
    UnaryKind,
    Verdict,
    VerdictKind,
    check,
    from_python,
    num,
    parse,
    parse_expr,
    to_dsl,
    to_python,
)
from cadmus.llm.errors import LLMError, NotShown
from cadmus.llm.rewrite import map_stmts, swap_ops

VALUE_FORMATS = ("complete", "output")

# An unfamiliar surface for the DSL: the same trees, spelled in words.
WORDS_SKIN = Skin(
    "words",
    keywords={
        "assert": "ensure",
        "print": "show",
        "if": "when",
        "elif": "orwhen",
        "else": "otherwise",
        "while": "aslongas",
        "for": "each",
        "in": "within",
        "range": "span",
        "def": "routine",
        "return": "giveback",
        "and": "also",
        "or": "either",
        "not": "isnt",
        "break": "stop",
        "continue": "skip",
        "pass": "nothing",
    },
    operators={
        BinOpKind.ADD: "plus",
        BinOpKind.SUB: "minus",
        BinOpKind.MUL: "times",
        BinOpKind.TDIV: "over",
        BinOpKind.TMOD: "mod",
        CmpKind.EQ: "is",
        CmpKind.NE: "isnot",
    },
    assign="<-",
    block="end",
)
VIEW_SKINS: dict[str, Skin] = {**SKINS, WORDS_SKIN.name: WORDS_SKIN}


@dataclass(frozen=True)
class Program:
    """What the priors need: the program's statements, the answer expression (complete) and its mode."""

    body: tuple[Stmt, ...]
    answer: Expr | None  # complete: the final assert's left side; output: None (the prints are in body)
    mode: str  # "dsl" or "python": whose semantics the tree carries


@dataclass(frozen=True)
class Item:
    """One row as a view shows it: the prompt, the reference answer and how to judge an answer."""

    prompt: str
    reference: str
    judge: Callable[[str], Any]  # answer text -> a Verdict-like (`.ok`, `str()`)
    program: Program | None  # None where the priors do not apply


def judge_info(row: dict[str, Any]) -> dict[str, Any]:
    """The row's `judge` column as a mapping."""
    info = row.get("judge")
    if isinstance(info, str):
        return json.loads(info) if info else {}
    return dict(info or {})


def row_language(row: dict[str, Any]) -> str:
    """The surface language the dataset built the row in (`dsl` unless its judge info names another)."""
    return str(judge_info(row).get("language", "dsl"))


def dsl_text(row: dict[str, Any]) -> str:
    """The row's program as DSL text in its prompt's shape (the prompt, or for a row built in another
    language the DSL text its judge info keeps); `NotShown` when the row keeps none (Python rows)."""
    info = judge_info(row)
    if info.get("language", "dsl") == "dsl":
        return str(row["prompt"])
    text = info.get("program")
    if not isinstance(text, str):
        raise NotShown(f"{row.get('id')}: a row in {info.get('language')} keeps no DSL text")
    return text


def python_program(prompt: str, fmt: str) -> Program | None:
    """A Python prompt as the priors read it (None if it is not one they can read).

    A program Cadmus rendered from the DSL calls the helpers it defines for the DSL's truncating `/`
    and `%` (`_tdiv`, `_tmod`): the calls become those operators again and the tree carries the DSL's
    meaning, so `floor_division` (Python's reading of `//`) can explain an answer. Without the
    helpers the tree is Python's (`//` and `%` floor)."""
    if fmt not in VALUE_FORMATS:
        return None
    if fmt == "complete":
        text = prompt + "0\n"
    else:
        text = prompt.removesuffix(OUTPUT_SEPARATOR)
    try:
        module = from_python(text)
    except (LangError, RecursionError):
        return None
    helpers = {s.name for s in module.body if isinstance(s, FuncDef) and s.name in TRUNCATION_HELPERS}

    def as_operator(e: Expr) -> Expr:
        if isinstance(e, Call) and e.func in helpers and len(e.args) == 2:
            return BinOp(TRUNCATION_HELPERS[e.func], e.args[0], e.args[1])
        return e

    body = map_stmts(
        tuple(s for s in module.body if not (isinstance(s, FuncDef) and s.name in helpers)), as_operator
    )
    mode = "dsl" if helpers else "python"
    if fmt == "output":
        return Program(body, None, mode)
    last = body[-1] if body else None
    if not isinstance(last, Assert) or not isinstance(last.test, Compare) or last.test.op is not CmpKind.EQ:
        return None
    return Program(body[:-1], last.test.left, mode)


def _complete_parts(prompt: str) -> tuple[tuple[Stmt, ...], Expr]:
    module = parse(prompt + "0\n")
    last = module.body[-1] if module.body else None
    if not isinstance(last, Assert) or not isinstance(last.test, Compare) or last.test.op is not CmpKind.EQ:
        raise LLMError("a complete prompt must end with 'assert X == '")
    return module.body[:-1], last.test.left


def _output_module(prompt: str) -> Module:
    text = prompt[: -len(OUTPUT_SEPARATOR)] if prompt.endswith(OUTPUT_SEPARATOR) else prompt
    return parse(text)


def closed(expr: Expr) -> bool:
    """An integer expression of constants only (numbers, arithmetic and bit operators, unary - and ~)."""
    if isinstance(expr, Num):
        return True
    if isinstance(expr, Unary):
        return expr.op is not UnaryKind.NOT and closed(expr.operand)
    if isinstance(expr, BinOp):
        return closed(expr.left) and closed(expr.right)
    return False


def _fail(kind: str, message: str) -> Verdict:
    return Verdict(VerdictKind(kind), message)


def _judge_value(body: tuple[Stmt, ...], left: Expr, answer: Expr | None, mode: str, bad: str) -> Verdict:
    if answer is None:
        return _fail("parse_error", bad)
    if not closed(answer):
        return _fail("parse_error", "the answer must be an integer expression of constants")
    return check(Module((*body, Assert(Compare(CmpKind.EQ, left, answer)))), mode=mode)


def _judge_output(module: Module, mode: str, answer: str) -> Verdict:
    verdict = check(module, mode=mode)
    if not verdict.ok:
        return verdict
    expected, got = normalize_output(verdict.output_text), normalize_output(answer)
    if expected != got:
        return Verdict(
            VerdictKind.ASSERTION_FAILED,
            f"wrong output: the program prints {expected!r}, the answer says {got!r}",
            outputs=verdict.outputs,
            steps=verdict.steps,
        )
    return verdict


def _value_of(body: tuple[Stmt, ...], expr: Expr, mode: str) -> int:
    verdict = check(Module((*body, Print((expr,)))), mode=mode)
    if not verdict.ok or len(verdict.outputs[-1]) != 1:
        raise NotShown(f"the program does not run in mode {mode}: {verdict}")
    return verdict.outputs[-1][0]


def _split_at_value(text: str, value_text: str, terminator: str = "") -> tuple[str, str]:
    """A printed program ending in `... == VALUE` cut into prompt and completion."""
    ending = value_text + terminator + "\n"
    if not text.endswith(ending):
        raise LLMError("the printed program does not end with its final assert's value")
    return text[: -len(ending)], ending


class View:
    """How rows are shown and judged (see the module docstring)."""

    name = "dsl"
    mode = "dsl"

    def check_format(self, fmt: str) -> None:
        pass

    def item(self, row: dict[str, Any]) -> Item:
        fmt, prompt = row["format"], row["prompt"]
        info = row.get("judge")

        def judge_answer(answer: str) -> Any:
            return judge(fmt, prompt, answer, info)

        return Item(prompt, row["completion"], judge_answer, self.program(row))

    def program(self, row: dict[str, Any]) -> Program | None:
        """The program behind the row: its prompt, or for a row built in another language the DSL
        text its judge info keeps, or a Python prompt read back (None where none can be read)."""
        language = row.get("language") or row_language(row)
        if language == "python" and "program" not in judge_info(row):
            return python_program(row["prompt"], row["format"])
        try:
            text = dsl_text(row)
        except NotShown:
            return None
        try:
            if row["format"] == "complete":
                body, left = _complete_parts(text)
                return Program(body, left, "dsl")
            if row["format"] == "output":
                return Program(_output_module(text).body, None, "dsl")
        except LangError:
            return None
        return None


class _ValueView(View):
    def check_format(self, fmt: str) -> None:
        if fmt not in VALUE_FORMATS:
            raise LLMError(
                f"view '{self.name}' shows only the formats {', '.join(VALUE_FORMATS)}, not '{fmt}'"
            )


class PythonView(_ValueView):
    """The program as Python: flooring `//` and `%`, Python's meaning, the answer from the VM in mode python."""

    name = "python"
    mode = "python"

    @staticmethod
    def to_python_tree(body: tuple[Stmt, ...]) -> tuple[Stmt, ...]:
        return swap_ops(body, {BinOpKind.TDIV: BinOpKind.FDIV, BinOpKind.TMOD: BinOpKind.FMOD})

    def item(self, row: dict[str, Any]) -> Item:
        self.check_format(row["format"])
        source = dsl_text(row)
        if row["format"] == "complete":
            body, left = _complete_parts(source)
            (py_left_stmt,) = self.to_python_tree((Print((left,)),))
            py_left = py_left_stmt.args[0]  # type: ignore[attr-defined]
            py_body = self.to_python_tree(body)
            value = _value_of(py_body, py_left, "python")
            text = to_python(
                Module((*py_body, Assert(Compare(CmpKind.EQ, py_left, num(value))))), mode="python"
            )
            prompt, reference = _split_at_value(text, str(value))
            template = prompt + "0\n"

            def judge_answer(answer: str) -> Any:
                try:
                    module = from_python(prompt + answer.strip() + "\n")
                    ref = from_python(template)
                except LangError as err:
                    return _fail("parse_error", err.message)
                last = module.body[-1] if module.body else None
                if (
                    len(module.body) != len(ref.body)
                    or module.body[:-1] != ref.body[:-1]
                    or not isinstance(last, Assert)
                    or not isinstance(last.test, Compare)
                    or last.test.op is not CmpKind.EQ
                    or last.test.left != ref.body[-1].test.left  # type: ignore[attr-defined]
                ):
                    return _fail(
                        "parse_error", "the answer must complete the final assert with one expression"
                    )
                return _judge_value(module.body[:-1], last.test.left, last.test.right, "python", "")

            return Item(prompt, reference, judge_answer, Program(py_body, py_left, "python"))
        module = Module(self.to_python_tree(_output_module(source).body))
        verdict = check(module, mode="python")
        if not verdict.ok:
            raise NotShown(f"the Python rendering of {row['id']} does not run: {verdict}")
        prompt = to_python(module, mode="python") + OUTPUT_SEPARATOR
        return Item(
            prompt,
            verdict.output_text + "\n",
            lambda answer: _judge_output(module, "python", answer),
            Program(module.body, None, "python"),
        )


class SkinView(_ValueView):
    """The DSL tree printed in a skin; the DSL's meaning; answers read back through the skin's spellings."""

    mode = "dsl"

    def __init__(self, skin: Skin) -> None:
        self.skin = skin
        self.name = f"skin:{skin.name}"
        ops = [(text, kind.value) for kind, (text, _) in skin.tables.ops.items() if text != kind.value]
        ops += [
            (text.strip(), kind.value)
            for kind, (text, _) in skin.tables.unary.items()
            if text.strip() != kind.value
        ]
        self._back = sorted(ops, key=lambda p: -len(p[0]))

    def read_answer(self, answer: str) -> Expr | None:
        """An answer in the skin's spelling as a DSL expression (None if it is not one)."""
        text = answer.strip()
        if self.skin.terminator and text.endswith(self.skin.terminator):
            text = text[: -len(self.skin.terminator)].rstrip()
        for spelled, dsl in self._back:
            pattern = rf"\b{re.escape(spelled)}\b" if spelled[:1].isalnum() else re.escape(spelled)
            text = re.sub(pattern, f" {dsl} ", text)
        try:
            return parse_expr(text)
        except LangError:
            return None

    def item(self, row: dict[str, Any]) -> Item:
        self.check_format(row["format"])
        source = dsl_text(row)
        if row["format"] == "complete":
            body, left = _complete_parts(source)
            value = _value_of(body, left, "dsl")
            text = to_dsl(Module((*body, Assert(Compare(CmpKind.EQ, left, num(value))))), self.skin)
            prompt, reference = _split_at_value(text, to_dsl(num(value), self.skin), self.skin.terminator)

            def judge_answer(answer: str) -> Any:
                return _judge_value(
                    body, left, self.read_answer(answer), "dsl", "the answer is not an integer expression"
                )

            return Item(prompt, reference, judge_answer, Program(body, left, "dsl"))
        module = _output_module(source)
        prompt = to_dsl(module, self.skin) + OUTPUT_SEPARATOR
        return Item(
            prompt,
            row["completion"],
            lambda answer: _judge_output(module, "dsl", answer),
            Program(module.body, None, "dsl"),
        )


VIEW_NAMES = ("dsl", "python", *(f"skin:{name}" for name in VIEW_SKINS if name != "dsl"))


def get_view(name: str) -> View:
    """A view by name: `dsl`, `python` or `skin:NAME` (`skin` alone is `skin:words`)."""
    if name == "dsl":
        return View()
    if name == "python":
        return PythonView()
    if name == "skin" or name.startswith("skin:"):
        skin_name = name.partition(":")[2] or WORDS_SKIN.name
        skin = VIEW_SKINS.get(skin_name)
        if skin is None or skin_name == "dsl":
            raise LLMError(
                f"unknown skin '{skin_name}' (known: {', '.join(s for s in VIEW_SKINS if s != 'dsl')})"
            )
        return SkinView(skin)
    raise LLMError(f"unknown view '{name}' (known: {', '.join(VIEW_NAMES)})")
