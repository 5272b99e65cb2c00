"""`cadmus complete`: the model continues a program prefix and the VM judges the result."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cadmus.eval.pipeline import Checkpoint, EvalError, generate_answers
from cadmus.lang import check


@dataclass(frozen=True)
class Completion:
    prefix: str
    completion: str
    verdict: Any  # cadmus.lang.Verdict of prefix + completion

    @property
    def program(self) -> str:
        return self.prefix + self.completion


def complete(
    ckpt: Checkpoint, prefix: str, *, max_new_tokens: int = 64, temperature: float = 0.0
) -> Completion:
    """Complete `prefix` as the model was trained to (prompt, then `<sep>`), then check the program."""
    text = generate_answers(
        ckpt, [prefix], ["output"], max_new_tokens=[max_new_tokens], temperature=temperature
    )[0][0]
    if text is None:
        raise EvalError(
            f"the prefix does not fit the model's context of {ckpt.model.config.block_size} tokens"
        )
    program = prefix + text
    if not program.endswith("\n"):
        program += "\n"
    return Completion(prefix, text, check(program))
