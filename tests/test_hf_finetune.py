"""Fine-tuning a pretrained Hugging Face model through Cadmus's trainer (cadmus.hf.finetune).

The pretrained model is a tiny Llama with random weights built from a `LlamaConfig` and a
byte-level tokenizer (256 bytes + <s> </s> <pad>, <s> put before every text as Llama does),
saved to a temporary directory: nothing is downloaded. The data is a small arithmetic dataset
built by `cadmus.data`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file

from cadmus.cli import main as cli_main
from cadmus.data import build_dataset
from cadmus.data import config_from_dict as data_config
from cadmus.eval import EvalError, EvalOptions, complete, evaluate, judge_answer, load_checkpoint, read_split
from cadmus.hf import (
    HFCausalLM,
    HFCompleter,
    HFError,
    HFTokenizer,
    finetune,
    generate_hf,
    load_finetuned,
    open_checkpoint,
)
from cadmus.tokenizer import PackedSplit, pack
from cadmus.train import ConfigError, config_from_dict, latest_checkpoint, load_config
from conftest import tiny_llama

DATA = {
    "name": "tiny-arith",
    "seed": 5,
    "mixture": [{"family": "arith", "format": "complete", "weight": 1, "knobs": {"max_value": 9}}],
    "splits": {"train": {"size": 240}, "val": {"size": 16}, "test": {"size": 12}},
    "ood": [{"name": "ood_values", "size": 8, "knobs": {"arith": {"min_value": 100, "max_value": 999}}}],
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_llama(tmp_path_factory.mktemp("llama"))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("data")
    build_dataset(data_config(DATA), out, progress=False, card=False)
    return out


def config(tiny: Path, dataset: Path, out: Path, **sections: dict) -> dict:
    raw = {
        "seed": 3,
        "out_dir": str(out),
        "device": "cpu",
        "threads": 1,
        "data": {"dataset": str(dataset)},
        "model": {"hf": str(tiny)},
        "optim": {"lr": 3e-3, "weight_decay": 0.0},
        "schedule": {"warmup_steps": 2},
        "batch": {"micro": 8},
        "stop": {"max_steps": 10},
        "eval": {"interval": None, "batches": 2},
        "checkpoint": {"interval": None},
        "log": {"interval": 1, "tensorboard": False, "progress": False},
    }
    for name, values in sections.items():
        raw[name] = {**raw.get(name, {}), **values} if isinstance(values, dict) else values
    return raw


def losses(run: Path) -> dict[int, float]:
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    return {r["step"]: r["loss"] for r in records if r["event"] == "train"}


def records(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]


# ---------------------------------------------------------------------- config


def test_config_keeps_cadmus_and_hf_knobs_apart(tiny: Path) -> None:
    cfg = config_from_dict({"model": {"hf": str(tiny), "block_size": 64, "lora": {"r": 4}}})
    assert cfg.model.lora.r == 4 and cfg.model.overrides() == {"block_size": 64}
    assert config_from_dict(cfg.model_dump()).model == cfg.model  # a dumped config validates again
    refused = {
        "model.n_layer": {"model": {"hf": "smollm2", "n_layer": 2}},
        "model.preset": {"model": {"hf": "smollm2", "preset": "20m"}},
        "model.lora": {"model": {"lora": {"r": 4}}},
        "model.gradient_checkpointing": {"model": {"gradient_checkpointing": True}},
        "optim.name": {"model": {"hf": "smollm2"}, "optim": {"name": "muon"}},
        "data.tokenizer": {"model": {"hf": "smollm2"}, "data": {"tokenizer": {"numbers": "reversed"}}},
    }
    for key, raw in refused.items():
        with pytest.raises(ConfigError) as err:
            config_from_dict({**raw, "stop": {"max_steps": 1}})
        assert err.value.key == key and "\n" not in str(err.value)


def test_bundled_smollm2_config_validates() -> None:
    root = Path(__file__).resolve().parents[1]
    cfg = load_config(root / "configs" / "train" / "smollm2-arith.yaml")
    assert cfg.model.hf == "smollm2" and cfg.data.loss_on == "completion"


# ------------------------------------------------------------------- tokenizer


def test_examples_are_framed_and_packed_with_the_models_tokenizer(
    tiny: Path, dataset: Path, tmp_path
) -> None:
    from transformers import AutoTokenizer

    tok = HFTokenizer(AutoTokenizer.from_pretrained(tiny), name="tiny")
    assert tok.prefix == [256] and tok.eos_id == 257 and tok.pad_id == 258 and tok.sep_id is None
    ids, n_prompt = tok.encode_example("a = 5\nassert a == ", "5")
    assert ids == [256, *b"a = 5\nassert a == ", *b"5", 257] and n_prompt == 1 + len("a = 5\nassert a == ")
    assert tok.decode(ids, skip_special_tokens=True) == "a = 5\nassert a == 5"

    meta = pack(dataset, tok, tmp_path / "packed")
    assert meta["tokenizer_sha256"] == tok.sha256 and meta["tokenizer_config"]["format"] == "hf"
    split = PackedSplit(tmp_path / "packed", "train")
    row = read_split(dataset, "train", 1)[0]
    tokens, mask = split.example(0)
    want, n_prompt = tok.encode_example(row["prompt"], row["completion"])
    assert tokens.tolist() == want
    assert mask.tolist() == [0] * n_prompt + [1] * (len(want) - n_prompt)  # completion and eos only
    assert pack(dataset, tok, tmp_path / "packed")["seconds"] == meta["seconds"]  # cached: same tokenizer


# --------------------------------------------------------------- fine-tuning


@pytest.fixture(scope="module")
def run(tiny: Path, dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A full fine-tune through `cadmus train`, with the quick evaluator at every evaluation."""
    out = tmp_path_factory.mktemp("ft") / "run"
    raw = config(tiny, dataset, out, stop={"max_steps": 24}, eval={"interval": 12, "batches": 2})
    path = out.parent / "ft.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert cli_main(["train", str(path)]) == 0
    return out


