"""`cadmus serve`: every endpoint through the official `openai` client on loopback, malformed
requests, batching that does not change answers, and greedy answers equal to `cadmus eval`'s."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import openai
import pytest
import torch
import torch.nn.functional as F

from cadmus.eval import complete, generate_answers, load_checkpoint
from cadmus.model import GPT, preset_config, save_model
from cadmus.serve import Sampling, ServeEngine, ServeError, serve_in_thread
from cadmus.tokenizer import Tokenizer

NAME = "tiny-test"
PROMPTS = [
    "a = 5\nb = a + 7\nassert b == ",
    "x = 19\nd = x + 19\nassert d == ",
    "n = 3\n",
    "total = 120\ncount = total - 45\nassert count == ",
    "",
]
ROOT = Path(__file__).resolve().parents[1]


def make_checkpoint(root: Path) -> Path:
    """A randomly initialised two-layer model, saved as a checkpoint (reversed-digit tokenizer).

    The lm_head is untied and scaled up so that greedy choices have clear margins.
    """
    tok = Tokenizer("reversed")
    torch.manual_seed(3)
    config = preset_config(
        "tiny", vocab_size=tok.vocab_size, block_size=64, n_layer=2, n_embd=32, n_head=2, tie_embeddings=False
    )
    model = GPT(config)
    with torch.no_grad():
        model.lm_head.weight.mul_(8)
    ckpt = root / "run" / "checkpoints" / "step-00000000"
    save_model(model, ckpt)
    tok.save(ckpt / "tokenizer.json")
    return ckpt


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    torch.set_num_threads(1)
    path = make_checkpoint(tmp_path_factory.mktemp("serve"))
    engine = ServeEngine.load(path, device="cpu", name=NAME, max_batch=8, batch_window_ms=20)
    with serve_in_thread(engine) as url:
        yield engine, url, path


@pytest.fixture(scope="module")
def client(served):
    _, url, _ = served
    return openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0, timeout=60)


def post(url: str, path: str, body, **kwargs) -> httpx.Response:
    if isinstance(body, (bytes, str)):
        return httpx.post(url + path, content=body, headers={"content-type": "application/json"}, timeout=60)
    return httpx.post(url + path, json=body, timeout=60, **kwargs)


def reference(engine: ServeEngine, prompts: list[str], max_tokens: int) -> list[str]:
    """The project's own greedy generation (`cadmus eval`), with no format stop cut."""
    answers = generate_answers(
        engine.ckpt, prompts, ["output"] * len(prompts), max_new_tokens=[max_tokens] * len(prompts)
    )
    return [a[0] for a in answers]


# ---- models, health -------------------------------------------------------------------


def test_models_and_health(served, client):
    engine, url, _ = served
    models = client.models.list()
    assert [m.id for m in models.data] == [NAME]
    assert client.models.retrieve(NAME).id == NAME
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("no-such-model")
    health = httpx.get(url + "/health", timeout=30)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert models.data[0].model_extra["max_model_len"] == engine.block_size


# ---- completions --------------------------------------------------------------------


def test_greedy_completions_equal_eval_generation(served, client):
    engine, _, path = served
    want = reference(engine, PROMPTS, 12)
    # a list of prompts in one request
    got = client.completions.create(model=NAME, prompt=PROMPTS, max_tokens=12, temperature=0)
    assert [c.index for c in got.choices] == list(range(len(PROMPTS)))
    assert [c.text for c in got.choices] == want
    # one string prompt at a time, and the same prompt as token ids
    for prompt, text in zip(PROMPTS[:3], want):
        one = client.completions.create(model=NAME, prompt=prompt, max_tokens=12, temperature=0)
        assert one.choices[0].text == text
        ids = engine.tokenizer.encode(prompt)
        by_ids = client.completions.create(model=NAME, prompt=ids, max_tokens=12, temperature=0)
        assert by_ids.choices[0].text == text
    # `cadmus complete`'s function gives the same continuation
    ckpt = load_checkpoint(path)
    assert complete(ckpt, PROMPTS[0], max_new_tokens=12).completion == want[0]
    # usage counts what the model read and wrote
    usage = got.usage
    assert usage.prompt_tokens == sum(len(engine.tokenizer.encode(p)) + 2 for p in PROMPTS)
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert all(c.finish_reason in ("stop", "length") for c in got.choices)


