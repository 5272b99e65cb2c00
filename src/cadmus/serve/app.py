"""The HTTP API of `cadmus serve`: OpenAI's models, completions and chat completions, on FastAPI.

Every error is OpenAI's shape, ``{"error": {"message", "type", "param",
"code"}}``: 400 for a malformed request (``param`` names the field), 404
for an unknown model or path, 413 for a body over the limit, 500 if
generation itself fails; the server keeps answering after each. The model
runs on the engine's worker thread, so the event loop only parses, queues
and writes, and concurrent requests meet in the engine's batches.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from cadmus.errors import CadmusError
from cadmus.serve.engine import (
    ChoiceResult,
    Delta,
    Event,
    Failure,
    Job,
    Prompt,
    Sampling,
    ServeEngine,
    ServeError,
    TokenLogprob,
)
from cadmus.serve.schemas import ChatRequest, CompletionRequest

MAX_BODY_BYTES = 8 << 20

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def error_response(
    status: int, message: str, *, param: str | None = None, code: str | None = None
) -> JSONResponse:
    """An OpenAI-style error body."""
    kind = "invalid_request_error" if status < 500 else "server_error"
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return JSONResponse(body, status_code=status)


class _BodyLimit:
    """Refuse request bodies over `limit` bytes with 413, declared or not, before the app reads them.

    The body is read here (it is small) and handed to the app as it came.
    """

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await _too_large(self.limit)(scope, receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left before sending its body
            body += message.get("body", b"")
            if len(body) > self.limit:
                await _too_large(self.limit)(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> MutableMapping[str, Any]:
            nonlocal replayed
            if replayed:
                return await receive()  # e.g. http.disconnect, which streaming responses watch for
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)


def _too_large(limit: int) -> JSONResponse:
    return error_response(413, f"the request body is over {limit} bytes", code="request_too_large")


def _param(loc: Sequence[Any]) -> str | None:
    """``("body", "messages", 0, "content")`` -> ``messages[0].content``."""
    parts = list(loc[1:] if loc and loc[0] == "body" else loc)
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or None


def _validation_response(exc: RequestValidationError) -> JSONResponse:
    err = exc.errors()[0]
    kind = err.get("type", "")
    if kind == "json_invalid":
        where = err["loc"][-1] if isinstance(err["loc"][-1], int) else None
        detail = (err.get("ctx") or {}).get("error", "invalid JSON")
        at = f" at character {where}" if where is not None else ""
        return error_response(400, f"the request body is not valid JSON: {detail}{at}", code="json_invalid")
    param = _param(err["loc"])
    if param is None:
        what = "missing" if kind == "missing" else "not a JSON object"
        return error_response(400, f"the request body is {what}; send a JSON object", code=kind)
    if kind == "missing":
        return error_response(400, f"missing required field '{param}'", param=param, code=kind)
    msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
    return error_response(400, f"invalid '{param}': {msg}", param=param, code=kind)


def _sse(payload: Any) -> str:
    return f"data: {json.dumps(payload, separators=(',', ':'))}\n\n"


def _usage(prompts: Sequence[Prompt], results: Sequence[ChoiceResult]) -> dict[str, int]:
    """Prompt tokens count what the model read (``<bos>`` and ``<sep>`` included)."""
    prompt_tokens = sum(len(p.input_ids) for p in prompts)
    completion = sum(r.completion_tokens for r in results)
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion,
        "total_tokens": prompt_tokens + completion,
    }


def create_app(engine: ServeEngine) -> FastAPI:
    """The FastAPI application serving `engine` (started and closed with the app's lifespan)."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        engine.start()
        try:
            yield
        finally:
            engine.close()

    app = FastAPI(
        title="cadmus serve", summary="OpenAI-compatible API for a Cadmus checkpoint", lifespan=lifespan
    )
    app.state.engine = engine
    app.add_middleware(_BodyLimit, limit=MAX_BODY_BYTES)

    @app.exception_handler(RequestValidationError)
    async def _on_validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return _validation_response(exc)

    @app.exception_handler(ServeError)
    async def _on_serve_error(_request: Request, exc: ServeError) -> JSONResponse:
        return error_response(exc.status, exc.message, param=exc.key, code=exc.code)

    @app.exception_handler(CadmusError)
    async def _on_cadmus_error(_request: Request, exc: CadmusError) -> JSONResponse:
        return error_response(400, str(exc), param=exc.key)

    @app.exception_handler(StarletteHTTPException)
    async def _on_http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code)
        return error_response(exc.status_code, str(exc.detail), code=code)

    @app.exception_handler(Exception)
    async def _on_crash(_request: Request, exc: Exception) -> JSONResponse:
        return error_response(500, f"internal error: {type(exc).__name__}: {exc}")

    def model_card() -> dict[str, Any]:
        return {
            "id": engine.name,
            "object": "model",
            "created": engine.created,
            "owned_by": "cadmus",
            "max_model_len": engine.block_size,
        }

    def check_model(name: str) -> None:
        if name != engine.name:
            raise ServeError(
                f"the model '{name}' does not exist; this server serves '{engine.name}'",
                key="model",
                status=404,
                code="model_not_found",
            )

    @app.get("/health")
    async def health() -> dict[str, Any]:
        """Liveness, and the engine's counts: batches run, rows decoded, the largest batch."""
        return {"status": "ok", "model": engine.name, **engine.stats}

    @app.get("/v1/models")
    async def list_models() -> dict[str, Any]:
        return {"object": "list", "data": [model_card()]}

    @app.get("/v1/models/{model:path}")
    async def retrieve_model(model: str) -> dict[str, Any]:
        check_model(model)
        return model_card()

    @app.post("/v1/completions")
    async def completions(body: CompletionRequest) -> Any:
        check_model(body.model)
        sampling = body.sampling()
        prompts = encode_all(body.prompt, sampling)
        run = _Run(engine, prompts, sampling, "cmpl")
        if sampling.stream:
            return StreamingResponse(
                run.stream(run.completion_chunk, body.include_usage, "text_completion"),
                media_type="text/event-stream",
            )
        results = await run.results()
        return {
            **run.head("text_completion"),
            "choices": [run.completion_choice(i, r) for i, r in enumerate(results)],
            "usage": _usage(prompts, results),
        }

    @app.post("/v1/chat/completions")
    async def chat_completions(body: ChatRequest) -> Any:
        check_model(body.model)
        sampling = body.sampling()
        index, text = body.user_message()
        param = f"messages[{index}].content"
        prompt = engine.encode(text, param=param)
        engine.check_fits(prompt, sampling.max_tokens, param=param)
        run = _Run(engine, [prompt], sampling, "chatcmpl")
        if sampling.stream:
            return StreamingResponse(
                run.stream(run.chat_chunk, body.include_usage, "chat.completion.chunk"),
                media_type="text/event-stream",
            )
        results = await run.results()
        return {
            **run.head("chat.completion"),
            "choices": [run.chat_choice(i, r) for i, r in enumerate(results)],
            "usage": _usage([prompt], results),
        }

    def encode_all(raw: list[str | list[int]], sampling: Sampling) -> list[Prompt]:
        prompts = []
        for i, item in enumerate(raw):
            try:
                prompt = engine.encode(item)
                engine.check_fits(prompt, sampling.max_tokens)
            except ServeError as err:
                if len(raw) > 1:
                    err.message = f"prompt {i}: {err.message}"
                raise
            prompts.append(prompt)
        return prompts

    return app