def test_finetune_through_cadmus_train_learns_and_checkpoints(run: Path, tiny: Path) -> None:
    steps = losses(run)
    assert len(steps) == 24 and steps[24] < steps[1]
    evals = [r for r in records(run) if r["event"] == "eval"]
    assert [r["step"] for r in evals] == [12, 24]
    assert all("val_loss" in r and 0 <= r["val_accuracy"] <= 1 and r["val_prompts"] == 16 for r in evals)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["n_params_all"] == sum(
        t.numel() for t in load_file(str(tiny / "model.safetensors")).values()
    )
    ckpt = latest_checkpoint(run / "checkpoints")
    names = {p.name for p in ckpt.iterdir()}
    assert {"model.safetensors", "config.json", "tokenizer.json", "backend.json", "trainer.pt"} <= names
    record = json.loads((ckpt / "backend.json").read_text())
    assert record["kind"] == "hf" and record["lora"] is None and record["block_size"] == 96
    # the weights moved away from the pretrained ones
    before, after = load_file(str(tiny / "model.safetensors")), load_file(str(ckpt / "model.safetensors"))
    assert not torch.equal(
        before["model.layers.0.mlp.up_proj.weight"], after["model.layers.0.mlp.up_proj.weight"]
    )


def test_a_cadmus_loader_refuses_an_hf_checkpoint_in_one_line(run: Path) -> None:
    with pytest.raises(EvalError) as err:
        load_checkpoint(run)
    assert "cadmus.hf.open_checkpoint" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("variant", ["full", "lora"])
