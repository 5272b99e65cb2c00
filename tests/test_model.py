import json

import pytest
import torch
import torch.nn.functional as F

from cadmus.errors import CadmusError
from cadmus.model import GPT, PRESETS, GPTConfig, ModelError, load_model, preset_config, save_model


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny matmuls: one thread is faster, and immune to a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def small(**kw) -> GPTConfig:
    base = dict(vocab_size=40, block_size=32, n_layer=2, n_head=2, n_embd=32)
    base.update(kw)
    return GPTConfig(**base)


def make(seed=0, **kw) -> GPT:
    torch.manual_seed(seed)
    return GPT(small(**kw)).eval()


def tokens(b=3, t=12, vocab=40, seed=1):
    return torch.randint(0, vocab, (b, t), generator=torch.Generator().manual_seed(seed))


def test_tiny_model_fits_a_fixed_batch():
    torch.manual_seed(0)
    model = GPT(preset_config("tiny", vocab_size=40, block_size=32))
    x = tokens(4, 17)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(120):
        logits = model(x[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, 40), x[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.05


def test_280m_preset_forward_and_count():
    config = preset_config("280m", vocab_size=512)
    torch.manual_seed(0)
    with torch.device("meta"):
        meta = GPT(config)
    assert meta.n_params() == 276_870_144  # 22 * 12 * 1024^2 + norms
    assert 270e6 < meta.n_params() < 290e6
    model = GPT(config)  # real weights: ~1.1 GB in fp32
    with torch.no_grad():
        logits = model(torch.randint(0, 512, (1, 8)))
    assert logits.shape == (1, 8, 512)
    assert torch.isfinite(logits).all()
    assert model.n_params() == meta.n_params()
    assert model.n_params(embeddings=True) == 276_870_144 + 512 * 1024


def test_preset_sizes():
    sizes = {}
    for name in PRESETS:
        with torch.device("meta"):
            sizes[name] = GPT(preset_config(name)).n_params()
    assert 0.4e6 < sizes["tiny"] < 0.7e6
    assert 17e6 < sizes["20m"] < 23e6
    assert 80e6 < sizes["85m"] < 90e6


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"pos": "learned", "mlp": "swiglu", "norm": "rmsnorm"},
        {"pos": "alibi", "mlp": "relu2", "qk_norm": True, "n_head": 4},
        {"pos": "none", "tie_embeddings": False, "bias": True},
    ],
)
def test_explicit_attention_matches_fused(kw):
    model = make(**kw)
    x = tokens()
    fast = model(x)
    slow, cache = model.run_with_cache(x)
    assert torch.allclose(fast, slow, atol=1e-5)
    assert cache["blocks.1.attn.hook_pattern"].shape == (3, model.config.n_head, 12, 12)
    pattern = cache["blocks.0.attn.hook_pattern"]
    assert torch.allclose(pattern.sum(-1), torch.ones(()), atol=1e-5)
    assert torch.all(pattern.triu(diagonal=1) == 0)  # causal


def test_cache_holds_every_hook():
    model = make()
    _, cache = model.run_with_cache(tokens())
    names = set(model.hook_points())
    for i in range(2):
        for suffix in (
            "hook_resid_pre",
            "hook_resid_mid",
            "hook_resid_post",
            "attn.hook_pattern",
            "hook_attn_out",
            "hook_mlp_out",
        ):
            assert f"blocks.{i}.{suffix}" in names
    assert set(cache) == names
    assert torch.equal(cache["blocks.0.hook_resid_post"], cache["blocks.1.hook_resid_pre"])


def test_hooks_overwrite_activations_and_are_removed():
    model = make()
    x = tokens()
    base = model(x)
    zeroed = model.run_with_hooks(
        x, fwd_hooks=[("blocks.1.hook_mlp_out", lambda t, hook: torch.zeros_like(t))]
    )
    assert not torch.allclose(base, zeroed)
    seen = []
    model.run_with_hooks(x, fwd_hooks=[("blocks.0.hook_resid_mid", lambda t, hook: seen.append(hook.name))])
    assert seen == ["blocks.0.hook_resid_mid"]
    assert torch.equal(model(x), base)  # hooks gone
    assert all(not p.fns for p in model.hook_points().values())
    with pytest.raises(ModelError, match="no hook point"):
        model.run_with_hooks(x, fwd_hooks=[("blocks.9.nope", lambda t, h: None)])


