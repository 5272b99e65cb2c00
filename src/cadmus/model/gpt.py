"""A decoder-only transformer (GPT) meant to be read in one sitting.

Shape of the network, bottom to top::

    tokens -> wte (+ wpe if pos == "learned") -> dropout
           -> n_layer x Block:  x = x + attn(norm1(x));  x = x + mlp(norm2(x))
           -> ln_f -> lm_head (tied to wte by default) -> logits

``model(idx, targets)`` returns ``(logits, loss)``, as nanoGPT does: the
cross-entropy of the targets, where a target of ``IGNORE_INDEX`` (-1) is not
counted (prompt tokens and padding under the trainer's completion loss).
``reduction="sum"`` gives the sum of the counted token losses, which the
trainer divides by the count over its whole global batch. Without targets
the loss is None.

Every intermediate activation of interest passes through a `HookPoint`, an
identity module that calls the functions registered on it the way
TransformerLens does: ``fn(tensor, hook=hook_point)``, so both ``lambda t,
hook: ...`` and ``def fn(t, *, hook): ...`` work. A function that returns a
tensor replaces the activation; one that returns None leaves it. Hook names,
for each layer ``i``::

    blocks.{i}.hook_resid_pre     input of the block              [B, T, D]
    blocks.{i}.attn.hook_pattern  attention probabilities         [B, H, T, S]
    blocks.{i}.attn.hook_z        each head's output, before proj [B, T, H, hs]
    blocks.{i}.hook_attn_out      attention output (before add)   [B, T, D]
    blocks.{i}.hook_resid_mid     after the attention residual    [B, T, D]
    blocks.{i}.hook_mlp_out       MLP output (before add)         [B, T, D]
    blocks.{i}.hook_resid_post    output of the block             [B, T, D]

Attention has two paths. When nothing is registered on ``hook_pattern`` the
fused ``F.scaled_dot_product_attention`` runs (fast, the pattern is never
materialised). When a function is registered there (``run_with_cache`` does)
the attention is computed explicitly -- softmax(q k^T / sqrt(d) + bias) v --
so the pattern can be read or overwritten. Both give the same logits up to
float rounding (tested). ``hook_z`` holds each head's output (pattern @ v)
before the heads are concatenated and projected: patching or ablating one
head is editing its slice ``[:, :, h]``. It is only called when a function is
registered on it, so a forward pass without hooks does exactly what it did.

Positional levers (Abacus digit embeddings, position coupling, randomized
positions, the FIRE bias; all off by default) live in `cadmus.model.levers`:
here they only add ``abacus(digits)`` to the embeddings, replace the
positions, or give the attention bias (``pos == "fire"``, like ALiBi's).

Generation (the key/value cache and the decoding loop) lives in
`cadmus.model.generation`, which builds on this module; ``forward`` only
accepts a cache (anything with the `Cache` interface) and left-padding masks
(``attention_mask``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from cadmus.model.errors import ModelError
from cadmus.model.levers import (
    LEVER_DEFAULTS,
    AbacusEmbedding,
    FireBias,
    LeverInputs,
    LeverSource,
    check_levers,
    uses_levers,
)

MLPS = ("gelu", "swiglu", "relu2")
NORMS = ("layernorm", "rmsnorm")
POSITIONS = ("rope", "learned", "alibi", "none", "fire")
IGNORE_INDEX = -1  # a target that counts for no loss

# A hook: called as fn(activation, hook=hook_point); a returned tensor replaces the activation.
HookFn = Callable[..., torch.Tensor | None]


@dataclass
class GPTConfig:
    """Every architectural knob. `vocab_size` is normally set from the tokenizer."""

    vocab_size: int = 512
    block_size: int = 256  # longest sequence (context) the model sees
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    mlp: str = "gelu"  # gelu | swiglu | relu2
    norm: str = "layernorm"  # layernorm | rmsnorm
    pos: str = "rope"  # rope | learned | alibi | none | fire
    dropout: float = 0.0
    bias: bool = False  # biases in linear layers and LayerNorm
    tie_embeddings: bool = True  # lm_head shares the token embedding matrix
    qk_norm: bool = False  # RMS-normalise queries and keys per head
    rope_base: float = 10000.0
    # Positional levers (cadmus.model.levers, docs/generalization.md), all off by default.
    abacus: bool = False  # add an embedding of each digit's significance (Abacus)
    abacus_max: int = 32  # Abacus rows: significances 1..abacus_max (larger ones share the last)
    abacus_offset: int = 0  # training: shift each sequence's digit indices by a random k in [0, this]
    coupling: str | None = None  # statement | program: digits of equal significance share a position
    random_positions: int | None = None  # training: positions sampled (sorted) from [0, this)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        def bad(key: str, msg: str) -> ModelError:
            return ModelError(msg, key=key)

        for key in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            value = getattr(self, key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise bad(key, f"must be a positive integer, got {value!r}")
        if self.n_embd % self.n_head:
            raise bad("n_embd", f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")
        if self.pos == "rope" and (self.n_embd // self.n_head) % 2:
            raise bad("n_head", "rotary embeddings need an even head size (n_embd / n_head)")
        for key, allowed in (("mlp", MLPS), ("norm", NORMS), ("pos", POSITIONS)):
            if getattr(self, key) not in allowed:
                raise bad(key, f"must be one of {', '.join(allowed)}, got {getattr(self, key)!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise bad("dropout", f"must be in [0, 1), got {self.dropout!r}")
        check_levers(self)

    @property
    def head_size(self) -> int:
        return self.n_embd // self.n_head

    @property
    def n_positions(self) -> int:
        """Rows of the position tables: the positions a model can be given."""
        return self.random_positions if self.random_positions is not None else self.block_size

    def to_dict(self) -> dict[str, Any]:
        """Every knob, except a lever knob at its default (so lever-free configs read as before)."""
        data = asdict(self)
        return {k: v for k, v in data.items() if k not in LEVER_DEFAULTS or v != LEVER_DEFAULTS[k]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GPTConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ModelError(f"unknown model config key(s): {', '.join(unknown)}", key=unknown[0])
        return cls(**data)


class Cache(Protocol):
    """What ``forward`` needs from a key/value cache (`cadmus.model.generation.KVCache`)."""

    length: int  # positions already stored

    def mark(self, attention_mask: torch.Tensor | None, new: int) -> None:
        """Record which of the next `new` positions are real tokens."""

    def key_valid(self, upto: int) -> torch.Tensor | None:
        """[B, upto] True on real tokens, or None when no row has padding."""

    def update(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Append this layer's new keys and values; return all of them."""

    def advance(self, new: int) -> None:
        """Count `new` positions as stored."""


