"""cadmus.probe without a trained model: planted features, VM-derived targets, the patching metric, hook_z."""

import numpy as np
import pytest
import torch

from cadmus.lang import execute
from cadmus.model import GPT, GPTConfig
from cadmus.probe import (
    POSITION_KINDS,
    ProbeError,
    TokenText,
    annotate,
    cache_options,
    feature_values,
    fit_probe,
    layer_points,
    linear_options,
    read_rows,
    restored_share,
    target_names,
)
from cadmus.tokenizer import Tokenizer


def planted(n: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Activations with one planted linear feature: a value along a fixed direction, plus noise."""
    rng = np.random.default_rng(seed)
    direction = rng.normal(size=d)
    value = rng.integers(-99, 100, size=n)
    x = rng.normal(size=(n, d)) + np.outer(value / 30.0, direction)
    return x.astype(np.float32), value, direction


def test_probe_recovers_a_planted_linear_feature_and_not_shuffled_labels():
    x_tr, v_tr, _ = planted(1500, 48, 0)
    rng = np.random.default_rng(1)
    x_te, v_te, _ = planted(500, 48, 0)  # same direction (same seed), fresh noise below
    x_te = x_te + rng.normal(scale=0.1, size=x_te.shape).astype(np.float32)
    value = fit_probe(x_tr, v_tr, x_te, v_te, classification=False)
    assert value.metric == "r2" and value.score > 0.95
    shuffled = fit_probe(x_tr, rng.permutation(v_tr), x_te, v_te, classification=False)
    assert shuffled.score < 0.05
    # a class that is linear in the activations: the sign of the planted value
    sign = fit_probe(x_tr, (v_tr < 0).astype(int), x_te, (v_te < 0).astype(int), classification=True)
    assert sign.metric == "accuracy" and sign.score > 0.95
    noise = fit_probe(
        x_tr, rng.permutation((v_tr < 0).astype(int)), x_te, (v_te < 0).astype(int), classification=True
    )
    assert abs(noise.score - 0.5) < 0.08  # chance for a balanced binary label
    assert 0.4 < sign.chance < 0.6


def test_features_of_values():
    v = np.array([0, 7, -38, 205, -1000])
    assert feature_values(v, "value").tolist() == [0, 7, -38, 205, -1000]
    assert feature_values(v, "digit0").tolist() == [0, 7, 8, 5, 0]
    assert feature_values(v, "digit1").tolist() == [0, 0, 3, 0, 0]
    assert feature_values(v, "digit2").tolist() == [0, 0, 0, 2, 0]
    assert feature_values(v, "sign").tolist() == [0, 0, 1, 0, 1]
    assert feature_values(v, "mag").tolist() == [0, 0, 1, 2, 3]
    assert feature_values(v, "parity").tolist() == [0, 1, 0, 1, 0]
    with pytest.raises(ProbeError):
        feature_values(v, "colour")


@pytest.mark.parametrize("numbers", ["reversed", "digits", "whole"])
def test_targets_come_from_the_vm_at_each_position(numbers):
    tok = Tokenizer(numbers)
    prompt, completion = "k = 38\nz = k - 41\nq = 7 + z\nassert q == ", "4\n"
    a = annotate(prompt, completion, TokenText(tok), max_vars=4)
    names = target_names(4)
    assert a.answer == 4 and a.variables == ["k", "z", "q"]
    assert tok.decode(a.ids[1 : a.sep]) == prompt and a.ids[a.sep] == tok.sep_id
    col = {n: i for i, n in enumerate(names)}
    ends = [t for t in range(len(a.ids)) if a.kinds[t] & 8]  # stmt_end bit
    assert len(ends) == 3 and all(tok.id_to_token(a.ids[t]) == "\n" for t in ends)
    # after each statement, the VM's state: k=38; then z=-3; then q=4
    state = execute("k = 38\nz = k - 41\nq = 7 + z\n", trace=True)
    assert state.verdict.ok
    expected = [{"var0": 38, "result": 38}, {"var0": 38, "var1": -3, "result": -3}, {"var2": 4, "result": 4}]
    for t, want in zip(ends, expected):
        for name, value in want.items():
            assert a.valid[t, col[name]] and a.values[t, col[name]] == value
    # before its assignment a variable has no value: z is unknown on the first line
    assert not a.valid[ends[0], col["var1"]] and not a.valid[ends[0], col["var3"]]
    assert a.valid[:, col["answer"]].all() and (a.values[:, col["answer"]] == 4).all()
    # variable occurrences: k z k q z (writes and reads) and q in the assert
    occ = [a.labels[t] for t in range(len(a.ids)) if a.kinds[t] & 16]
    assert occ == ["v0", "v1", "v0", "v2", "v1", "v2"]
    # digits of number literals, labelled by literal and decimal place
    digits = [a.labels[t] for t in range(a.sep) if a.classes[t] == "digit"]
    if numbers == "reversed":
        assert digits == ["n0.d0", "n0.d1", "n1.d0", "n1.d1", "n2.d0"]
    elif numbers == "digits":
        assert digits == ["n0.d1", "n0.d0", "n1.d1", "n1.d0", "n2.d0"]
    else:
        assert digits == ["n0.w", "n1.w", "n2.d0"]
    assert a.kinds[a.sep] & 2 and a.kinds[a.sep + 1] & 4  # answer, answer_first
    assert a.answer_roles == ["d0"]


def test_annotate_refuses_other_formats():
    tok = Tokenizer("digits")
    with pytest.raises(ProbeError, match="assert"):
        annotate("x = 1\nprint(x)\n", "", TokenText(tok))


def test_layer_points_and_bad_options():
    assert [p.label for p in layer_points(3, "resid")] == ["embed", "L0", "L1", "L2"]
    assert layer_points(2, "z")[1].hook == "blocks.1.attn.hook_z"
    with pytest.raises(ProbeError) as err:
        layer_points(2, "resid_final")
    assert err.value.key == "hooks"
    with pytest.raises(ProbeError) as err:
        cache_options(positions=["answer", "everywhere"])
    assert err.value.key == "positions"
    with pytest.raises(ProbeError) as err:
        linear_options(max_rows=1)
    assert err.value.key == "max_rows"
    assert set(POSITION_KINDS) == {"every", "answer", "answer_first", "stmt_end", "variable"}


def test_restored_share():
    clean, corrupt = torch.tensor([-0.1, -0.3]), torch.tensor([-8.0, -10.0])
    assert restored_share(clean, clean, corrupt) == pytest.approx(1.0)
    assert restored_share(corrupt, clean, corrupt) == pytest.approx(0.0)
    assert restored_share((clean + corrupt) / 2, clean, corrupt) == pytest.approx(0.5)
    assert np.isnan(restored_share(clean, clean, clean))


def test_hook_z_is_each_heads_output():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=50, block_size=16, n_layer=2, n_head=4, n_embd=32)).eval()
    x = torch.randint(0, 50, (3, 10))
    (logits, _), cache = model.run_with_cache(x)
    assert cache["blocks.0.attn.hook_z"].shape == (3, 10, 4, 8)
    assert torch.allclose(model(x)[0], logits, atol=1e-5)
    # zeroing every head's output is zeroing the attention output (no bias in the projection)
    zero_z, _ = model.run_with_hooks(x, [("blocks.1.attn.hook_z", lambda t, hook: torch.zeros_like(t))])
    zero_out, _ = model.run_with_hooks(x, [("blocks.1.hook_attn_out", lambda t, hook: torch.zeros_like(t))])
    assert torch.allclose(zero_z, zero_out, atol=1e-6)

    # one head's slice matters: zeroing head 2 alone changes the logits, the rest of z is untouched
    def zero_head(t, hook):
        t = t.clone()
        t[:, :, 2] = 0
        return t

    one, _ = model.run_with_hooks(x, [("blocks.1.attn.hook_z", zero_head)])
    assert not torch.allclose(one, logits)


def test_dataset_rows_name_what_is_missing(tmp_path):
    from conftest import build_tiny_dataset

    with pytest.raises(ProbeError) as err:
        read_rows(tmp_path, "test")
    assert "manifest" in str(err.value) and str(tmp_path) in str(err.value)
    data = build_tiny_dataset(
        {
            "name": "rows",
            "seed": 1,
            "mixture": [{"family": "arith", "format": "complete"}],
            "splits": {"train": {"size": 20}, "val": {"size": 4}, "test": {"size": 4}},
        },
        tmp_path / "data",
    )
    with pytest.raises(ProbeError, match="no split 'nope'"):
        read_rows(data, "nope")
    assert [r["split"] for r in read_rows(data, "test", 3)] == ["test"] * 3
