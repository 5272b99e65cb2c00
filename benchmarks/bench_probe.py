"""Activation caching speed and peak memory for 100,000 examples of the demo dataset.

Runs `cadmus.probe.cache_activations` (the residual stream after the
embeddings and after every block, at the default positions: `<sep>`, the
answer's first token, statement ends and variable occurrences, with the VM
targets) over the demo's training split, and prints examples/s, cached
positions/s, the bytes written, and the process's resident memory at 10%,
50% and 100% of the run and at its peak: bounded memory shows as a flat
line, whatever the number of examples. Without `runs/demo`, an untrained
tiny model and a fresh arithmetic dataset stand in (the cost per example is
the same). It is not a test; other work on the machine lowers the figures.

    python benchmarks/bench_probe.py [-n 100000] [--threads 2] [--keep DIR] [--record FILE]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import torch

from cadmus.data import build_dataset, config_from_dict
from cadmus.eval import load_checkpoint
from cadmus.model import GPT, preset_config, save_model
from cadmus.probe import CacheOptions, cache_activations
from cadmus.tokenizer import Tokenizer

FALLBACK_DATA = {
    "name": "bench-probe",
    "seed": 7,
    "mixture": [{"family": "arith", "format": "complete", "weight": 1, "knobs": {"n_statements_max": 2}}],
    "splits": {"train": {"size": 100_000}, "val": {"size": 10}, "test": {"size": 10}},
    "dedup": {"within_split": False},
}


def rss_mib() -> float:
    """The current resident set size of this process, in MiB (Linux /proc)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def fallback(root: Path, n: int) -> tuple[Path, Path]:
    tok = Tokenizer("reversed")
    ckpt = root / "run" / "checkpoints" / "step-00000000"
    save_model(GPT(preset_config("tiny", vocab_size=tok.vocab_size, block_size=128)), ckpt)
    tok.save(ckpt / "tokenizer.json")
    config = {**FALLBACK_DATA, "splits": {**FALLBACK_DATA["splits"], "train": {"size": n}}}
    build_dataset(config_from_dict(config), root / "data", progress=False, card=False)
    return ckpt, root / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default="runs/demo/train")
    parser.add_argument("--data", default="runs/demo/data")
    parser.add_argument("--split", default="train")
    parser.add_argument("-n", type=int, default=100_000, help="examples")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--dtype", default="float32", choices=("float32", "float16"))
    parser.add_argument(
        "--keep", metavar="DIR", help="write the cache here and keep it (default: a temp dir)"
    )
    parser.add_argument("--record", metavar="FILE", help="also write the figures here (JSON)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    tmp = Path(tempfile.mkdtemp(prefix="cadmus-bench-probe-"))
    run, data = Path(args.run), Path(args.data)
    where = f"{run} on {data}/{args.split}"
    if not (run.is_dir() and (data / "manifest.json").is_file()):
        print("no demo run found: using an untrained tiny model and a fresh arith dataset")
        run, data = fallback(tmp, args.n)
        where = "untrained tiny model on a fresh arith dataset"
    out = Path(args.keep) if args.keep else tmp / "cache"
    ckpt = load_checkpoint(run)
    options = CacheOptions(limit=args.n, batch_size=args.batch_size, dtype=args.dtype)
    load_before = os.getloadavg()[0]
    rss_start = rss_mib()
    marks: dict[str, float] = {}
    done = 0

    def progress(k: int) -> None:
        nonlocal done
        done += k
        for share in (0.1, 0.5):
            key = f"{int(share * 100)}%"
            if key not in marks and done >= share * args.n:
                marks[key] = rss_mib()
                print(
                    f"  {done:,} examples, {time.perf_counter() - t0:.0f}s, RSS {marks[key]:.0f} MiB",
                    flush=True,
                )

    print(f"caching {args.n:,} examples: {where}, threads {args.threads}, load average {load_before:.2f}")
    t0 = time.perf_counter()
    cache = cache_activations(ckpt, data, args.split, out, options, progress=progress)
    seconds = time.perf_counter() - t0
    marks["100%"] = rss_mib()
    size = sum(p.stat().st_size for p in out.iterdir())
    figures = {
        "examples": cache.n_examples,
        "positions": cache.n_rows,
        "hooks": cache.hooks,
        "dtype": args.dtype,
        "seconds": round(seconds, 1),
        "examples_per_s": round(cache.n_examples / seconds, 1),
        "positions_per_s": round(cache.n_rows / seconds, 1),
        "activation_vectors_per_s": round(cache.n_rows * len(cache.hooks) / seconds, 1),
        "bytes_written": size,
        "shards": len(cache.meta["shards"]),
        "rss_mib_start": round(rss_start, 1),
        "rss_mib": {k: round(v, 1) for k, v in marks.items()},
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "threads": args.threads,
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
        "source": where,
    }
    print(
        f"{cache.n_examples:,} examples, {cache.n_rows:,} positions x {len(cache.hooks)} hooks in {seconds:.1f}s: "
        f"{figures['examples_per_s']:,.0f} examples/s, {figures['positions_per_s']:,.0f} positions/s "
        f"({figures['activation_vectors_per_s']:,.0f} activation vectors/s)"
    )
    print(f"written: {size / 2**20:,.0f} MiB in {figures['shards']} shards ({args.dtype})")
    print(
        f"resident memory: start {rss_start:.0f} MiB, "
        + ", ".join(f"{k} {v:.0f} MiB" for k, v in marks.items())
        + f"; peak {figures['peak_rss_mib']:.0f} MiB"
    )
    print(f"load average after: {figures['load_after']:.2f} (other work on the machine lowers these figures)")
    if args.record:
        from cadmus.figures import record_result

        record_result(args.record, {"command": "make bench-probe", **figures})
        print(f"recorded: {args.record}")
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
