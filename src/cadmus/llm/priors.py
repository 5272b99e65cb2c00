"""Which known prior explains a wrong answer: the program run again under other semantics, on the VM.

For every wrong answer whose program the priors can read (`complete` and
`output` answers), each *semantic prior* rewrites the program's tree the way
a model carrying that prior would read it, compiles the variant (bypassing
the semantic checks that would refuse, e.g., `//` in a DSL program: the
compiler gives every operator its own instruction in either mode) and runs
it on the VM. The prior *explains* the answer when the variant computes
exactly what the model answered. It is *applicable* when the variant's
value differs from the true one (a prior that does not change the value can
explain nothing). *Error patterns* are checked the same way on the true
value instead of the program (a sign flipped, a digit slip, a number copied
from the prompt). One answer can be explained by several priors (flooring
and Euclidean remainder agree for positive divisors); the shares are
reported per prior, not as a partition.

Semantic priors (`PRIORS`):

- `floor_division` (DSL programs): `/` and `%` floor, as Python's `//`
  and `%`;
- `truncating_division` (Python programs): `//` and `%` truncate, as C's
  `/` and `%`;
- `euclidean_remainder`: the remainder is never negative (`0 <= r < |b|`)
  and the quotient follows (`a == b * q + r`);
- `unsigned_division`: signs dropped, `|a| / |b|` and `|a| % |b|`;
- `wrap32`: every `+ - * << /` and negation wrapped to signed 32 bits;
- `no_precedence`: each expression evaluated left to right as written,
  ignoring precedence (parenthesized parts stay whole);
- `previous_value`: a variable the answer reads keeps its value from before
  its last (top-level) reassignment;
- `loop_off_by_one`: a loop runs one iteration more or fewer (`range`'s stop
  moved by one step; `<` read as `<=` and back in `while` conditions);
- `python_and_or` (DSL programs): `and`/`or` give the deciding operand, as
  in Python, instead of 1/0;
- `string_concat`: `+` of two non-negative numbers joins their digits, as
  with strings (`12 + 5` is `125`).

Error patterns (`PATTERNS`, on one-integer answers): `negated` (the right
magnitude with the wrong sign), `off_by_one` (one more or one less),
`digits_reversed`, `copied_literal` (a number written in the program),
`other_variable` (the final value of another top-level variable).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cadmus.data import normalize_output
from cadmus.errors import CadmusError
from cadmus.lang import (
    DSL_SKIN,
    Assign,
    AugAssign,
    BinOp,
    BinOpKind,
    BoolOp,
    Call,
    CmpKind,
    Compare,
    Expr,
    For,
    Index,
    LangError,
    Module,
    Name,
    Num,
    Print,
    Stmt,
    Unary,
    UnaryKind,
    While,
    check,
    compile_program,
    const_value,
    from_python,
    parse,
    parse_expr,
)
from cadmus.llm.rewrite import contains, map_children, map_stmts, map_top_exprs, swap_ops
from cadmus.llm.views import Program, closed
from cadmus.vm import Limits, run

VARIANT_LIMITS = Limits(max_steps=200_000)
_LEVELS: dict[Any, int] = dict(DSL_SKIN.tables.levels)
_LEVELS[BinOpKind.FDIV] = _LEVELS[BinOpKind.TDIV]
_LEVELS[BinOpKind.FMOD] = _LEVELS[BinOpKind.TMOD]
_LEVELS[BinOpKind.POW] = 12
_DIVMOD = (BinOpKind.TDIV, BinOpKind.FDIV, BinOpKind.TMOD, BinOpKind.FMOD)
_DIVS = (BinOpKind.TDIV, BinOpKind.FDIV)
_PURE_CALLS = frozenset({"abs", "min", "max", "len"})
_CAT = "cadmus_prior_cat"
_CAT_DEF = parse(
    f"def {_CAT}(a, b):\n"
    "    if a < 0 or b < 0:\n"
    "        return a + b\n"
    "    m = 10\n"
    "    while m <= b:\n"
    "        m = m * 10\n"
    "    return a * m + b\n"
).body


@dataclass(frozen=True)
class Variant:
    """A program read under a prior: statements (with the answer printed last), mode, helper functions."""

    body: tuple[Stmt, ...]
    mode: str
    helpers: tuple[Stmt, ...] = ()


@dataclass(frozen=True)
class Prior:
    name: str
    description: str
    variants: Callable[[Program], list[Variant]]
    modes: tuple[str, ...] = ("dsl", "python")


def _printed(program: Program, body: tuple[Stmt, ...], answer: Expr | None = None) -> tuple[Stmt, ...]:
    """The statements plus `print(answer)` (complete) or as they are (output: the prints are there)."""
    if program.answer is None:
        return body
    return (*body, Print((answer if answer is not None else program.answer,)))


def _same(program: Program, mode: str | None = None) -> Variant:
    return Variant(_printed(program, program.body), mode or program.mode)


def _rewritten(
    program: Program, expr_fn: Callable[[Expr], Expr] | None, stmt_fn: Any = None, mode: str | None = None
) -> Variant:
    whole = map_stmts(_printed(program, program.body), expr_fn, stmt_fn)
    return Variant(whole, mode or program.mode)


# ---- division and remainder ---------------------------------------------------------------


def _floor(program: Program) -> list[Variant]:
    if not contains(program.body + _answer_stmts(program), _has_op(BinOpKind.TDIV, BinOpKind.TMOD)):
        return []
    swap = {BinOpKind.TDIV: BinOpKind.FDIV, BinOpKind.TMOD: BinOpKind.FMOD}
    return [Variant(swap_ops(_printed(program, program.body), swap), program.mode)]


def _trunc(program: Program) -> list[Variant]:
    if not contains(program.body + _answer_stmts(program), _has_op(BinOpKind.FDIV, BinOpKind.FMOD)):
        return []
    swap = {BinOpKind.FDIV: BinOpKind.TDIV, BinOpKind.FMOD: BinOpKind.TMOD}
    return [Variant(swap_ops(_printed(program, program.body), swap), program.mode)]


def _has_op(*ops: BinOpKind) -> Callable[[Any], bool]:
    wanted = frozenset(ops)
    return lambda n: isinstance(n, BinOp | AugAssign) and n.op in wanted


def _answer_stmts(program: Program) -> tuple[Stmt, ...]:
    return (Print((program.answer,)),) if program.answer is not None else ()


def _pure(expr: Expr) -> bool:
    """No calls other than pure builtins: the expression may be evaluated twice."""
    return not contains(expr, lambda n: isinstance(n, Call) and n.func not in _PURE_CALLS)


def _abs(e: Expr) -> Expr:
    return Call("abs", (e,))


def _expand_aug(stmt: Stmt) -> Stmt:
    """`x op= e` as `x = x op e` (for rewrites that act on binary operations)."""
    if isinstance(stmt, AugAssign) and isinstance(stmt.target, Name | Index):
        return Assign(stmt.target, BinOp(stmt.op, stmt.target, stmt.value), line=stmt.line)
    return stmt


def _expanded(program: Program) -> tuple[Stmt, ...]:
    return map_stmts(_printed(program, program.body), None, _expand_aug)


def _euclid(program: Program) -> list[Variant]:
    body = _expanded(program)
    if not contains(body, _has_op(*_DIVMOD)):
        return []

    def on_expr(e: Expr) -> Expr:
        if not isinstance(e, BinOp) or e.op not in _DIVMOD or not (_pure(e.left) and _pure(e.right)):
            return e
        a, b = e.left, e.right
        r = BinOp(BinOpKind.TMOD, BinOp(BinOpKind.ADD, BinOp(BinOpKind.TMOD, a, b), _abs(b)), _abs(b))
        if e.op in _DIVS:
            return BinOp(BinOpKind.TDIV, BinOp(BinOpKind.SUB, a, r), b)
        return r

    return [Variant(map_stmts(body, on_expr), program.mode)]


def _unsigned(program: Program) -> list[Variant]:
    body = _expanded(program)
    if not contains(body, _has_op(*_DIVMOD)):
        return []

    def on_expr(e: Expr) -> Expr:
        if not isinstance(e, BinOp) or e.op not in _DIVMOD:
            return e
        op = BinOpKind.TDIV if e.op in _DIVS else BinOpKind.TMOD
        return BinOp(op, _abs(e.left), _abs(e.right))

    return [Variant(map_stmts(body, on_expr), program.mode)]


# ---- wrap-around, precedence --------------------------------------------------------------

_WRAPPED = frozenset({BinOpKind.ADD, BinOpKind.SUB, BinOpKind.MUL, BinOpKind.SHL, *_DIVS})


def _wrap(e: Expr) -> Expr:
    """((e + 2^31) & (2^32 - 1)) - 2^31: e as a signed 32-bit integer."""
    half = Num(2**31)
    return BinOp(BinOpKind.SUB, BinOp(BinOpKind.BAND, BinOp(BinOpKind.ADD, e, half), Num(2**32 - 1)), half)


def _wrap32(program: Program) -> list[Variant]:
    def on_expr(e: Expr) -> Expr:
        if isinstance(e, BinOp) and e.op in _WRAPPED:
            return _wrap(e)
        if isinstance(e, Unary) and e.op is UnaryKind.NEG and not isinstance(e.operand, Num):
            return _wrap(e)
        return e

    return [Variant(map_stmts(_expanded(program), on_expr), program.mode)]


def _no_precedence_expr(e: Expr) -> Expr:
    """`e` read left to right as written: each chain of binary operators printed without parentheses
    is folded from the left; a parenthesized operand (by the original precedence) stays whole and is
    read the same way inside."""
    if not isinstance(e, BinOp) or e.op not in _LEVELS:
        rebuilt = map_children(e, _no_precedence_expr)
        assert isinstance(rebuilt, Expr)
        return rebuilt
    operands: list[Expr] = []
    ops: list[BinOpKind] = []

    def flatten(node: BinOp) -> None:
        own = _LEVELS[node.op]
        left, right = node.left, node.right
        if isinstance(left, BinOp) and left.op in _LEVELS and _LEVELS[left.op] >= own:
            flatten(left)
        else:
            operands.append(_no_precedence_expr(left))
        ops.append(node.op)
        if isinstance(right, BinOp) and right.op in _LEVELS and _LEVELS[right.op] > own:
            flatten(right)
        else:
            operands.append(_no_precedence_expr(right))

    flatten(e)
    out = operands[0]
    for op, operand in zip(ops, operands[1:]):
        out = BinOp(op, out, operand)
    return out


def _no_precedence(program: Program) -> list[Variant]:
    return [Variant(map_top_exprs(_printed(program, program.body), _no_precedence_expr), program.mode)]


# ---- state and loops ---------------------------------------------------------------------


def _names_read(expr: Expr) -> list[str]:
    found: list[str] = []

    def visit(n: Any) -> bool:
        if isinstance(n, Name) and n.id not in found:
            found.append(n.id)
        return False

    contains(expr, visit)
    return found


def _assigns(stmt: Stmt, name: str) -> bool:
    return isinstance(stmt, Assign | AugAssign) and isinstance(stmt.target, Name) and stmt.target.id == name


def _previous_value(program: Program) -> list[Variant]:
    if program.answer is not None:
        reads = _names_read(program.answer)
    else:
        prints = [s for s in program.body if isinstance(s, Print)]
        reads = [n for s in prints[-1:] for a in s.args for n in _names_read(a)]
    out = []
    for name in reads:
        where = [i for i, s in enumerate(program.body) if _assigns(s, name)]
        if len(where) >= 2:
            last = where[-1]
            body = program.body[:last] + program.body[last + 1 :]
            out.append(Variant(_printed(program, body), program.mode))
    return out


_LOOSER = {CmpKind.LT: CmpKind.LE, CmpKind.GT: CmpKind.GE}
_STRICTER = {CmpKind.LE: CmpKind.LT, CmpKind.GE: CmpKind.GT}


def _loop_shift(stmt: Stmt, more: bool) -> Stmt:
    if isinstance(stmt, For):
        step = stmt.step if stmt.step is not None else Num(1)
        stop = BinOp(BinOpKind.ADD if more else BinOpKind.SUB, stmt.stop, step)
        return dataclasses.replace(stmt, stop=stop)
    if isinstance(stmt, While) and isinstance(stmt.cond, Compare):
        table = _LOOSER if more else _STRICTER
        if stmt.cond.op in table:
            return dataclasses.replace(stmt, cond=dataclasses.replace(stmt.cond, op=table[stmt.cond.op]))
    return stmt


def _loop_off_by_one(program: Program) -> list[Variant]:
    if not contains(program.body, lambda n: isinstance(n, For | While)):
        return []
    return [
        Variant(
            _printed(program, map_stmts(program.body, None, lambda s, m=more: _loop_shift(s, m))),
            program.mode,
        )
        for more in (True, False)
    ]


def _python_and_or(program: Program) -> list[Variant]:
    if program.mode != "dsl" or not contains(
        program.body + _answer_stmts(program), lambda n: isinstance(n, BoolOp)
    ):
        return []
    return [_same(program, "python")]


def _string_concat(program: Program) -> list[Variant]:
    body = _expanded(program)
    if not contains(body, _has_op(BinOpKind.ADD)):
        return []

    def on_expr(e: Expr) -> Expr:
        if isinstance(e, BinOp) and e.op is BinOpKind.ADD:
            return Call(_CAT, (e.left, e.right))
        return e

    return [Variant(map_stmts(body, on_expr), program.mode, _CAT_DEF)]


PRIORS: tuple[Prior, ...] = (
    Prior("floor_division", "Python's flooring // and % in place of truncation", _floor, ("dsl",)),
    Prior("truncating_division", "C's truncating / and % in place of flooring", _trunc, ("python",)),
    Prior("euclidean_remainder", "remainder never negative, quotient to match", _euclid),
    Prior("unsigned_division", "division and remainder of the magnitudes (signs dropped)", _unsigned),
    Prior("wrap32", "32-bit wrap-around of every arithmetic result", _wrap32),
    Prior("no_precedence", "left to right, ignoring operator precedence", _no_precedence),
    Prior("previous_value", "a variable's value before its last reassignment", _previous_value),
    Prior("loop_off_by_one", "a loop running one iteration more or fewer", _loop_off_by_one),
    Prior("python_and_or", "and/or giving an operand (Python) instead of 1/0", _python_and_or, ("dsl",)),
    Prior("string_concat", "+ joining digits like strings", _string_concat),
)

# ---- error patterns on the value ---------------------------------------------------------


def _literals(program: Program) -> set[int]:
    found: set[int] = set()

    def visit(n: Any) -> bool:
        if isinstance(n, Expr):
            v = const_value(n)
            if v is not None:
                found.add(v)
        return False

    contains(program.body + _answer_stmts(program), visit)
    return found


def _other_variables(program: Program) -> set[int]:
    names = []
    for s in program.body:
        if isinstance(s, Assign | AugAssign) and isinstance(s.target, Name) and s.target.id not in names:
            names.append(s.target.id)
    answer_names = set(_names_read(program.answer)) if program.answer is not None else set()
    names = [n for n in names if n not in answer_names]
    if not names:
        return set()
    lines = run_variant(
        Variant((*program.body, Print(tuple(Name(n) for n in names))), program.mode), whole=True
    )
    if lines is None:
        return set()
    try:
        return {int(v) for v in lines.split("\n")[-1].split()}
    except ValueError:
        return set()


def _reversed_digits(value: int) -> int:
    digits = str(abs(value))[::-1].lstrip("0") or "0"
    return -int(digits) if value < 0 else int(digits)


PATTERNS: Mapping[str, str] = {
    "negated": "the right magnitude with the wrong sign",
    "off_by_one": "one more or one less than the true value",
    "digits_reversed": "the true value's digits reversed",
    "copied_literal": "a number written in the program",
    "other_variable": "the final value of another variable",
}


def _pattern_values(program: Program, truth: int) -> dict[str, set[int]]:
    return {
        "negated": {-truth} if truth != 0 else set(),
        "off_by_one": {truth - 1, truth + 1},
        "digits_reversed": {_reversed_digits(truth)} - {truth},
        "copied_literal": _literals(program) - {truth},
        "other_variable": _other_variables(program) - {truth},
    }


# ---- running and classifying -------------------------------------------------------------


def run_variant(variant: Variant, *, whole: bool = False) -> str | None:
    """What the variant prints (its last line for a printed answer; all of it with `whole`), or None if it fails."""
    try:
        compiled = compile_program(Module((*variant.helpers, *variant.body)), variant.mode)
    except (CadmusError, RecursionError):
        return None
    result = run(compiled.program, limits=VARIANT_LIMITS)
    if result.status != "ok" or not result.outputs:
        return None
    text = result.output_text()
    return text


def _as_answer_text(text: str, program: Program) -> str:
    """A printed value (complete: its last line) in the form answers are compared in."""
    if program.answer is not None:
        return text.split("\n")[-1].strip()
    return normalize_output(text)


def answer_value(answer: str, mode: str) -> int | None:
    """The value of an answer that is one integer expression of constants (None otherwise)."""
    text = answer.strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        if mode == "python":
            module = from_python(f"print({text})\n")
        else:
            expr = parse_expr(text)
            if not closed(expr):
                return None
            module = Module((Print((expr,)),))
    except (LangError, RecursionError):
        return None
    verdict = check(module, mode=mode)
    if not verdict.ok or len(verdict.outputs) != 1 or len(verdict.outputs[0]) != 1:
        return None
    return verdict.outputs[0][0]


@dataclass(frozen=True)
class Classification:
    """Which priors explain one wrong answer, and which could have changed its value at all."""

    explained: tuple[str, ...]
    applicable: tuple[str, ...]
    answer: str | None  # the answer as compared (its value for complete), None if unreadable

    def to_json(self) -> dict[str, Any]:
        return {"explained": list(self.explained), "applicable": list(self.applicable), "answer": self.answer}


def prior_outcomes(program: Program) -> dict[str, set[str]] | None:
    """What each applicable prior and pattern makes of `program` (answer texts other than the true one),
    or None when the program itself does not run."""
    truth_text = run_variant(_same(program))
    if truth_text is None:
        return None
    truth = _as_answer_text(truth_text, program)
    found: dict[str, set[str]] = {}
    for prior in PRIORS:
        if program.mode not in prior.modes:
            continue
        outcomes = set()
        for variant in prior.variants(program):
            text = run_variant(variant)
            if text is not None:
                outcomes.add(_as_answer_text(text, program))
        outcomes.discard(truth)
        if outcomes:
            found[prior.name] = outcomes
    try:
        truth_value = int(truth)
    except ValueError:
        return found
    for name, values in _pattern_values(program, truth_value).items():
        if values:
            found[name] = {str(v) for v in values}
    return found


def _compared(program: Program, answer: str) -> str | None:
    """An answer in the form outcomes are compared in: its value's text (complete), or its output."""
    if program.answer is not None:
        value = answer_value(answer, program.mode)
        return str(value) if value is not None else None
    text = normalize_output(answer)
    try:
        return str(int(text))  # a one-integer output compares like a value ('+5' is 5)
    except ValueError:
        return text


