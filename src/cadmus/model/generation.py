"""Decoding: a per-layer key/value cache and batched autoregressive generation.

`GPT.forward` accepts a `KVCache`: the tokens it is given are then only the
new ones, their keys and values are appended, and attention reads every
cached position. `generate` drives that loop. Prompts of unequal length are
left-padded and passed with an ``attention_mask`` (1 = token, 0 = padding);
the cache remembers which key positions are padding, and positions are
counted from each row's first real token, so a batch decodes exactly as its
rows would alone. Cached and uncached decoding give the same tokens (tested
for every positional scheme and lever). A model with positional levers
(`cadmus.model.levers`) gets their inputs computed over the whole sequence at
every step; with a cache it is given the new tokens' slice.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

if TYPE_CHECKING:
    from cadmus.model.gpt import GPT, GPTConfig


class KVCache:
    """Keys and values of every layer for the positions seen so far (`cadmus.model.gpt.Cache`).

    Preallocated to ``max_len`` positions; ``length`` counts the filled ones.
    """

    def __init__(
        self, config: GPTConfig, batch: int, max_len: int, device: torch.device, dtype: torch.dtype
    ) -> None:
        shape = (batch, config.n_head, max_len, config.head_size)
        self.k = [torch.zeros(shape, device=device, dtype=dtype) for _ in range(config.n_layer)]
        self.v = [torch.zeros(shape, device=device, dtype=dtype) for _ in range(config.n_layer)]
        self._valid = torch.ones(batch, max_len, dtype=torch.bool, device=device)  # False on padding
        self._has_padding = False
        self.length = 0

    def mark(self, attention_mask: torch.Tensor | None, new: int) -> None:
        """Record which of the next `new` positions are real tokens (all, without a mask)."""
        if attention_mask is None:
            return
        self._valid[:, self.length : self.length + new] = attention_mask.bool()
        self._has_padding = self._has_padding or not bool(attention_mask.all())

    def key_valid(self, upto: int) -> torch.Tensor | None:
        """[B, upto] True on real tokens, or None when no row has padding."""
        return self._valid[:, :upto] if self._has_padding else None

    def update(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Store k, v [B, H, T, hs] after the filled positions; return all keys and values."""
        start, end = self.length, self.length + k.size(2)
        self.k[layer][:, :, start:end] = k
        self.v[layer][:, :, start:end] = v
        return self.k[layer][:, :, :end], self.v[layer][:, :, :end]

    def advance(self, new: int) -> None:
        """Count `new` positions as filled (every layer has stored them)."""
        self.length += new


def sample_next(
    logits: torch.Tensor,
    temperature: float = 0.0,
    top_k: int | None = None,
    generator: torch.Generator | None = None,
    top_p: float = 1.0,
) -> torch.Tensor:
    """One token id per row from last-position logits [B, vocab]; ``temperature=0`` is greedy.

    Sampling divides by `temperature`, keeps the `top_k` largest logits, then the nucleus of
    mass `top_p` (:func:`nucleus`)."""
    logits = logits.float()
    if temperature <= 0:
        return logits.argmax(dim=-1)
    logits = logits / temperature
    if top_k is not None:
        kth = torch.topk(logits, min(top_k, logits.size(-1))).values[:, -1:]
        logits = logits.masked_fill(logits < kth, -math.inf)
    probs = F.softmax(logits, dim=-1)
    if top_p < 1.0:
        probs = nucleus(probs, top_p)
    return torch.multinomial(probs, 1, generator=generator).squeeze(1)


def nucleus(probs: torch.Tensor, top_p: float) -> torch.Tensor:
    """`probs` [B, vocab] (rows sum to 1) kept on the smallest set of most likely tokens whose
    mass reaches `top_p` (the most likely token always stays), zero elsewhere; not renormalized
    (multinomial does not need it)."""
    ordered, index = probs.sort(dim=-1, descending=True)
    before = ordered.cumsum(dim=-1) - ordered  # mass of the tokens ahead of each one
    ordered = ordered.masked_fill(before >= top_p, 0.0)
    return torch.zeros_like(probs).scatter(-1, index, ordered)


@torch.no_grad()
def generate(
    model: GPT,
    idx: torch.Tensor,
    max_new_tokens: int,
    temperature: float = 0.0,
    top_k: int | None = None,
    eos_id: int | None = None,
    use_cache: bool = True,
    attention_mask: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Continue each row of idx [B, T]; returns [B, T + n] with n <= max_new_tokens.

    ``temperature=0`` is greedy. Rows of unequal length: left-pad them and
    pass ``attention_mask`` (1 = token). Once a row has produced ``eos_id``
    it keeps producing ``eos_id``; generation stops early when every row has.
    At most ``block_size`` tokens in all: the budget is cut to fit.
    """
    B, T = idx.shape
    max_new_tokens = min(max_new_tokens, model.config.block_size - T)
    cache = None
    if use_cache:
        p = next(model.parameters())
        cache = KVCache(model.config, B, T + max_new_tokens, p.device, p.dtype)
    done = torch.zeros(B, dtype=torch.bool, device=idx.device)
    out = idx
    mask = attention_mask
    source = getattr(model, "lever_source", None)
    full_mask = attention_mask  # over all of `out`, for the levers' inputs
    for step in range(max_new_tokens):
        extra = {}
        if source is not None:
            levers = source(out, full_mask)
            extra["levers"] = levers if cache is None or step == 0 else levers.last(1)
        if cache is not None:
            logits, _ = model(out if step == 0 else out[:, -1:], attention_mask=mask, cache=cache, **extra)
            mask = None  # the new tokens are all real
        else:
            logits, _ = model(out, attention_mask=mask, **extra)
        nxt = sample_next(logits[:, -1, :], temperature, top_k, generator)
        if eos_id is not None:
            nxt = torch.where(done, torch.full_like(nxt, eos_id), nxt)
            done = done | (nxt == eos_id)
        out = torch.cat((out, nxt.unsqueeze(1)), dim=1)
        if source is not None and full_mask is not None:
            full_mask = torch.cat((full_mask, torch.ones_like(full_mask[:, :1])), dim=1)
        if cache is None and mask is not None:
            mask = torch.cat((mask, torch.ones_like(mask[:, :1])), dim=1)
        if eos_id is not None and bool(done.all()):
            break
    return out
