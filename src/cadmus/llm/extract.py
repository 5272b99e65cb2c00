"""From a model's text to the answer a judge reads.

`strict` extraction is what `cadmus eval` does with a Cadmus model's text:
the text up to the format's stop string, nothing else, so an LLM served
like a Cadmus model is judged exactly like one. `lenient` extraction (the
default for every other template) reads free-form text, in this order, and
records which rule found the answer:

1. `fence`: the content of the first ``` code block, if any, is read
   instead of the whole text;
2. `whole`: the text (up to the stop string) is an integer expression
   (value formats) or the whole answer (other formats);
3. `leading`: an integer expression at the start of the text (`-3 because
   ...` gives `-3`);
4. `answer_is`: the last "answer is X" / "answer: X" / "result = X";
5. `assert`: the value of the last `... == X` in the text;
6. `last_integer`: the last integer in the text;
7. `none`: nothing found (the empty answer, judged wrong).

Rules 3-6 apply to `complete` only (its answer is one value); `output`
answers lose a leading "Output:" label.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from cadmus.hf import cut_at_stop
from cadmus.lang import LangError, parse_expr
from cadmus.llm.views import closed

MODES = ("strict", "lenient")

_FENCE = re.compile(r"```[A-Za-z0-9_+-]*[ \t]*\n?(.*?)(?:```|\Z)", re.DOTALL)
_INT = r"[-\u2212]?\s?\d+"
_ANSWER_IS = re.compile(
    r"(?:answer|result|value|output)\s*(?:is|:|=|would be|will be)\s*[*`$\\(]*\s*(" + _INT + r")",
    re.IGNORECASE,
)
_ASSERT = re.compile(r"==\s*[*`]*\s*(" + _INT + r")")
_LEADING = re.compile(r"\s*(" + _INT + r")(?![\d.])")
_ANY_INT = re.compile(r"(?<![\w.])(" + _INT + r")(?![\d.])")
_OUTPUT_LABEL = re.compile(
    r"^\s*(?:the\s+)?(?:program\s+)?(?:output|prints)\s*(?:is)?\s*:?\s*\n?", re.IGNORECASE
)


def _int_text(match: str) -> str:
    return match.replace("\u2212", "-").replace(" ", "")


def is_value(text: str) -> bool:
    """Whether `text` is one integer expression of constants (in DSL syntax)."""
    if not text.strip() or "\n" in text.strip():
        return False
    try:
        return closed(parse_expr(text.strip()))
    except LangError:
        return False


def extract_answer(
    text: str, fmt: str, *, mode: str = "lenient", stop: Sequence[str] = ()
) -> tuple[str, str]:
    """(answer, rule): the answer a judge reads from a model's `text`, and which rule found it."""
    if mode == "strict":
        return cut_at_stop(text, stop), "strict"
    fenced = _FENCE.search(text)
    if fenced is not None:
        body, rule = fenced.group(1), "fence"
    else:
        body, rule = cut_at_stop(text, stop), "whole"
    if fmt != "complete":
        if fmt == "output":
            body = _OUTPUT_LABEL.sub("", body, count=1)
        if fmt in ("complete_stmt",):
            lines = [line for line in body.splitlines() if line.strip()]
            body = lines[0].strip() + "\n" if lines else ""
        return body, rule
    if is_value(body):
        return body.strip(), rule
    if fenced is not None and is_value(cut_at_stop(body, ("\n",))):
        return cut_at_stop(body, ("\n",)).strip(), rule
    whole = text
    m = _LEADING.match(cut_at_stop(whole, ("\n",)))
    if m is not None:
        return _int_text(m.group(1)), "leading"
    for pattern, name in ((_ANSWER_IS, "answer_is"), (_ASSERT, "assert"), (_ANY_INT, "last_integer")):
        found = pattern.findall(whole)
        if found:
            return _int_text(found[-1]), name
    return "", "none"
