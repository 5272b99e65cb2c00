"""Targets from the VM, not from text: what each token position of an example knows.

`annotate(prompt, completion, tokenizer)` turns one `complete`-format example
(`<bos> prompt <sep> completion <eos>`) into its token ids and, per position:

- its *kinds* (a bit mask): ``every`` position; ``answer``, the `<sep>`
  position whose output predicts the answer's first token; ``answer_first``,
  the answer's first token itself; ``stmt_end``, the newline that ends a
  statement of the prompt; ``variable``, the last token of each occurrence
  of a variable's name;
- its *role label* (``v0``, ``n1.d0``, ``op``, ``=``, ...), the same for
  equal roles across programs, which lines patching results up;
- the *target values*: ``var{k}``, the value that the k-th variable (in
  order of first assignment) holds at that point of the program; ``result``,
  the value the statement just completed assigned; ``answer``, the final
  answer. Each is valid only where it is defined (a variable before its
  first assignment is not).

Values come from a traced VM run of the true program with its final assert
turned into ``print(answer)``: the main frame's slots after the last step of
each source line. "At that point" means after every statement that ends
before the token (the token that ends a statement sees that statement done).
For straight-line programs this is exact; inside loops it is the state after
a statement's last execution.

Features derived from a value (`feature_values`): ``value`` (regression),
``digit{k}`` (the k-th decimal digit of |v|, ones first), ``sign``
(negative), ``mag`` (decimal digits of |v| minus one) and ``parity``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from cadmus.lang import KEYWORDS, Assert, Compare, Module, ParseError, Print, execute, parse, tokenize
from cadmus.probe.base import ProbeError, iter_rows
from cadmus.vm import Op

POSITION_KINDS = ("every", "answer", "answer_first", "stmt_end", "variable")
KIND_BITS = {kind: 1 << i for i, kind in enumerate(POSITION_KINDS)}
FEATURES = ("value", "digit0", "digit1", "digit2", "sign", "mag", "parity")
_ARITH_OPS = frozenset({"+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>", "~"})
_CMP_OPS = frozenset({"==", "!=", "<", "<=", ">", ">="})
_ASSIGN_OPS = frozenset({"=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=", ">>="})


def target_names(max_vars: int) -> tuple[str, ...]:
    """The value targets stored for each position: var0.., result, answer."""
    return (*(f"var{k}" for k in range(max_vars)), "result", "answer")


def feature_values(values: np.ndarray, feature: str) -> np.ndarray:
    """A derived feature of integer values (int64); ``value`` is the values themselves."""
    v = np.asarray(values, dtype=np.int64)
    a = np.abs(v)
    if feature == "value":
        return v
    if feature.startswith("digit") and feature[5:].isdigit():
        return (a // 10 ** int(feature[5:])) % 10
    if feature == "sign":
        return (v < 0).astype(np.int64)
    if feature == "parity":
        return a % 2
    if feature == "mag":
        mag = np.zeros_like(a)
        for k in range(1, 19):
            mag += a >= 10**k
        return mag
    raise ProbeError(
        f"unknown feature {feature!r} (known: value, digit<k>, sign, mag, parity)", key="features"
    )


def is_classification(feature: str) -> bool:
    return feature != "value"


class TokenText:
    """The text of each id of a tokenizer (specials and number padding are empty)."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.strings = [tokenizer.decode([i], skip_special_tokens=True) for i in range(tokenizer.vocab_size)]
        self.names = [tokenizer.id_to_token(i) for i in range(tokenizer.vocab_size)]
        self.numbers = tokenizer.numbers


@dataclass
class Annotated:
    """One example, tokenised and annotated position by position (see the module docstring)."""

    ids: list[int]
    sep: int  # index of <sep>
    answer_ids: list[int]  # the answer's tokens (the completion without its newline)
    answer_roles: list[str]  # per answer token: sign, d0 (ones), d1 (tens), ..., whole, pad
    answer: int
    kinds: np.ndarray  # [T] int64 bit mask of POSITION_KINDS
    labels: list[str]  # [T] role label
    classes: list[
        str
    ]  # [T] token class: bos sep eos digit variable name op cmp assign newline keyword other answer
    line: np.ndarray  # [T] 0-based source line of the token (-1 for specials and the completion)
    var: np.ndarray  # [T] variable role of a variable token, else -1
    number: np.ndarray  # [T] index of the number literal a digit token belongs to, else -1
    values: np.ndarray  # [T, K] int64 target values
    valid: np.ndarray  # [T, K] bool
    variables: list[str]  # names by role

    @property
    def prompt_len(self) -> int:
        """Tokens up to and including <sep>."""
        return self.sep + 1


