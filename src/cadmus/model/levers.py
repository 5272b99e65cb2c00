"""Positional levers for length and magnitude generalization (docs/generalization.md).

Four knobs of `cadmus.model.GPTConfig`, all off by default; a model without
them is exactly the plain GPT (same parameters, same logits):

- ``abacus`` (Abacus embeddings, after McLeish et al. 2024): a learned
  embedding of each digit's significance (1 = units, 2 = tens, ...; 0 = not a
  digit, which adds nothing) is added to the token embedding. In training each
  sequence's nonzero indices are shifted by one random ``k`` in ``[0,
  abacus_offset]``, so that the rows for long numbers are trained on short
  ones. Indices above ``abacus_max`` share the last row.
- ``coupling`` (position coupling, after Cho et al. 2024): the digits of equal
  significance of the numbers of a *group* share a position. A digit of
  significance ``j`` in a group whose first number starts at index ``f`` takes
  the position of index ``f + j - 1`` (so the first number keeps its own
  positions); every other token keeps its own. ``coupling="statement"``: a
  group is a statement (a newline or `<bos>` ends it, `<sep>` does not, so an
  answer is coupled with the numbers of the ``assert`` it completes);
  ``coupling="program"``: a group runs from one `<bos>` to the next, so an
  answer is coupled with every constant of its program.
- ``random_positions = R`` (randomized positions, after Ruoss et al. 2023): in
  training, the positions of a sequence of T tokens are a sorted random sample
  of T distinct values from ``[0, R)`` instead of ``0 .. T-1``; in evaluation
  and generation they are ``0 .. T-1``. Position tables have R rows.
- ``pos = "fire"`` (FIRE, after Li et al. 2023): a learned relative bias added
  to the attention scores, ``b(i, j) = f(psi(i - j) / psi(max(L, i)))`` with
  ``psi(x) = log(1 + c x)``, ``f`` an MLP from one value to one bias per head,
  ``c > 0`` and ``L`` learned; one FIRE for all layers, as T5 shares its
  relative bias. It replaces RoPE / ALiBi.

The digit levers read the tokenizer's side inputs (`cadmus.tokenizer.side_inputs`).
They need numbers written least significant digit first (``numbers="reversed"``):
only then is a digit's significance known when the digit is read, so that
training sees no future and a growing sequence never changes the inputs of the
tokens already cached. `LeverSource` computes a forward pass's `LeverInputs`
from token ids; a `GPT` holds one (`GPT.use_tokenizer` gives it the tokenizer)
and uses it whenever it is not handed inputs, and `generate` computes them for
the whole sequence at every step and passes the new tokens' slice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cadmus.model.errors import ModelError
from cadmus.tokenizer import side_inputs

# Defaults of the lever knobs: `GPTConfig.to_dict` leaves out a knob at its default, so the
# config file of a model without levers is what it was before the levers existed.
LEVER_DEFAULTS: dict[str, Any] = {
    "abacus": False,
    "abacus_max": 32,
    "abacus_offset": 0,
    "coupling": None,
    "random_positions": None,
}
COUPLINGS = ("statement", "program")  # values of `coupling` (None: off)
POSITION_LEVERS = ("rope", "learned")  # pos values that coupling and random positions act on
FIRE_HIDDEN = 32  # width of FIRE's MLP
FIRE_THRESHOLD = 16.0  # initial L: queries closer than L to the start are normalised by psi(L)


def uses_levers(config: Any) -> bool:
    """Whether a model config turns on a lever that needs `LeverInputs` (FIRE needs none)."""
    return bool(config.abacus or config.coupling is not None or config.random_positions is not None)


def uses_digits(config: Any) -> bool:
    """Whether a lever reads the tokenizer's side inputs (digit and number indices)."""
    return bool(config.abacus or config.coupling is not None)


