"""Where answers come from: any OpenAI-compatible endpoint, or a pretrained model on disk.

Both kinds sit behind one small interface (`Backend`): a backend has a
`name` (the model, for prices and reports), an `identity` (what the cache
key must include so two different models never share an entry) and
`call(requests, on_result)`, which answers a list of `Request`s and hands
each `Response` to `on_result` as soon as it has it. `complete_all` puts the
request cache in front: hits are answered from disk, misses go to the
backend, and every answer is written to the cache the moment it arrives, so
an interrupted run loses at most the requests in flight.

HTTP requests (`OpenAIBackend`) follow the OpenAI API: `POST
{base_url}/completions` (`prompt`) or `POST {base_url}/chat/completions`
(`messages`), with `model`, `max_tokens`, `temperature`, `stop`, `n` and
`seed`; answers are `choices[i].text` (or `choices[i].message.content`) and
token counts come from `usage`. A 429 or 5xx answer, a timeout or a broken
connection is retried with exponential backoff (honouring `Retry-After`);
any other error stops the run with the endpoint's message.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

from cadmus.llm.cache import RequestCache, request_key
from cadmus.llm.errors import LLMError, RequestFailed

APIS = ("completions", "chat")
RETRY_STATUS = frozenset({408, 409, 429})  # and every 5xx


@dataclass(frozen=True)
class Request:
    """One request: a prompt (completions) or chat messages, and how to sample the answer."""

    prompt: str | None = None
    messages: tuple[tuple[str, str], ...] | None = None  # (role, content) pairs
    max_tokens: int = 16
    temperature: float = 0.0
    stop: tuple[str, ...] = ()
    seed: int | None = None
    n: int = 1

    def body(self) -> dict[str, Any]:
        """The request as JSON data (without the model: the backend adds it)."""
        out: dict[str, Any] = {}
        if self.messages is not None:
            out["messages"] = [{"role": role, "content": content} for role, content in self.messages]
        else:
            out["prompt"] = self.prompt or ""
        out["max_tokens"] = self.max_tokens
        out["temperature"] = self.temperature
        if self.stop:
            out["stop"] = list(self.stop)
        if self.n != 1:
            out["n"] = self.n
        if self.seed is not None:
            out["seed"] = self.seed
        return out

    @property
    def text(self) -> str:
        """Everything the model reads (for token estimates)."""
        if self.messages is not None:
            return "\n".join(content for _, content in self.messages)
        return self.prompt or ""


@dataclass
class Response:
    """The answers to one request (`n` of them) and what they cost in tokens."""

    texts: list[str]
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached: bool = field(default=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "texts": list(self.texts),
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, cached: bool = False) -> Response:
        return cls(
            [str(t) for t in data["texts"]],
            data.get("prompt_tokens"),
            data.get("completion_tokens"),
            cached=cached,
        )


class Backend(Protocol):
    """What `complete_all` needs of a source of answers."""

    name: str
    api: str

    def identity(self) -> dict[str, Any]: ...

    def call(self, requests: Sequence[Request], on_result: Callable[[int, Response], None]) -> None: ...

    def count_tokens(self, text: str) -> int | None: ...

    def close(self) -> None: ...


def complete_all(
    backend: Backend,
    requests: Sequence[Request],
    cache: RequestCache | None,
    *,
    progress: Callable[[int], None] | None = None,
) -> list[Response]:
    """Answers to every request, from the cache where it has them, else from the backend (then cached)."""
    identity = backend.identity()
    keys = [request_key(identity, r.body()) for r in requests]
    out: list[Response | None] = [None] * len(requests)
    missing: list[int] = []
    for i, key in enumerate(keys):
        hit = cache.get(key) if cache is not None else None
        if hit is not None:
            out[i] = Response.from_json(hit, cached=True)
        else:
            missing.append(i)
    if progress is not None and len(missing) < len(requests):
        progress(len(requests) - len(missing))
    if missing:
        # Equal requests in one run are sent once.
        first: dict[str, int] = {}
        unique = [i for i in missing if first.setdefault(keys[i], i) == i]

        def store(j: int, response: Response) -> None:
            i = unique[j]
            if cache is not None:
                cache.put(keys[i], {"backend": identity, **requests[i].body()}, response.to_json())
            out[i] = response
            if progress is not None:
                progress(1)

        backend.call([requests[i] for i in unique], store)
        for i in missing:
            if out[i] is None:
                src = out[first[keys[i]]]
                assert src is not None
                out[i] = Response(list(src.texts), src.prompt_tokens, src.completion_tokens, cached=True)
                if progress is not None:
                    progress(1)
    return [r for r in out if r is not None]


# ---- HTTP ------------------------------------------------------------------------------


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """`Retry-After` as seconds to wait (it is either seconds or an HTTP date); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait before asking again after a 429, 5xx or network failure."""

    retries: int = 6
    base_s: float = 1.0
    max_s: float = 60.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """The wait before attempt `attempt + 1`: `Retry-After` if given, else base * 2^attempt with jitter."""
        if retry_after is not None:
            return min(retry_after, self.max_s)
        return min(self.max_s, self.base_s * (2**attempt) * (1.0 + 0.25 * random.random()))


class OpenAIBackend:
    """An OpenAI-compatible HTTP endpoint (`base_url` ends where `/completions` is appended, e.g. `.../v1`)."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api: str = "completions",
        api_key: str | None = None,
        concurrency: int = 4,
        timeout_s: float = 120.0,
        retry: RetryPolicy | None = None,
        params: Mapping[str, Any] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if api not in APIS:
            raise LLMError(f"api must be one of {', '.join(APIS)}, not {api!r}")
        if concurrency < 1:
            raise LLMError("concurrency must be at least 1")
        import httpx

        self.base_url = base_url.rstrip("/")
        self.name = model
        self.api = api
        self.concurrency = concurrency
        self.retry = retry or RetryPolicy()
        self.params = dict(params or {})
        self.retried = 0  # requests asked again (429, 5xx, network), for the run's record
        self._sleep = sleep
        self._lock = threading.Lock()
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(headers=headers, timeout=timeout_s)
        self._httpx = httpx

    @property
    def url(self) -> str:
        return f"{self.base_url}/{'chat/completions' if self.api == 'chat' else 'completions'}"

    def identity(self) -> dict[str, Any]:
        return {"kind": "openai", "url": self.url, "model": self.name, "params": self.params}

    def count_tokens(self, text: str) -> int | None:
        return None  # the endpoint's tokenizer is not known here

    def close(self) -> None:
        self._client.close()

    def http_body(self, request: Request) -> dict[str, Any]:
        """The JSON body sent: the model, the request, then `params` (a None value removes a key)."""
        body: dict[str, Any] = {"model": self.name, **request.body()}
        for key, value in self.params.items():
            if value is None:
                body.pop(key, None)
            else:
                body[key] = value
        if "max_completion_tokens" in self.params and "max_tokens" not in self.params:
            body.pop("max_tokens", None)
        return body

    def _parse(self, data: Any, request: Request) -> Response:
        try:
            choices = sorted(data["choices"], key=lambda c: c.get("index", 0))
            if self.api == "chat":
                texts = [c["message"].get("content") or "" for c in choices]
            else:
                texts = [c.get("text") or "" for c in choices]
        except (KeyError, TypeError, AttributeError):
            raise RequestFailed(f"unexpected response from {self.url}: no choices") from None
        if len(texts) != request.n:
            raise RequestFailed(f"{self.url} returned {len(texts)} choices for n={request.n}")
        usage = data.get("usage") or {}
        return Response(texts, usage.get("prompt_tokens"), usage.get("completion_tokens"))

    def send(self, request: Request) -> Response:
        """One request with retries (429, 5xx, timeouts and broken connections)."""
        body = self.http_body(request)
        attempt = 0
        while True:
            retry_after: float | None = None
            try:
                reply = self._client.post(self.url, json=body)
            except self._httpx.TransportError as err:  # timeouts, refused or broken connections
                problem, status = f"{type(err).__name__}: {err}", None
            else:
                status = reply.status_code
                if status == 200:
                    try:
                        data = reply.json()
                    except ValueError:
                        raise RequestFailed(
                            f"{self.url} answered 200 with a body that is not JSON", status=status
                        ) from None
                    return self._parse(data, request)
                problem = f"HTTP {status}: {_error_message(reply)}"
                if status not in RETRY_STATUS and status < 500:
                    raise RequestFailed(f"{self.url}: {problem}", status=status)
                retry_after = retry_after_seconds(reply.headers.get("retry-after"))
            if attempt >= self.retry.retries:
                raise RequestFailed(
                    f"{self.url}: {problem} (gave up after {attempt + 1} attempts)", status=status
                )
            with self._lock:
                self.retried += 1
            self._sleep(self.retry.delay(attempt, retry_after))
            attempt += 1

    def call(self, requests: Sequence[Request], on_result: Callable[[int, Response], None]) -> None:
        """Send with up to `concurrency` requests in flight; results reach `on_result` in this thread."""
        if not requests:
            return
        if self.concurrency == 1:
            for i, request in enumerate(requests):
                on_result(i, self.send(request))
            return
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="cadmus-llm")
        try:
            pending: dict[Future[Response], int] = {
                pool.submit(self.send, r): i for i, r in enumerate(requests)
            }
            while pending:
                done, _ = wait(pending, return_when=FIRST_EXCEPTION)
                for fut in done:
                    i = pending.pop(fut)
                    on_result(i, fut.result())  # re-raises the request's error
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _error_message(reply: Any) -> str:
    """The endpoint's own error text (OpenAI's `{"error": {"message": ...}}` or the body), shortened."""
    try:
        data = reply.json()
    except ValueError:
        data = None
    message = None
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict):
            message = err.get("message")
        elif isinstance(err, str):
            message = err
        message = message or data.get("detail") or data.get("message")
    if not message:
        message = reply.text or reply.reason_phrase
    text = " ".join(str(message).split())
    return text[:300] + ("..." if len(text) > 300 else "")