def _line_starts(text: str) -> list[int]:
    starts = [0]
    for i, ch in enumerate(text):
        if ch == "\n":
            starts.append(i + 1)
    return starts


def _lex(text: str) -> list[tuple[str, str, int, int, int]]:
    """Lexer tokens with char spans: (kind, value, start, end, line)."""
    starts = _line_starts(text)
    out = []
    for kind, value, line, col in tokenize(text):
        if kind in ("INDENT", "DEDENT", "EOF"):
            continue
        start = starts[line - 1] + col - 1
        out.append((kind, value, start, start + len(value), line))
    return out


def _writes(lex: list[tuple[str, str, int, int, int]]) -> list[bool]:
    """Which NAME tokens are plain assignment targets (x = ..., x += ..., for x in ...)."""
    flags = []
    for i, (kind, _value, _s, _e, _line) in enumerate(lex):
        if kind != "NAME":
            flags.append(False)
            continue
        prev = lex[i - 1][0] if i else "NEWLINE"
        nxt = lex[i + 1][0] if i + 1 < len(lex) else ""
        flags.append((prev == "NEWLINE" and nxt in _ASSIGN_OPS) or prev == "for")
    return flags


def _state_after_lines(compiled: Any, trace: list[Any]) -> dict[int, tuple[int, ...]]:
    """The main frame's slots after the last step of each source line (calls skipped)."""
    after: dict[int, tuple[int, ...]] = {}
    depth = 0
    for step in trace:
        op = step.instr.op
        if depth == 0 and op is not Op.CALL:
            after[compiled.lines[step.pc]] = tuple(step.locals)
        if op is Op.CALL:
            depth += 1
        elif op is Op.RET and depth > 0:
            depth -= 1
    return after


def _answer_roles(answer_ids: list[int], text: TokenText) -> list[str]:
    """The role of each answer token: its sign, a decimal place (d0 = ones), a whole number, padding."""
    digits = sum(1 for i in answer_ids if len(text.strings[i]) == 1 and text.strings[i].isdigit())
    roles, k = [], 0
    for i in answer_ids:
        s = text.strings[i]
        if s == "-":
            roles.append("sign")
        elif s == "":
            roles.append("pad")
        elif len(s) == 1 and s.isdigit():
            roles.append(f"d{k if text.numbers == 'reversed' else digits - 1 - k}")
            k += 1
        elif s.isdigit():
            roles.append("whole")
        else:
            roles.append(s.strip() or "sp")
    return roles


def role_order(role: str) -> tuple[int, int, str]:
    """Sort key of answer roles: sign, then places from the ones up, then the rest."""
    if role == "sign":
        return (0, 0, role)
    if role.startswith("d") and role[1:].isdigit():
        return (1, int(role[1:]), role)
    return (2, 0, role)


