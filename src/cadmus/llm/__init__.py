"""Baselines: any OpenAI-compatible API or local pretrained model on Cadmus data, judged by the VM; request cache, cost; priors analysis.

Public surface (docs/baselines.md)::

    from cadmus.llm import OpenAIBackend, RequestCache, LLMEvalOptions, llm_evaluate
    backend = OpenAIBackend("http://127.0.0.1:8000/v1", "cadmus", api="completions")
    llm_evaluate(backend, "runs/demo/data", "runs/llm/x", LLMEvalOptions(limit=100),
                 cache=RequestCache("runs/llm/cache"))

Backends (`OpenAIBackend`, `HFBackend`, the `Backend` protocol, `Request`,
`Response`, `RetryPolicy`, `complete_all`), the cache (`RequestCache`,
`request_key`), prompts (`build_request`, `rules_text`), views of the same
programs in other syntaxes (`get_view`, `VIEW_NAMES`, `WORDS_SKIN`), answer
extraction (`extract_answer`), priors (`PRIORS`, `PATTERNS`, `classify`,
`summarize_priors`, `priors_table`, `priors_of_run`), prices and cost
(`load_prices`, `PriceTable`, `estimate_tokens`, `money`), the run
(`LLMEvalOptions`, `llm_evaluate`, `dry_run`, `plan_requests`,
`priors_report`) and the errors (`LLMError`, `RequestFailed`).
"""

from cadmus.llm.backends import (
    APIS,
    Backend,
    HFBackend,
    OpenAIBackend,
    Request,
    Response,
    RetryPolicy,
    complete_all,
    retry_after_seconds,
)
from cadmus.llm.cache import RequestCache, request_key
from cadmus.llm.cost import PriceTable, estimate_tokens, load_prices, money
from cadmus.llm.errors import LLMError, RequestFailed
from cadmus.llm.evaluate import (
    LLMEvalOptions,
    dry_run,
    llm_evaluate,
    plan_requests,
    priors_of_run,
    priors_report,
)
from cadmus.llm.extract import extract_answer
from cadmus.llm.priors import PATTERNS, PRIORS, Classification, classify, priors_table, summarize_priors
from cadmus.llm.prompts import Shot, build_request, rules_text
from cadmus.llm.views import VIEW_NAMES, WORDS_SKIN, get_view, python_program

__all__ = [
    "APIS",
    "PATTERNS",
    "PRIORS",
    "VIEW_NAMES",
    "WORDS_SKIN",
    "Backend",
    "Classification",
    "HFBackend",
    "LLMError",
    "LLMEvalOptions",
    "OpenAIBackend",
    "PriceTable",
    "Request",
    "RequestCache",
    "RequestFailed",
    "Response",
    "RetryPolicy",
    "Shot",
    "build_request",
    "classify",
    "complete_all",
    "dry_run",
    "estimate_tokens",
    "extract_answer",
    "get_view",
    "llm_evaluate",
    "load_prices",
    "money",
    "plan_requests",
    "priors_of_run",
    "priors_report",
    "priors_table",
    "python_program",
    "request_key",
    "retry_after_seconds",
    "rules_text",
    "summarize_priors",
]
