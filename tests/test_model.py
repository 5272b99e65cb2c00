import json

import pytest
import torch
import torch.nn.functional as F

from cadmus.errors import CadmusError
from cadmus.model import (
    GPT,
    IGNORE_INDEX,
    PRESETS,
    GPTConfig,
    KVCache,
    ModelError,
    generate,
    load_model,
    preset_config,
    preset_table,
    sample_next,
    save_model,
)

pytestmark = pytest.mark.usefixtures("one_thread")


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
        _, loss = model(x[:, :-1], x[:, 1:])
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
        logits, loss = model(torch.randint(0, 512, (1, 8)))
    assert loss is None
    assert logits.shape == (1, 8, 512)
    assert torch.isfinite(logits).all()
    assert model.n_params() == meta.n_params()
    assert model.n_params(embeddings=True) == 276_870_144 + 512 * 1024


def test_preset_table_lists_every_preset():
    table = preset_table(vocab_size=100).splitlines()
    assert len(table) == 2 + len(PRESETS)
    for name, line in zip(PRESETS, table[2:]):
        with torch.device("meta"):
            n = GPT(preset_config(name, vocab_size=100)).n_params()
        assert line.startswith(f"| {name} |") and f"| {n:,} |" in line


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
    fast, _ = model(x)
    (slow, _), cache = model.run_with_cache(x)
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
    assert list(cache) == list(model.hook_points())  # hook_points() is in forward order
    assert torch.equal(cache["blocks.0.hook_resid_post"], cache["blocks.1.hook_resid_pre"])


def test_hooks_overwrite_activations_and_are_removed():
    model = make()
    x = tokens()
    base, _ = model(x)
    zeroed, _ = model.run_with_hooks(
        x, fwd_hooks=[("blocks.1.hook_mlp_out", lambda t, hook: torch.zeros_like(t))]
    )
    assert not torch.allclose(base, zeroed)
    seen = []
    model.run_with_hooks(x, fwd_hooks=[("blocks.0.hook_resid_mid", lambda t, hook: seen.append(hook.name))])
    assert seen == ["blocks.0.hook_resid_mid"]
    assert torch.equal(model(x)[0], base)  # hooks gone
    assert all(not p.fns for p in model.hook_points().values())
    with pytest.raises(ModelError, match="no hook point"):
        model.run_with_hooks(x, fwd_hooks=[("blocks.9.nope", lambda t, h: None)])


def test_hooks_take_the_hook_point_by_keyword():
    """TransformerLens calls fn(tensor, hook=hook): keyword-only hooks work."""
    model = make()
    x = tokens()
    seen = {}

    def scale(t, *, hook):
        seen[hook.name] = tuple(t.shape)
        return t * 0.5

    scaled, _ = model.run_with_hooks(x, fwd_hooks=[("blocks.0.hook_attn_out", scale)])
    assert seen == {"blocks.0.hook_attn_out": (3, 12, 32)}
    assert not torch.allclose(scaled, model(x)[0])
    # The same edit through a plain forward hook gives the same logits.
    with model.hooks([("blocks.0.hook_attn_out", lambda t, hook: t * 0.5)]):
        assert torch.equal(model(x)[0], scaled)


def test_loss_counts_only_targets_that_are_not_ignored():
    model = make(seed=5)
    x = tokens(3, 12)
    y = tokens(3, 12, seed=9)
    y[0, :5] = IGNORE_INDEX
    y[2, :] = IGNORE_INDEX
    logits, mean = model(x, y)
    counted = y != IGNORE_INDEX
    per_token = -torch.log_softmax(logits, dim=-1).gather(-1, y.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    assert torch.allclose(mean, per_token[counted].mean(), atol=1e-6)
    _, total = model(x, y, reduction="sum")
    assert torch.allclose(total, per_token[counted].sum(), atol=1e-5)
    _, each = model(x, y, reduction="none")
    assert each.shape == (3, 12)
    assert torch.allclose(each, per_token * counted, atol=1e-6)
    assert torch.allclose(mean, F.cross_entropy(logits.flatten(0, 1), y.flatten(), ignore_index=-1))


def test_forward_with_a_kv_cache_matches_the_full_sequence():
    model = make(seed=6)
    x = tokens(2, 5)
    cache = KVCache(model.config, 2, 12, torch.device("cpu"), torch.float32)
    first, _ = model(x, cache=cache)
    assert cache.length == 5
    step, _ = model(x[:, -1:], cache=cache)
    full, _ = model(torch.cat((x, x[:, -1:]), dim=1))
    assert torch.allclose(step[:, -1], full[:, -1], atol=1e-5)
    assert torch.allclose(first, full[:, :5], atol=1e-5)


@pytest.mark.parametrize("pos", ["rope", "learned", "alibi", "none"])
def test_kv_cache_generation_matches_no_cache(pos):
    model = make(pos=pos, seed=3)
    x = tokens(3, 5)
    a = generate(model, x, 20, use_cache=True)
    b = generate(model, x, 20, use_cache=False)
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
        batched = generate(model, idx, 6, attention_mask=mask, use_cache=use_cache)
        for i, r in enumerate(rows):
            alone = generate(model, r.unsqueeze(0), 6, use_cache=use_cache)
            assert torch.equal(batched[i, width:], alone[0, len(r) :])


def test_eos_stops_rows():
    model = make(seed=2)
    x = tokens(2, 4)
    first = generate(model, x, 1)[:, -1]
    out = generate(model, x, 10, eos_id=int(first[0]))
    assert torch.all(out[0, 4:] == first[0])


def test_sampling_is_reproducible():
    model = make(seed=2)
    x = tokens(2, 4)
    a = generate(model, x, 8, temperature=1.0, top_k=5, generator=torch.Generator().manual_seed(0))
    b = generate(model, x, 8, temperature=1.0, top_k=5, generator=torch.Generator().manual_seed(0))
    assert torch.equal(a, b)


def test_save_load_round_trip(tmp_path):
    model = make(seed=7, tie_embeddings=True)
    save_model(model, tmp_path / "m")
    loaded = load_model(tmp_path / "m").eval()
    x = tokens()
    assert torch.equal(model(x)[0], loaded(x)[0])
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


def test_sample_next_top_p_keeps_the_nucleus_only():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05], [0.05, 0.15, 0.3, 0.5]]))
    g = torch.Generator().manual_seed(0)
    draws = torch.stack([sample_next(logits, 1.0, None, g, top_p=0.7) for _ in range(400)])
    assert set(draws[:, 0].tolist()) == {0, 1} and set(draws[:, 1].tolist()) == {3, 2}
    tiny = torch.stack([sample_next(logits, 1.0, None, g, top_p=1e-6) for _ in range(50)])
    assert (tiny == logits.argmax(-1)).all()  # the most likely token always stays
    assert set(torch.stack([sample_next(logits, 1.0, None, g) for _ in range(400)])[:, 0].tolist()) == {
        0,
        1,
        2,
        3,
    }