class HookPoint(nn.Module):
    """Identity on the forward pass; calls each registered ``fn(tensor, hook=self)``.

    The hook point is passed by keyword, as TransformerLens does. A function
    may return a tensor, which replaces the activation for the rest of the
    forward pass, or None to leave it unchanged.
    """

    def __init__(self) -> None:
        super().__init__()
        self.name = ""  # set by GPT to the dotted module name
        self.fns: list[HookFn] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for fn in self.fns:
            out = fn(x, hook=self)
            if out is not None:
                x = out
        return x

    def __repr__(self) -> str:
        return f"HookPoint({self.name!r})"


def rms_norm(x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)


def make_norm(config: GPTConfig) -> nn.Module:
    if config.norm == "rmsnorm":
        return nn.RMSNorm(config.n_embd, eps=1e-6)
    return nn.LayerNorm(config.n_embd, bias=config.bias)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate pairs (first half, second half) of each head vector by position-dependent angles."""
    half = x.size(-1) // 2
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1).type_as(x)


def alibi_slopes(n_head: int) -> torch.Tensor:
    """The geometric slopes of ALiBi (Press et al.), also for head counts that are not powers of 2."""
    closest = 2 ** math.floor(math.log2(n_head))
    base = [2 ** (-8 * (i + 1) / closest) for i in range(closest)]
    extra = [2 ** (-4 * (2 * i + 1) / closest) for i in range(n_head - closest)]
    return torch.tensor(base + extra)


class Attention(nn.Module):
    def __init__(self, config: GPTConfig, layer: int) -> None:
        super().__init__()
        self.config = config
        self.layer = layer
        self.qkv = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.proj.residual_scale = True  # marks the GPT-2 scaled init
        self.attn_dropout = nn.Dropout(config.dropout)
        self.hook_pattern = HookPoint()
        self.hook_z = HookPoint()

    def forward(self, x: torch.Tensor, ctx: _Context) -> torch.Tensor:
        B, T, D = x.shape
        H, hs = self.config.n_head, self.config.head_size
        q, k, v = self.qkv(x).split(D, dim=2)
        q = q.view(B, T, H, hs).transpose(1, 2)  # [B, H, T, hs]
        k = k.view(B, T, H, hs).transpose(1, 2)
        v = v.view(B, T, H, hs).transpose(1, 2)
        if self.config.qk_norm:
            q, k = rms_norm(q), rms_norm(k)
        if ctx.cos is not None:
            q, k = apply_rope(q, ctx.cos, ctx.sin), apply_rope(k, ctx.cos, ctx.sin)
        if ctx.cache is not None:
            k, v = ctx.cache.update(self.layer, k, v)
        dropout = self.config.dropout if self.training else 0.0
        if not self.hook_pattern.fns:
            # Fast path: fused kernel; the pattern is never materialised.
            if ctx.mask is None:
                y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout, is_causal=ctx.causal)
            else:
                y = F.scaled_dot_product_attention(q, k, v, attn_mask=ctx.mask, dropout_p=dropout)
        else:
            # Explicit path: the same computation, with the pattern visible to hooks.
            scores = (q @ k.transpose(-2, -1)) / math.sqrt(hs)
            if ctx.mask is not None:
                scores = (
                    scores + ctx.mask
                    if ctx.mask.is_floating_point()
                    else scores.masked_fill(~ctx.mask, -math.inf)
                )
            elif ctx.causal:
                S = k.size(2)
                keep = torch.ones(T, S, dtype=torch.bool, device=x.device).tril(diagonal=S - T)
                scores = scores.masked_fill(~keep, -math.inf)
            pattern = self.hook_pattern(F.softmax(scores.float(), dim=-1).type_as(q))
            y = self.attn_dropout(pattern) @ v
        y = y.transpose(1, 2)  # [B, T, H, hs]: each head's output
        if self.hook_z.fns:
            y = self.hook_z(y)
        return self.proj(y.contiguous().view(B, T, D))


class MLP(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.kind = config.mlp
        d = config.n_embd
        if self.kind == "swiglu":
            # 2/3 of the usual 4d hidden width, so the parameter count matches the gelu MLP.
            hidden = 32 * math.ceil(8 * d / 3 / 32)
            self.fc = nn.Linear(d, 2 * hidden, bias=config.bias)
        else:
            hidden = 4 * d
            self.fc = nn.Linear(d, hidden, bias=config.bias)
        self.proj = nn.Linear(hidden, d, bias=config.bias)
        self.proj.residual_scale = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.fc(x)
        if self.kind == "gelu":
            h = F.gelu(h)
        elif self.kind == "relu2":
            h = F.relu(h).square()
        else:
            gate, up = h.chunk(2, dim=-1)
            h = F.silu(gate) * up
        return self.proj(h)


class Block(nn.Module):
    def __init__(self, config: GPTConfig, layer: int) -> None:
        super().__init__()
        # Registered in the order the forward pass reaches them, so hook_points() lists them so.
        self.hook_resid_pre = HookPoint()
        self.norm1 = make_norm(config)
        self.attn = Attention(config, layer)
        self.hook_attn_out = HookPoint()
        self.hook_resid_mid = HookPoint()
        self.norm2 = make_norm(config)
        self.mlp = MLP(config)
        self.hook_mlp_out = HookPoint()
        self.hook_resid_post = HookPoint()
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor, ctx: _Context) -> torch.Tensor:
        x = self.hook_resid_pre(x)
        x = self.hook_resid_mid(x + self.hook_attn_out(self.dropout(self.attn(self.norm1(x), ctx))))
        x = self.hook_resid_post(x + self.hook_mlp_out(self.dropout(self.mlp(self.norm2(x)))))
        return x


@dataclass
class _Context:
    """What every attention layer needs to know about this forward pass."""

    cos: torch.Tensor | None  # rotary tables for these positions, [B or 1, 1, T, hs/2]
    sin: torch.Tensor | None
    mask: torch.Tensor | None  # bool (True = attend) or float bias, broadcast to [B, H, T, S]
    causal: bool  # when mask is None: plain causal mask (True) or none needed (False)
    cache: Cache | None


class GPT(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.n_positions, config.n_embd) if config.pos == "learned" else None
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config, i) for i in range(config.n_layer))
        self.ln_f = make_norm(config)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        if config.tie_embeddings:
            self.lm_head.weight = self.wte.weight
        if config.pos == "rope":
            half = config.head_size // 2
            inv_freq = config.rope_base ** (-torch.arange(half, dtype=torch.float32) / half)
            angles = torch.outer(torch.arange(config.n_positions, dtype=torch.float32), inv_freq)
            self.register_buffer("rope_cos", angles.cos(), persistent=False)
            self.register_buffer("rope_sin", angles.sin(), persistent=False)
        if config.pos == "alibi":
            self.register_buffer("alibi", alibi_slopes(config.n_head), persistent=False)
        for name, module in self.named_modules():
            if isinstance(module, HookPoint):
                module.name = name
        self.apply(self._init_weights)
        # Levers come last, so that every other weight is initialised exactly as without them.
        self.abacus = AbacusEmbedding(config) if config.abacus else None
        self.fire = FireBias(config) if config.pos == "fire" else None
        for lever in (self.abacus, self.fire):
            if lever is not None:
                lever.apply(self._init_weights)
        self.lever_source = LeverSource(config) if uses_levers(config) else None

    def _init_weights(self, module: nn.Module) -> None:
        """GPT-2 init: N(0, 0.02); residual projections scaled by 1/sqrt(2 * n_layer)."""
        if isinstance(module, nn.Linear):
            std = 0.02
            if getattr(module, "residual_scale", False):
                std = 0.02 / math.sqrt(2 * self.config.n_layer)
            nn.init.normal_(module.weight, mean=0.0, std=std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    # ----------------------------------------------------------------- sizes

    def n_params(self, embeddings: bool = False) -> int:
        """Parameter count. By default *non-embedding*: the token and position
        embedding tables are left out (and so is the lm_head when it is tied to
        the token embedding, as it is the same tensor); an untied lm_head counts.
        ``embeddings=True`` counts every distinct tensor once."""
        total = sum(p.numel() for p in self.parameters())  # shared tensors appear once
        if embeddings:
            return total
        total -= self.wte.weight.numel()
        if self.wpe is not None:
            total -= self.wpe.weight.numel()
        if self.abacus is not None:
            total -= self.abacus.table.weight.numel()
        return total

    def use_tokenizer(self, tokenizer: Any) -> None:
        """Give the levers that read digit indices the tokenizer of the ids (no-op without levers)."""
        if self.lever_source is not None:
            self.lever_source.use_tokenizer(tokenizer)

    def flops_per_token(self, seq_len: int) -> float:
        """Training FLOPs per token, 6N + 12*L*H*Q*T (PaLM appendix B, as nanoGPT).

        N counts every weight that does a matmul per token: the non-embedding
        parameters plus the output projection (the lm_head, tied or not); the
        embedding lookups do no matmul and are left out.
        """
        c = self.config
        n = self.n_params() + (self.lm_head.weight.numel() if c.tie_embeddings else 0)
        return 6 * n + 12 * c.n_layer * c.n_head * c.head_size * seq_len

    # ------------------------------------------------------------------ forward

    def forward(
        self,
        idx: torch.Tensor,
        targets: torch.Tensor | None = None,
        *,
        reduction: Literal["mean", "sum", "none"] = "mean",
        attention_mask: torch.Tensor | None = None,
        cache: Cache | None = None,
        levers: LeverInputs | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(logits [B, T, vocab], loss)`` for token ids idx [B, T].

        ``targets`` [B, T] give the loss: cross-entropy in float32 over the
        targets that are not ``IGNORE_INDEX``; ``reduction`` is ``mean`` (over
        those), ``sum`` or ``none`` (per position, [B, T], 0 where ignored).
        Without targets the loss is None. ``attention_mask`` [B, T] (1 =
        token, 0 = left padding) masks padding out as keys. With ``cache``,
        idx holds only the new tokens; their keys and values are appended.
        ``levers``: the positional levers' inputs of these tokens
        (`cadmus.model.levers`); a model with levers computes them from idx
        when they are not given, except with a cache (`generate` passes them).
        """
        T = idx.size(1)
        past = cache.length if cache is not None else 0
        if past + T > self.config.block_size:
            raise ModelError(f"sequence of {past + T} tokens exceeds block_size {self.config.block_size}")
        if cache is not None:
            cache.mark(attention_mask, T)
            key_valid = cache.key_valid(past + T)
        else:
            key_valid = attention_mask.bool() if attention_mask is not None else None
        if key_valid is None:
            positions = torch.arange(past, past + T, device=idx.device).unsqueeze(0)
        else:
            # Left padding shifts a row's positions so that its first real token is at 0.
            positions = (key_valid.long().cumsum(-1) - 1).clamp(min=0)[:, past:]
        if self.lever_source is not None:
            if levers is None:
                if cache is not None:
                    raise ModelError("a model with positional levers needs levers= with a cache (generate)")
                levers = self.lever_source(idx, attention_mask, training=self.training)
            if levers.positions is not None:
                positions = levers.positions
        x = self.wte(idx)
        if self.wpe is not None:
            x = x + self.wpe(positions)
        if self.abacus is not None:
            x = x + self.abacus(levers.digits)
        x = self.drop(x)
        ctx = self._context(T, past, positions, key_valid, cache)
        for block in self.blocks:
            x = block(x, ctx)
        logits = self.lm_head(self.ln_f(x))
        if cache is not None:
            cache.advance(T)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(
                logits.float().flatten(0, 1),
                targets.flatten(),
                ignore_index=IGNORE_INDEX,
                reduction=reduction,
            )
            if reduction == "none":
                loss = loss.view_as(targets)
        return logits, loss

    def _context(
        self,
        T: int,
        past: int,
        positions: torch.Tensor,
        key_valid: torch.Tensor | None,
        cache: Cache | None,
    ) -> _Context:
        """Rotary tables and the attention mask (or ALiBi bias) for T queries after `past` keys."""
        c = self.config
        cos = sin = None
        if c.pos == "rope":
            cos = self.rope_cos[positions].unsqueeze(1)  # [B or 1, 1, T, hs/2]
            sin = self.rope_sin[positions].unsqueeze(1)
        S = past + T
        need_mask = key_valid is not None or c.pos in ("alibi", "fire") or (past > 0 and T > 1)
        if not need_mask:
            return _Context(cos, sin, None, causal=(T > 1), cache=cache)
        device = positions.device
        q_idx = torch.arange(past, S, device=device).unsqueeze(1)
        k_idx = torch.arange(S, device=device).unsqueeze(0)
        keep = (k_idx <= q_idx).view(1, 1, T, S)
        if key_valid is not None:
            # A padding query keeps itself as key so its softmax row is never empty.
            keep = (keep & key_valid.view(-1, 1, 1, S)) | (k_idx == q_idx).view(1, 1, T, S)
        if c.pos not in ("alibi", "fire"):
            return _Context(cos, sin, keep, causal=False, cache=cache)
        distance = (q_idx - k_idx).clamp(min=0).float()  # [T, S]
        if c.pos == "fire":
            bias = self.fire(distance, positions)  # [B or 1, H, T, S]
        else:
            bias = -self.alibi.view(1, -1, 1, 1) * distance  # [1, H, T, S]
        bias = bias.masked_fill(~keep, -math.inf)
        return _Context(cos, sin, bias, causal=False, cache=cache)

    # -------------------------------------------------------------------- hooks

    def hook_points(self) -> dict[str, HookPoint]:
        """Every hook point by name, in forward order."""
        return {m.name: m for m in self.modules() if isinstance(m, HookPoint)}

    @contextmanager
    def hooks(self, fwd_hooks: Sequence[tuple[str, HookFn]]) -> Iterator[GPT]:
        """Register ``(name, fn)`` pairs for the duration of the ``with`` block."""
        points = self.hook_points()
        added: list[tuple[HookPoint, HookFn]] = []
        try:
            for name, fn in fwd_hooks:
                if name not in points:
                    raise ModelError(f"no hook point named {name!r} (see GPT.hook_points())")
                points[name].fns.append(fn)
                added.append((points[name], fn))
            yield self
        finally:
            for point, fn in added:
                point.fns.remove(fn)

    def run_with_hooks(
        self, idx: torch.Tensor, fwd_hooks: Sequence[tuple[str, HookFn]] = (), **kwargs: Any
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """A forward pass with temporary hooks; returns what ``forward`` does: ``(logits, loss)``."""
        with self.hooks(fwd_hooks):
            return self(idx, **kwargs)

    def run_with_cache(
        self, idx: torch.Tensor, names_filter: Callable[[str], bool] | None = None, **kwargs: Any
    ) -> tuple[tuple[torch.Tensor, torch.Tensor | None], dict[str, torch.Tensor]]:
        """A forward pass that records activations: ``((logits, loss), {hook name: tensor})``.

        As in TransformerLens, the first item is what ``forward`` returns.
        Tensors are detached; attention patterns are computed explicitly.
        """
        store: dict[str, torch.Tensor] = {}

        def save(tensor: torch.Tensor, *, hook: HookPoint) -> None:
            store[hook.name] = tensor.detach()

        names = [n for n in self.hook_points() if names_filter is None or names_filter(n)]
        out = self.run_with_hooks(idx, [(n, save) for n in names], **kwargs)
        return out, store