class _Run:
    """One request on its way through the engine: submission, events, and the response's JSON."""

    def __init__(self, engine: ServeEngine, prompts: list[Prompt], sampling: Sampling, prefix: str) -> None:
        self.engine = engine
        self.prompts = prompts
        self.sampling = sampling
        self.id = f"{prefix}-{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.n_choices = len(prompts) * sampling.n
        loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[Event] = asyncio.Queue()
        self.job: Job = engine.submit(
            prompts, sampling, lambda event: loop.call_soon_threadsafe(self.queue.put_nowait, event)
        )
        self.offsets = [0] * self.n_choices  # text offset reached by each choice's logprobs
        self.started = [False] * self.n_choices

    def head(self, kind: str) -> dict[str, Any]:
        return {"id": self.id, "object": kind, "created": self.created, "model": self.engine.name}

    def prompt_of(self, choice: int) -> Prompt:
        return self.prompts[choice // self.sampling.n]

    async def events(self) -> AsyncIterator[Delta]:
        """The engine's deltas until every choice has finished; stops the job if the reader leaves."""
        left = self.n_choices
        try:
            while left:
                event = await self.queue.get()
                if isinstance(event, Failure):
                    raise ServeError(event.message, status=500, code="generation_failed")
                if event.finish_reason is not None:
                    left -= 1
                yield event
        finally:
            self.job.cancel()

    async def results(self) -> list[ChoiceResult]:
        results = [ChoiceResult() for _ in range(self.n_choices)]
        async for delta in self.events():
            results[delta.choice].add(delta)
        return results

    async def stream(
        self, chunk: Callable[[Delta], dict[str, Any]], include_usage: bool, kind: str
    ) -> AsyncIterator[str]:
        results = [ChoiceResult() for _ in range(self.n_choices)]
        try:
            if kind == "chat.completion.chunk":
                for i in range(self.n_choices):  # the role comes first, as OpenAI sends it
                    delta = {"role": "assistant", "content": ""}
                    yield _sse(
                        {**self.head(kind), "choices": [{"index": i, "delta": delta, "finish_reason": None}]}
                    )
            async for delta in self.events():
                results[delta.choice].add(delta)
                yield _sse({**self.head(kind), "choices": [chunk(delta)]})
            if include_usage:
                yield _sse({**self.head(kind), "choices": [], "usage": _usage(self.prompts, results)})
        except ServeError as err:
            yield _sse(
                {"error": {"message": err.message, "type": "server_error", "param": None, "code": err.code}}
            )
        yield "data: [DONE]\n\n"

    # ---- /v1/completions -------------------------------------------------------

    def _completion_logprobs(self, choice: int, tokens: Sequence[TokenLogprob]) -> dict[str, Any]:
        offsets = []
        for t in tokens:
            offsets.append(self.offsets[choice])
            self.offsets[choice] += self.engine.token_lengths[t.id]
        return {
            "tokens": [t.token for t in tokens],
            "token_logprobs": [t.logprob for t in tokens],
            "top_logprobs": [dict(t.top) if t.top is not None else None for t in tokens],
            "text_offset": offsets,
        }

    def _echo(self, choice: int) -> tuple[str, list[TokenLogprob]]:
        """On a choice's first delta: the prompt text (with echo) and its tokens without logprobs."""
        if self.started[choice] or not self.sampling.echo:
            self.started[choice] = True
            return "", []
        self.started[choice] = True
        prompt = self.prompt_of(choice)
        plain = [TokenLogprob(i, self.engine.token_strings[i], None, None) for i in prompt.ids]
        return prompt.text, plain

    def completion_chunk(self, delta: Delta) -> dict[str, Any]:
        first = not self.started[delta.choice]
        echo_text, plain = self._echo(delta.choice)
        logprobs = None
        if self.sampling.logprobs is not None:
            prompt_tokens = list(delta.prompt_tokens) if delta.prompt_tokens is not None else plain
            logprobs = self._completion_logprobs(
                delta.choice, [*(prompt_tokens if first else []), *delta.tokens]
            )
        return {
            "index": delta.choice,
            "text": echo_text + delta.text,
            "logprobs": logprobs,
            "finish_reason": delta.finish_reason,
        }

    def completion_choice(self, index: int, result: ChoiceResult) -> dict[str, Any]:
        echo_text, plain = self._echo(index)
        logprobs = None
        if self.sampling.logprobs is not None:
            prompt_tokens = result.prompt_tokens if result.prompt_tokens is not None else plain
            logprobs = self._completion_logprobs(index, [*prompt_tokens, *result.tokens])
        return {
            "index": index,
            "text": echo_text + result.text,
            "logprobs": logprobs,
            "finish_reason": result.finish_reason,
        }

    # ---- /v1/chat/completions ----------------------------------------------------

    def _chat_logprobs(self, tokens: Sequence[TokenLogprob]) -> dict[str, Any] | None:
        if self.sampling.logprobs is None:
            return None
        k = self.sampling.logprobs

        def entry(token: str, logprob: float | None) -> dict[str, Any]:
            return {"token": token, "logprob": logprob, "bytes": list(token.encode("utf-8"))}

        return {
            "content": [
                {**entry(t.token, t.logprob), "top_logprobs": [entry(s, v) for s, v in (t.top or ())[:k]]}
                for t in tokens
            ]
        }

    def chat_chunk(self, delta: Delta) -> dict[str, Any]:
        return {
            "index": delta.choice,
            "delta": {"content": delta.text} if delta.text or delta.finish_reason is None else {},
            "logprobs": self._chat_logprobs(delta.tokens),
            "finish_reason": delta.finish_reason,
        }

    def chat_choice(self, index: int, result: ChoiceResult) -> dict[str, Any]:
        return {
            "index": index,
            "message": {"role": "assistant", "content": result.text},
            "logprobs": self._chat_logprobs(result.tokens),
            "finish_reason": result.finish_reason,
        }
