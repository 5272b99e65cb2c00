"""`cadmus export RUN --hf DIR`: each mapped architecture loads with plain transformers in a fresh
process and gives Cadmus's logits and greedy answers; unmapped knobs are refused by name."""

import hashlib
import itertools
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from cadmus.cli import main
from cadmus.eval import EvalOptions, complete, evaluate, generate_answers, load_checkpoint, read_split
from cadmus.hf import (
    MAPPINGS,
    HFError,
    build_hf_tokenizer,
    check_tokenizer,
    choose_mapping,
    export_hf,
    mapping_table,
)
from cadmus.hf.archmap import KNOBS
from cadmus.hf.docs import render_docs
from cadmus.model import GPT, GPTConfig, save_model
from cadmus.tokenizer import Tokenizer
from cadmus.train import train
from conftest import build_tiny_dataset, tiny_train_config

ROOT = Path(__file__).resolve().parents[1]
NEW_TOKENS = 12
DATA = {
    "name": "hf-arith",
    "seed": 5,
    "mixture": [{"family": "arith", "format": "complete", "weight": 1, "knobs": {"max_value": 99}}],
    "splits": {"train": {"size": 200}, "val": {"size": 16}, "test": {"size": 16}},
}
EXTRA_PROMPTS = ["x = 1234567\ny = x - 89\nassert y == ", "total = 0\nfor i in range(10):\n    total += i\n"]

# name: (architecture it must map to, model knobs, tokenizer) -- every mapping, several variants,
# every number scheme; the trained run below adds GPT-NeoX with `reversed`.
CONFIGS = {
    "llama": ("llama", {"mlp": "swiglu", "norm": "rmsnorm", "bias": True, "tie_embeddings": False}, "fixed"),
    "qwen3": ("qwen3", {"mlp": "swiglu", "norm": "rmsnorm", "qk_norm": True}, "digits"),
    "arcee": ("arcee", {"mlp": "gelu", "norm": "rmsnorm"}, "whole"),
    "gpt_neox": ("gpt_neox", {"mlp": "relu2", "bias": True, "tie_embeddings": False}, "digits"),
    "stablelm": ("stablelm", {"mlp": "swiglu"}, "reversed"),
    "gpt2": ("gpt2", {"pos": "learned", "bias": True, "tie_embeddings": False}, "digits"),
    "gpt2_nope": ("gpt2", {"pos": "none", "mlp": "relu2"}, "digits"),
    "mpt": ("mpt", {"pos": "alibi", "n_head": 3, "n_embd": 48}, "digits"),
}
TOKENIZERS = {
    "digits": Tokenizer("digits"),
    "whole": Tokenizer("whole", bound=100),
    "fixed": Tokenizer("fixed", width=3),
    "reversed": Tokenizer("reversed"),
}

# Runs in a fresh interpreter that imports transformers and torch only: no Cadmus code.
CHILD = r"""
import json, sys
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

jobs, out = json.loads(open(sys.argv[1]).read()), {}
for name, job in jobs.items():
    tok = AutoTokenizer.from_pretrained(job["dir"])
    model = AutoModelForCausalLM.from_pretrained(job["dir"]).eval()
    ids = [tok(p)["input_ids"] for p in job["prompts"]]
    with torch.no_grad():
        logits = [model(input_ids=torch.tensor([row])).logits[0] for row in ids]
        batch = tok(job["prompts"], return_tensors="pt", padding=True)
        gen = model.generate(**batch, max_new_tokens=job["new"], do_sample=False)
    width = batch["input_ids"].shape[1]
    answers = [tok.decode(row[width:], skip_special_tokens=True) for row in gen]
    out[name] = {"class": type(model).__name__, "ids": ids, "logits": logits, "answers": answers}
assert not any(m.startswith("cadmus") for m in sys.modules), "the child must not import Cadmus"
torch.save(out, sys.argv[2])
"""


def _random_model(knobs: dict, tokenizer: Tokenizer, seed: int) -> GPT:
    """A random model with weights large enough for decisive logits, and non-trivial norms and biases."""
    base = {"n_layer": 2, "n_head": 4, "n_embd": 32, "block_size": 64, "rope_base": 500.0}
    config = GPTConfig(vocab_size=tokenizer.vocab_size, **{**base, **knobs})
    torch.manual_seed(seed)
    model = GPT(config)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name or name.startswith("ln_f"):
                p.copy_(
                    1 + 0.2 * torch.randn_like(p) if name.endswith("weight") else 0.2 * torch.randn_like(p)
                )
            elif name.endswith("bias"):
                p.normal_(0, 0.2)
            else:
                p.normal_(0, 1 / math.sqrt(p.shape[-1]) if name not in ("wte.weight", "wpe.weight") else 1.0)
    return model.eval()


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models run fastest on one thread; the suite's setting is restored afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return build_tiny_dataset(DATA, tmp_path_factory.mktemp("hfdata") / "data")


