"""What a model is asked: templates per format and view, zero-shot or few-shot, completion or chat.

Templates:

- `raw`: the dataset's prompt and nothing else (what a Cadmus model was
  trained on; `cadmus serve` of a checkpoint answers it exactly like
  `cadmus eval`);
- `rules`: a short description of the language's rules, then the task,
  then (few-shot) K solved examples of the same family and format from the
  training split, then the prompt.

For a completion endpoint the rules and the task are `#` comment lines
above the examples and the prompt, so the model only has to continue the
text; for a chat endpoint they are the system message, each example is a
user turn (the prompt) answered by an assistant turn (the reference), and
the model is asked for the answer alone.

The rules are generated, not hand-written: operator spellings come from the
view's skin table (`cadmus.lang`), and every example value in them is
computed by the VM in the view's mode, so they cannot disagree with the
judge.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cadmus.data import STOP
from cadmus.lang import BinOp, BinOpKind, CmpKind, Module, Print, check, num
from cadmus.llm.backends import Request
from cadmus.llm.errors import LLMError
from cadmus.llm.views import PythonView, SkinView, View, row_language

TEMPLATES = ("rules", "raw")
EXAMPLE_SEPARATOR = "\n"  # completion prompts: a blank line between solved examples

TASKS: Mapping[str, str] = {
    "complete": "Complete the final assert with the integer value that makes it hold.",
    "complete_stmt": "Write the missing next statement (one line) so that the program computes what it should.",
    "output": "Write exactly what the program prints.",
    "synthesize": "Write the body of the function so that every assert holds.",
    "instruct": "Write the body of the function as the comment asks.",
    "trace": (
        "Write the execution trace: one line per executed statement, 'N:' (its line number) then "
        "name=value for each variable it stored, 'print V' for what it printed, 'return V' for what it returned."
    ),
}
ANSWER_SHAPE: Mapping[str, str] = {
    "complete": "Reply with the integer only.",
    "complete_stmt": "Reply with that one statement only.",
    "output": "Reply with the printed output only.",
    "synthesize": "Reply with the indented body only.",
    "instruct": "Reply with the indented body only.",
    "trace": "Reply with the trace only.",
}


def _vm_value(op: BinOpKind, a: int, b: int, mode: str) -> int:
    verdict = check(Module((Print((BinOp(op, num(a), num(b)),)),)), mode=mode)
    if not verdict.ok:
        raise LLMError(f"cannot compute {a} {op.value} {b} in mode {mode}: {verdict}")
    return verdict.outputs[0][0]


def rules_text(view: View) -> str:
    """A short description of the view's language: values, statements, arithmetic, precedence."""
    if isinstance(view, PythonView):
        skin = None
        div, mod, lang = BinOpKind.FDIV, BinOpKind.FMOD, "Python 3 (integers only)"
        spell = {BinOpKind.FDIV: "//", BinOpKind.FMOD: "%", CmpKind.EQ: "=="}
        assign, assert_kw = "=", "assert"
        div_rule = "the quotient rounded down (toward negative infinity)"
        mod_rule = "the remainder with the sign of the divisor"
    else:
        div, mod, lang = BinOpKind.TDIV, BinOpKind.TMOD, "Cadmus, a small language of integers"
        skin = view.skin if isinstance(view, SkinView) else None
        ops = skin.tables.ops if skin is not None else {}
        spell = {k: ops[k][0] if k in ops else k.value for k in (div, mod, CmpKind.EQ)}
        for k in (BinOpKind.ADD, BinOpKind.SUB, BinOpKind.MUL):
            spell[k] = ops[k][0] if k in ops else k.value
        assign = skin.assign if skin is not None else "="
        assert_kw = skin.word("assert") if skin is not None else "assert"
        div_rule = "the quotient truncated toward zero"
        mod_rule = "the remainder with the sign of the dividend"
    d, m = spell[div], spell[mod]
    mode = view.mode
    div_ex = f"-7 {d} 2 is {_vm_value(div, -7, 2, mode)}, 7 {d} -2 is {_vm_value(div, 7, -2, mode)}"
    mod_ex = f"-7 {m} 2 is {_vm_value(mod, -7, 2, mode)}, 7 {m} -2 is {_vm_value(mod, 7, -2, mode)}"
    lines = [f"The program is written in {lang}."]
    if isinstance(view, PythonView):
        lines.append("Values are integers (no floats); statements run from top to bottom.")
    else:
        lines.append("Values are 64-bit signed integers; statements run from top to bottom.")
    if not isinstance(view, PythonView):
        add = spell.get(BinOpKind.ADD, "+")
        sub = spell.get(BinOpKind.SUB, "-")
        mul = spell.get(BinOpKind.MUL, "*")
        lines.append(
            f"`x {assign} e` assigns; `{add}` `{sub}` `{mul}` add, subtract, multiply; "
            f"`{assert_kw} a {spell[CmpKind.EQ]} b` holds when both sides are equal."
        )
    lines.append(f"`a {d} b` is {div_rule} ({div_ex}).")
    lines.append(f"`a {m} b` is {mod_rule} ({mod_ex}).")
    lines.append(
        f"`{spell.get(BinOpKind.MUL, '*')}` `{d}` `{m}` bind tighter than `{spell.get(BinOpKind.ADD, '+')}` "
        f"`{spell.get(BinOpKind.SUB, '-')}`; operators of one level group from left to right."
    )
    if not isinstance(view, PythonView):
        words = [skin.word(w) if skin is not None else w for w in ("not", "and", "or")]
        lines.append(f"Comparisons, `{words[0]}`, `{words[1]}`, `{words[2]}` give 1 or 0.")
    return "\n".join(lines)


