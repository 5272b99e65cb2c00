"""Training throughput and MFU of the tiny and 20m presets on this machine.

Random tokens, AdamW, the trainer's own model and FLOP count
(6N + 12·L·H·Q·T per token); the peak is measured in the same run (CPU: best
fp32 1024^3 matmul with the same threads) or read from the spec table (GPU,
bf16). Run: ``make bench-train`` (``--steps``, ``--threads``, ``--presets``).
"""

from __future__ import annotations

import argparse
import os
import time
from contextlib import nullcontext

import torch

from cadmus.model import GPT, preset_config
from cadmus.train.config import OptimSection
from cadmus.train.mfu import gpu_peak_flops, measure_cpu_peak
from cadmus.train.optim import build_optimizers

# preset -> (micro-batch, sequence length)
SHAPES = {"tiny": (32, 256), "20m": (8, 256), "85m": (8, 512), "280m": (8, 1024)}


def bench(preset: str, steps: int, device: torch.device, bf16: bool, vocab: int = 512) -> dict:
    batch, seq = SHAPES[preset]
    torch.manual_seed(0)
    model = GPT(preset_config(preset, vocab_size=vocab, block_size=max(seq, 64))).to(device)
    (opt,) = build_optimizers(model, OptimSection(lr=1e-4), device.type)
    x = torch.randint(0, vocab, (batch, seq + 1), device=device)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else nullcontext()
    warmup = 3
    for i in range(warmup + steps):
        if i == warmup:
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
        with autocast:
            _, loss = model(x[:, :-1], x[:, 1:])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
    if device.type == "cuda":
        torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    tokens = steps * batch * seq
    return {
        "preset": preset,
        "params_non_embedding": model.n_params(),
        "batch": batch,
        "seq": seq,
        "steps": steps,
        "seconds": dt,
        "tokens_per_s": tokens / dt,
        "flops_per_s": tokens * model.flops_per_token(seq) / dt,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="tiny,20m")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument(
        "--record",
        metavar="FILE",
        help="also write the figures here (docs/results/bench-train.json feeds the docs)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        name = torch.cuda.get_device_name()
        peak, bf16, where = gpu_peak_flops(name, "bf16"), True, f"{name}, bf16 autocast, spec-sheet peak"
    else:
        peak, bf16 = measure_cpu_peak(args.threads), False
        where = f"CPU, {args.threads} threads, fp32, peak measured now (best 1024^3 matmul)"
    print(f"device: {where}")
    print(f"peak: {peak / 1e9:.1f} GFLOP/s" if peak else "peak: unknown")
    print(f"load average before: {os.getloadavg()[0]:.2f} (other work on the machine lowers these figures)")
    results = []
    print("| preset | non-emb. params | batch x seq | steps | tokens/s | achieved GFLOP/s | MFU |")
    print("|---|---|---|---|---|---|---|")
    for preset in args.presets.split(","):
        r = bench(preset, args.steps, device, bf16)
        r["mfu"] = r["flops_per_s"] / peak if peak else None
        results.append(r)
        mfu = f"{r['mfu'] * 100:.1f}%" if r["mfu"] is not None else "?"
        print(
            f"| {preset} | {r['params_non_embedding']:,} | {r['batch']} x {r['seq']} | {r['steps']} "
            f"| {r['tokens_per_s']:,.0f} | {r['flops_per_s'] / 1e9:.1f} | {mfu} |",
            flush=True,
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    if args.record:
        from cadmus.figures import record_result

        payload = {"command": "make bench-train", "device": where, "peak_flops": peak, "results": results}
        record_result(args.record, {**payload, "machine": {"threads": args.threads}})
        print(f"recorded: {args.record}")


if __name__ == "__main__":
    main()