def test_resume_is_bitwise(variant: str, tiny: Path, dataset: Path, tmp_path: Path) -> None:
    model = {"hf": str(tiny)}
    if variant == "lora":  # dropout on the adapters draws random numbers: resume must restore them
        model.update(
            lora={"r": 4, "alpha": 8, "dropout": 0.1, "target_modules": ["q_proj", "v_proj", "up_proj"]}
        )
        model.update(gradient_checkpointing=True)
    extra = dict(model=model, stop={"max_steps": 8}, checkpoint={"interval": 3})
    straight = finetune(config_from_dict(config(tiny, dataset, tmp_path / "a", **extra)))

    class Crash(Exception):
        pass

    def crash(model, step, where=None):
        raise Crash(step)

    broken = config(tiny, dataset, tmp_path / "b", eval={"interval": 5, "batches": 1}, **extra)
    with pytest.raises(Crash):
        finetune(config_from_dict(broken), on_eval=crash)  # dies at step 5, last checkpoint at 3
    assert latest_checkpoint(tmp_path / "b" / "checkpoints").name == "step-00000003"
    broken.update(resume=True, eval={"interval": None, "batches": 1})
    resumed = finetune(config_from_dict(broken))
    assert losses(resumed) == losses(straight)  # the same floats
    weights = "adapter_model.safetensors" if variant == "lora" else "model.safetensors"
    a = load_file(str(latest_checkpoint(straight / "checkpoints") / weights))
    b = load_file(str(latest_checkpoint(resumed / "checkpoints") / weights))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    if variant == "lora":
        ckpt = latest_checkpoint(straight / "checkpoints")
        assert not (ckpt / "model.safetensors").exists() and all("lora_" in k for k in a)
        assert json.loads((ckpt / "backend.json").read_text())["lora"]["r"] == 4
        # only the adapters trained: the base weights under them are the pretrained ones
        tuned = load_finetuned(straight)
        pretrained = load_file(str(tiny / "model.safetensors"))
        base = {k: v for k, v in tuned.model.base.state_dict().items() if "lora_" not in k}
        base = {k.replace("base_model.model.", "").replace(".base_layer", ""): v for k, v in base.items()}
        assert all(torch.equal(base[k], pretrained[k]) for k in pretrained)


def test_lora_trains_only_the_adapters(tiny: Path, dataset: Path, tmp_path: Path) -> None:
    from cadmus.hf import HFBackend

    model_section = {"hf": str(tiny), "lora": {"r": 2}, "gradient_checkpointing": True}
    cfg = config_from_dict(config(tiny, dataset, tmp_path / "l", model=model_section))
    backend = HFBackend(cfg)
    model = backend.build(cfg, torch.device("cpu"), backend.tokenizer)
    trained = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trained and all("lora_" in n for n in trained)
    assert model.n_trainable() == sum(p.numel() for n, p in model.named_parameters() if "lora_" in n)
    assert model.base.is_activation_checkpointing and "LoRA r=2, gradient checkpointing" in backend.describe(
        cfg, model
    )
    # frozen weights cost a forward and a backward through the activations, no weight gradient
    n = model.n_params() + model.base.get_output_embeddings().weight.numel()  # tied output layer
    attention = 12 * 2 * 4 * 8 * 10
    assert model.flops_per_token(10) == 4 * n + 2 * model.n_trainable() + attention


def test_bad_lora_target_and_missing_model_are_one_line_errors(tiny: Path, dataset: Path, tmp_path) -> None:
    raw = config(
        tiny, dataset, tmp_path / "x", model={"hf": str(tiny), "lora": {"target_modules": ["c_attn"]}}
    )
    with pytest.raises(HFError) as err:
        finetune(config_from_dict(raw))
    assert err.value.key == "model.lora.target_modules" and "c_attn" in str(err.value)
    with pytest.raises(HFError, match=r"not a Hugging Face model|unknown pretrained"):
        finetune(config_from_dict(config(tiny, dataset, tmp_path / "y", model={"hf": str(tmp_path)})))


# ------------------------------------------------------------------ evaluation


