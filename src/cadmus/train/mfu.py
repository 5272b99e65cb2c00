"""Peak FLOP/s: measured on CPU, looked up for GPUs; and model FLOP utilisation.

MFU = achieved model FLOP/s / peak FLOP/s, with the model's FLOPs per token
from `GPT.flops_per_token` (6N + 12·L·H·Q·T). On CPU the peak is measured on
this machine: the best rate of a large fp32 matmul with the same number of
threads as training, timed for about a second. On CUDA it is the device's
dense bf16 tensor-core peak from a table (unknown devices and fp32 runs give
None: no MFU rather than a wrong one).
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import torch

# Dense (no sparsity) bf16 tensor-core peak, FLOP/s. First matching substring wins.
GPU_PEAK_BF16 = (
    ("H200", 989e12),
    ("H100 PCIe", 756e12),
    ("H100 NVL", 835e12),
    ("H100", 989e12),
    ("GH200", 989e12),
    ("B200", 2250e12),
    ("A100", 312e12),
    ("L40S", 362e12),
    ("L4", 121e12),
    ("A10", 125e12),
    ("RTX 4090", 165e12),
    ("RTX 3090", 71e12),
)


def gpu_peak_flops(device_name: str, dtype: str) -> float | None:
    if dtype != "bf16":
        return None
    for key, peak in GPU_PEAK_BF16:
        if key in device_name:
            return peak
    return None


def measure_cpu_peak(threads: int, seconds: float = 1.0, n: int = 1024) -> float:
    """Best observed fp32 matmul FLOP/s with `threads` threads (restores the thread count)."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        # A private generator: measuring must not move the training RNG.
        gen = torch.Generator().manual_seed(0)
        a = torch.randn(n, n, generator=gen)
        b = torch.randn(n, n, generator=gen)
        torch.mm(a, b)  # warm up
        best = 0.0
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            torch.mm(a, b)
            dt = time.perf_counter() - t0
            best = max(best, 2 * n**3 / dt)
        return best
    finally:
        torch.set_num_threads(before)


def cpu_peak_flops(threads: int, cache_dir: Path | None = None) -> float:
    """The measured CPU peak, cached in ``cache_dir/peak.json`` for this machine and thread count."""
    key = f"{platform.machine()}|{platform.processor()}|{torch.__version__}|threads={threads}"
    path = cache_dir / "peak.json" if cache_dir is not None else None
    if path is not None and path.exists():
        try:
            data = json.loads(path.read_text())
            if data.get("key") == key:
                return float(data["flops"])
        except (json.JSONDecodeError, KeyError, ValueError):
            pass
    flops = measure_cpu_peak(threads)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps({"key": key, "flops": flops, "how": "best 1024^3 fp32 matmul over ~1 s"}) + "\n"
        )
    return flops