def classify(program: Program, answer: str, outcomes: dict[str, set[str]] | None = None) -> Classification:
    """The priors and patterns that turn `program` into the (wrong) `answer`.

    `outcomes` (from `prior_outcomes`) saves running the variants again for another answer.
    """
    got = _compared(program, answer)
    if outcomes is None:
        outcomes = prior_outcomes(program)
    if outcomes is None:
        return Classification((), (), got)
    explained = tuple(name for name, values in outcomes.items() if got is not None and got in values)
    return Classification(explained, tuple(outcomes), got)


def prior_names() -> list[str]:
    return [p.name for p in PRIORS] + list(PATTERNS)


def descriptions() -> dict[str, str]:
    return {**{p.name: p.description for p in PRIORS}, **PATTERNS}


def summarize_priors(
    classifications: Iterable[Classification | None], controls: Iterable[Classification | None] | None = None
) -> dict[str, Any]:
    """Per prior: errors it could explain (applicable), errors it explains, its share of all errors,
    and (with `controls`: the same programs paired with other prompts' answers) its share by chance.

    `None` stands for a wrong answer the priors cannot read (a format without a program value).
    """
    items = list(classifications)
    readable = [c for c in items if c is not None]
    explained: Counter[str] = Counter()
    applicable: Counter[str] = Counter()
    chance: Counter[str] = Counter()
    semantic = {p.name for p in PRIORS}
    any_semantic = any_at_all = unreadable = 0
    for c in readable:
        explained.update(c.explained)
        applicable.update(c.applicable)
        any_semantic += any(name in semantic for name in c.explained)
        any_at_all += bool(c.explained)
        unreadable += c.answer is None
    control_list = [c for c in controls if c is not None] if controls is not None else []
    for c in control_list:
        chance.update(c.explained)
    errors = len(items)
    table = {}
    for name in prior_names():
        if not (applicable[name] or explained[name]):
            continue
        entry: dict[str, Any] = {
            "applicable": applicable[name],
            "explained": explained[name],
            "share": explained[name] / errors if errors else None,
        }
        if control_list:
            entry["control_share"] = chance[name] / len(control_list)
        table[name] = entry
    return {
        "errors": errors,
        "analysed": len(readable),
        "unreadable_answers": unreadable,
        "explained_by_a_semantic_prior": any_semantic,
        "explained_by_any": any_at_all,
        "unexplained": len(readable) - any_at_all,
        "controls": len(control_list),
        "priors": table,
    }


