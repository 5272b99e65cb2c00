"""Batched text completion with a local Hugging Face causal LM, answering like an API model.

`HFCompleter.complete` takes prompts and returns completions (prompt excluded,
cut before the first stop string), generated in batches with left padding and
an attention mask by transformers' ``generate``. Its behaviour is fixed by the
arguments alone: the checkpoint's own ``generation_config`` (a repetition
penalty, sampling defaults) is set aside while Cadmus generates.

Greedy when ``temperature == 0``. Sampling (softmax at `temperature`, then
nucleus `top_p`) draws each prompt's tokens from its own generator, seeded
from ``(seed, prompt, how many times that prompt came earlier in the call)``:
a sample therefore depends neither on the batch size nor on the other prompts
of the call, and a prompt repeated k times draws k independent samples. That
is done by a logits processor that samples and hands ``generate`` a one-hot
choice, so ``generate`` runs in its greedy mode throughout.

A completer is not thread-safe (it swaps the model's generation config for
the length of a call): a server shares one behind a lock.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from cadmus.hf.errors import HFError
from cadmus.hf.pretrained import load_causal_lm, resolve_pretrained

if TYPE_CHECKING:
    import torch


def _row_seed(seed: int, text: str, occurrence: int) -> int:
    digest = hashlib.sha256(f"{seed}\x00{occurrence}\x00{text}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def row_seeds(texts: Sequence[str], seed: int) -> list[int]:
    """One generator seed per text: from `seed`, the text and how often it came before."""
    seen: dict[str, int] = {}
    out = []
    for text in texts:
        k = seen.get(text, 0)
        seen[text] = k + 1
        out.append(_row_seed(seed, text, k))
    return out


def cut_at_stop(text: str, stop: Sequence[str] | None) -> str:
    """`text` up to (not including) the earliest occurrence of any (non-empty) stop string."""
    cut = len(text)
    for s in stop or ():
        k = text.find(s) if s else -1
        if k != -1:
            cut = min(cut, k)
    return text[:cut]


def _ids_list(value: Any) -> list[int]:
    if value is None:
        return []
    if isinstance(value, int):
        return [value]
    return [int(v) for v in value]


class HFCompleter:
    """Completions from a local causal LM (`load_causal_lm` spec: ``smollm2``, a directory, a .gguf).

    `name` is ``hf:<spec>`` (``hf:smollm2``, or ``hf:<directory name>``); `model`, `tokenizer`
    and `path` (the resolved directory, None for `from_model`) are public.
    """

    def __init__(
        self,
        spec: str,
        *,
        device: str | torch.device | None = None,
        dtype: str | torch.dtype | None = None,
        batch_size: int = 16,
    ) -> None:
        path = resolve_pretrained(spec)
        model, tokenizer = load_causal_lm(str(path), dtype=dtype, device=device)
        alias = str(spec).strip().lower()
        name = alias if alias == "smollm2" else path.name
        self._setup(model, tokenizer, name=f"hf:{name}", batch_size=batch_size)
        self.path = path

    @classmethod
    def from_model(cls, model: Any, tokenizer: Any, *, name: str, batch_size: int = 16) -> HFCompleter:
        """A completer over a model already in memory (a fine-tuned one, a test model)."""
        self = cls.__new__(cls)
        self._setup(model, tokenizer, name=name, batch_size=batch_size)
        self.path = None
        return self

    def _setup(self, model: Any, tokenizer: Any, *, name: str, batch_size: int) -> None:
        from transformers import GenerationConfig

        if batch_size < 1:
            raise HFError(f"batch_size must be >= 1, got {batch_size}")
        self.model = model
        self.tokenizer = tokenizer
        self.name = name
        self.batch_size = batch_size
        eos = _ids_list(getattr(model.generation_config, "eos_token_id", None))
        eos += _ids_list(getattr(model.config, "eos_token_id", None))
        eos += _ids_list(tokenizer.eos_token_id)
        self.eos_ids = list(dict.fromkeys(eos))
        pad = tokenizer.pad_token_id
        self.pad_id = int(pad) if pad is not None else (self.eos_ids[0] if self.eos_ids else 0)
        self.bos_id = tokenizer.bos_token_id
        self.context = getattr(model.config, "max_position_embeddings", None)
        # generate() fills every option we leave unset from model.generation_config; while Cadmus
        # generates, that is this neutral one, so only our arguments count
        self._neutral = GenerationConfig(
            eos_token_id=self.eos_ids or None, pad_token_id=self.pad_id, bos_token_id=self.bos_id
        )

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    # ---- public API ----------------------------------------------------------------------

    def complete(
        self,
        prompts: Sequence[str],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        top_p: float = 1.0,
        stop: Sequence[str] | None = None,
        seed: int | None = None,
    ) -> list[str]:
        """One completion per prompt: at most `max_tokens` new tokens, cut before the first stop
        string, ending early at an end-of-sequence token; the prompt is not included."""
        if isinstance(prompts, str):
            raise HFError("prompts must be a list of strings, not one string")
        texts = list(prompts)
        encoded = [self._encode(t, special=True) for t in texts]
        return self._generate(texts, encoded, max_tokens, temperature, top_p, stop, seed)

    def chat(
        self,
        messages_batch: Sequence[Sequence[dict[str, str]]],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        top_p: float = 1.0,
        stop: Sequence[str] | None = None,
        seed: int | None = None,
    ) -> list[str]:
        """One assistant reply per conversation (a list of ``{"role", "content"}`` messages),
        rendered with the tokenizer's chat template; the options are those of `complete`."""
        texts = [self.chat_prompt(messages) for messages in messages_batch]
        # the template writes its special tokens itself; the tokenizer must not add more
        encoded = [self._encode(t, special=False) for t in texts]
        return self._generate(texts, encoded, max_tokens, temperature, top_p, stop, seed)

    def chat_prompt(self, messages: Sequence[dict[str, str]]) -> str:
        """The prompt text the chat template makes of a conversation, ready for the reply."""
        if isinstance(messages, str | dict) or not all(isinstance(m, dict) for m in messages):
            raise HFError("a conversation must be a list of {'role': ..., 'content': ...} messages")
        if not getattr(self.tokenizer, "chat_template", None):
            raise HFError(f"{self.name} has no chat template: use complete() with a plain prompt")
        try:
            text = self.tokenizer.apply_chat_template(
                list(messages), tokenize=False, add_generation_prompt=True
            )
        except Exception as err:  # jinja errors from a template: report, not crash
            raise HFError(f"{self.name}: the chat template failed: {err}") from err
        return str(text)

    def loglikelihood(self, prompt: str, continuation: str) -> float:
        """The sum of the log-probabilities (nats) of `continuation`'s tokens after `prompt`.

        Prompt and continuation are tokenized separately and joined, so the continuation's
        tokens are the ones it has on its own (as lm-evaluation-harness does).
        """
        import torch

        context = self._encode(prompt, special=True)
        target = self._encode(continuation, special=False)
        if not target:
            return 0.0
        if not context:
            if self.bos_id is None:
                raise HFError(f"{self.name}: an empty prompt needs a BOS token, and this tokenizer has none")
            context = [int(self.bos_id)]
        self._check_length(len(context) + len(target), 0, "prompt and continuation")
        ids = torch.tensor([context + target], device=self.device)
        with torch.inference_mode():
            logits = self.model(input_ids=ids).logits[0, len(context) - 1 : -1].float()
        logp = torch.log_softmax(logits, dim=-1)
        chosen = logp.gather(-1, torch.tensor(target, device=logp.device)[:, None])
        return float(chosen.sum().item())

    # ---- generation ------------------------------------------------------------------------

    def _encode(self, text: str, *, special: bool) -> list[int]:
        if not isinstance(text, str):
            raise HFError(f"prompts must be strings, got {type(text).__name__}")
        ids = [int(i) for i in self.tokenizer(text, add_special_tokens=special)["input_ids"]]
        if special and self.bos_id is not None and len(ids) >= 2 and ids[0] == ids[1] == self.bos_id:
            ids = ids[1:]  # a prompt that already begins with BOS (a rendered chat template) keeps one
        return ids

    def _check_length(self, n_prompt: int, max_tokens: int, what: str = "prompt") -> None:
        if self.context is not None and n_prompt + max_tokens > self.context:
            raise HFError(
                f"{self.name}: {what} of {n_prompt} tokens plus max_tokens {max_tokens} exceeds the "
                f"context of {self.context} tokens"
            )

    def _generate(
        self,
        texts: list[str],
        encoded: list[list[int]],
        max_tokens: int,
        temperature: float,
        top_p: float,
        stop: Sequence[str] | None,
        seed: int | None,
    ) -> list[str]:
        _check_options(max_tokens, temperature, top_p, stop)
        stops = list(stop or [])
        if not texts or max_tokens == 0:
            return ["" for _ in texts]
        for i, ids in enumerate(encoded):
            if not ids:
                raise HFError(f"{self.name}: prompt {i} is empty after tokenization")
            self._check_length(len(ids), max_tokens, f"prompt {i}")
        seeds = None
        if temperature > 0:
            seeds = row_seeds(texts, secrets.randbits(63) if seed is None else int(seed))
        order = sorted(range(len(texts)), key=lambda i: (-len(encoded[i]), i))  # less padding
        out = [""] * len(texts)
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            results = self._batch(
                [encoded[i] for i in rows],
                max_tokens,
                temperature,
                top_p,
                stops,
                None if seeds is None else [seeds[i] for i in rows],
            )
            for i, text in zip(rows, results, strict=True):
                out[i] = text
        return out

    def _batch(
        self,
        encoded: list[list[int]],
        max_tokens: int,
        temperature: float,
        top_p: float,
        stops: list[str],
        seeds: list[int] | None,
    ) -> list[str]:
        import torch
        from transformers import GenerationConfig, LogitsProcessorList, StoppingCriteriaList

        device = self.device
        width = max(len(ids) for ids in encoded)
        input_ids = torch.full((len(encoded), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(encoded), width), dtype=torch.long)
        for r, ids in enumerate(encoded):  # left padding: every prompt ends at the last column
            input_ids[r, width - len(ids) :] = torch.tensor(ids, dtype=torch.long)
            mask[r, width - len(ids) :] = 1
        config = GenerationConfig(
            max_new_tokens=max_tokens,
            do_sample=False,
            num_beams=1,
            eos_token_id=self.eos_ids or None,
            pad_token_id=self.pad_id,
        )
        processors = LogitsProcessorList()
        if seeds is not None:
            processors.append(_SeededSampler(seeds, temperature, top_p, device))
        criteria = StoppingCriteriaList()
        if stops:
            criteria.append(_StopOnText(self._decode, width, stops))
        saved = self.model.generation_config
        self.model.generation_config = self._neutral
        try:
            with torch.inference_mode():
                output = self.model.generate(
                    input_ids=input_ids.to(device),
                    attention_mask=mask.to(device),
                    generation_config=config,
                    logits_processor=processors,
                    stopping_criteria=criteria,
                )
        finally:
            self.model.generation_config = saved
        texts = []
        eos = set(self.eos_ids)
        for row in output[:, width:].tolist():
            end = next((k for k, t in enumerate(row) if t in eos), len(row))
            texts.append(cut_at_stop(self._decode(row[:end]), stops))
        return texts

    def _decode(self, ids: Sequence[int]) -> str:
        return str(
            self.tokenizer.decode(list(ids), skip_special_tokens=True, clean_up_tokenization_spaces=False)
        )