def test_n_seed_and_sampling(client):
    def sample(seed, n=3, **kw):
        r = client.completions.create(
            model=NAME, prompt=PROMPTS[:2], max_tokens=10, temperature=1.0, n=n, seed=seed, **kw
        )
        assert [c.index for c in r.choices] == list(range(2 * n))
        return [c.text for c in r.choices]

    first = sample(7)
    assert sample(7) == first  # reproducible
    assert len(set(first)) > 1  # the choices are different samples
    assert sample(8) != first
    # top_p keeps only the most likely token when it is tiny: greedy answers
    greedy = [
        c.text
        for c in client.completions.create(
            model=NAME, prompt=PROMPTS[:2], max_tokens=10, temperature=0
        ).choices
    ]
    nucleus = sample(9, n=2, top_p=1e-6)
    assert nucleus == [greedy[0], greedy[0], greedy[1], greedy[1]]


def test_stop_strings(served, client):
    engine, _, _ = served
    full = reference(engine, [PROMPTS[0]], 16)[0]
    assert len(full) >= 6
    stop = full[3:5]
    want = full[: full.index(stop)]
    got = client.completions.create(
        model=NAME, prompt=PROMPTS[0], max_tokens=16, temperature=0, stop=[stop, "@@@"]
    )
    assert got.choices[0].text == want
    assert got.choices[0].finish_reason == "stop"
    streamed = client.completions.create(
        model=NAME, prompt=PROMPTS[0], max_tokens=16, temperature=0, stop=stop, stream=True
    )
    assert "".join(c.choices[0].text for c in streamed if c.choices) == want


def test_logprobs_with_echo_score_the_prompt(served, client):
    engine, _, _ = served
    tok, model = engine.tokenizer, engine.model
    prompt = "x = 250\ny = x + 17\n"
    ids = tok.encode(prompt)
    with torch.no_grad():
        logits, _ = model(torch.tensor([[tok.bos_id, *ids]]))
    logp = F.log_softmax(logits[0].float(), dim=-1)
    # what lm-evaluation-harness's local-completions sends for log-likelihoods
    got = client.completions.create(
        model=NAME, prompt=prompt, max_tokens=0, echo=True, logprobs=1, temperature=0
    )
    lp = got.choices[0].logprobs
    assert got.choices[0].text == prompt
    assert lp.tokens == [tok.id_to_token(i) for i in ids]
    assert lp.token_logprobs[0] is None and lp.top_logprobs[0] is None
    for i in range(1, len(ids)):
        assert lp.token_logprobs[i] == pytest.approx(float(logp[i, ids[i]]), abs=1e-4)
        best = int(logp[i].argmax())
        assert lp.top_logprobs[i][tok.id_to_token(best)] == pytest.approx(float(logp[i, best]), abs=1e-4)
    # text_offset: where each token's text starts (numbers keep their digits' places)
    assert lp.text_offset[0] == 0 and lp.text_offset == sorted(lp.text_offset)
    assert lp.text_offset[-1] < len(prompt)
    # max_tokens=1 appends the greedy token and its log-probability (the harness drops it)
    one = client.completions.create(
        model=NAME, prompt=prompt, max_tokens=1, echo=True, logprobs=1, temperature=0
    )
    lp1 = one.choices[0].logprobs
    assert len(lp1.tokens) == len(ids) + 1
    assert lp1.token_logprobs[0] is None
    assert lp1.token_logprobs[1 : len(ids)] == pytest.approx(lp.token_logprobs[1:], abs=1e-5)
    assert lp1.token_logprobs[-1] == pytest.approx(max(lp1.top_logprobs[-1].values()))
    assert one.usage.completion_tokens == 1


def test_logprobs_of_generated_tokens(client):
    got = client.completions.create(model=NAME, prompt=PROMPTS[0], max_tokens=6, temperature=0, logprobs=3)
    lp = got.choices[0].logprobs
    assert len(lp.tokens) == got.usage.completion_tokens
    for value, top in zip(lp.token_logprobs, lp.top_logprobs):
        assert value <= 0 and 3 <= len(top) <= 4
        assert value == pytest.approx(max(top.values()))  # greedy: the chosen token is the most likely
    assert lp.text_offset[0] == 0


# ---- chat -------------------------------------------------------------------------------