def priors_table(summary: Mapping[str, Any], *, title: str = "prior") -> str:
    """The priors summary as Markdown: one row per prior that could explain an error."""
    errors = summary["errors"]
    desc = descriptions()
    control = bool(summary.get("controls"))
    head = f"| {title} | meaning | errors it could explain | explained | share of errors |"
    lines = [
        head + (" by chance (control) |" if control else ""),
        "|---|---|---|---|---|" + ("---|" if control else ""),
    ]
    for name, entry in summary["priors"].items():
        share = f"{100 * entry['share']:.1f}%" if entry["share"] is not None else "—"
        row = f"| `{name}` | {desc.get(name, '')} | {entry['applicable']} | {entry['explained']} | {share} |"
        if control:
            row += f" {100 * entry.get('control_share', 0.0):.1f}% |"
        lines.append(row)
    if errors:
        pad = " |" if control else ""
        lines.append(
            f"| any semantic prior | | | {summary['explained_by_a_semantic_prior']} | "
            f"{100 * summary['explained_by_a_semantic_prior'] / errors:.1f}% |" + pad
        )
        lines.append(
            f"| anything above | | | {summary['explained_by_any']} | "
            f"{100 * summary['explained_by_any'] / errors:.1f}% |" + pad
        )
    return "\n".join(lines)


def classify_all(programs: Sequence[Program | None], answers: Sequence[str]) -> list[Classification | None]:
    return [classify(p, a) if p is not None else None for p, a in zip(programs, answers)]
