"""Verified answers per second, with and without the KV cache, in the same run.

Uses the demo's trained run and dataset when they exist (`runs/demo`), else
a freshly initialised tiny model and a small arithmetic dataset built in a
temporary directory (its answers are wrong, but generation and judging cost
the same per token). Prints figures and same-run ratios; it is not a test.

    python benchmarks/bench_eval.py [--run DIR] [--data DIR] [-n 512]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from cadmus.data import build_dataset, config_from_dict, judge
from cadmus.eval import answer_budget, generate_answers, judge_answer, load_checkpoint, read_split
from cadmus.model import GPT, preset_config, save_model
from cadmus.tokenizer import Tokenizer

SMALL_ARITH = {
    "name": "bench-arith",
    "seed": 7,
    "mixture": [{"family": "arith", "format": "complete", "weight": 1}],
    "splits": {"train": {"size": 10}, "val": {"size": 10}, "test": {"size": 1024}},
}


def fresh_run(root: Path) -> Path:
    tok = Tokenizer("reversed")
    model = GPT(preset_config("tiny", vocab_size=tok.vocab_size, block_size=64))
    ckpt = root / "run" / "checkpoints" / "step-00000000"
    save_model(model, ckpt)
    tok.save(ckpt / "tokenizer.json")
    return ckpt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default="runs/demo/train")
    parser.add_argument("--data", default="runs/demo/data")
    parser.add_argument("-n", type=int, default=512, help="prompts")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    tmp = Path(tempfile.mkdtemp(prefix="cadmus-bench-eval-"))
    run, data = Path(args.run), Path(args.data)
    if not (run.is_dir() and (data / "manifest.json").is_file()):
        print("no demo run found: using an untrained tiny model and a fresh arith dataset")
        run = fresh_run(tmp)
        data = tmp / "data"
        build_dataset(config_from_dict(SMALL_ARITH), data, progress=False, card=False)
    ckpt = load_checkpoint(run)
    rows = read_split(data, "test", args.n)
    prompts = [r["prompt"] for r in rows]
    formats = [r["format"] for r in rows]
    budget = answer_budget(ckpt, rows)
    print(f"checkpoint {ckpt.path}\n{len(rows)} prompts of {data}, threads {args.threads}\n")

    t0 = time.perf_counter()
    refs = [judge(r["format"], r["prompt"], r["completion"].rstrip("\n"), r["judge"]) for r in rows]
    judge_s = time.perf_counter() - t0
    assert all(v.ok for v in refs), "a reference answer was judged wrong"

    results = {}
    for use_cache in (True, False):
        t0 = time.perf_counter()
        answers = generate_answers(
            ckpt, prompts, formats, max_new_tokens=budget, batch_size=256, use_cache=use_cache
        )
        gen_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        ok = sum(judge_answer(r, a[0]).ok for r, a in zip(rows, answers))
        total = gen_s + time.perf_counter() - t1
        results[use_cache] = (answers, total)
        name = "with KV cache   " if use_cache else "without KV cache"
        print(
            f"{name}: {len(rows) / total:8.1f} verified answers/s "
            f"(generation {gen_s:.2f}s, judging {time.perf_counter() - t1:.2f}s, accuracy {ok / len(rows):.3f})"
        )
    same = sum(a == b for a, b in zip(results[True][0], results[False][0]))
    print(f"\nspeed-up of the KV cache: {results[False][1] / results[True][1]:.2f}x")
    print(f"answers identical with and without cache: {same}/{len(rows)}")
    print(f"judge alone (reference answers): {len(rows) / judge_s:.0f} verdicts/s")


if __name__ == "__main__":
    main()
