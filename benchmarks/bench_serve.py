"""Requests/s, generated tokens/s and latency of `cadmus serve` on loopback, and the gain of batching.

Starts `cadmus serve` as a subprocess on 127.0.0.1 (a free port) for the
demo's trained run (`runs/demo/train`; without it, an untrained tiny model)
and sends greedy completions of the test split's prompts with 1 and 16
concurrent clients (httpx), then 16 clients against a server that decodes one
request at a time (``--max-batch 1``): the ratio of the two is what batching
gains. Each load is bounded by a request count and a time limit, whichever
comes first. Every configuration must give the same answers to the same
prompts (checked). Figures, not a test.

    python benchmarks/bench_serve.py [--requests 256] [--max-time 60] [--threads 2] [--record FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from cadmus.eval import answer_budget, load_checkpoint, read_split
from cadmus.model import GPT, preset_config, save_model
from cadmus.tokenizer import Tokenizer

NAME = "bench"


def fresh_run(root: Path) -> Path:
    tok = Tokenizer("reversed")
    model = GPT(preset_config("tiny", vocab_size=tok.vocab_size, block_size=128))
    ckpt = root / "run" / "checkpoints" / "step-00000000"
    save_model(model, ckpt)
    tok.save(ckpt / "tokenizer.json")
    return ckpt


def workload(run: Path, data: Path, n: int) -> tuple[list[str], int]:
    """Prompts (cycled up to n) and the new-token budget `cadmus eval` would give them."""
    ckpt = load_checkpoint(run)
    if (data / "manifest.json").is_file():
        rows = read_split(data, "test", n)
        return [r["prompt"] for r in rows], max(answer_budget(ckpt, rows))
    prompts = [f"a = {i}\nb = a + {3 * i % 97}\nassert b == " for i in range(n)]
    return prompts, 16


class Server:
    """`cadmus serve` in a subprocess; the URL is read from its first line."""

    def __init__(self, run: Path, max_batch: int, window_ms: float, threads: int, device: str) -> None:
        cmd = [sys.executable, "-m", "cadmus", "serve", str(run), "--port", "0", "--model-name", NAME]
        cmd += ["--max-batch", str(max_batch), "--batch-window-ms", str(window_ms), "--threads", str(threads)]
        cmd += ["--device", device]
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}
        )
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(120)
        if not line or " at " not in line[0]:
            self.close()
            raise SystemExit(f"the server did not start: {line}")
        self.url = line[0].split(" at ")[1].split()[0]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


async def load(
    url: str, prompts: list[str], max_tokens: int, clients: int, requests: int, max_time: float
) -> dict[str, Any]:
    """`clients` concurrent clients send up to `requests` completions, stopping after `max_time` seconds."""
    latencies: list[float] = []
    tokens = 0
    answers: dict[int, str] = {}
    next_index = 0
    deadline = time.perf_counter() + max_time
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:

        async def one(i: int) -> None:
            nonlocal tokens
            body = {
                "model": NAME,
                "prompt": prompts[i % len(prompts)],
                "max_tokens": max_tokens,
                "temperature": 0,
            }
            t0 = time.perf_counter()
            resp = await client.post("/completions", json=body)
            latencies.append(time.perf_counter() - t0)
            resp.raise_for_status()
            out = resp.json()
            tokens += out["usage"]["completion_tokens"]
            answers[i % len(prompts)] = out["choices"][0]["text"]

        for i in range(min(clients, 4)):  # warm-up, not counted
            await one(i)
        latencies.clear()
        tokens = 0
        start = time.perf_counter()

        async def worker() -> None:
            nonlocal next_index
            while next_index < requests and time.perf_counter() < deadline:
                i = next_index
                next_index += 1
                await one(i)

        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - start
        health = (await client.get(url.removesuffix("/v1") + "/health")).json()
    lat = sorted(latencies)
    return {
        "clients": clients,
        "requests": len(lat),
        "seconds": elapsed,
        "requests_per_s": len(lat) / elapsed,
        "tokens_per_s": tokens / elapsed,
        "p50_ms": 1000 * statistics.median(lat),
        "p99_ms": 1000 * lat[min(len(lat) - 1, round(0.99 * (len(lat) - 1)))],
        "mean_batch": health["rows"] / max(1, health["batches"]),
        "answers": answers,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default="runs/demo/train")
    parser.add_argument("--data", default="runs/demo/data")
    parser.add_argument("--requests", type=int, default=256, help="most requests per load")
    parser.add_argument("--max-time", type=float, default=60.0, help="most seconds per load")
    parser.add_argument("--clients", default="1,16", help="concurrent clients, comma-separated")
    parser.add_argument("--max-batch", type=int, default=32)
    parser.add_argument("--batch-window-ms", type=float, default=2.0)
    parser.add_argument("--threads", type=int, default=2, help="the server's CPU threads")
    parser.add_argument("--device", default="auto", help="the server's device: auto, cpu, cuda, ...")
    parser.add_argument(
        "--record", metavar="FILE", help="also write the figures here (docs/results/bench-serve.json)"
    )
    args = parser.parse_args()
    run, data = Path(args.run), Path(args.data)
    if not (run / "checkpoints").is_dir() and not (run / "model.safetensors").is_file():
        print("no demo run found: using an untrained tiny model")
        run = fresh_run(Path(tempfile.mkdtemp(prefix="cadmus-bench-serve-")))
    prompts, max_tokens = workload(run, data, args.requests)
    clients = [int(c) for c in args.clients.split(",")]
    print(
        f"checkpoint {run}, {len(prompts)} prompts, max_tokens {max_tokens}, greedy; server threads {args.threads}"
    )
    print(f"load average before: {os.getloadavg()[0]:.2f} (other work on the machine lowers these figures)\n")
    configs = [(args.max_batch, c) for c in clients] + [(1, max(clients))]
    results = []
    print(
        "| max batch | clients | requests | requests/s | generated tokens/s | p50 ms | p99 ms | mean batch |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for max_batch, n_clients in configs:
        server = Server(run, max_batch, args.batch_window_ms, args.threads, args.device)
        try:
            r = asyncio.run(load(server.url, prompts, max_tokens, n_clients, args.requests, args.max_time))
        finally:
            server.close()
        r["max_batch"] = max_batch
        results.append(r)
        print(
            f"| {max_batch} | {n_clients} | {r['requests']} | {r['requests_per_s']:.1f} | {r['tokens_per_s']:.0f} "
            f"| {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['mean_batch']:.1f} |",
            flush=True,
        )
    batched, single = results[-2], results[-1]
    gain = batched["requests_per_s"] / single["requests_per_s"]
    print(
        f"\ngain of batching with {single['clients']} clients: {gain:.2f}x requests/s (max batch {args.max_batch} vs 1)"
    )
    shared = [i for i in results[0]["answers"] if all(i in r["answers"] for r in results)]
    same = sum(len({r["answers"][i] for r in results}) == 1 for i in shared)
    print(f"answers identical across configurations: {same}/{len(shared)}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    for r in results:
        del r["answers"]
    if args.record:
        from cadmus.figures import record_result

        payload = {
            "command": "make bench-serve",
            "checkpoint": str(run),
            "max_tokens": max_tokens,
            "batch_window_ms": args.batch_window_ms,
            "results": results,
            "batching_gain": gain,
            "answers_identical": [same, len(shared)],
        }
        record_result(args.record, {**payload, "machine": {"threads": args.threads}})
        print(f"recorded: {args.record}")


if __name__ == "__main__":
    main()