def check_levers(config: Any) -> None:
    """Raise `ModelError` naming the key of a bad lever value or combination."""

    def positive_int(key: str, value: Any, low: int) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ModelError(f"must be an integer >= {low}, got {value!r}", key=key)

    if not isinstance(config.abacus, bool):
        raise ModelError(f"must be true or false, got {config.abacus!r}", key="abacus")
    if config.coupling is not None and config.coupling not in COUPLINGS:
        raise ModelError(
            f"must be one of {', '.join(COUPLINGS)} or null, got {config.coupling!r}", key="coupling"
        )
    positive_int("abacus_max", config.abacus_max, 1)
    positive_int("abacus_offset", config.abacus_offset, 0)
    if not config.abacus:
        for key in ("abacus_max", "abacus_offset"):
            if getattr(config, key) != LEVER_DEFAULTS[key]:
                raise ModelError("applies to Abacus embeddings only: set abacus = true", key=key)
    if config.abacus_offset >= config.abacus_max:
        raise ModelError(
            f"must be below abacus_max ({config.abacus_max}) so that a units digit keeps a row",
            key="abacus_offset",
        )
    if config.coupling is not None and config.pos not in POSITION_LEVERS:
        raise ModelError(
            f"position coupling changes the positions of rope or learned embeddings; pos={config.pos!r} "
            "has none to change",
            key="coupling",
        )
    if config.random_positions is not None:
        positive_int("random_positions", config.random_positions, config.block_size)
        if config.pos not in POSITION_LEVERS:
            raise ModelError(
                f"randomized positions apply to rope or learned positions, not pos={config.pos!r}",
                key="random_positions",
            )


@dataclass(frozen=True)
class LeverInputs:
    """What the levers add to one forward pass, per token ([B, T] int64 tensors or None)."""

    digits: torch.Tensor | None = None  # Abacus row of each token (0: none), offsets applied
    positions: torch.Tensor | None = None  # position of each token, replacing 0 .. T-1

    def last(self, n: int) -> LeverInputs:
        """The inputs of the last `n` tokens (the new ones of a cached decoding step)."""
        return LeverInputs(
            None if self.digits is None else self.digits[:, -n:],
            None if self.positions is None else self.positions[:, -n:],
        )