@pytest.fixture(scope="module")
def trained(tmp_path_factory, dataset):
    """A briefly trained run (GPT-NeoX mapping, `reversed` numbers), evaluated, exported by the CLI."""
    root = tmp_path_factory.mktemp("hfrun")
    cfg = tiny_train_config(
        root,
        dataset,
        steps=30,
        log_interval=10,
        evaluation={"interval": None, "at_end": False},
        model={"block_size": 64},
    )
    run = train(cfg)
    evaluate(run, dataset, run / "eval" / dataset.name, EvalOptions(splits=["test"]), log=lambda m: None)
    out = root / "hf"
    assert main(["export", str(run), "--hf", str(out)]) == 0
    return run, out


@pytest.fixture(scope="module")
def exported(tmp_path_factory, dataset, trained):
    """Every configuration exported, then loaded and run by one fresh transformers-only process."""
    root = tmp_path_factory.mktemp("hfexport")
    prompts = [r["prompt"] for r in read_split(dataset, "test", 6)] + EXTRA_PROMPTS
    ckpts, jobs = {}, {}
    for seed, (name, (_, knobs, scheme)) in enumerate(CONFIGS.items()):
        tok = TOKENIZERS[scheme]
        ckpt_dir = root / f"ckpt-{name}"
        save_model(_random_model(knobs, tok, seed), ckpt_dir)
        tok.save(ckpt_dir / "tokenizer.json")
        result = export_hf(ckpt_dir, root / f"hf-{name}")
        ckpts[name] = ckpt_dir
        jobs[name] = {"dir": str(result.directory), "prompts": prompts, "new": NEW_TOKENS}
    run, out = trained
    ckpts["trained"] = run
    jobs["trained"] = {"dir": str(out), "prompts": prompts, "new": NEW_TOKENS}
    (root / "jobs.json").write_text(json.dumps(jobs))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": ""}
    env |= {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}  # tiny models: threads only contend
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(root / "jobs.json"), str(root / "out.pt")],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return ckpts, jobs, torch.load(root / "out.pt")


@pytest.mark.parametrize("name", [*CONFIGS, "trained"])
def test_fresh_transformers_process_matches_cadmus(exported, name):
    ckpts, jobs, results = exported
    got = results[name]
    want_arch = CONFIGS[name][0] if name in CONFIGS else "gpt_neox"
    assert got["class"] == next(m.architecture for m in MAPPINGS if m.name == want_arch)
    ckpt = load_checkpoint(ckpts[name])
    tok, prompts = ckpt.tokenizer, jobs[name]["prompts"]
    worst = 0.0
    for prompt, ids, logits in zip(prompts, got["ids"], got["logits"]):
        assert ids == [tok.bos_id, *tok.encode(prompt), tok.sep_id]  # the generation input
        with torch.no_grad():
            mine = ckpt.model(torch.tensor([ids]))[0][0]
        worst = max(worst, (mine - logits).abs().max().item())
        if name != "trained":
            assert mine.abs().max() > 1.0  # decisive logits, not a near-zero model
    print(f"{name}: max |logit difference| {worst:.2e}")
    assert worst <= 1e-4
    # Greedy answers: the batched, left-padded `model.generate` equals `cadmus complete` on each prompt
    # and Cadmus's batched generation.
    assert got["answers"] == [complete(ckpt, p, max_new_tokens=NEW_TOKENS).completion for p in prompts]
    batched = generate_answers(
        ckpt, prompts, ["output"] * len(prompts), max_new_tokens=[NEW_TOKENS] * len(prompts)
    )
    assert got["answers"] == [a[0] for a in batched]


def test_export_directory_and_model_card(trained, dataset):
    run, out = trained
    names = {p.name for p in out.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} <= names
    assert {"generation_config.json", "README.md", "cadmus_tokenizer.json", "cadmus_export.json"} <= names
    config = json.loads((out / "config.json").read_text())
    assert config["model_type"] == "gpt_neox" and config["architectures"] == ["GPTNeoXForCausalLM"]
    assert "auto_map" not in config  # nothing needs trust_remote_code
    gen = json.loads((out / "generation_config.json").read_text())
    tok = Tokenizer.load(run / "tokenizer.json")
    assert (gen["eos_token_id"], gen["pad_token_id"], gen["bos_token_id"]) == (
        tok.eos_id,
        tok.pad_id,
        tok.bos_id,
    )
    card = (out / "README.md").read_text()
    manifest_sha = hashlib.sha256((dataset / "manifest.json").read_bytes()).hexdigest()
    assert manifest_sha in card
    summary = json.loads((run / "eval" / dataset.name / "summary.json").read_text())
    test = summary["splits"]["test"]["all"]
    assert f"| `test` | {test['n']:,} | {test['correct']:,} |" in card
    assert "GPTNeoXForCausalLM" in card and "numbers=`reversed`" in card
    provenance = json.loads((out / "cadmus_export.json").read_text())
    assert provenance["model_type"] == "gpt_neox" and provenance["max_relative_logit_diff"] <= 1e-4


def test_existing_directory_needs_force(trained, tmp_path, capsys):
    run, _ = trained
    out = tmp_path / "hf"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    assert main(["export", str(run), "--hf", str(out)]) == 2
    assert "--force" in capsys.readouterr().err and (out / "keep.txt").exists()
    assert main(["export", str(run), "--hf", str(out), "--force"]) == 0
    assert not (out / "keep.txt").exists() and (out / "model.safetensors").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left behind