@dataclass(frozen=True)
class Shot:
    """A solved example: prompt and reference in the view's language."""

    prompt: str
    reference: str


def pick_shots(
    pool: Mapping[tuple[str, str, str], Sequence[Mapping[str, Any]]],
    row: Mapping[str, Any],
    k: int,
    seed: int,
) -> list[Mapping[str, Any]]:
    """K rows of the row's family, format and language, chosen by a generator seeded with (seed, row id)."""
    if k <= 0:
        return []
    key = (row["family"], row["format"], row_language(dict(row)))
    candidates = [r for r in pool.get(key, ()) if r["prompt"] != row["prompt"]]
    rng = random.Random(f"{seed}/{row['id']}")
    return rng.sample(candidates, min(k, len(candidates)))


def _comment(text: str) -> str:
    return "".join(f"# {line}\n" if line else "#\n" for line in text.splitlines())


def stop_strings(fmt: str, api: str, shots: int) -> tuple[str, ...]:
    """Where an answer ends: the format's stop string; with examples, also the blank line between them."""
    stop = STOP.get(fmt)
    if stop:
        return (stop,)
    if api == "completions" and shots > 0:
        return ("\n\n",)
    return ()


def build_request(
    prompt: str,
    fmt: str,
    view: View,
    *,
    api: str,
    template: str,
    shots: Sequence[Shot],
    max_tokens: int,
    temperature: float = 0.0,
    seed: int | None = None,
    n: int = 1,
) -> Request:
    """The request for one prompt (see the module docstring for the shapes)."""
    if template not in TEMPLATES:
        raise LLMError(f"template must be one of {', '.join(TEMPLATES)}, not {template!r}")
    stop = stop_strings(fmt, api, len(shots))
    if api == "chat":
        system = ""
        if template == "rules":
            system = rules_text(view) + "\n" + TASKS.get(fmt, "") + " " + ANSWER_SHAPE.get(fmt, "")
        messages: list[tuple[str, str]] = [("system", system)] if system else []
        for shot in shots:
            messages += [("user", shot.prompt), ("assistant", shot.reference.rstrip("\n"))]
        messages.append(("user", prompt))
        return Request(
            messages=tuple(messages), max_tokens=max_tokens, temperature=temperature, seed=seed, n=n
        )
    head = ""
    if template == "rules":
        head = _comment(rules_text(view) + "\n" + TASKS.get(fmt, "")) + "\n"
    body = "".join(s.prompt + s.reference + EXAMPLE_SEPARATOR for s in shots)
    return Request(
        prompt=head + body + prompt,
        max_tokens=max_tokens,
        temperature=temperature,
        stop=stop,
        seed=seed,
        n=n,
    )
