"""Tokenizer throughput: encode (chars/s per number scheme) and packing (examples/s).

    python benchmarks/bench_tokenizer.py [--examples N] [--pack-examples M]

Texts are programs sampled from the task families (canonical DSL), falling
back to synthetic programs when the families cannot be sampled. Packing
writes a throwaway Parquet dataset of M examples and packs it.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from cadmus.tokenizer import NUMBER_SCHEMES, PackedSplit, Tokenizer, pack


def _synthetic(rng: random.Random) -> tuple[str, str]:
    a, b, c = rng.randint(0, 999), rng.randint(0, 999), rng.randint(1, 30)
    prompt = (
        f"total = {a}\ncount = {b}\nfor i in range({c}):\n    if i % 3 == 0:\n"
        f"        total = total + i * {a}\n    else:\n        count -= 1\nassert total == "
    )
    return prompt, str(rng.randint(0, 10**6))


def _family_texts(n: int) -> list[str]:
    try:
        from cadmus.lang import Module, to_dsl
        from cadmus.tasks import all_families

        families = list(all_families().values())
        texts: list[str] = []
        seed = 0
        while len(texts) < n and families:
            family = families[seed % len(families)]
            try:
                sample = family.sample(random.Random(seed), family.knobs())
                texts.append(to_dsl(Module(sample.body)))
            except Exception:
                pass
            seed += 1
            if seed > 5 * n:
                break
        return texts
    except Exception:
        return []


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--examples", type=int, default=5000)
    ap.add_argument("--pack-examples", type=int, default=200_000)
    args = ap.parse_args()
    rng = random.Random(0)
    texts = _family_texts(args.examples)
    source = "task families"
    if len(texts) < args.examples // 2:
        texts = [p + c for p, c in (_synthetic(rng) for _ in range(args.examples))]
        source = "synthetic programs"
    chars = sum(map(len, texts))
    print(f"encode: {len(texts)} {source}, {chars} chars (mean {chars / len(texts):.0f})")
    for scheme in NUMBER_SCHEMES:
        tok = Tokenizer(scheme)
        for t in texts[:200]:  # warm the piece cache as packing would
            tok.encode(t)
        t0 = time.perf_counter()
        n_tokens = sum(len(tok.encode(t)) for t in texts)
        dt = time.perf_counter() - t0
        t0 = time.perf_counter()
        for t in texts:
            tok.decode(tok.encode(t))
        dt_rt = time.perf_counter() - t0
        print(
            f"  {scheme:9s} vocab {tok.vocab_size:5d}  {chars / dt / 1e6:6.2f} M chars/s  "
            f"{n_tokens / dt / 1e6:5.2f} M tokens/s  {n_tokens / chars:.3f} tokens/char  "
            f"encode+decode {chars / dt_rt / 1e6:5.2f} M chars/s"
        )
    if args.pack_examples:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "data"
            (root / "train").mkdir(parents=True)
            per_shard = 100_000
            t0 = time.perf_counter()
            for k in range(0, args.pack_examples, per_shard):
                rows = [_synthetic(rng) for _ in range(min(per_shard, args.pack_examples - k))]
                table = pa.table({"prompt": [p for p, _ in rows], "completion": [c for _, c in rows]})
                pq.write_table(
                    table, root / "train" / f"shard-{k // per_shard:05d}.parquet", row_group_size=8192
                )
            print(f"pack: wrote {args.pack_examples} examples in {time.perf_counter() - t0:.1f} s")
            t0 = time.perf_counter()
            meta = pack(root, Tokenizer(), Path(tmp) / "packed")
            dt = time.perf_counter() - t0
            stats = meta["splits"]["train"]
            print(
                f"  packed {stats['examples']} examples, {stats['tokens']} tokens in {dt:.1f} s: "
                f"{stats['examples'] / dt:,.0f} examples/s, {stats['tokens'] / dt / 1e6:.2f} M tokens/s"
            )
            t0 = time.perf_counter()
            pack(root, Tokenizer(), Path(tmp) / "packed")
            print(f"  second call (cached): {time.perf_counter() - t0:.2f} s")
            split = PackedSplit(Path(tmp) / "packed", "train")
            print(f"  max_len {split.max_len}, mean_len {stats['mean_len']}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {rss:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
