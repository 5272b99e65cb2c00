"""Pretrained Hugging Face causal LMs inside Cadmus's trainer and evaluator.

Three adapters give a transformers model the interfaces Cadmus's own model
and tokenizer have, so that the one training loop (`cadmus.train.train`), the
packer (`cadmus.tokenizer.pack`) and the evaluator (`cadmus.eval`) run it
unchanged:

- `HFTokenizer` wraps the model's own tokenizer. An example is framed as
  ``prefix + prompt + completion + eos``: ``prefix`` is whatever the
  tokenizer itself puts before a text (``<s>`` for Llama, nothing for
  SmolLM2), prompt and completion are encoded separately (so the prompt's ids
  are the same in training and in generation), and ``eos`` is the tokenizer's
  end-of-sequence token, which ends every answer. There is no separator token.
- `HFCausalLM` wraps the model: ``forward(idx, targets, *, reduction)``
  returns ``(logits, loss)`` with Cadmus's loss (float32 cross-entropy over
  targets that are not ``IGNORE_INDEX``), ``n_params``, ``flops_per_token``,
  ``config.block_size``/``n_layer``/..., and TransformerLens-style hook
  points on the decoder layers where the architecture has Llama's layout.
  `generate_hf` decodes with the model's own key/value cache, under the
  contract of `cadmus.model.generate` (left padding, positions counted from
  each row's first token).
- `HFBackend` is the trainer's backend (`cadmus.train.Backend`): the model
  in float32 (the loop's autocast makes it bf16 on a GPU), optionally with
  LoRA adapters (peft) and gradient checkpointing; checkpoints hold
  ``save_pretrained`` files (the adapters alone under LoRA), the tokenizer
  and ``backend.json``.

This module imports torch and transformers; `cadmus.hf` loads it only when
one of its names is used.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from cadmus.files import sha256_file, write_json
from cadmus.hf.errors import HFError
from cadmus.hf.pretrained import resolve_pretrained
from cadmus.model import IGNORE_INDEX, HookPoint, sample_next
from cadmus.tokenizer import TokenizerError
from cadmus.train import BACKEND, TrainConfig

FRAMING = 1  # version of the example framing; part of the tokenizer's identity
BACKEND_FORMAT = "cadmus-backend"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
FULL_WEIGHTS = "model.safetensors"


# ------------------------------------------------------------------ tokenizer


class HFTokenizer:
    """A Hugging Face (fast) tokenizer behind the interface of Cadmus's `Tokenizer` that packing,
    training and evaluation use: `encode`, `decode`, `encode_prompt`, `encode_example`, the
    special ids, `vocab_size`, `sha256`, `save`."""

    numbers = None  # no Cadmus number scheme
    sep_id = None  # no separator: the prompt's text leads straight into the answer

    def __init__(self, tokenizer: Any, *, name: str) -> None:
        if not getattr(tokenizer, "is_fast", False) or getattr(tokenizer, "backend_tokenizer", None) is None:
            raise HFError(f"{name}: a fast (tokenizers) tokenizer is needed, got {type(tokenizer).__name__}")
        self.hf = tokenizer
        self.name = name
        if tokenizer.eos_token_id is None:
            raise HFError(f"{name}: the tokenizer has no end-of-sequence token, which ends every answer")
        self.eos_id = int(tokenizer.eos_token_id)
        self.bos_id = None if tokenizer.bos_token_id is None else int(tokenizer.bos_token_id)
        self.pad_id = int(tokenizer.pad_token_id) if tokenizer.pad_token_id is not None else self.eos_id
        self.vocab_size = len(tokenizer)
        self.prefix = self._prefix()
        self._sha256: str | None = None

    def _prefix(self) -> list[int]:
        """The ids the tokenizer puts before a text when asked for its special tokens."""
        bare = self.hf("x", add_special_tokens=False)["input_ids"]
        full = self.hf("x", add_special_tokens=True)["input_ids"]
        for start in range(len(full) - len(bare) + 1):
            if full[start : start + len(bare)] == bare:
                return [int(i) for i in full[:start]]
        return []

    def encode(self, text: str) -> list[int]:
        """The ids of bare text (no special tokens)."""
        if not isinstance(text, str):
            raise TokenizerError(f"expected text, got {type(text).__name__}")
        return [int(i) for i in self.hf(text, add_special_tokens=False)["input_ids"]]

    def encode_prompt(self, text: str) -> list[int]:
        """The ids a prompt is given to the model as: the tokenizer's prefix, then the prompt."""
        return [*self.prefix, *self.encode(text)]

    def encode_example(self, prompt: str, completion: str) -> tuple[list[int], int]:
        """``(ids, n_prompt)`` of a training example: ``prefix prompt completion eos``."""
        head = self.encode_prompt(prompt)
        return [*head, *self.encode(completion), self.eos_id], len(head)

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = False) -> str:
        return str(
            self.hf.decode(
                [int(i) for i in ids],
                skip_special_tokens=skip_special_tokens,
                clean_up_tokenization_spaces=False,
            )
        )

    def id_to_token(self, i: int) -> str:
        return str(self.hf.convert_ids_to_tokens(int(i)))

    def to_dict(self) -> dict[str, Any]:
        """What `pack.json` records of the tokenizer (its vocabulary is in its tokenizer.json)."""
        return {
            "format": "hf",
            "name": self.name,
            "framing": "prefix + prompt + completion + eos",
            "framing_version": FRAMING,
            "prefix": self.prefix,
            "bos": self.bos_id,
            "eos": self.eos_id,
            "pad": self.pad_id,
            "vocab_size": self.vocab_size,
        }

    @property
    def sha256(self) -> str:
        """Hash of the tokenizer's full definition and the framing: equal hashes, equal packs."""
        if self._sha256 is None:
            h = hashlib.sha256(self.hf.backend_tokenizer.to_str().encode())
            h.update(json.dumps({k: v for k, v in self.to_dict().items() if k != "name"}).encode())
            self._sha256 = h.hexdigest()
        return self._sha256

    def save(self, path: str | Path) -> Path:
        """Write the tokenizer's ``tokenizer.json`` (the `tokenizers` definition) to `path`."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.hf.backend_tokenizer.save(str(path))
        return path

    def __repr__(self) -> str:
        return f"HFTokenizer({self.name!r}, vocab {self.vocab_size})"


# ---------------------------------------------------------------------- model


@dataclass(frozen=True)
class HFShape:
    """A pretrained model's shape under the names of `cadmus.model.GPTConfig`."""

    architecture: str
    block_size: int  # the longest sequence Cadmus gives it (at most its context)
    n_layer: int
    n_head: int
    n_kv_head: int
    n_embd: int
    head_size: int
    vocab_size: int