# ---- a pretrained model on disk --------------------------------------------------------


class HFBackend:
    """A pretrained model on disk (`cadmus.hf.HFCompleter`), answered in batches on this machine.

    Chat requests go through the model's chat template (`HFCompleter.chat`); token counts come
    from the model's own tokenizer. Generation is the completer's: greedy at temperature 0, and
    each answer cut before the first stop string.
    """

    def __init__(self, spec: str, *, batch_size: int = 16, api: str = "completions") -> None:
        if api not in APIS:
            raise LLMError(f"api must be one of {', '.join(APIS)}, not {api!r}")
        from cadmus.hf import HFCompleter  # heavy: imported only when a local model is used

        self.spec = spec
        self.completer = HFCompleter(spec, batch_size=max(1, batch_size))
        self.name = str(self.completer.name)
        self.api = api
        self.batch_size = max(1, batch_size)
        self.retried = 0

    def identity(self) -> dict[str, Any]:
        return {"kind": "hf", "model": self.name, "spec": self.spec}

    def count_tokens(self, text: str) -> int | None:
        return len(self.completer.tokenizer(text, add_special_tokens=False)["input_ids"])

    def close(self) -> None:
        pass

    def call(self, requests: Sequence[Request], on_result: Callable[[int, Response], None]) -> None:
        groups: dict[tuple[Any, ...], list[int]] = {}
        for i, r in enumerate(requests):
            key = (r.messages is not None, r.max_tokens, r.temperature, r.stop, r.seed, r.n)
            groups.setdefault(key, []).append(i)
        for (is_chat, max_tokens, temperature, stop, seed, n), members in groups.items():
            options = {
                "max_tokens": max_tokens,
                "temperature": temperature,
                "stop": list(stop) or None,
                "seed": seed,
            }
            for start in range(0, len(members), self.batch_size):
                chunk = members[start : start + self.batch_size]
                if is_chat:
                    conversations = {
                        i: [{"role": role, "content": text} for role, text in requests[i].messages or ()]
                        for i in chunk
                    }
                    prompts = {i: self.completer.chat_prompt(c) for i, c in conversations.items()}
                else:
                    prompts = {i: requests[i].prompt or "" for i in chunk}
                counts = {i: self.count_tokens(prompts[i]) or 0 for i in chunk}
                context = getattr(self.completer, "context", None)
                # A prompt the model's context cannot hold gets empty answers (judged wrong), as in `cadmus eval`.
                fits = [i for i in chunk if context is None or counts[i] + max_tokens <= context]
                texts: list[str] = []
                if fits and is_chat:
                    texts = self.completer.chat([conversations[i] for i in fits for _ in range(n)], **options)
                elif fits:
                    texts = self.completer.complete([prompts[i] for i in fits for _ in range(n)], **options)
                for i in chunk:
                    if i in fits:
                        j = fits.index(i)
                        answers = list(texts[j * n : (j + 1) * n])
                    else:
                        answers = [""] * n
                    used = sum(self.count_tokens(a) or 0 for a in answers)
                    on_result(i, Response(answers, counts[i], used))