def test_chat_completion_uses_the_last_user_message(served, client):
    engine, _, _ = served
    want = reference(engine, [PROMPTS[1]], 10)[0]
    messages = [
        {"role": "system", "content": "ignored"},
        {"role": "user", "content": "not this one"},
        {"role": "assistant", "content": "ignored"},
        {"role": "user", "content": [{"type": "text", "text": PROMPTS[1]}]},
    ]
    got = client.chat.completions.create(
        model=NAME, messages=messages, max_tokens=10, temperature=0, logprobs=True, top_logprobs=2
    )
    choice = got.choices[0]
    assert choice.message.role == "assistant" and choice.message.content == want
    assert len(choice.logprobs.content) == got.usage.completion_tokens
    assert all(len(t.top_logprobs) == 2 for t in choice.logprobs.content)
    several = client.chat.completions.create(
        model=NAME, messages=messages[-1:], max_completion_tokens=10, temperature=0.8, n=2, seed=1
    )
    assert [c.index for c in several.choices] == [0, 1]


# ---- streaming --------------------------------------------------------------------------


def test_streaming_completions_and_chat(served, client):
    engine, _, _ = served
    want = reference(engine, PROMPTS[:2], 12)
    stream = client.completions.create(
        model=NAME,
        prompt=PROMPTS[:2],
        max_tokens=12,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    texts, finish, usage = ["", ""], [None, None], None
    for chunk in stream:
        assert chunk.object == "text_completion"
        if chunk.usage is not None:
            usage = chunk.usage
        for c in chunk.choices:
            assert finish[c.index] is None  # nothing after the last chunk of a choice
            texts[c.index] += c.text
            finish[c.index] = c.finish_reason
    assert texts == want and None not in finish
    assert usage is not None and usage.completion_tokens > 0
    echo = client.completions.create(
        model=NAME, prompt=PROMPTS[0], max_tokens=12, temperature=0, stream=True, echo=True
    )
    assert "".join(c.choices[0].text for c in echo) == PROMPTS[0] + want[0]

    chat = client.chat.completions.create(
        model=NAME,
        messages=[{"role": "user", "content": PROMPTS[1]}],
        max_tokens=12,
        temperature=0,
        stream=True,
    )
    chunks = list(chat)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == want[1]
    assert chunks[-1].choices[0].finish_reason in ("stop", "length")


def test_raw_event_stream_format(served):
    _, url, _ = served
    body = {"model": NAME, "prompt": PROMPTS[0], "max_tokens": 4, "temperature": 0, "stream": True}
    with httpx.stream("POST", url + "/v1/completions", json=body, timeout=60) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        raw = resp.read().decode()
    events = [e for e in raw.split("\n\n") if e]
    assert all(e.startswith("data: ") for e in events)
    assert events[-1] == "data: [DONE]"
    for e in events[:-1]:
        json.loads(e.removeprefix("data: "))


def test_streaming_holds_back_numbers_and_stop_prefixes(served):
    """Under reversed digits a number's text changes until it ends: streamed text never shows a part of it."""
    from cadmus.serve.engine import Delta, Job, _Row

    engine, _, _ = served
    tok = engine.tokenizer
    text = "y = 1234 + 56\nprint y\n"
    ids = tok.encode(text)
    assert tok.decode(ids) == text and ids[2:6] == [tok.token_id(d) for d in "4321"]

    def run(stop: tuple[str, ...]) -> tuple[list[str], str]:
        deltas: list[Delta] = []
        job = Job(1, deltas.append)
        row = _Row(
            engine,
            job,
            0,
            engine.encode("x = 1\n"),
            Sampling(max_tokens=100, temperature=0, stream=True, stop=stop),
            0,
        )
        for i in ids:
            row.push(i, None)
            if row.finished:
                break
        row.finish("length")
        pieces = [d.text for d in deltas]
        assert deltas[-1].finish_reason is not None
        return pieces, "".join(pieces)

    pieces, whole = run(())
    assert whole == text and len(pieces) > 3
    sent = 0
    for piece in pieces:
        sent += len(piece)
        assert not 4 < sent < 8 and not 11 < sent < 13  # never a part of 1234 or 56
    # a stop string inside the number is found only once the number is complete
    assert run(("23",))[1] == "y = 1"
    assert run(("+ 5",))[1] == "y = 1234 "
    assert run(("\npr",))[1] == "y = 1234 + 56"


# ---- batching ---------------------------------------------------------------------------


def test_concurrent_requests_are_batched_and_answer_as_sequential_ones(served):
    engine, url, _ = served
    prompts = [f"v = {i * 37}\nw = v + {i}\nassert w == " if i % 3 else f"k{i} = {i}\n" for i in range(16)]
    sequential = []
    for p in prompts:
        r = post(url, "/v1/completions", {"model": NAME, "prompt": p, "max_tokens": 8, "temperature": 0})
        sequential.append(r.json()["choices"][0]["text"])

    async def concurrently() -> list[str]:
        async with httpx.AsyncClient(base_url=url, timeout=60) as c:
            body = {"model": NAME, "max_tokens": 8, "temperature": 0}
            rs = await asyncio.gather(
                *(c.post("/v1/completions", json={**body, "prompt": p}) for p in prompts)
            )
        return [r.json()["choices"][0]["text"] for r in rs]

    before = dict(engine.stats)
    together = asyncio.run(concurrently())
    batches = engine.stats["batches"] - before["batches"]
    assert together == sequential
    assert batches < len(prompts)  # several requests shared a forward pass
    assert together == reference(engine, prompts, 8)


def test_padding_never_shortens_a_row(served):
    """A short prompt that may run to the end of the context is not batched behind a longer one."""
    engine, _, _ = served
    short, long = "a = 1\n", "b = 2\n" * 8
    alone = engine.run([short], Sampling(max_tokens=None, temperature=0))[0]
    together = engine.run([long, short], Sampling(max_tokens=None, temperature=0))
    assert (together[1].text, together[1].completion_tokens) == (alone.text, alone.completion_tokens)
    assert together[0].text == engine.run([long], Sampling(max_tokens=None, temperature=0))[0].text


# ---- malformed requests -----------------------------------------------------------------

OK = {"model": NAME, "prompt": "a = 1\n", "max_tokens": 2}


@pytest.mark.parametrize(
    ("path", "body", "status", "param"),
    [
        ("/v1/completions", {"model": NAME}, 400, "prompt"),
        ("/v1/completions", {**OK, "prompt": 5}, 400, "prompt"),
        ("/v1/completions", {**OK, "prompt": []}, 400, "prompt"),
        ("/v1/completions", {**OK, "prompt": [[1, 2], "x", 3.5]}, 400, "prompt"),
        ("/v1/completions", {**OK, "prompt": [10**9]}, 400, "prompt"),
        ("/v1/completions", {**OK, "prompt": "naïve"}, 400, "prompt"),
        ("/v1/completions", {**OK, "prompt": "a = 1\n" * 40}, 400, "prompt"),
        ("/v1/completions", {**OK, "max_tokens": -1}, 400, "max_tokens"),
        ("/v1/completions", {**OK, "max_tokens": "2"}, 400, "max_tokens"),
        ("/v1/completions", {**OK, "max_tokens": 1.5}, 400, "max_tokens"),
        ("/v1/completions", {**OK, "temperature": "hot"}, 400, "temperature"),
        ("/v1/completions", {**OK, "temperature": 5}, 400, "temperature"),
        ("/v1/completions", {**OK, "top_p": 0}, 400, "top_p"),
        ("/v1/completions", {**OK, "n": 0}, 400, "n"),
        ("/v1/completions", {**OK, "logprobs": 50}, 400, "logprobs"),
        ("/v1/completions", {**OK, "echo": "yes"}, 400, "echo"),
        ("/v1/completions", {**OK, "stop": [1]}, 400, "stop"),
        ("/v1/completions", {**OK, "stop": ""}, 400, "stop"),
        ("/v1/completions", {**OK, "seed": "x"}, 400, "seed"),
        ("/v1/completions", {**OK, "presence_penalty": 1.0}, 400, "presence_penalty"),
        ("/v1/completions", {**OK, "best_of": 3}, 400, "best_of"),
        (
            "/v1/completions",
            {**OK, "stream_options": {"include_usage": "x"}},
            400,
            "stream_options.include_usage",
        ),
        ("/v1/completions", {**OK, "model": "other"}, 404, "model"),
        ("/v1/completions", {"prompt": "x"}, 400, "model"),
        ("/v1/completions", [OK], 400, None),
        ("/v1/completions", b'{"model": "tiny-test", "prompt": ', 400, None),
        ("/v1/completions", b"", 400, None),
        ("/v1/chat/completions", {"model": NAME}, 400, "messages"),
        ("/v1/chat/completions", {"model": NAME, "messages": []}, 400, "messages"),
        (
            "/v1/chat/completions",
            {"model": NAME, "messages": [{"role": "system", "content": "x"}]},
            400,
            "messages",
        ),
        (
            "/v1/chat/completions",
            {"model": NAME, "messages": [{"role": "user", "content": 3}]},
            400,
            "messages[0].content",
        ),
        (
            "/v1/chat/completions",
            {"model": NAME, "messages": [{"role": "robot", "content": "x"}]},
            400,
            "messages[0].role",
        ),
        (
            "/v1/chat/completions",
            {"model": NAME, "messages": [{"role": "user", "content": "\u00e9"}]},
            400,
            "messages[0].content",
        ),
        (
            "/v1/chat/completions",
            {"model": NAME, "messages": [{"role": "user", "content": "x"}], "top_logprobs": -1},
            400,
            "top_logprobs",
        ),
        ("/v1/nothing", {}, 404, None),
    ],
)
def test_malformed_requests_get_openai_errors(served, path, body, status, param):
    _, url, _ = served
    resp = post(url, path, body)
    assert resp.status_code == status, resp.text
    error = resp.json()["error"]
    assert error["param"] == param
    assert error["type"] == "invalid_request_error"
    assert isinstance(error["message"], str) and error["message"]
    if param is not None:
        assert param.split(".")[0].split("[")[0] in error["message"]


def test_server_survives_bad_clients(served, client):
    _, url, _ = served
    assert httpx.get(url + "/v1/completions", timeout=30).status_code == 405
    too_big = post(url, "/v1/completions", b"{" + b" " * (9 << 20) + b"}")
    assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "request_too_large"
    chunks = (b" " * (1 << 20) for _ in range(10))  # no declared length: counted as it arrives
    streamed = httpx.post(url + "/v1/completions", content=chunks, timeout=60)
    assert streamed.status_code == 413
    many = post(url, "/v1/completions", {**OK, "prompt": ["a"] * 1000, "n": 5})
    assert many.status_code == 400 and many.json()["error"]["param"] == "n"
    err = post(url, "/v1/completions", {**OK, "prompt": "a = 1\n" * 40}).json()["error"]
    assert err["code"] == "context_length_exceeded" and "context" in err["message"]
    with pytest.raises(openai.BadRequestError) as bad:
        client.completions.create(model=NAME, prompt=5, max_tokens=1)  # type: ignore[arg-type]
    assert bad.value.body["param"] == "prompt"
    # a client that hangs up in the middle of a stream
    body = {**OK, "max_tokens": 40, "stream": True, "temperature": 1.0}
    with httpx.stream("POST", url + "/v1/completions", json=body, timeout=60) as resp:
        next(resp.iter_lines())
    # ... and the server still answers
    assert httpx.get(url + "/health", timeout=30).status_code == 200
    assert client.completions.create(model=NAME, prompt="a = 1\n", max_tokens=2, temperature=0).choices


def test_engine_refuses_what_does_not_fit(served):
    engine, _, _ = served
    with pytest.raises(ServeError, match="context") as err:
        engine.check_fits(engine.encode("a = 1\n" * 40), 1)
    assert err.value.key == "prompt"
    with pytest.raises(ServeError) as err:
        ServeEngine(engine.ckpt, max_batch=0)
    assert err.value.key == "max_batch"


# ---- the command --------------------------------------------------------------------------


def test_cadmus_serve_command(served):
    _, _, path = served
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cadmus",
            "serve",
            str(path),
            "--port",
            "0",
            "--model-name",
            "m",
            "--threads",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(60)
        assert line and "http://127.0.0.1:" in line[0], (line, proc.poll())
        base = line[0].split(" at ")[1].split()[0]
        r = httpx.post(
            base + "/completions", json={"model": "m", "prompt": "a = 1\n", "max_tokens": 3}, timeout=30
        )
        assert r.status_code == 200 and r.json()["model"] == "m"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "stopped" in out and "Traceback" not in err


def test_cadmus_serve_reports_bad_input_in_one_line(tmp_path, served, capsys):
    from cadmus.cli import main

    _, url, path = served
    assert main(["serve", str(tmp_path), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cadmus: error:") and "checkpoint" in err and len(err.strip().splitlines()) == 1
    busy = url.rsplit(":", 1)[1]  # the test server's port is taken
    assert main(["serve", str(path), "--port", busy, "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cadmus: error: key 'port'") and len(err.strip().splitlines()) == 1
