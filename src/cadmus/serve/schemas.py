"""Request bodies of the OpenAI-compatible API, validated by pydantic.

Types are strict (``"5"`` is not an integer, ``1`` is not a boolean), so a
mistyped field is an error that names it rather than a silent conversion.
Fields the API defines but Cadmus does not implement are refused when they
would change the answer (``presence_penalty`` other than 0, ``logit_bias``,
``suffix``, ``best_of`` other than ``n``) and accepted otherwise; unknown
fields are ignored, as OpenAI-compatible servers commonly do.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from cadmus.serve.engine import MAX_LOGPROBS, Sampling

MAX_N = 64
MAX_PROMPTS = 1024
MAX_STOPS = 16
COMPLETIONS_MAX_TOKENS = 16  # OpenAI's default for /v1/completions


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


class _Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


class StreamOptions(_Body):
    include_usage: bool = False


class _Sampled(_Body):
    """What completions and chat completions share."""

    model: str
    n: int | None = Field(None, ge=1, le=MAX_N)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    top_k: int | None = Field(None, ge=-1)  # 0 or -1: off (as vLLM)
    stop: Any = Field(None, validate_default=True)
    seed: int | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    logit_bias: dict[str, Any] | None = None
    user: str | None = None

    @field_validator("stop")
    @classmethod
    def _stop(cls, value: Any) -> list[str]:
        if value is None:
            return []
        stops = [value] if isinstance(value, str) else value
        if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
            raise ValueError("must be a string or a list of strings")
        if len(stops) > MAX_STOPS:
            raise ValueError(f"at most {MAX_STOPS} stop strings, got {len(stops)}")
        if any(s == "" for s in stops):
            raise ValueError("a stop string must not be empty")
        return stops

    @field_validator("presence_penalty", "frequency_penalty")
    @classmethod
    def _no_penalty(cls, value: float | None) -> float | None:
        if value:
            raise ValueError("is not supported by this server (only 0)")
        return value

    @field_validator("logit_bias")
    @classmethod
    def _no_bias(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value:
            raise ValueError("is not supported by this server")
        return value

    def _sampling(self, max_tokens: int | None, logprobs: int | None, echo: bool) -> Sampling:
        return Sampling(
            max_tokens=max_tokens,
            temperature=1.0 if self.temperature is None else self.temperature,
            top_p=1.0 if self.top_p is None else self.top_p,
            top_k=self.top_k if self.top_k is not None and self.top_k > 0 else None,
            n=self.n or 1,
            stop=tuple(self.stop),
            seed=self.seed,
            logprobs=logprobs,
            echo=echo,
            stream=bool(self.stream),
        )

    @property
    def include_usage(self) -> bool:
        return self.stream_options is not None and self.stream_options.include_usage


class CompletionRequest(_Sampled):
    """``POST /v1/completions``: the prompt is a program prefix (text or token ids)."""

    prompt: Any = Field(...)
    max_tokens: int | None = Field(None, ge=0)
    logprobs: int | None = Field(None, ge=0, le=MAX_LOGPROBS)
    echo: bool | None = None
    best_of: int | None = None
    suffix: str | None = None

    @field_validator("prompt")
    @classmethod
    def _prompt(cls, value: Any) -> list[str | list[int]]:
        """A string, a list of strings, a list of token ids, or a list of lists of token ids."""
        shape = "must be a string, a list of strings, a list of token ids or a list of lists of token ids"
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list):
            raise ValueError(shape)
        if not value:
            raise ValueError("must not be empty")
        if all(_is_int(x) for x in value):
            return [list(value)]
        prompts: list[str | list[int]] = []
        for item in value:
            if isinstance(item, str):
                prompts.append(item)
            elif isinstance(item, list) and item and all(_is_int(x) for x in item):
                prompts.append(list(item))
            else:
                raise ValueError(shape)
        if len(prompts) > MAX_PROMPTS:
            raise ValueError(f"at most {MAX_PROMPTS} prompts per request, got {len(prompts)}")
        return prompts

    @field_validator("suffix")
    @classmethod
    def _no_suffix(cls, value: str | None) -> str | None:
        if value:
            raise ValueError("is not supported by this server")
        return value

    @field_validator("best_of")
    @classmethod
    def _best_of(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is not None and value != (info.data.get("n") or 1):
            raise ValueError("other than n is not supported by this server")
        return value

    def sampling(self) -> Sampling:
        max_tokens = COMPLETIONS_MAX_TOKENS if self.max_tokens is None else self.max_tokens
        return self._sampling(max_tokens, self.logprobs, bool(self.echo))


class ChatMessage(_Body):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: Any = None
    name: str | None = None

    @field_validator("content")
    @classmethod
    def _content(cls, value: Any) -> str | None:
        """A string, or a list of content parts of which the text parts are joined."""
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, list):
            texts = []
            for part in value:
                if (
                    not isinstance(part, dict)
                    or part.get("type") != "text"
                    or not isinstance(part.get("text"), str)
                ):
                    raise ValueError('content parts must be {"type": "text", "text": "..."}')
                texts.append(part["text"])
            return "".join(texts)
        raise ValueError("must be a string or a list of text parts")


class ChatRequest(_Sampled):
    """``POST /v1/chat/completions``: the last user message is the program prefix."""

    messages: list[ChatMessage] = Field(..., min_length=1)
    max_tokens: int | None = Field(None, ge=0)
    max_completion_tokens: int | None = Field(None, ge=0)
    logprobs: bool | None = None
    top_logprobs: int | None = Field(None, ge=0, le=MAX_LOGPROBS)

    @field_validator("messages")
    @classmethod
    def _has_user_message(cls, value: list[ChatMessage]) -> list[ChatMessage]:
        if _last_user(value) is None:
            raise ValueError("must hold a user message with text content (the program prefix)")
        return value

    def user_message(self) -> tuple[int, str]:
        """Index and text of the last user message (the program prefix)."""
        found = _last_user(self.messages)
        assert found is not None  # validated
        return found

    def sampling(self) -> Sampling:
        max_tokens = self.max_completion_tokens if self.max_completion_tokens is not None else self.max_tokens
        logprobs = (self.top_logprobs or 0) if self.logprobs else None
        return self._sampling(max_tokens, logprobs, False)


def _last_user(messages: list[ChatMessage]) -> tuple[int, str] | None:
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].role == "user" and messages[i].content is not None:
            return i, messages[i].content  # type: ignore[return-value]
    return None
