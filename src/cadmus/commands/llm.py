"""`cadmus llm eval` (a baseline LLM judged on the VM) and `cadmus llm priors` (what explains its errors)."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

DEFAULT_CACHE = Path("runs/llm/cache")
LOOPBACK = ("localhost", "127.0.0.1", "::1")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "llm", help="baselines: an OpenAI-compatible API or a local pretrained model, judged on the VM"
    )
    llm = p.add_subparsers(dest="llm_command", metavar="COMMAND", required=True)

    e = llm.add_parser(
        "eval", help="ask a model every prompt of a dataset's splits and judge the answers on the VM"
    )
    e.add_argument("dataset", help="a dataset directory built by `cadmus data build`")
    src = e.add_argument_group("model (one of)")
    src.add_argument("--base-url", help="an OpenAI-compatible API root, e.g. https://api.openai.com/v1")
    src.add_argument("--model", help="the model name sent to the endpoint (and looked up in the price table)")
    src.add_argument("--hf", metavar="SPEC", help="a pretrained model on disk: 'smollm2' or a directory")
    e.add_argument(
        "--api",
        choices=("completions", "chat"),
        default=None,
        help="endpoint kind (default: chat for --base-url, completions for --hf)",
    )
    e.add_argument(
        "--split", action="append", dest="splits", help="split (repeatable; default: all but train/val)"
    )
    e.add_argument(
        "--view",
        action="append",
        dest="views",
        help="show the programs as: dsl (default), python, skin (skin:words), skin:braces, skin:end (repeatable)",
    )
    e.add_argument("--limit", type=int, default=None, help="at most this many prompts per split")
    e.add_argument(
        "--shots", type=int, default=0, help="solved training examples of the same family and format"
    )
    e.add_argument(
        "--template",
        choices=("rules", "raw"),
        default="rules",
        help="rules: describe the language; raw: the bare prompt",
    )
    e.add_argument(
        "--extraction",
        choices=("strict", "lenient"),
        default=None,
        help="how answers are read (default: strict for raw, else lenient)",
    )
    e.add_argument(
        "--max-tokens",
        type=int,
        default=None,
        help="answer budget (default: per format, from the references)",
    )
    e.add_argument("--temperature", type=float, default=0.0)
    e.add_argument(
        "--samples", type=int, default=1, help="answers per prompt (k for pass@k; needs a temperature)"
    )
    e.add_argument("--seed", type=int, default=0, help="few-shot choice (and sampling seed)")
    e.add_argument("--concurrency", type=int, default=4, help="requests in flight at once")
    e.add_argument(
        "--retries", type=int, default=6, help="retries of a request after 429, 5xx or a network failure"
    )
    e.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for one response")
    e.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra request field (YAML value; KEY=null removes a field), e.g. max_completion_tokens=2000",
    )
    e.add_argument(
        "--api-key-env", default="OPENAI_API_KEY", help="environment variable that holds the API key"
    )
    e.add_argument("--batch-size", type=int, default=16, help="--hf: prompts generated at once")
    e.add_argument("--cache", default=None, help=f"request cache directory (default: {DEFAULT_CACHE})")
    e.add_argument(
        "--no-cache", action="store_true", help="ask again even what the cache holds (and store nothing)"
    )
    e.add_argument("--prices", default=None, help="price table (default: configs/llm/prices.yaml)")
    e.add_argument("--no-priors", action="store_true", help="skip the priors analysis of wrong answers")
    e.add_argument(
        "--dry-run", action="store_true", help="print the requests and the estimated cost; send nothing"
    )
    e.add_argument("--out", default=None, help="output directory (default: runs/llm/MODEL/DATASET-Kshot)")
    e.set_defaults(func=_eval)

    pr = llm.add_parser(
        "priors", help="which known priors explain the wrong answers of evaluations (LLM or Cadmus)"
    )
    pr.add_argument("runs", nargs="+", help="evaluation directories (with answers.jsonl)")
    pr.set_defaults(func=_priors)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "model"


def _backend(args: argparse.Namespace) -> Any:
    from cadmus.configio import parse_overrides
    from cadmus.llm import HFBackend, LLMError, OpenAIBackend, RetryPolicy

    if bool(args.hf) == bool(args.base_url):
        raise LLMError("give either --base-url URL --model NAME, or --hf SPEC")
    if args.hf:
        return HFBackend(args.hf, batch_size=args.batch_size, api=args.api or "completions")
    if not args.model:
        raise LLMError("--base-url needs --model NAME")
    url = urlparse(args.base_url)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise LLMError(f"--base-url must be an http(s) URL, not {args.base_url!r}")
    key = os.environ.get(args.api_key_env) or None
    if key is None and url.hostname not in LOOPBACK and not args.dry_run:
        raise LLMError(
            f"no API key: set the environment variable {args.api_key_env} "
            f"(or name another with --api-key-env) to call {url.hostname}"
        )
    return OpenAIBackend(
        args.base_url,
        args.model,
        api=args.api or "chat",
        api_key=key,
        concurrency=args.concurrency,
        timeout_s=args.timeout,
        retry=RetryPolicy(retries=args.retries),
        params=parse_overrides(args.param, LLMError),
    )


def _eval(args: argparse.Namespace) -> int:
    from cadmus.data import read_manifest
    from cadmus.eval import split_table
    from cadmus.llm import LLMEvalOptions, RequestCache, dry_run, llm_evaluate, load_prices, money

    dataset = Path(args.dataset)
    read_manifest(dataset)  # a bad dataset is reported before a model is loaded
    prices = load_prices(args.prices)
    options = LLMEvalOptions(
        splits=args.splits,
        views=args.views or ("dsl",),
        limit=args.limit,
        shots=args.shots,
        template=args.template,
        extraction=args.extraction,
        max_tokens=args.max_tokens,
        temperature=args.temperature,
        samples=args.samples,
        seed=args.seed,
        priors=not args.no_priors,
        pass_ks=tuple(k for k in (1, 5, 10, args.samples) if k <= args.samples),
    )
    cache = None if args.no_cache else RequestCache(args.cache or DEFAULT_CACHE)
    backend = _backend(args)
    try:
        if args.dry_run:
            plan = dry_run(backend, dataset, options, cache=cache, prices=prices)
            for p in plan.planned[:2]:
                body = backend.http_body(p.request) if hasattr(backend, "http_body") else p.request.body()
                print(f"# {p.split} {p.row['id']}")
                print(json.dumps(body, indent=2, ensure_ascii=False))
            est = plan.estimate
            print(f"\nrequests: {len(plan.planned)} ({plan.cached} already in the cache, free)")
            print(f"to send: {est.requests}; tokens counted by {plan.counted_by}")
            print(f"input tokens: {est.input_tokens:,}")
            print(f"output tokens: about {est.output_tokens:,} (at most {est.max_output_tokens:,})")
            priced = f" (priced as {est.priced_as})" if est.priced_as else ""
            print(f"estimated cost: {money(est.cost_usd)}{priced}; at most {money(est.max_cost_usd)}")
            return 0
        name = _slug(backend.name)
        shots = f"{options.shots}shot"
        out = Path(args.out) if args.out else Path("runs/llm") / name / f"{dataset.resolve().name}-{shots}"
        summary = llm_evaluate(
            backend,
            dataset,
            out,
            options,
            cache=cache,
            prices=prices,
            log=lambda m: print(m, file=sys.stderr),
        )
    finally:
        backend.close()
    print(split_table(summary))
    usage = summary["usage"]
    print(
        f"\ntokens: {usage['input_tokens']:,} in, {usage['output_tokens']:,} out; "
        f"{usage['cached']} of {usage['requests']} requests from the cache; cost {money(usage['cost_usd'])}"
    )
    print(f"report: {out / 'report.md'}")
    return 0


def _priors(args: argparse.Namespace) -> int:
    from cadmus.llm import priors_of_run, priors_report

    for run in args.runs:
        print(f"# {run}\n")
        print(priors_report(priors_of_run(Path(run))))
    return 0
