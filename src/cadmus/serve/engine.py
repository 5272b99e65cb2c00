"""The model side of `cadmus serve`: prompts in, token streams out, many requests per forward pass.

One worker thread owns the model. A request puts one *row* per prompt and
choice on a queue; the worker takes up to ``max_batch`` rows (after waiting
at most ``batch_window_ms`` for company when fewer are queued), left-pads
them into one batch with an attention mask, exactly as `cadmus eval` does,
and decodes them together with one KV cache until every row has finished.
Masked padding keeps each row's positions and attention what they would be
alone, so greedy answers do not depend on what else was in the batch.

A row is encoded as the model was trained: ``<bos> prompt <sep>``; it ends
at ``<eos>`` (which is not part of the text), at a stop string (cut before
it), at ``max_tokens`` or at the end of the context. With ``temperature 0``
the text is what `cadmus.eval.generate_answers` produces for the same
prompt, before it cuts an answer at its format's stop string.

Text is streamed only where it can no longer change: under the ``reversed``
number scheme a number's digits arrive least significant first, so a
trailing run of word characters is held back until the word ends, and so
is an end of the text that could still grow into a stop string.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from cadmus.errors import CadmusError
from cadmus.eval import Checkpoint, load_checkpoint, resolve_device
from cadmus.model import KVCache, sample_next
from cadmus.tokenizer import TokenizerError

MAX_LOGPROBS = 20
MAX_ROWS = 4096  # answers one request may ask for (prompts x n)
_WORD_TAIL = re.compile(r"[A-Za-z0-9_]*\Z")


class ServeError(CadmusError):
    """A request that cannot be served. `key` names the request field; `status` is the HTTP status."""

    def __init__(
        self, message: str, *, key: str | None = None, status: int = 400, code: str | None = None
    ) -> None:
        super().__init__(message, key=key)
        self.status = status
        self.code = code


@dataclass(frozen=True)
class Prompt:
    """One prompt: its text, its own tokens (what echo shows) and what the model reads."""

    text: str
    ids: tuple[int, ...]
    input_ids: tuple[int, ...]  # <bos> ids <sep>, without doubling a <bos>/<sep> the client gave
    offset: int  # index of ids[0] in input_ids (1 when <bos> was added)


@dataclass(frozen=True)
class Sampling:
    """How to decode: the OpenAI fields, resolved to values (`None` only where that means "off")."""

    max_tokens: int | None = 16  # None: up to the end of the context
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int | None = None
    n: int = 1
    stop: tuple[str, ...] = ()
    seed: int | None = None  # None: a fresh random seed
    logprobs: int | None = None  # alternatives per token; None: no log-probabilities
    echo: bool = False
    stream: bool = False  # deliver text as it is produced, not only at the end


@dataclass(frozen=True)
class TokenLogprob:
    """A token with its log-probability and the most likely alternatives (token string, logprob)."""

    id: int
    token: str
    logprob: float | None
    top: tuple[tuple[str, float], ...] | None


@dataclass(frozen=True)
class Delta:
    """What a choice produced since its last delta; the last one has `finish_reason` set."""

    choice: int
    text: str
    tokens: tuple[TokenLogprob, ...]  # generated tokens, when log-probabilities were asked for
    prompt_tokens: tuple[TokenLogprob, ...] | None  # first delta only, with echo and logprobs
    finish_reason: str | None
    completion_tokens: int  # tokens generated so far, <eos> included


@dataclass(frozen=True)
class Failure:
    """The worker could not finish the job (the server itself keeps running)."""

    message: str


Event = Delta | Failure


class Job:
    """The rows of one request; events go to `sink`, called from the worker thread."""

    def __init__(self, n_rows: int, sink: Callable[[Event], None]) -> None:
        self.n_rows = n_rows
        self.sink = sink
        self.cancelled = False
        self.failed = False

    def cancel(self) -> None:
        """Stop working on this job (its client went away); its rows are dropped."""
        self.cancelled = True

    def deliver(self, event: Event) -> None:
        if self.cancelled:
            return
        try:
            self.sink(event)
        except Exception:  # the receiver is gone (closed event loop): stop working for it
            self.cancelled = True

    def fail(self, message: str) -> None:
        if not self.failed:
            self.failed = True
            self.deliver(Failure(message))
            self.cancelled = True


@dataclass
class ChoiceResult:
    """A choice put together from its deltas."""

    text: str = ""
    tokens: list[TokenLogprob] = field(default_factory=list)
    prompt_tokens: list[TokenLogprob] | None = None
    finish_reason: str | None = None
    completion_tokens: int = 0

    def add(self, delta: Delta) -> None:
        self.text += delta.text
        self.tokens.extend(delta.tokens)
        if delta.prompt_tokens is not None:
            self.prompt_tokens = list(delta.prompt_tokens)
        self.finish_reason = delta.finish_reason or self.finish_reason
        self.completion_tokens = delta.completion_tokens


class _Row:
    """One choice of one prompt while it is decoded: its tokens, text and what was sent."""

    def __init__(
        self, engine: ServeEngine, job: Job, choice: int, prompt: Prompt, sampling: Sampling, seed: int
    ) -> None:
        self.engine = engine
        self.job = job
        self.choice = choice
        self.prompt = prompt
        self.sampling = sampling
        room = engine.block_size - len(prompt.input_ids)
        self.cap = room if sampling.max_tokens is None else min(sampling.max_tokens, room)
        self.generator: torch.Generator | None = None
        if sampling.temperature > 0:
            # Its own generator: a choice's samples do not depend on what else is in the batch.
            self.generator = torch.Generator().manual_seed((seed * 1_000_003 + choice) % (1 << 63))
        self.out: list[int] = []  # generated tokens, <eos> excluded
        self.generated = 0
        self.text = ""
        self.sent = 0  # characters of `text` delivered
        self.pending: list[TokenLogprob] = []
        self.prompt_tokens: tuple[TokenLogprob, ...] | None = None
        self.finished = False

    @property
    def wants_logprobs(self) -> bool:
        return self.sampling.logprobs is not None

    def push(self, token: int, info: TokenLogprob | None) -> None:
        """Take the next generated token."""
        self.generated += 1
        if info is not None:
            self.pending.append(info)
        if token == self.engine.tokenizer.eos_id:
            self.finish("stop")
            return
        self.out.append(token)
        if self.sampling.stop or self.sampling.stream:
            self._update(final=False)
        if not self.finished and self.generated >= self.cap:
            self.finish("length")

    def finish(self, reason: str) -> None:
        if self.finished:
            return
        self._update(final=True)
        if not self.finished:
            self._emit(len(self.text), reason)

    def _update(self, final: bool) -> None:
        """Recompute the text; stop at a stop string; stream what can no longer change."""
        text = self.engine.tokenizer.decode(self.out, skip_special_tokens=True)
        stable = len(text) if final else _WORD_TAIL.search(text).start()  # type: ignore[union-attr]
        cut = None
        for stop in self.sampling.stop:
            at = text.find(stop)
            if at != -1 and at + len(stop) <= stable and (cut is None or at < cut):
                cut = at
        if cut is not None:
            self.text = text[:cut]
            self._emit(cut, "stop")
            return
        self.text = text
        if final or not self.sampling.stream:
            return
        hold = 0  # hold back an end that may still grow into a stop string
        for stop in self.sampling.stop:
            for k in range(min(len(stop) - 1, stable), hold, -1):
                if text.endswith(stop[:k], 0, stable):
                    hold = k
                    break
        stable -= hold
        if stable > self.sent:
            self._emit(stable, None)

    def _emit(self, upto: int, finish_reason: str | None) -> None:
        upto = max(upto, self.sent)
        delta = Delta(
            choice=self.choice,
            text=self.text[self.sent : upto],
            tokens=tuple(self.pending),
            prompt_tokens=self.prompt_tokens,
            finish_reason=finish_reason,
            completion_tokens=self.generated,
        )
        self.sent = upto
        self.pending = []
        self.prompt_tokens = None
        if finish_reason is not None:
            self.finished = True
        self.job.deliver(delta)


class ServeEngine:
    """A checkpoint behind a batching worker thread; `submit` rows, receive `Delta` events.

    ``with ServeEngine.load("runs/demo/train") as engine: engine.run(...)``, or
    `start` / `close`. `cadmus.serve.create_app` puts the HTTP API in front.
    """

    def __init__(
        self,
        ckpt: Checkpoint,
        *,
        name: str | None = None,
        max_batch: int = 32,
        batch_window_ms: float = 2.0,
    ) -> None:
        if not isinstance(max_batch, int) or max_batch < 1:
            raise ServeError(f"must be a positive integer, got {max_batch!r}", key="max_batch")
        if not batch_window_ms >= 0:
            raise ServeError(f"must be 0 or more, got {batch_window_ms!r}", key="batch_window_ms")
        self.ckpt = ckpt
        self.model = ckpt.model.eval()
        self.tokenizer = ckpt.tokenizer
        self.name = name if name is not None else str(ckpt.path)
        self.block_size = self.model.config.block_size
        self.max_batch = max_batch
        self.batch_window = batch_window_ms / 1000.0
        self.created = int(time.time())
        tok = self.tokenizer
        self.token_strings = [tok.id_to_token(i) for i in range(tok.vocab_size)]
        self.token_lengths = [len(tok.decode([i], skip_special_tokens=True)) for i in range(tok.vocab_size)]
        self._pending: deque[_Row] = deque()
        self._cond = threading.Condition()
        self._closing = False
        self._thread: threading.Thread | None = None
        self.stats = {"batches": 0, "rows": 0, "largest_batch": 0}

    @classmethod
    def load(
        cls,
        path: str | Path,
        *,
        device: str = "auto",
        name: str | None = None,
        max_batch: int = 32,
        batch_window_ms: float = 2.0,
    ) -> ServeEngine:
        """Load a run directory (its latest checkpoint) or a checkpoint, as `cadmus eval` does.

        The served model's name defaults to `path` as given (as vLLM does).
        """
        ckpt = load_checkpoint(path, resolve_device(device))
        name = str(path) if name is None else name
        return cls(ckpt, name=name, max_batch=max_batch, batch_window_ms=batch_window_ms)

    # ---- life cycle ----------------------------------------------------------

    def start(self) -> ServeEngine:
        """Start the worker thread (again after `close`); a no-op while it runs."""
        with self._cond:
            if self._thread is not None and self._thread.is_alive():
                return self
            self._closing = False
            self._thread = threading.Thread(target=self._work, name="cadmus-serve-engine", daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop the worker; queued rows are dropped and their jobs told so."""
        with self._cond:
            self._closing = True
            dropped = list(self._pending)
            self._pending.clear()
            self._cond.notify_all()
        for row in dropped:
            row.job.fail("the server is shutting down")
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)
        self._thread = None

    def __enter__(self) -> ServeEngine:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- requests ------------------------------------------------------------

    def encode(self, prompt: str | Sequence[int], *, param: str = "prompt") -> Prompt:
        """A prompt from text or token ids; raises `ServeError` naming `param` for what cannot be read.

        Token ids are taken as they are: a leading ``<bos>`` or trailing
        ``<sep>`` the client put there is not doubled, so a client can place
        the separator itself (to score an answer after it, as training did).
        """
        tok = self.tokenizer
        if isinstance(prompt, str):
            try:
                ids = tuple(tok.encode(prompt))
            except TokenizerError as err:
                raise ServeError(f"cannot tokenize '{param}': {err.message}", key=param) from None
            text = prompt
        else:
            ids = tuple(prompt)
            bad = [i for i in ids if not 0 <= i < tok.vocab_size]
            if bad:
                raise ServeError(
                    f"invalid '{param}': token id {bad[0]} is outside the vocabulary (0 to {tok.vocab_size - 1})",
                    key=param,
                )
            text = tok.decode(ids, skip_special_tokens=True)
        head = () if ids[:1] == (tok.bos_id,) else (tok.bos_id,)
        tail = () if ids[-1:] == (tok.sep_id,) else (tok.sep_id,)
        return Prompt(text, ids, (*head, *ids, *tail), len(head))

    def check_fits(self, prompt: Prompt, max_tokens: int | None, *, param: str = "prompt") -> None:
        """Raise `ServeError` when the prompt leaves no room in the context (for an answer, if one is asked)."""
        n = len(prompt.input_ids)
        need = n + (1 if max_tokens is None or max_tokens > 0 else 0)
        if need > self.block_size:
            room = " and leaves no room for an answer" if n <= self.block_size else ""
            raise ServeError(
                f"'{param}' is {n} tokens with <bos> and <sep>{room}: the model's context is "
                f"{self.block_size} tokens",
                key=param,
                code="context_length_exceeded",
            )

    def submit(self, prompts: Sequence[Prompt], sampling: Sampling, sink: Callable[[Event], None]) -> Job:
        """Queue ``len(prompts) * sampling.n`` rows; choice ``i * n + j`` is prompt i's j-th sample.

        Every prompt must fit (`check_fits`). Events reach `sink` on the worker thread.
        """
        if len(prompts) * sampling.n > MAX_ROWS:
            raise ServeError(
                f"a request may ask for at most {MAX_ROWS} answers (prompts x n), "
                f"not {len(prompts)} x {sampling.n}",
                key="n",
            )
        for prompt in prompts:
            self.check_fits(prompt, sampling.max_tokens)
        seed = sampling.seed if sampling.seed is not None else secrets.randbits(63)
        job = Job(len(prompts) * sampling.n, sink)
        rows = [
            _Row(self, job, i * sampling.n + j, prompt, sampling, seed)
            for i, prompt in enumerate(prompts)
            for j in range(sampling.n)
        ]
        with self._cond:
            if self._closing or self._thread is None:
                raise ServeError("the engine is not running", status=503)
            self._pending.extend(rows)
            self._cond.notify_all()
        return job

    def run(
        self, prompts: Sequence[str | Sequence[int] | Prompt], sampling: Sampling, timeout: float = 300.0
    ) -> list[ChoiceResult]:
        """Submit and wait: one `ChoiceResult` per choice (for scripts, tests and benchmarks)."""
        encoded = [p if isinstance(p, Prompt) else self.encode(p) for p in prompts]
        done = threading.Event()
        results = [ChoiceResult() for _ in range(len(encoded) * sampling.n)]
        failure: list[str] = []
        left = [len(results)]

        def sink(event: Event) -> None:
            if isinstance(event, Failure):
                failure.append(event.message)
                done.set()
                return
            results[event.choice].add(event)
            if event.finish_reason is not None:
                left[0] -= 1
                if left[0] == 0:
                    done.set()

        job = self.submit(encoded, sampling, sink)
        if not done.wait(timeout):
            job.cancel()
            raise ServeError(f"no answer within {timeout:g} s", status=504)
        if failure:
            raise ServeError(failure[0], status=500)
        return results

    # ---- the worker ----------------------------------------------------------

    def _work(self) -> None:
        torch.set_grad_enabled(False)
        while True:
            rows = self._collect()
            if rows is None:
                return
            if not rows:
                continue
            try:
                with torch.inference_mode():
                    self._decode(rows)
            except Exception as err:  # one bad batch must not take the server down
                for row in rows:
                    if not row.finished:
                        row.job.fail(f"generation failed: {type(err).__name__}: {err}")

    def _collect(self) -> list[_Row] | None:
        """The next batch: up to `max_batch` queued rows, after the batching window."""
        with self._cond:
            while not self._pending and not self._closing:
                self._cond.wait()
            if self._closing:
                return None
            deadline = time.monotonic() + self.batch_window
            while len(self._pending) < self.max_batch and not self._closing:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            taken: list[_Row] = []
            while self._pending and len(taken) < self.max_batch:
                row = self._pending.popleft()
                if not row.job.cancelled:
                    taken.append(row)
            if not taken:
                return []
            # Left-padding to the longest prompt must not shorten another row's room in the
            # context: such a row waits for the next batch (the longest prompt always goes).
            width = max(len(r.prompt.input_ids) for r in taken)
            batch = [r for r in taken if r.cap <= self.block_size - width]
            later = [r for r in taken if r.cap > self.block_size - width]
            self._pending.extendleft(reversed(later))
        return batch

    def _decode(self, rows: list[_Row]) -> None:
        model, tok = self.model, self.tokenizer
        device = next(model.parameters()).device
        dtype = next(model.parameters()).dtype
        width = max(len(r.prompt.input_ids) for r in rows)
        steps = max(r.cap for r in rows)
        idx = torch.full((len(rows), width), tok.pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for b, row in enumerate(rows):
            ids = row.prompt.input_ids
            idx[b, width - len(ids) :] = torch.tensor(ids)
            mask[b, width - len(ids) :] = 1
        self.stats["batches"] += 1
        self.stats["rows"] += len(rows)
        self.stats["largest_batch"] = max(self.stats["largest_batch"], len(rows))
        cache = KVCache(model.config, len(rows), width + steps, device, dtype)
        logits, _ = model(idx.to(device), attention_mask=mask.to(device), cache=cache)
        for b, row in enumerate(rows):
            if row.wants_logprobs and row.sampling.echo:
                row.prompt_tokens = self._prompt_logprobs(row, logits[b, width - len(row.prompt.input_ids) :])
        last = logits[:, -1, :]
        for row in rows:
            if row.cap == 0:
                row.finish("length")
        for step in range(steps):
            active = [not (r.finished or r.job.cancelled) for r in rows]
            if not any(active):
                break
            scores = last.float().cpu()
            logp = F.log_softmax(scores, dim=-1) if any(r.wants_logprobs for r in rows) else None
            greedy = scores.argmax(dim=-1).tolist()
            chosen = [tok.eos_id] * len(rows)
            for b, row in enumerate(rows):
                if not active[b]:
                    continue
                token = (
                    greedy[b] if row.generator is None else _sample(scores[b], row.sampling, row.generator)
                )
                chosen[b] = token
                info = None
                if logp is not None and row.wants_logprobs:
                    info = self._token_logprob(token, logp[b], row.sampling.logprobs)
                row.push(token, info)
            if step + 1 == steps or all(r.finished or r.job.cancelled for r in rows):
                break
            logits, _ = model(torch.tensor(chosen, device=device).unsqueeze(1), cache=cache)
            last = logits[:, -1, :]
        for row in rows:
            if not row.job.cancelled:
                row.finish("length")

    def _token_logprob(self, token: int, logp: torch.Tensor, k: int | None) -> TokenLogprob:
        top = None
        if k is not None:
            pairs: list[tuple[int, float]] = []
            if k > 0:
                values, ids = logp.topk(min(k, logp.numel()))
                pairs = list(zip(ids.tolist(), values.tolist()))
            if token not in (i for i, _ in pairs):
                pairs.append((token, float(logp[token])))
            top = tuple((self.token_strings[i], v) for i, v in pairs)
        return TokenLogprob(token, self.token_strings[token], float(logp[token]), top)

    def _prompt_logprobs(self, row: _Row, logits: torch.Tensor) -> tuple[TokenLogprob, ...]:
        """Echoed prompt tokens: each one's log-probability after the tokens before it (the first: None)."""
        logp = F.log_softmax(logits.float(), dim=-1).cpu()
        inputs, k = row.prompt.input_ids, row.sampling.logprobs
        out = []
        for i, token in enumerate(row.prompt.ids):
            pos = row.prompt.offset + i
            if i == 0:
                out.append(TokenLogprob(token, self.token_strings[token], None, None))
            else:
                assert inputs[pos] == token
                out.append(self._token_logprob(token, logp[pos - 1], k))
        return tuple(out)


def _sample(scores: torch.Tensor, sampling: Sampling, generator: torch.Generator) -> int:
    """One token from last-position logits [vocab] with temperature, top-k and top-p (nucleus)."""
    top_k = sampling.top_k if sampling.top_k is not None and sampling.top_k < scores.numel() else None
    return int(sample_next(scores[None], sampling.temperature, top_k, generator, top_p=sampling.top_p)[0])