def _base_model(model: Any) -> Any:
    """The transformers model under a peft wrapper (or the model itself)."""
    get = getattr(model, "get_base_model", None)
    return get() if callable(get) else model


def _is_peft(model: Any) -> bool:
    return callable(getattr(model, "get_base_model", None))


def _llama_layers(base: Any) -> nn.ModuleList | None:
    """The decoder layers when they have Llama's layout (``model.layers[i].self_attn/.mlp``)."""
    layers = getattr(getattr(base, "model", None), "layers", None)
    if isinstance(layers, nn.ModuleList) and all(
        hasattr(x, "self_attn") and hasattr(x, "mlp") for x in layers
    ):
        return layers
    return None


class HFCausalLM(nn.Module):
    """A transformers causal LM (optionally under peft) with Cadmus's model interface.

    ``model(idx, targets, reduction=...)`` -> ``(logits, loss)`` as `cadmus.model.GPT`; with an
    ``attention_mask`` (left padding), positions count from each row's first token. Hook points
    (Llama-style layers only): ``blocks.{i}.hook_resid_pre``, ``hook_attn_out``, ``hook_mlp_out``,
    ``hook_resid_post``, called as ``fn(tensor, hook=point)``; a returned tensor replaces the
    activation.
    """

    def __init__(self, model: Any, *, block_size: int | None = None) -> None:
        super().__init__()
        self.hf = model
        base = _base_model(model)
        c = base.config
        context = getattr(c, "max_position_embeddings", None)
        if block_size is not None and context is not None and block_size > context:
            raise HFError(
                f"block_size {block_size} exceeds the model's context of {context} tokens",
                key="model.block_size",
            )
        block = block_size or context
        if not block:
            raise HFError(
                "the model's config gives no context length: set model.block_size", key="model.block_size"
            )
        n_head = int(c.num_attention_heads)
        n_embd = int(c.hidden_size)
        self.config = HFShape(
            architecture=type(base).__name__,
            block_size=int(block),
            n_layer=int(c.num_hidden_layers),
            n_head=n_head,
            n_kv_head=int(getattr(c, "num_key_value_heads", None) or n_head),
            n_embd=n_embd,
            head_size=int(getattr(c, "head_dim", None) or n_embd // n_head),
            vocab_size=int(base.get_input_embeddings().num_embeddings),
        )
        self._points: dict[str, HookPoint] = {}
        self._sites: dict[str, tuple[nn.Module, str]] = {}  # hook name -> (module, kind)
        layers = _llama_layers(base)
        for i, layer in enumerate(layers if layers is not None else ()):
            for suffix, module, kind in (
                ("hook_resid_pre", layer, "pre"),
                ("hook_attn_out", layer.self_attn, "post"),
                ("hook_mlp_out", layer.mlp, "post"),
                ("hook_resid_post", layer, "post"),
            ):
                name = f"blocks.{i}.{suffix}"
                point = HookPoint()
                point.name = name
                self._points[name] = point
                self._sites[name] = (module, kind)

    @property
    def base(self) -> Any:
        """The transformers model (under peft's wrapper, if any)."""
        return _base_model(self.hf)

    @property
    def is_lora(self) -> bool:
        return _is_peft(self.hf)

    # ----------------------------------------------------------------- sizes

    def n_params(self, embeddings: bool = False) -> int:
        """Parameters, as `GPT.n_params` counts them: without the input embedding table by default (a
        tied output layer is that same tensor), every distinct tensor once with ``embeddings=True``.
        Under LoRA the adapters count too."""
        total = sum(p.numel() for p in self.hf.parameters())
        if embeddings:
            return total
        return total - self.base.get_input_embeddings().weight.numel()

    def n_trainable(self) -> int:
        return sum(p.numel() for p in self.hf.parameters() if p.requires_grad)

    def flops_per_token(self, seq_len: int) -> float:
        """Training FLOPs per token: 2N forward + 2N backward through the activations + 2 per trained
        weight for its gradient (6N when every weight trains, as for Cadmus models; less under
        LoRA), plus attention's 12*L*H*hs*T. N: the weights doing a matmul per token (the
        non-embedding parameters and the output layer). Recomputation under gradient
        checkpointing is not counted (MFU counts the model's FLOPs, not the hardware's)."""
        base = self.base
        out = base.get_output_embeddings()
        tied = out is not None and out.weight is base.get_input_embeddings().weight
        n = self.n_params() + (out.weight.numel() if tied else 0)
        trained = (
            n if self.n_trainable() == sum(p.numel() for p in self.hf.parameters()) else self.n_trainable()
        )
        c = self.config
        return 4 * n + 2 * trained + 12 * c.n_layer * c.n_head * c.head_size * seq_len

    # --------------------------------------------------------------- forward

    def forward(
        self,
        idx: torch.Tensor,
        targets: torch.Tensor | None = None,
        *,
        reduction: Literal["mean", "sum", "none"] = "mean",
        attention_mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(logits [B, T, vocab], loss)``; the loss as `cadmus.model.GPT.forward` computes it."""
        if idx.size(1) > self.config.block_size:
            raise HFError(f"sequence of {idx.size(1)} tokens exceeds block_size {self.config.block_size}")
        positions = None
        if attention_mask is not None:
            positions = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
        logits = self.hf(
            input_ids=idx, attention_mask=attention_mask, position_ids=positions, use_cache=False
        ).logits
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

    # ----------------------------------------------------------------- hooks

    def hook_points(self) -> dict[str, HookPoint]:
        """Every hook point by name (none when the layers do not have Llama's layout)."""
        return dict(self._points)

    @contextmanager
    def hooks(self, fwd_hooks: Sequence[tuple[str, Callable[..., Any]]]) -> Iterator[HFCausalLM]:
        """Register ``(name, fn)`` pairs for the duration of the ``with`` block."""
        added: list[tuple[HookPoint, Callable[..., Any]]] = []
        handles = []
        try:
            for name, fn in fwd_hooks:
                if name not in self._points:
                    raise HFError(
                        f"no hook point named {name!r} on this {self.config.architecture} (see hook_points())"
                    )
                point = self._points[name]
                if not point.fns:
                    handles.append(self._attach(name, point))
                point.fns.append(fn)
                added.append((point, fn))
            yield self
        finally:
            for point, fn in added:
                point.fns.remove(fn)
            for handle in handles:
                handle.remove()

    def _attach(self, name: str, point: HookPoint) -> Any:
        module, kind = self._sites[name]
        if kind == "pre":

            def pre(mod: nn.Module, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
                if args:
                    return (point(args[0]), *args[1:]), kwargs
                return args, {**kwargs, "hidden_states": point(kwargs["hidden_states"])}

            return module.register_forward_pre_hook(pre, with_kwargs=True)

        def post(mod: nn.Module, args: tuple, output: Any) -> Any:
            if isinstance(output, tuple):
                return (point(output[0]), *output[1:])
            return point(output)

        return module.register_forward_hook(post)

    def run_with_hooks(
        self, idx: torch.Tensor, fwd_hooks: Sequence[tuple[str, Callable[..., Any]]] = (), **kwargs: Any
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        with self.hooks(fwd_hooks):
            return self(idx, **kwargs)

    def run_with_cache(
        self, idx: torch.Tensor, names_filter: Callable[[str], bool] | None = None, **kwargs: Any
    ) -> tuple[tuple[torch.Tensor, torch.Tensor | None], dict[str, torch.Tensor]]:
        """``((logits, loss), {hook name: activation})``, detached, as `GPT.run_with_cache`."""
        store: dict[str, torch.Tensor] = {}

        def save(tensor: torch.Tensor, *, hook: HookPoint) -> None:
            store[hook.name] = tensor.detach()

        names = [n for n in self._points if names_filter is None or names_filter(n)]
        out = self.run_with_hooks(idx, [(n, save) for n in names], **kwargs)
        return out, store


@torch.no_grad()
def generate_hf(
    model: HFCausalLM,
    idx: torch.Tensor,
    max_new_tokens: int,
    temperature: float = 0.0,
    top_k: int | None = None,
    eos_id: int | None = None,
    use_cache: bool = True,
    attention_mask: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """`cadmus.model.generate` for an `HFCausalLM`: continue each row of idx [B, T] (left-padded
    rows with ``attention_mask``), greedy at ``temperature=0``, sampled as Cadmus samples
    (`cadmus.model.sample_next`) otherwise; a row that produced ``eos_id`` keeps producing it,
    and decoding stops once every row has. At most ``block_size`` tokens in all. The key/value
    cache is the model's own (transformers' ``DynamicCache``)."""
    from transformers import DynamicCache

    B, T = idx.shape
    max_new_tokens = min(max_new_tokens, model.config.block_size - T)
    mask = attention_mask.long() if attention_mask is not None else torch.ones_like(idx)
    cache = DynamicCache(config=model.base.config) if use_cache else None
    done = torch.zeros(B, dtype=torch.bool, device=idx.device)
    out = idx
    for step in range(max_new_tokens):
        new = out if cache is None or step == 0 else out[:, -1:]
        positions = (mask.cumsum(-1) - 1).clamp(min=0)[:, -new.size(1) :]
        logits = model.hf(
            input_ids=new,
            attention_mask=mask,
            position_ids=positions,
            cache=cache,
            use_cache=cache is not None,
            logits_to_keep=1,
        ).logits
        nxt = sample_next(logits[:, -1, :], temperature, top_k, generator)
        if eos_id is not None:
            nxt = torch.where(done, torch.full_like(nxt, eos_id), nxt)
            done = done | (nxt == eos_id)
        out = torch.cat((out, nxt.unsqueeze(1)), dim=1)
        mask = torch.cat((mask, torch.ones_like(mask[:, :1])), dim=1)
        if eos_id is not None and bool(done.all()):
            break
    return out


# -------------------------------------------------------------------- backend


def load_pretrained(path: Path) -> Any:
    """The transformers model of a local directory, in float32 (nothing is downloaded)."""
    from transformers import AutoModelForCausalLM

    try:
        return AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32, local_files_only=True)
    except (OSError, ValueError, KeyError, RuntimeError, ImportError) as err:
        text = " ".join(str(err).split())[:300]
        raise HFError(f"cannot load the model: {text}", file=str(path)) from err


def load_hf_tokenizer(path: Path, name: str) -> HFTokenizer:
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError, KeyError, RuntimeError, ImportError) as err:
        text = " ".join(str(err).split())[:300]
        raise HFError(f"cannot load the tokenizer: {text}", file=str(path)) from err
    return HFTokenizer(tokenizer, name=name)


def with_lora(model: Any, lora: dict[str, Any]) -> Any:
    """`model` under peft's LoRA adapters (``r``, ``alpha``, ``dropout``, ``target_modules``); only
    the adapters train. Their initialisation draws from torch's RNG (the trainer seeds it)."""
    from peft import LoraConfig, get_peft_model

    present = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    missing = [m for m in lora["target_modules"] if m not in present]
    if missing:
        raise HFError(
            f"no module named {missing[0]!r} in this {type(model).__name__} "
            f"(linear layers are named e.g. {', '.join(sorted(present)[:12])})",
            key="model.lora.target_modules",
        )
    config = LoraConfig(
        r=lora["r"],
        lora_alpha=lora["alpha"],
        lora_dropout=lora["dropout"],
        target_modules=list(lora["target_modules"]),
        bias="none",
        task_type="CAUSAL_LM",
    )
    with warnings.catch_warnings():  # peft asks transformers under a name it deprecated
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        return get_peft_model(model, config)


def load_weights(model: HFCausalLM, directory: Path) -> None:
    """Load the weights a checkpoint holds into `model` exactly: the adapters under LoRA, else every
    weight (an output layer tied to the embedding is that same tensor, stored once)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = directory / (ADAPTER_WEIGHTS if model.is_lora else FULL_WEIGHTS)
    try:
        state = load_file(str(path))
    except FileNotFoundError:
        what = "LoRA adapter" if model.is_lora else "model"
        raise HFError(f"no {what} weights in the checkpoint", file=str(path)) from None
    except (SafetensorError, OSError, ValueError) as err:
        raise HFError(f"cannot read weights ({err})", file=str(path)) from None
    if model.is_lora:
        from peft import set_peft_model_state_dict

        result = set_peft_model_state_dict(model.hf, state)
        unexpected = list(getattr(result, "unexpected_keys", []) or [])
        if unexpected:
            raise HFError(
                f"adapter tensors the model does not have: {', '.join(unexpected[:5])}", file=str(path)
            )
        return
    base = model.base
    missing, unexpected = base.load_state_dict(state, strict=False)
    params = dict(base.named_parameters(remove_duplicate=False))
    # a tied tensor is saved under one of its names; the other is then "missing" but loaded
    stored = {id(params[k]) for k in state if k in params}
    missing = [k for k in missing if not (k in params and id(params[k]) in stored)]
    problems = []
    if missing:
        problems.append("missing " + ", ".join(missing[:5]))
    if unexpected:
        problems.append("unexpected " + ", ".join(unexpected[:5]))
    if problems:
        raise HFError("checkpoint weights do not fit the model: " + "; ".join(problems), file=str(path))


class HFBackend:
    """The trainer's backend (`cadmus.train.Backend`) for a pretrained Hugging Face causal LM: the
    config's ``model.hf`` (``smollm2`` or a directory) with its own tokenizer, optionally LoRA and
    gradient checkpointing."""

    name = "hf"

    def __init__(self, cfg: TrainConfig) -> None:
        if cfg.model.hf is None:
            raise HFError("model.hf is not set: this backend fine-tunes a Hugging Face model", key="model.hf")
        self.spec = cfg.model.hf
        self.path = resolve_pretrained(self.spec)
        label = "smollm2" if self.spec.strip().lower() == "smollm2" else self.path.name
        self.tokenizer = load_hf_tokenizer(self.path, label)
        self.lora = cfg.model.lora.model_dump() if cfg.model.lora is not None else None

    def pack_tokenizer(self, cfg: TrainConfig) -> HFTokenizer:
        return self.tokenizer

    def packed_tokenizer(self, arrays: Any, first: Any | None) -> HFTokenizer:
        if arrays.meta.get("tokenizer_sha256") != self.tokenizer.sha256:
            raise HFError(
                f"packed with another tokenizer than {self.tokenizer.name}'s: train from the dataset "
                "(data.dataset or data.build) so that it is packed with this model's tokenizer",
                file=str(arrays.dir),
            )
        return self.tokenizer

    def build(self, cfg: TrainConfig, device: torch.device, tokenizer: Any) -> HFCausalLM:
        model = load_pretrained(self.path)
        rows = model.get_input_embeddings().num_embeddings
        if tokenizer.vocab_size > rows:
            raise HFError(
                f"the tokenizer has {tokenizer.vocab_size} tokens, the model's embedding {rows} rows",
                file=str(self.path),
            )
        model.config.use_cache = False
        if cfg.model.gradient_checkpointing:
            if not getattr(model, "supports_gradient_checkpointing", False):
                raise HFError(
                    f"{type(model).__name__} does not support gradient checkpointing",
                    key="model.gradient_checkpointing",
                )
            # non-reentrant: no input needs requires_grad (frozen embeddings under LoRA), RNG replayed
            enable = getattr(model, "activation_checkpointing_enable", None)
            if enable is not None:
                enable(activation_checkpointing_kwargs={"use_reentrant": False})
            else:  # transformers before 5.x's rename
                model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        if self.lora is not None:
            model = with_lora(model, self.lora)
        return HFCausalLM(model, block_size=cfg.model.block_size).to(device)

    def save(self, model: nn.Module, tokenizer: Any, directory: Path) -> None:
        model.hf.save_pretrained(directory, safe_serialization=True)
        tokenizer.hf.save_pretrained(directory)
        write_json(directory / BACKEND, self.record(model, tokenizer), sort_keys=False)

    def record(self, model: HFCausalLM, tokenizer: HFTokenizer) -> dict[str, Any]:
        """``backend.json``: what a reader needs to rebuild the model (`cadmus.hf.load_finetuned`)."""
        return {
            "format": BACKEND_FORMAT,
            "kind": "hf",
            "spec": self.spec,
            "base": str(self.path),
            "base_config_sha256": sha256_file(self.path / "config.json"),
            "architecture": model.config.architecture,
            "block_size": model.config.block_size,
            "lora": self.lora,
            "weights": ADAPTER_WEIGHTS if self.lora is not None else FULL_WEIGHTS,
            "tokenizer_sha256": tokenizer.sha256,
        }

    def load(self, model: nn.Module, directory: Path) -> None:
        load_weights(model, directory)

    def describe(self, cfg: TrainConfig, model: nn.Module) -> str:
        how = f"LoRA r={self.lora['r']}" if self.lora is not None else "every weight trained"
        if cfg.model.gradient_checkpointing:
            how += ", gradient checkpointing"
        return (
            f"Hugging Face {model.config.architecture} from {self.spec} ({model.n_params(embeddings=True):,} "
            f"parameters, {model.n_trainable():,} trained: {how}; tokenizer of {self.tokenizer.vocab_size:,} tokens)"
        )