def test_evaluation_judges_the_finetuned_model(run: Path, dataset: Path, tmp_path: Path) -> None:
    ckpt = open_checkpoint(run)
    assert isinstance(ckpt.model, HFCausalLM) and not ckpt.model.training
    summary = evaluate(
        run, dataset, tmp_path / "eval", EvalOptions(batch_size=5), ckpt=ckpt, log=lambda m: None
    )
    assert list(summary["splits"]) == ["test", "ood_values"]
    assert summary["splits"]["test"]["all"]["n"] == 12 and summary["splits"]["ood_values"]["all"]["n"] == 8
    rows = {r["id"]: r for split in ("test", "ood_values") for r in read_split(dataset, split)}
    for line in (tmp_path / "eval" / "answers.jsonl").read_text().splitlines():
        rec = json.loads(line)
        assert rec["ok"] == [judge_answer(rows[rec["id"]], rec["answers"][0]).ok]  # the VM's verdict

    # our decoding is transformers' own greedy decoding of the same ids, batched or not
    prompts = [r["prompt"] for r in read_split(dataset, "test", 6)]
    completer = HFCompleter.from_model(ckpt.model.hf, ckpt.tokenizer.hf, name="tuned", batch_size=3)
    theirs = completer.complete(prompts, max_tokens=6)
    ours = []
    for p in prompts:
        ids = torch.tensor([ckpt.encode_prompt(p)])
        out = generate_hf(ckpt.model, ids, 6, eos_id=ckpt.tokenizer.eos_id)[0, ids.size(1) :].tolist()
        ours.append(
            ckpt.tokenizer.decode([t for t in out if t != ckpt.tokenizer.eos_id], skip_special_tokens=True)
        )
    assert ours == theirs
    uncached = ckpt.generate  # cached and uncached decoding agree on a left-padded batch
    width = max(len(ckpt.encode_prompt(p)) for p in prompts)
    idx = torch.full((len(prompts), width), ckpt.tokenizer.pad_id)
    mask = torch.zeros_like(idx)
    for r, p in enumerate(prompts):
        ids = ckpt.encode_prompt(p)
        idx[r, width - len(ids) :] = torch.tensor(ids)
        mask[r, width - len(ids) :] = 1
    a = uncached(ckpt.model, idx, 6, attention_mask=mask, use_cache=True)
    b = uncached(ckpt.model, idx, 6, attention_mask=mask, use_cache=False)
    assert torch.equal(a, b)


def test_cadmus_eval_and_complete_commands_take_an_hf_run(run: Path, dataset: Path, tmp_path, capsys) -> None:
    out = tmp_path / "cli-eval"
    args = ["eval", str(run), str(dataset), "--split", "test", "--limit", "4", "--device", "cpu"]
    assert cli_main([*args, "--out", str(out)]) == 0
    assert json.loads((out / "summary.json").read_text())["splits"]["test"]["all"]["n"] == 4
    assert "| test | 4 |" in capsys.readouterr().out
    prefix = "a = 5\nb = a + 2\nassert b == "
    status = cli_main(["complete", str(run), prefix, "--max-new-tokens", "4", "--device", "cpu"])
    printed = capsys.readouterr().out
    assert printed.startswith(prefix) and "# verdict:" in printed and status in (0, 1)
    result = complete(load_finetuned(run), prefix, max_new_tokens=4)
    assert result.program.startswith(prefix) and printed.startswith(result.program.rstrip("\n"))


def test_hook_points_read_and_replace_activations(run: Path) -> None:
    model = load_finetuned(run).model
    names = list(model.hook_points())
    assert names[:4] == [
        "blocks.0.hook_resid_pre",
        "blocks.0.hook_attn_out",
        "blocks.0.hook_mlp_out",
        "blocks.0.hook_resid_post",
    ]
    idx = torch.tensor([[256, 97, 32, 61, 32, 53]])
    plain, _ = model(idx)
    (logits, _), cache = model.run_with_cache(idx)
    assert torch.equal(logits, plain) and set(cache) == set(names)
    assert cache["blocks.1.hook_resid_post"].shape == (1, 6, 32)
    # the residual stream: input of block 1 = output of block 0 = its input + attention + MLP
    torch.testing.assert_close(cache["blocks.1.hook_resid_pre"], cache["blocks.0.hook_resid_post"])
    r0 = cache["blocks.0.hook_resid_pre"] + cache["blocks.0.hook_attn_out"] + cache["blocks.0.hook_mlp_out"]
    torch.testing.assert_close(r0, cache["blocks.0.hook_resid_post"])
    # a returned tensor replaces the activation: zeroing the last block's output leaves the norm's
    # output of zeros, the same logits at every position
    zeroed, _ = model.run_with_hooks(idx, [("blocks.1.hook_resid_post", lambda t, hook: torch.zeros_like(t))])
    assert torch.allclose(zeroed[0, 0], zeroed[0, -1]) and not torch.allclose(zeroed, plain)
    assert torch.equal(model(idx)[0], plain)  # hooks are gone after the call
    with pytest.raises(HFError, match="no hook point"):
        model.run_with_hooks(idx, [("blocks.0.attn.hook_pattern", lambda t, hook: None)])
