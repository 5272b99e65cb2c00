"""cadmus.probe end to end on a tiny model trained inside the suite (single-digit additions, 400 steps)."""

import json
import shlex
from pathlib import Path

import numpy as np
import pytest
import torch

from cadmus.cli import build_parser, main
from cadmus.eval import load_checkpoint
from cadmus.probe import (
    ActivationCache,
    PatchSite,
    TokenText,
    annotate,
    lens_logits,
    make_pairs,
    patch_group,
    patch_options,
    read_rows,
    restored_share,
    run_patched,
)
from cadmus.probe.patching import make_batch
from cadmus.train import train
from conftest import build_tiny_dataset, tiny_train_config

DATA = {
    "name": "probe-arith",
    "seed": 5,
    "mixture": [
        {
            "family": "arith",
            "format": "complete",
            "weight": 1,
            "knobs": {"max_value": 9, "operators": ["+"], "n_statements_min": 2, "n_statements_max": 2},
        }
    ],
    "splits": {"train": {"size": 3000}, "val": {"size": 40}, "test": {"size": 200}},
    "dedup": {"within_split": False},
}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A 2-layer model that adds single digits (about 94% of test programs right after 400 steps)."""
    root = tmp_path_factory.mktemp("probe")
    data = build_tiny_dataset(DATA, root / "data")
    cfg = tiny_train_config(
        root,
        data,
        steps=400,
        log_interval=100,
        evaluation={"interval": None, "batches": 1},
        model={"n_layer": 2, "n_embd": 64, "n_head": 4, "block_size": 32},
        schedule={"warmup_steps": 20},
        checkpoint={"interval": None},
    )
    torch.set_num_threads(1)
    run = train(cfg)
    return root, data, run, load_checkpoint(run)


def cli(*args: str) -> None:
    assert main(["probe", *args]) == 0


def reproduced(report: Path, action: str) -> None:
    """The report holds the command that reproduces the run, and the CLI parses it back."""
    text = report.read_text()
    line = next(x for x in text.splitlines() if x.startswith(f"cadmus probe {action} "))
    args = build_parser().parse_args(shlex.split(line)[1:])
    assert args.probe_command == action
    for image in (x.split("](")[1].rstrip(")") for x in text.splitlines() if x.startswith("![")):
        assert (report.parent / image).stat().st_size > 1000


def test_cache_stores_positions_and_vm_targets(trained, tmp_path):
    _, data, run, ckpt = trained
    out = tmp_path / "cache"
    cli(
        "cache",
        str(run),
        str(data),
        "--split",
        "test",
        "--limit",
        "60",
        "--shard-rows",
        "100",
        "--out",
        str(out),
    )
    cache = ActivationCache(out)
    reproduced(out / "report.md", "cache")
    assert cache.n_examples == 60 and len(cache.meta["shards"]) > 1  # streamed in several shards
    assert cache.hooks == ["blocks.0.hook_resid_pre", "blocks.0.hook_resid_post", "blocks.1.hook_resid_post"]
    pos = cache.positions
    # per example: <sep>, the answer's first token, 2 statement ends, 4 variable occurrences (a, b, a, b)
    assert cache.n_rows == 60 * 8 == len(pos["example"])
    rows = read_rows(data, "test", 60)
    text = TokenText(ckpt.tokenizer)
    var0, ok0 = cache.target("var0")
    answer, _ = cache.target("answer")
    for example in (0, 17, 59):
        a = annotate(rows[example]["prompt"], rows[example]["completion"], text)
        mine = np.flatnonzero(pos["example"] == example)
        assert pos["token"][mine].tolist() == np.flatnonzero(a.kinds & 0b11110).tolist()
        assert (answer[mine] == a.answer).all()
        t = a.sep
        row = mine[pos["token"][mine] == t][0]
        assert ok0[row] and var0[row] == a.values[t, 0]
    # activations are the model's: the last hook at <sep> run again by hand
    sel = cache.select("answer")
    x = cache.load("blocks.1.hook_resid_post", sel)
    a0 = annotate(rows[0]["prompt"], rows[0]["completion"], text)
    _, store = ckpt.model.run_with_cache(
        torch.tensor([a0.ids]), names_filter=lambda n: n.endswith("1.hook_resid_post")
    )
    assert np.allclose(x[0], store["blocks.1.hook_resid_post"][0, a0.sep].numpy(), atol=1e-5)


def test_linear_probes_beat_their_controls(trained, tmp_path):
    _, data, run, _ = trained
    out = tmp_path / "linear"
    cli(
        "linear", str(run), str(data), "--train-limit", "600", "--test-limit", "150", "--out", str(out),
        "--targets", "var0,answer", "--features", "value,digit0", "--groups", "answer,stmt_end@0",
    )  # fmt: skip
    reproduced(out / "report.md", "linear")
    results = json.loads((out / "probes.json").read_text())
    by = {(r["target"], r["feature"], r["layer"], r["group"]): r for r in results}
    # the answer's ones digit is readable at <sep> after the last layer, far above both controls
    digit = by[("answer", "digit0", "L1", "answer")]
    assert digit["score"] > digit["shuffled"] + 0.3 and digit["score"] > digit["random_model"] + 0.2
    # shuffled labels teach nothing (the test split holds few distinct programs: chance is lumpy)
    assert max(r["shuffled"] for r in results if r["metric"] == "accuracy") < 0.35
    assert max(r["shuffled"] for r in results if r["metric"] == "r2") < 0.2
    assert (out / "probe_answer_digit0.png").is_file()


def test_lens_attention_ablation_runs(trained, tmp_path):
    _, data, run, _ = trained
    cli("lens", str(run), str(data), "--limit", "100", "--out", str(tmp_path / "lens"))
    reproduced(tmp_path / "lens" / "report.md", "lens")
    lens = json.loads((tmp_path / "lens" / "lens.json").read_text())
    assert {r["layer"] for r in lens} == {"embed", "L0", "L1"}
    cli("attention", str(run), str(data), "--limit", "40", "--out", str(tmp_path / "attn"))
    reproduced(tmp_path / "attn" / "report.md", "attention")
    assert len(list((tmp_path / "attn").glob("attn_L*_H*.png"))) == 2 * 4
    summary = json.loads((tmp_path / "attn" / "attention_by_kind.json").read_text())
    for row in summary:
        assert sum(v for k, v in row.items() if k != "head") == pytest.approx(1.0, abs=1e-4)
    cli(
        "ablate", str(run), str(data), "--limit", "60", "--components", "heads,layers",
        "--mean-limit", "100", "--out", str(tmp_path / "ablate"),
    )  # fmt: skip
    reproduced(tmp_path / "ablate" / "report.md", "ablate")
    rows = json.loads((tmp_path / "ablate" / "ablation.json").read_text())
    assert rows[0]["component"] == "none" and len(rows) == 1 + (8 + 2) * 2
    zero_layer = {r["component"]: r for r in rows if r["mode"] == "zero"}
    # knocking a whole layer out hurts more than the average single head
    heads = np.mean([r["accuracy"] for r in rows if r["kind"] == "head" and r["mode"] == "zero"])
    assert min(zero_layer["L0 layer"]["accuracy"], zero_layer["L1 layer"]["accuracy"]) < heads


@torch.no_grad()
def test_lens_at_the_last_layer_is_the_model(trained):
    _, _, _, ckpt = trained
    x = torch.tensor([[1, 5, 6, 7, 8, 9, 3]])
    (logits, _), cache = ckpt.model.run_with_cache(x)
    assert torch.allclose(lens_logits(ckpt.model, cache["blocks.1.hook_resid_post"]), logits, atol=1e-5)


@torch.no_grad()
def test_patching_self_restores_all_and_unrelated_nothing(trained, tmp_path):
    _, data, run, ckpt = trained
    opts = patch_options(kinds=["constant"], limit=200, pairs=80, head_positions=False)
    groups, counts = make_pairs(ckpt, data, "test", opts)
    assert counts["pairs"] > 100 and [g.name for g in groups] == ["constant0", "constant1"]
    model = ckpt.model
    for group in groups:
        batch = make_batch(group.pairs, ckpt.tokenizer.pad_id, torch.device("cpu"))
        (clean_logits, _), clean = model.run_with_cache(batch.clean)
        (corrupt_logits, _), _ = model.run_with_cache(batch.corrupt)
        lp_clean, lp_corrupt = batch.index.logprob(clean_logits), batch.index.logprob(corrupt_logits)
        assert float(lp_clean.mean() - lp_corrupt.mean()) > 2.0  # the change matters to this model
        prompt = tuple(range(batch.sep + 1))
        # a run patched into itself: every site restores 100%
        for hook in ("blocks.0.hook_resid_pre", "blocks.1.hook_attn_out", "blocks.1.hook_resid_post"):
            same = run_patched(model, batch.clean, clean, [PatchSite(hook, (batch.sep,))])
            assert restored_share(batch.index.logprob(same), lp_clean, lp_corrupt) == pytest.approx(
                1.0, abs=1e-4
            )
        # the whole clean residual stream (every position) at any layer into the corrupted run: 100%
        for hook in ("blocks.0.hook_resid_pre", "blocks.0.hook_resid_post", "blocks.1.hook_resid_mid"):
            full = run_patched(model, batch.corrupt, clean, [PatchSite(hook, None)])
            assert restored_share(batch.index.logprob(full), lp_clean, lp_corrupt) == pytest.approx(
                1.0, abs=1e-4
            )
        # from unrelated runs (each pair gets another pair's clean prompt): about 0%
        perm = torch.roll(torch.arange(len(group.pairs)), 1)
        unrelated = {name: t[perm] for name, t in clean.items()}
        other = run_patched(model, batch.corrupt, unrelated, [PatchSite("blocks.0.hook_resid_pre", prompt)])
        assert abs(restored_share(batch.index.logprob(other), lp_clean, lp_corrupt)) < 0.15
    # the whole grid: the changed digit's embedding restores it all; positions before it nothing
    result = patch_group(model, groups[1], ckpt.tokenizer.pad_id, opts)
    changed = result["labels"].index("n1.d0")
    sites = np.array(result["sites"])
    assert sites[result["points"].index("embed"), changed] == pytest.approx(1.0, abs=1e-4)
    assert np.all(sites[:, : result["first_changed_position"]] == 0)
    assert np.array(result["heads"]).shape == (2, 4)
    # and through the command line, with the report
    cli(
        "patch", str(run), str(data), "--kinds", "constant", "--limit", "120", "--pairs", "40",
        "--no-head-positions", "--out", str(tmp_path / "patch"),
    )  # fmt: skip
    reproduced(tmp_path / "patch" / "report.md", "patch")
    assert (tmp_path / "patch" / "patch_constant0_sites.png").is_file()