def annotate(prompt: str, completion: str, text: TokenText, *, max_vars: int = 4) -> Annotated:
    """Annotate one `complete` example (prompt ends inside the final assert, completion its value)."""
    tok = text.tokenizer
    program = prompt + completion
    try:
        module = parse(program)
        lex = _lex(prompt)
    except ParseError as err:
        raise ProbeError(f"the example is not a program: {err}") from None
    last = module.body[-1] if module.body else None
    if not isinstance(last, Assert) or not isinstance(last.test, Compare):
        raise ProbeError("the example does not end with an assert to complete (only `complete` is supported)")
    runnable = Module((*module.body[:-1], Print((last.test.left,), line=last.line)))
    run = execute(runnable, trace=True)
    if not run.verdict.ok or run.result is None or run.compiled is None:
        raise ProbeError(f"the example's program is not true: {run.verdict}")
    answer = run.verdict.outputs[-1][0]
    after = _state_after_lines(run.compiled, run.result.trace or [])
    slots = {name: i for i, name in enumerate(run.compiled.global_names)}
    assert_line = last.line

    writes = _writes(lex)
    roles: dict[str, int] = {}
    first_write: dict[str, int] = {}
    written_on_line: dict[int, str] = {}
    for (kind, value, _s, _e, line), w in zip(lex, writes):
        if kind == "NAME" and w:
            roles.setdefault(value, len(roles))
            first_write.setdefault(value, line)
            written_on_line.setdefault(line, value)
    variables = list(roles)

    prompt_ids = tok.encode(prompt)
    offsets = []
    pos = 0
    for i in prompt_ids:
        offsets.append(pos)
        pos += len(text.strings[i])
    if pos != len(prompt):
        raise ProbeError("token texts do not add up to the prompt (unexpected tokenizer)")
    owner = np.full(len(prompt) + 1, -1, dtype=np.int64)
    for j, (_kind, _value, start, end, _line) in enumerate(lex):
        owner[start:end] = j
    number_index = {}
    for j, (kind, *_rest) in enumerate(lex):
        if kind == "NUM":
            number_index[j] = len(number_index)

    answer_text = completion.rstrip("\n")
    completion_ids = tok.encode(completion)
    answer_ids = tok.encode(answer_text)
    ids = [tok.bos_id, *prompt_ids, tok.sep_id, *completion_ids, tok.eos_id]
    answer_roles = _answer_roles(answer_ids, text)
    T = len(ids)
    sep = 1 + len(prompt_ids)
    labels = ["<bos>"] + [""] * len(prompt_ids) + ["<sep>"]
    classes = ["bos"] + [""] * len(prompt_ids) + ["sep"]
    line = np.full(T, -1, dtype=np.int64)
    var = np.full(T, -1, dtype=np.int64)
    number = np.full(T, -1, dtype=np.int64)
    kinds = np.full(T, KIND_BITS["every"], dtype=np.int64)
    lex_of = []
    for k, i in enumerate(prompt_ids):
        start = offsets[k]
        span = owner[start : start + max(1, len(text.strings[i]))]
        hits = span[span >= 0]
        lex_of.append(int(hits[0]) if len(hits) else -1)
    starts = _line_starts(prompt)
    real_digits: dict[int, int] = {}
    for j, i in zip(lex_of, prompt_ids):
        if j >= 0 and text.strings[i]:
            real_digits[j] = real_digits.get(j, 0) + 1
    run_pos: dict[int, int] = {}
    for k, i in enumerate(prompt_ids):
        t = k + 1
        j = lex_of[k]
        s = text.strings[i]
        if j < 0:
            labels[t] = s.strip() or "sp"
            classes[t] = "other"
            line[t] = int(np.searchsorted(starts, offsets[k], side="right")) - 1
            continue
        kind, value, start, end, src_line = lex[j]
        line[t] = src_line - 1
        if kind == "NAME" and value in roles:
            var[t] = roles[value]
            sub = run_pos.get(j, 0)
            run_pos[j] = sub + 1
            labels[t] = f"v{roles[value]}" if sub == 0 else f"v{roles[value]}.{sub}"
            classes[t] = "variable"
            if k + 1 >= len(prompt_ids) or lex_of[k + 1] != j:  # the name's last token
                kinds[t] |= KIND_BITS["variable"]
        elif kind == "NUM":
            number[t] = number_index[j]
            if s == "":
                place = "pad"
            else:
                sub = run_pos.get(j, 0)
                run_pos[j] = sub + 1
                if len(s) > 1:
                    place = "w"  # a whole-number token
                elif text.numbers == "reversed":
                    place = f"d{sub}"
                else:
                    place = f"d{real_digits[j] - 1 - sub}"
            labels[t] = f"n{number_index[j]}.{place}"
            classes[t] = "digit"
        elif kind == "NEWLINE":
            labels[t] = "\\n"
            classes[t] = "newline"
            kinds[t] |= KIND_BITS["stmt_end"]
        elif kind in _ARITH_OPS:
            labels[t] = "op"
            classes[t] = "op"
        elif kind in _CMP_OPS:
            labels[t] = value
            classes[t] = "cmp"
        elif kind in _ASSIGN_OPS:
            labels[t] = value
            classes[t] = "assign"
        elif kind in KEYWORDS:
            labels[t] = value
            classes[t] = "keyword"
        elif kind == "NAME":
            labels[t] = value
            classes[t] = "name"
        else:
            labels[t] = s.strip() or "sp"
            classes[t] = "other"
    for j in range(len(completion_ids)):
        labels.append(f"a{j}")
        classes.append("answer")
    labels.append("<eos>")
    classes.append("eos")
    kinds[sep] |= KIND_BITS["answer"]
    if sep + 1 < T - 1:
        kinds[sep + 1] |= KIND_BITS["answer_first"]

    names = target_names(max_vars)
    K = len(names)
    values = np.zeros((T, K), dtype=np.int64)
    valid = np.zeros((T, K), dtype=bool)
    executed = sorted(after)
    for t in range(T):
        if t == 0:
            done = 0
        elif t < sep:
            done = int(line[t]) + 1 if classes[t] == "newline" else int(line[t])
        else:
            done = assert_line - 1
        # state after the last executed line <= done (1-based lines)
        last_line = max((x for x in executed if 0 < x <= done), default=None)
        if last_line is not None:
            state = after[last_line]
            for name, role in roles.items():
                if role < max_vars and first_write[name] <= done and name in slots:
                    values[t, role] = state[slots[name]]
                    valid[t, role] = True
            target = written_on_line.get(last_line)
            if target is not None and target in slots:
                values[t, K - 2] = state[slots[target]]
                valid[t, K - 2] = True
        values[t, K - 1] = answer
        valid[t, K - 1] = True
    return Annotated(
        ids=ids,
        sep=sep,
        answer_ids=answer_ids,
        answer_roles=answer_roles,
        answer=answer,
        kinds=kinds,
        labels=labels,
        classes=classes,
        line=line,
        var=var,
        number=number,
        values=values,
        valid=valid,
        variables=variables,
    )