def _check_options(max_tokens: int, temperature: float, top_p: float, stop: Sequence[str] | None) -> None:
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 0:
        raise HFError(f"max_tokens must be an integer >= 0, got {max_tokens!r}")
    if not (isinstance(temperature, int | float) and math.isfinite(temperature) and temperature >= 0):
        raise HFError(f"temperature must be a finite number >= 0, got {temperature!r}")
    if not (isinstance(top_p, int | float) and 0 < top_p <= 1):
        raise HFError(f"top_p must lie in (0, 1], got {top_p!r}")
    if isinstance(stop, str):
        raise HFError("stop must be a list of strings, not one string")
    for s in stop or ():
        if not isinstance(s, str) or not s:
            raise HFError(f"stop strings must be non-empty strings, got {s!r}")


class _SeededSampler:
    """A logits processor that samples each row with its own generator and returns a one-hot
    choice (0 at the drawn token, -inf elsewhere), which greedy decoding then takes."""

    def __init__(self, seeds: list[int], temperature: float, top_p: float, device: torch.device) -> None:
        import torch

        self.generators = [torch.Generator(device=device).manual_seed(s) for s in seeds]
        self.temperature = temperature
        self.top_p = top_p

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        import torch

        from cadmus.model import nucleus

        probs = torch.softmax(scores.float() / self.temperature, dim=-1)
        if self.top_p < 1.0:
            probs = nucleus(probs, self.top_p)
        chosen = torch.cat(
            [torch.multinomial(probs[r], 1, generator=g) for r, g in enumerate(self.generators)]
        )
        onehot = torch.full_like(scores, float("-inf"))
        onehot.scatter_(1, chosen[:, None], 0.0)
        return onehot


class _StopOnText:
    """A stopping criterion: a row is done once its generated text contains a stop string."""

    def __init__(self, decode: Callable[[Sequence[int]], str], width: int, stops: list[str]) -> None:
        self.decode = decode
        self.width = width
        self.stops = stops
        self.done: list[bool] | None = None

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        import torch

        if self.done is None:
            self.done = [False] * input_ids.shape[0]
        for r, row in enumerate(input_ids[:, self.width :].tolist()):
            if not self.done[r]:
                text = self.decode(row)
                self.done[r] = any(s in text for s in self.stops)
        return torch.tensor(self.done, dtype=torch.bool, device=input_ids.device)