REFUSED = [
    ({"pos": "alibi", "norm": "rmsnorm"}, "norm"),
    ({"pos": "alibi", "bias": True}, "bias"),
    ({"pos": "alibi", "mlp": "relu2"}, "mlp"),
    ({"pos": "learned", "mlp": "swiglu"}, "mlp"),
    ({"pos": "learned", "norm": "rmsnorm"}, "norm"),
    ({"pos": "rope", "norm": "layernorm", "qk_norm": True}, "qk_norm"),
    ({"pos": "rope", "norm": "rmsnorm", "mlp": "swiglu", "qk_norm": True, "bias": True}, "bias"),
    ({"pos": "rope", "norm": "layernorm", "mlp": "swiglu", "bias": True}, "bias"),
]


@pytest.mark.parametrize(("knobs", "knob"), REFUSED)
def test_unmapped_knobs_are_refused_by_name(knobs, knob):
    config = GPTConfig(vocab_size=40, n_layer=1, n_head=2, n_embd=16, **knobs)
    with pytest.raises(HFError) as err:
        choose_mapping(config)
    assert err.value.key == knob
    assert str(err.value).startswith(f"key '{knob}': no standard Hugging Face architecture computes {knob}=")


def test_every_knob_combination_maps_faithfully_or_is_refused():
    values = {"pos": ("rope", "learned", "alibi", "none"), "norm": ("layernorm", "rmsnorm")}
    values |= {"mlp": ("gelu", "swiglu", "relu2"), "qk_norm": (False, True), "bias": (False, True)}
    mapped = 0
    for combo in itertools.product(*(values[k] for k in KNOBS)):
        knobs = dict(zip(KNOBS, combo))
        try:
            mapping = choose_mapping(knobs)
        except HFError as err:
            assert err.key in KNOBS
            assert all(m.mismatches(knobs) for m in MAPPINGS)
            continue
        assert all(mapping.allows(k, v) for k, v in knobs.items())
        mapped += 1
    assert mapped == 21  # combinations some standard architecture computes exactly


def test_cli_refusal_is_one_line_and_writes_nothing(tmp_path, capsys):
    tok = TOKENIZERS["digits"]
    ckpt = tmp_path / "ckpt"
    save_model(_random_model({"pos": "alibi", "norm": "rmsnorm"}, tok, 0), ckpt)
    tok.save(ckpt / "tokenizer.json")
    assert main(["export", str(ckpt), "--hf", str(tmp_path / "hf")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith(f"cadmus: error: {ckpt / 'config.json'}: key 'norm': ")
    assert "norm='rmsnorm'" in err and "MptForCausalLM, needs norm in {'layernorm'}" in err
    assert not (tmp_path / "hf").exists()


def _texts(dataset) -> list[str]:
    import random

    rng = random.Random(7)
    texts = [r["prompt"] + r["completion"] for r in read_split(dataset, "train", 60)]
    atoms = ["x", "ab1", "_", "y2z", "total", " ", " + ", "\n", "    ", "(", ")", " == ", "-", "<sep>", "0"]
    for _ in range(60):
        parts = [str(rng.randint(0, 10 ** rng.randint(1, 19))) if rng.random() < 0.5 else rng.choice(atoms)]
        parts += [rng.choice(atoms) for _ in range(rng.randint(0, 4))]
        parts.append(str(rng.randint(0, 10 ** rng.randint(1, 12))))
        texts.append("".join(parts))
    return [*texts, "0", "", "007 x07 07x 0_7 10000 99999999999999999999"]


@pytest.mark.parametrize("scheme", ["digits", "whole", "fixed", "fixed4", "reversed"])
def test_tokenizer_gives_cadmus_ids_for_every_scheme(dataset, scheme):
    tok = Tokenizer("fixed", width=4) if scheme == "fixed4" else TOKENIZERS[scheme]
    hf = build_hf_tokenizer(tok, max_length=1 << 20)
    assert check_tokenizer(hf, tok, _texts(dataset)) > 100
    for row in read_split(dataset, "test", 5):  # a pair is a training example
        assert (
            hf(row["prompt"], row["completion"])["input_ids"]
            == tok.encode_example(row["prompt"], row["completion"])[0]
        )


def test_reversed_refuses_digit_runs_it_cannot_reverse():
    tok = TOKENIZERS["reversed"]
    hf = build_hf_tokenizer(tok, max_length=1 << 20)
    forty = "1234567890" * 4
    assert hf("x = " + forty, add_special_tokens=False)["input_ids"] == tok.encode("x = " + forty)
    with pytest.raises(Exception, match=r"UNK|unk"):
        hf("x = 9" + forty, add_special_tokens=False)


def test_docs_table_is_generated_from_the_mapping():
    text = (ROOT / "docs" / "hf.md").read_text()
    assert render_docs(text) == text, "run `python -m cadmus.hf.docs docs/hf.md`"
    assert mapping_table() in text