@pytest.mark.parametrize("pos", ["rope", "learned", "alibi", "none"])
def test_kv_cache_generation_matches_no_cache(pos):
    model = make(pos=pos, seed=3)
    x = tokens(3, 5)
    a = model.generate(x, 20, use_cache=True)
    b = model.generate(x, 20, use_cache=False)
    assert a.shape == (3, 25)
    assert torch.equal(a, b)


def test_left_padded_batch_generates_like_single_rows():
    model = make(pos="learned", seed=4)
    rows = [tokens(1, 7, seed=5)[0], tokens(1, 4, seed=6)[0]]
    width = max(len(r) for r in rows)
    idx = torch.zeros(2, width, dtype=torch.long)
    mask = torch.zeros(2, width, dtype=torch.long)
    for i, r in enumerate(rows):
        idx[i, width - len(r) :] = r
        mask[i, width - len(r) :] = 1
    for use_cache in (True, False):
        batched = model.generate(idx, 6, attention_mask=mask, use_cache=use_cache)
        for i, r in enumerate(rows):
            alone = model.generate(r.unsqueeze(0), 6, use_cache=use_cache)
            assert torch.equal(batched[i, width:], alone[0, len(r) :])


def test_eos_stops_rows():
    model = make(seed=2)
    x = tokens(2, 4)
    first = model.generate(x, 1)[:, -1]
    out = model.generate(x, 10, eos_id=int(first[0]))
    assert torch.all(out[0, 4:] == first[0])


def test_sampling_is_reproducible():
    model = make(seed=2)
    x = tokens(2, 4)
    a = model.generate(x, 8, temperature=1.0, top_k=5, generator=torch.Generator().manual_seed(0))
    b = model.generate(x, 8, temperature=1.0, top_k=5, generator=torch.Generator().manual_seed(0))
    assert torch.equal(a, b)


def test_save_load_round_trip(tmp_path):
    model = make(seed=7, tie_embeddings=True)
    save_model(model, tmp_path / "m")
    loaded = load_model(tmp_path / "m").eval()
    x = tokens()
    assert torch.equal(model(x), loaded(x))
    assert loaded.lm_head.weight is loaded.wte.weight
    with pytest.raises(ModelError, match="n_layer: expected 3, found 2"):
        load_model(tmp_path / "m", expect=small(n_layer=3))


def test_load_reports_mismatches(tmp_path):
    save_model(make(), tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "config.json").read_text())
    meta["config"]["n_embd"] = 64
    (tmp_path / "m" / "config.json").write_text(json.dumps(meta))
    with pytest.raises(
        ModelError, match=r"shape mismatch for wte.weight: model has \[40, 64\], file has \[40, 32\]"
    ):
        load_model(tmp_path / "m")
    meta["config"]["n_embd"] = 32
    meta["config"]["n_layer"] = 3
    (tmp_path / "m" / "config.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match=r"missing tensors: blocks\.2\."):
        load_model(tmp_path / "m")
    meta["config"]["n_layer"] = 1
    (tmp_path / "m" / "config.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match=r"unexpected tensors: blocks\.1\."):
        load_model(tmp_path / "m")
    meta["config"]["wat"] = 1
    (tmp_path / "m" / "config.json").write_text(json.dumps(meta))
    with pytest.raises(CadmusError, match="unknown model config key"):
        load_model(tmp_path / "m")


def test_truncated_weights_are_reported(tmp_path):
    save_model(make(), tmp_path / "m")
    path = tmp_path / "m" / "model.safetensors"
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(ModelError) as err:
        load_model(tmp_path / "m")
    assert "model.safetensors" in str(err.value)


def test_bad_config_names_key():
    with pytest.raises(ModelError) as err:
        small(n_embd=30, n_head=4)
    assert err.value.key == "n_embd"
    with pytest.raises(ModelError) as err:
        small(mlp="tanh")
    assert err.value.key == "mlp"