class LeverSource:
    """Computes `LeverInputs` for one model config from token ids (and the tokenizer's side inputs)."""

    def __init__(self, config: Any) -> None:
        self.config = config
        self.tokenizer: Any = None

    def use_tokenizer(self, tokenizer: Any) -> None:
        """The tokenizer whose ids the model reads; the digit levers need numbers="reversed"."""
        if uses_digits(self.config) and tokenizer.numbers != "reversed":
            key = "abacus" if self.config.abacus else "coupling"
            raise ModelError(
                f"needs numbers written units first (tokenizer numbers='reversed', not "
                f"{tokenizer.numbers!r}): only then is a digit's significance known when it is read",
                key=key,
            )
        self.tokenizer = tokenizer

    def side(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(digit_index, number_index) [B, T] of token ids idx, from the tokenizer."""
        if self.tokenizer is None:
            raise ModelError(
                "this model's levers read digit indices from its tokenizer: call model.use_tokenizer(tok) "
                "(load_model does it when tokenizer.json lies next to the weights)",
                key="abacus" if self.config.abacus else "coupling",
            )
        rows = [side_inputs(self.tokenizer, row) for row in idx.detach().cpu().numpy()]
        digit = torch.from_numpy(np.stack([d for d, _ in rows]))
        number = torch.from_numpy(np.stack([n for _, n in rows]))
        return digit.to(idx.device), number.to(idx.device)

    def __call__(
        self,
        idx: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        *,
        training: bool = False,
        generator: torch.Generator | None = None,
    ) -> LeverInputs:
        """The lever inputs of idx [B, T] (left padding marked by ``attention_mask``, 1 = token).

        ``training`` draws the random parts (Abacus offsets, random positions) on the CPU from
        `generator`, or from torch's global generator (seeded by the trainer, saved in checkpoints).
        """
        c = self.config
        B, T = idx.shape
        device = idx.device
        if attention_mask is None:
            base = torch.arange(T, device=device).expand(B, T)
        else:
            # As GPT.forward: a row's first real token is at position 0.
            base = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
        randomized = training and c.random_positions is not None
        if randomized:
            base = random_positions(B, T, c.random_positions, generator).to(device)
        digit = None
        if uses_digits(c):
            digit, _ = self.side(idx)
        positions = base if randomized else None
        if c.coupling is not None:
            groups = idx == self.tokenizer.bos_id
            if c.coupling == "statement":
                groups = groups | (idx == self.tokenizer.token_id("\n"))
            positions = coupled_positions(base, digit, first_numbers(groups, digit == 1))
        digits = None
        if c.abacus:
            digits = digit
            if training and c.abacus_offset > 0:
                k = torch.randint(0, c.abacus_offset + 1, (B, 1), generator=generator).to(device)
                digits = torch.where(digit > 0, digit + k, digit)
            digits = digits.clamp(max=c.abacus_max)
        return LeverInputs(digits, positions)


def random_positions(B: int, T: int, R: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """[B, T]: for each row, a sorted sample of T distinct positions from [0, R)."""
    keys = torch.rand(B, R, generator=generator)
    return keys.argsort(dim=1)[:, :T].sort(dim=1).values


def first_numbers(group: torch.Tensor, number_start: torch.Tensor) -> torch.Tensor:
    """[B, T] True on the first token of the first number of each group; a group starts at the row's
    start and at each token marked in `group` (`<bos>`, and newlines for statement groups)."""
    index = torch.arange(group.size(1), device=group.device).expand_as(group)
    before = number_start.long().cumsum(1) - number_start.long()  # number starts before each token
    latest = torch.where(group, index, torch.full_like(index, -1)).cummax(dim=1).values
    at_bos = torch.where(latest >= 0, before.gather(1, latest.clamp(min=0)), torch.zeros_like(before))
    return number_start & (before == at_bos)


def coupled_positions(base: torch.Tensor, digit: torch.Tensor, starts: torch.Tensor) -> torch.Tensor:
    """Position coupling over the positions `base` [B, T] (see the module docstring).

    `starts` marks the first token of each group's first number. With units first, a digit of
    significance j of any number of a group sits at index >= f + j - 1, f the index of the group's first
    number's units digit: a token's coupled position is never after its own and depends on earlier tokens
    only.
    """
    index = torch.arange(base.size(1), device=base.device).expand_as(base)
    first = torch.where(starts, index, torch.zeros_like(index)).cummax(dim=1).values
    anchor = torch.where(digit > 0, first + digit - 1, index)
    return base.gather(1, anchor)


class AbacusEmbedding(nn.Module):
    """A learned vector per digit significance 1 .. abacus_max; row 0 (not a digit) adds nothing."""

    def __init__(self, config: Any) -> None:
        super().__init__()
        self.table = nn.Embedding(config.abacus_max + 1, config.n_embd)

    def forward(self, digits: torch.Tensor) -> torch.Tensor:
        return self.table(digits) * (digits > 0).unsqueeze(-1).to(self.table.weight.dtype)


class FireBias(nn.Module):
    """FIRE's learned relative attention bias, one value per head: [B or 1, H, T, S]."""

    def __init__(self, config: Any) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(1, FIRE_HIDDEN), nn.ReLU(), nn.Linear(FIRE_HIDDEN, config.n_head))
        self.c_raw = nn.Parameter(torch.tensor(math.log(math.e - 1.0)))  # softplus(c_raw) = c, starts at 1
        self.threshold = nn.Parameter(torch.tensor(FIRE_THRESHOLD))

    def forward(self, distance: torch.Tensor, query_pos: torch.Tensor) -> torch.Tensor:
        """``distance`` [T, S] (query index - key index, >= 0 where attended); ``query_pos`` [B or 1, T]."""
        c = F.softplus(self.c_raw)
        scale = torch.maximum(query_pos.float(), self.threshold.abs()).clamp(min=1.0)
        ratio = torch.log1p(c * distance) / torch.log1p(c * scale).unsqueeze(-1)  # [B or 1, T, S]
        return self.mlp(ratio.unsqueeze(-1)).permute(0, 3, 1, 2)
