"""`cadmus llm eval` against a real local HTTP server: retries, cache hits, resume, outputs, dry run.

The stand-in is a real OpenAI-shaped server (FastAPI on uvicorn, bound to
127.0.0.1 on a free port) whose "model" reads the last program of the
prompt and answers with what Python would compute (flooring `//` and `%`),
so its wrong answers on DSL programs have a known cause. It can be told to
answer some requests with errors first (429 with Retry-After, 503, 400).
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from cadmus.data import build_dataset, config_from_dict
from cadmus.eval import comparison_table
from cadmus.lang import CmpKind, Compare, Module, Print, check, from_python
from cadmus.llm import (
    LLMEvalOptions,
    OpenAIBackend,
    PriceTable,
    RequestCache,
    RequestFailed,
    RetryPolicy,
    dry_run,
    llm_evaluate,
    priors_of_run,
)

NEGDIV = {
    "name": "negdiv-tiny",
    "seed": 11,
    "mixture": [
        {
            "family": "arith",
            "format": "complete",
            "weight": 1,
            "knobs": {"min_value": -60, "max_value": 60, "operators": ["/", "%"], "n_statements_max": 2},
        }
    ],
    "splits": {"train": {"size": 40}, "test": {"size": 24}},
    "dedup": {"holdout": 0.3},
}


def python_minded_answer(text: str) -> str:
    """The stand-in model: the value of the last `assert X == ` program in `text`, computed as Python would
    (a DSL `/` read as `//`)."""
    program = re.sub(r"(?<!/)/(?!/)", "//", text.rsplit("\n\n", 1)[-1])
    module = from_python(program + "0\n")
    body, test = module.body[:-1], module.body[-1].test  # type: ignore[attr-defined]
    assert isinstance(test, Compare) and test.op is CmpKind.EQ
    verdict = check(Module((*body, Print((test.left,)))), mode="python")
    return str(verdict.outputs[-1][0])


class StandIn:
    """A local OpenAI-compatible server; `script` lists the status codes to answer before answering properly."""

    def __init__(self) -> None:
        self.script: list[int] = []
        self.retry_after = "0"
        self.fail_after: int | None = None  # answer 400 to every request after this many good ones
        self.received: list[dict] = []
        self.good = 0
        self.lock = threading.Lock()
        app = FastAPI()

        @app.post("/v1/completions")
        async def completions(request: Request) -> JSONResponse:
            return self.answer(await request.json(), chat=False)

        @app.post("/v1/chat/completions")
        async def chat(request: Request) -> JSONResponse:
            return self.answer(await request.json(), chat=True)

        self.app = app

    def answer(self, body: dict, *, chat: bool) -> JSONResponse:
        with self.lock:
            self.received.append(body)
            if self.script:
                status = self.script.pop(0)
                headers = {"Retry-After": self.retry_after} if status == 429 else {}
                return JSONResponse(
                    {"error": {"message": f"scripted {status}"}}, status_code=status, headers=headers
                )
            if self.fail_after is not None and self.good >= self.fail_after:
                return JSONResponse({"error": {"message": "quota exceeded"}}, status_code=400)
            self.good += 1
        prompt = body["messages"][-1]["content"] if chat else body["prompt"]
        value = python_minded_answer(prompt)
        text = f"The answer is {value}." if chat else value + "\nassert"
        if not chat and "\n" in body.get("stop", []):
            text = text.split("\n")[0]
        choice = (
            {"index": 0, "message": {"role": "assistant", "content": text}}
            if chat
            else {"index": 0, "text": text}
        )
        usage = {
            "prompt_tokens": len(prompt) // 4,
            "completion_tokens": 2,
            "total_tokens": len(prompt) // 4 + 2,
        }
        return JSONResponse({"choices": [choice], "usage": usage})


@pytest.fixture(scope="module")
def standin():
    stand = StandIn()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    server = uvicorn.Server(uvicorn.Config(stand.app, log_level="error", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    stand.url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    yield stand
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture()
def fresh(standin):
    standin.script, standin.received, standin.fail_after, standin.good = [], [], None, 0
    standin.retry_after = "0"
    return standin


@pytest.fixture(scope="module")
def negdiv(tmp_path_factory):
    out = tmp_path_factory.mktemp("negdiv") / "data"
    build_dataset(config_from_dict(NEGDIV), out, progress=False, card=False)
    return out


def backend(stand: StandIn, api: str = "completions", **kw) -> OpenAIBackend:
    retry = kw.pop("retry", RetryPolicy(retries=4, base_s=0.001, max_s=0.01))
    return OpenAIBackend(stand.url, "standin-py", api=api, retry=retry, **kw)


PRICES = PriceTable(models={"standin-py": {"input": 1.0, "output": 2.0}})


# ---- retries -------------------------------------------------------------------------------


def test_429_then_answer_is_retried(fresh):
    fresh.script = [429, 429, 503]
    waits: list[float] = []
    b = backend(fresh, concurrency=1, sleep=waits.append)
    from cadmus.llm import Request as LLMRequest

    out = b.send(LLMRequest(prompt="a = -7\nb = a / 2\nassert b == ", stop=("\n",)))
    assert out.texts == ["-4"]
    assert len(fresh.received) == 4 and b.retried == 3
    assert waits[:2] == [0.0, 0.0]  # Retry-After: 0 honoured; the 503 backs off on its own
    assert 0 < waits[2] <= 0.01


def test_retry_after_seconds_is_honoured_and_capped(fresh):
    fresh.script = [429, 429]
    fresh.retry_after = "7"
    waits: list[float] = []
    b = backend(fresh, concurrency=1, sleep=waits.append, retry=RetryPolicy(retries=3, base_s=0.001, max_s=5))
    from cadmus.llm import Request as LLMRequest

    b.send(LLMRequest(prompt="a = 1\nb = a % 1\nassert b == "))
    assert waits == [5, 5]  # Retry-After 7 s, capped at max_s


def test_gives_up_after_the_retries(fresh):
    fresh.script = [503] * 10
    b = backend(fresh, concurrency=1, retry=RetryPolicy(retries=2, base_s=0.001, max_s=0.001))
    from cadmus.llm import Request as LLMRequest

    with pytest.raises(RequestFailed) as err:
        b.send(LLMRequest(prompt="x"))
    assert err.value.status == 503 and "gave up after 3 attempts" in str(err.value)
    assert len(fresh.received) == 3


def test_client_errors_are_not_retried(fresh):
    fresh.script = [400]
    b = backend(fresh, concurrency=1)
    from cadmus.llm import Request as LLMRequest

    with pytest.raises(RequestFailed, match="HTTP 400: scripted 400"):
        b.send(LLMRequest(prompt="x"))
    assert len(fresh.received) == 1


def test_retry_after_as_a_date():
    from email.utils import formatdate

    from cadmus.llm import retry_after_seconds

    now = 1_700_000_000.0
    assert retry_after_seconds(formatdate(now + 30, usegmt=True), now=now) == pytest.approx(30)
    assert retry_after_seconds("2.5") == 2.5
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


# ---- a whole run: outputs, cache, resume -------------------------------------------------------


def test_run_outputs_priors_and_report(fresh, negdiv, tmp_path):
    cache = RequestCache(tmp_path / "cache")
    opts = LLMEvalOptions(views=("dsl", "python"), template="raw")
    summary = llm_evaluate(
        backend(fresh), negdiv, tmp_path / "out", opts, cache=cache, prices=PRICES, log=lambda m: None
    )
    n = summary["splits"]["test"]["all"]["n"]
    assert n == 24 and summary["splits"]["test@python"]["all"]["n"] == 24
    # the stand-in computes like Python: always right on the Python view
    assert summary["splits"]["test@python"]["all"]["correct"] == 24
    records = [json.loads(line) for line in (tmp_path / "out" / "answers.jsonl").read_text().splitlines()]
    assert len(records) == 48
    wrong = [r for r in records if not r["ok"][0]]
    assert wrong and all(r["view"] == "dsl" for r in wrong)
    # every wrong DSL answer is explained by Python's flooring division
    assert all("floor_division" in r["priors"]["explained"] for r in wrong)
    table = summary["priors"]["test"]["priors"]["floor_division"]
    assert table["explained"] == len(wrong) == summary["priors"]["test"]["errors"]
    assert summary["priors"]["test@python"]["errors"] == 0
    # the control pairs each program with another prompt's wrong answer: flooring rarely fits those
    assert summary["priors"]["test"]["controls"] == len(wrong)
    assert table["control_share"] < table["share"]
    # the DSL answers that are right are those where truncating and flooring agree
    for r in records:
        if r["view"] == "dsl":
            assert r["ok"][0] == (r["answers"][0] == r["reference"].strip())
    usage = summary["usage"]
    # a program with `%` only reads the same in both views: its request is sent once
    assert usage["requests"] == 48 and usage["cached"] == 48 - len(fresh.received) > 0
    assert usage["cost_usd"] == pytest.approx(
        (usage["input_tokens"] * 1.0 + usage["output_tokens"] * 2.0) / 1e6
    )
    report = (tmp_path / "out" / "report.md").read_text()
    assert "## Priors" in report and "`floor_division`" in report
    assert "| test@python |" in comparison_table([tmp_path / "out"])
    assert priors_of_run(tmp_path / "out")["test"]["priors"]["floor_division"]["explained"] == len(wrong)


def test_rerun_is_answered_from_the_cache(fresh, negdiv, tmp_path):
    cache = RequestCache(tmp_path / "cache")
    opts = LLMEvalOptions(template="rules", shots=2)
    first = llm_evaluate(
        backend(fresh), negdiv, tmp_path / "a", opts, cache=cache, prices=PRICES, log=lambda m: None
    )
    sent = len(fresh.received)
    assert sent == 24 and len(cache) == 24
    second = llm_evaluate(
        backend(fresh), negdiv, tmp_path / "b", opts, cache=cache, prices=PRICES, log=lambda m: None
    )
    assert len(fresh.received) == sent  # nothing sent again
    assert second["usage"]["cached"] == 24 and second["usage"]["spent_usd_this_run"] == 0
    assert first["splits"] == second["splits"]
    a = [json.loads(x)["answers"] for x in (tmp_path / "a" / "answers.jsonl").read_text().splitlines()]
    b = [json.loads(x)["answers"] for x in (tmp_path / "b" / "answers.jsonl").read_text().splitlines()]
    assert a == b
    # a different request (another seed picks other examples) is a different entry
    llm_evaluate(
        backend(fresh),
        negdiv,
        tmp_path / "c",
        LLMEvalOptions(template="rules", shots=2, seed=1, limit=3),
        cache=cache,
        prices=PRICES,
        log=lambda m: None,
    )
    assert len(fresh.received) == sent + 3


def test_interrupted_run_resumes(fresh, negdiv, tmp_path):
    cache = RequestCache(tmp_path / "cache")
    opts = LLMEvalOptions(template="raw")
    fresh.fail_after = 10  # the endpoint stops answering after 10 requests
    with pytest.raises(RequestFailed, match="quota exceeded"):
        llm_evaluate(
            backend(fresh, concurrency=1), negdiv, tmp_path / "out", opts, cache=cache, log=lambda m: None
        )
    assert len(cache) == 10
    fresh.fail_after, fresh.received = None, []
    summary = llm_evaluate(
        backend(fresh, concurrency=3), negdiv, tmp_path / "out", opts, cache=cache, log=lambda m: None
    )
    assert len(fresh.received) == 14  # only what the first run did not get
    assert summary["usage"]["cached"] == 10 and summary["splits"]["test"]["all"]["n"] == 24


def test_chat_api_with_lenient_extraction(fresh, negdiv, tmp_path):
    summary = llm_evaluate(
        backend(fresh, api="chat"),
        negdiv,
        tmp_path / "out",
        LLMEvalOptions(limit=6),
        cache=None,
        log=lambda m: None,
    )
    assert summary["meta"]["extraction"] == "lenient"
    body = fresh.received[0]
    assert (
        body["messages"][0]["role"] == "system" and "truncated toward zero" in body["messages"][0]["content"]
    )
    records = [json.loads(x) for x in (tmp_path / "out" / "answers.jsonl").read_text().splitlines()]
    assert all(r["raw"][0].startswith("The answer is") for r in records)
    assert all(r["extraction"] == ["answer_is"] for r in records)
    assert all(r["answers"][0] == python_minded_answer(r["prompt"]) for r in records)


def test_dry_run_sends_nothing_and_prices(fresh, negdiv, tmp_path):
    cache = RequestCache(tmp_path / "cache")
    plan = dry_run(
        backend(fresh), negdiv, LLMEvalOptions(template="raw", limit=5), cache=cache, prices=PRICES
    )
    assert fresh.received == [] and len(plan.planned) == 5 and plan.cached == 0
    est = plan.estimate
    assert est.input_tokens == sum(-(-len(p.request.prompt) // 4) for p in plan.planned)
    assert est.cost_usd == pytest.approx((est.input_tokens * 1.0 + est.output_tokens * 2.0) / 1e6)
    unknown = dry_run(
        OpenAIBackend(fresh.url, "no-such-model"), negdiv, LLMEvalOptions(limit=2), prices=PRICES
    )
    assert unknown.estimate.cost_usd is None


def test_cli_needs_a_key_for_a_remote_endpoint(negdiv, capsys, monkeypatch):
    from cadmus.cli import main

    monkeypatch.delenv("CADMUS_TEST_NO_KEY", raising=False)
    code = main(
        [
            "llm",
            "eval",
            str(negdiv),
            "--base-url",
            "https://api.example.com/v1",
            "--model",
            "m",
            "--api-key-env",
            "CADMUS_TEST_NO_KEY",
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert "CADMUS_TEST_NO_KEY" in err and "api.example.com" in err


def test_cli_eval_and_priors(fresh, negdiv, tmp_path, capsys):
    from cadmus.cli import main

    out = tmp_path / "out"
    code = main(
        [
            "llm",
            "eval",
            str(negdiv),
            "--base-url",
            fresh.url,
            "--model",
            "standin-py",
            "--api",
            "completions",
            "--template",
            "raw",
            "--cache",
            str(tmp_path / "cache"),
            "--out",
            str(out),
            "--limit",
            "8",
        ]
    )
    text = capsys.readouterr().out
    assert code == 0 and "| test | 8 |" in text and "report:" in text
    assert main(["llm", "priors", str(out)]) == 0
    assert "floor_division" in capsys.readouterr().out
    assert (
        main(
            [
                "llm",
                "eval",
                str(negdiv),
                "--base-url",
                fresh.url,
                "--model",
                "standin-py",
                "--dry-run",
                "--cache",
                str(tmp_path / "cache"),
                "--limit",
                "8",
                "--api",
                "completions",
                "--template",
                "raw",
            ]
        )
        == 0
    )
    assert "8 already in the cache" in capsys.readouterr().out


def test_answers_keep_the_order_of_prompts_with_concurrency(fresh, negdiv, tmp_path):
    from cadmus.llm import Request as LLMRequest
    from cadmus.llm import complete_all

    prompts = [f"a = -{k}\nb = a / 3\nassert b == " for k in range(1, 21)]
    b = backend(fresh, concurrency=4)
    out = complete_all(b, [LLMRequest(prompt=p, stop=("\n",)) for p in prompts], None)
    assert [r.texts[0] for r in out] == [str(-k // 3) for k in range(1, 21)]


def test_cache_files_are_whole(tmp_path):
    cache = RequestCache(tmp_path)
    cache.put("ab" + "0" * 62, {"prompt": "x"}, {"texts": ["1"]})
    path = cache.path("ab" + "0" * 62)
    assert json.loads(path.read_text())["response"] == {"texts": ["1"]}
    assert [p.name for p in Path(tmp_path).rglob("*")] == ["ab", path.name]  # no temporary files left
    path.write_text("{broken")
    assert cache.get("ab" + "0" * 62) is None  # a damaged entry is asked again