def kind_mask(kinds: np.ndarray, wanted: str | tuple[str, ...]) -> np.ndarray:
    """Rows whose kind bit mask holds any of `wanted`."""
    wanted = (wanted,) if isinstance(wanted, str) else wanted
    bits = 0
    for kind in wanted:
        if kind not in KIND_BITS:
            raise ProbeError(
                f"unknown position kind {kind!r} (known: {', '.join(POSITION_KINDS)})", key="positions"
            )
        bits |= KIND_BITS[kind]
    return (np.asarray(kinds) & bits) != 0


def iter_annotated(
    text: TokenText,
    dataset: Any,
    split: str,
    limit: int | None,
    skipped: dict[str, int],
    *,
    block_size: int,
    max_vars: int = 4,
) -> Iterator[tuple[dict[str, Any], Annotated]]:
    """The first `limit` rows of a split that can be annotated, with their annotations, one at a time.

    A row that cannot (not a `complete` row, not annotatable, longer than
    `block_size` tokens) is counted in `skipped` under why.
    """
    for row in iter_rows(dataset, split, limit):
        if row.get("format", "complete") != "complete":
            skipped["format"] = skipped.get("format", 0) + 1
            continue
        try:
            a = annotate(row["prompt"], row["completion"], text, max_vars=max_vars)
        except ProbeError:
            skipped["not annotatable"] = skipped.get("not annotatable", 0) + 1
            continue
        if len(a.ids) > block_size:
            skipped["too long"] = skipped.get("too long", 0) + 1
            continue
        yield row, a


def annotated_rows(
    text: TokenText,
    dataset: Any,
    split: str,
    limit: int | None,
    *,
    block_size: int,
    max_vars: int = 4,
) -> tuple[list[tuple[dict[str, Any], Annotated]], dict[str, int]]:
    """The first `limit` rows of a split with their annotations, and counts of rows skipped (and why)."""
    skipped: dict[str, int] = {}
    out = list(iter_annotated(text, dataset, split, limit, skipped, block_size=block_size, max_vars=max_vars))
    return out, skipped
