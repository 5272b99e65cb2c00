"""Positional levers (cadmus.model.levers): their inputs, training, cached generation, validation."""

import json
import random
from dataclasses import asdict

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from cadmus.errors import CadmusError
from cadmus.hf import choose_mapping
from cadmus.model import (
    GPT,
    GPTConfig,
    KVCache,
    LeverInputs,
    LeverSource,
    ModelError,
    generate,
    load_model,
    save_model,
)
from cadmus.tokenizer import Tokenizer, side_inputs
from cadmus.train import ConfigError, config_from_dict

LEVERS = {
    "abacus": dict(abacus=True, abacus_max=12, abacus_offset=4),
    "coupling-statement": dict(coupling="statement"),
    "coupling-program": dict(coupling="program", pos="learned"),
    "randpos": dict(random_positions=128),
    "fire": dict(pos="fire"),
    "all": dict(abacus=True, abacus_offset=3, coupling="program", random_positions=96),
}


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def tok() -> Tokenizer:
    return Tokenizer("reversed")


def config(tok: Tokenizer, **kw) -> GPTConfig:
    base = dict(vocab_size=tok.vocab_size, block_size=48, n_layer=2, n_head=2, n_embd=32)
    return GPTConfig(**{**base, **kw})


def model(tok: Tokenizer, seed: int = 0, **kw) -> GPT:
    torch.manual_seed(seed)
    m = GPT(config(tok, **kw))
    m.use_tokenizer(tok)
    return m


def example(tok: Tokenizer, prompt: str, answer: str) -> list[int]:
    return tok.encode_example(prompt, answer)[0]


def programs(n: int, seed: int = 0) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        a, b = rng.randint(0, 99), rng.randint(0, 99)
        out.append((f"x = {a} + {b}\nassert x == ", str(a + b)))
    return out


# ---- side inputs and lever inputs on tokenized examples -----------------------------------


def test_abacus_digits_are_the_tokenizers_significances_and_offsets_are_bounded_and_seeded(tok):
    ids = example(tok, "c = 152 + 37\nassert c == ", "189")
    digit, _ = side_inputs(tok, ids)
    text = [tok.vocab[i] for i in ids]
    # units first: 152 is written 2 5 1, 37 is 7 3, the answer 189 is 9 8 1
    assert [(t, int(d)) for t, d in zip(text, digit) if d] == [
        ("2", 1), ("5", 2), ("1", 3), ("7", 1), ("3", 2), ("9", 1), ("8", 2), ("1", 3)
    ]  # fmt: skip
    source = LeverSource(config(tok, abacus=True, abacus_max=6, abacus_offset=3))
    source.use_tokenizer(tok)
    x = torch.tensor([ids] * 64)
    assert source(x).digits[0].tolist() == digit.tolist()  # evaluation: no offset
    shifted = source(x, training=True, generator=torch.Generator().manual_seed(5)).digits
    k = shifted[:, 3] - 1  # the units digit of 152 carries each row's offset
    assert set(k.tolist()) == {0, 1, 2, 3}  # every offset in [0, abacus_offset] occurs, no other
    expected = torch.where(torch.tensor(digit) > 0, torch.tensor(digit) + k[:, None], 0).clamp(max=6)
    assert torch.equal(shifted, expected)  # one offset per sequence, non-digits stay 0, clamped
    again = source(x, training=True, generator=torch.Generator().manual_seed(5)).digits
    other = source(x, training=True, generator=torch.Generator().manual_seed(6)).digits
    assert torch.equal(shifted, again) and not torch.equal(shifted, other)


def test_coupled_positions_by_statement_and_by_program(tok):
    ids = example(tok, "a = 37\nb = a + 152\nassert b == ", "189") + example(
        tok, "c = 12 + 5\nassert c == ", "17"
    )
    # <bos> a ' = ' 7 3 \n b ' = ' a ' + ' 2 5 1 \n assert ' ' b ' == ' <sep> 9 8 1 <eos>   (0..22)
    # <bos> c ' = ' 2 1 ' + ' 5 \n assert ' ' c ' == ' <sep> 7 1 <eos>                        (23..38)
    x = torch.tensor([ids])
    plain = list(range(len(ids)))
    statement = LeverSource(config(tok, coupling="statement"))
    statement.use_tokenizer(tok)
    want = plain.copy()
    want[29] = 26  # the 5 of "12 + 5" takes the position of the units digit of 12
    assert statement(x).positions[0].tolist() == want
    program = LeverSource(config(tok, coupling="program"))
    program.use_tokenizer(tok)
    want = plain.copy()
    want[10:13] = [3, 4, 5]  # 152: units, tens, hundreds at the positions of 37's units, tens, and the next
    want[19:22] = [3, 4, 5]  # the answer 189 likewise
    want[29], want[36], want[37] = 26, 26, 27  # the second program couples to its own first number
    assert program(x).positions[0].tolist() == want


def test_random_positions_are_sorted_distinct_bounded_and_seeded(tok):
    source = LeverSource(config(tok, random_positions=100))
    x = torch.zeros(32, 40, dtype=torch.long)
    assert source(x).positions is None  # evaluation: 0 .. T-1
    pos = source(x, training=True, generator=torch.Generator().manual_seed(1)).positions
    assert pos.shape == (32, 40) and pos.min() >= 0 and pos.max() < 100
    assert bool((pos[:, 1:] > pos[:, :-1]).all())  # sorted and distinct
    assert pos.max() >= 90  # positions beyond the sequence length are trained
    again = source(x, training=True, generator=torch.Generator().manual_seed(1)).positions
    assert torch.equal(pos, again)


@pytest.mark.parametrize("name", ["abacus", "coupling-statement", "coupling-program", "all"])
def test_lever_inputs_of_a_prefix_are_a_prefix_of_the_inputs(tok, name):
    """Units first, a token's inputs depend on earlier tokens only: what a KV cache needs."""
    source = LeverSource(config(tok, **LEVERS[name]))
    source.use_tokenizer(tok)
    ids = torch.tensor([example(tok, "a = 4056\nb = a - 98 + 7\nassert b == ", "3965")])
    whole = source(ids)
    for t in range(1, ids.size(1)):
        part = source(ids[:, :t])
        for field in ("digits", "positions"):
            if getattr(whole, field) is not None:
                assert torch.equal(getattr(part, field), getattr(whole, field)[:, :t]), (field, t)


# ---- each lever trains, and generates the same with and without the cache ---------------


@pytest.mark.parametrize("name", list(LEVERS))
def test_each_lever_trains_and_cached_generation_matches(tok, name):
    m = model(tok, **LEVERS[name])
    rows = [example(tok, p, a) for p, a in programs(16)]
    width = max(len(r) for r in rows)
    x = torch.tensor([r + [tok.pad_id] * (width - len(r)) for r in rows])
    y = x[:, 1:].clone()
    y[y == tok.pad_id] = -1
    opt = torch.optim.AdamW(m.parameters(), lr=3e-3)
    m.train()
    torch.manual_seed(1)  # the random offsets and positions of training
    losses = []
    for _ in range(25):
        _, loss = m(x[:, :-1], y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]
    m.eval()
    prompts = [
        [tok.bos_id, *tok.encode(p), tok.sep_id]
        for p in ("x = 5 + 61\nassert x == ", "y = 123\nz = y + 9\nassert z == ")
    ]
    T = max(len(p) for p in prompts)
    idx = torch.tensor([[tok.pad_id] * (T - len(p)) + p for p in prompts])
    mask = torch.tensor([[0] * (T - len(p)) + [1] * len(p) for p in prompts])
    cached = generate(m, idx, 8, attention_mask=mask)
    plain = generate(m, idx, 8, attention_mask=mask, use_cache=False)
    assert torch.equal(cached, plain)
    alone = generate(m, idx[1:, T - len(prompts[1]) :], 8)  # a row decodes as it would alone
    assert torch.equal(alone[0], cached[1, T - len(prompts[1]) :])


# ---- levers off: the plain model, unchanged ---------------------------------------------


def test_levers_off_is_the_plain_model(tok):
    plain = config(tok)
    assert plain == config(tok, abacus=False, coupling=None, random_positions=None, abacus_offset=0)
    assert set(plain.to_dict()) == {
        "vocab_size", "block_size", "n_layer", "n_head", "n_embd", "mlp", "norm", "pos",
        "dropout", "bias", "tie_embeddings", "qk_norm", "rope_base",
    }  # fmt: skip  # a lever-free config file reads as before the levers
    m = model(tok)
    assert m.lever_source is None and m.abacus is None and m.fire is None
    # A lever's weights come after every other: the rest initialises exactly as without it.
    for kw in (LEVERS["abacus"], LEVERS["fire"]):
        levered = model(tok, **kw).state_dict()
        for name, tensor in m.state_dict().items():
            assert torch.equal(levered[name], tensor), name


def test_levers_round_trip_through_save_and_load(tok, tmp_path):
    m = model(tok, **LEVERS["all"]).eval()
    save_model(m, tmp_path)
    stored = json.loads((tmp_path / "config.json").read_text())["config"]
    assert stored["coupling"] == "program" and stored["abacus_offset"] == 3 and "abacus_max" not in stored
    with pytest.raises(ModelError, match="use_tokenizer") as err:
        load_model(tmp_path)(torch.tensor([[1, 24, 25]]))  # no tokenizer.json next to the weights
    assert err.value.key == "abacus"
    tok.save(tmp_path / "tokenizer.json")
    loaded = load_model(tmp_path).eval()
    x = torch.tensor([example(tok, "a = 12 + 34\nassert a == ", "46")])
    assert torch.equal(loaded(x)[0], m(x)[0])


# ---- validation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kw, key",
    [
        (dict(coupling="statement", pos="alibi"), "coupling"),
        (dict(coupling="lines"), "coupling"),
        (dict(random_positions=10), "random_positions"),
        (dict(random_positions=100, pos="fire"), "random_positions"),
        (dict(abacus=True, abacus_max=4, abacus_offset=4), "abacus_offset"),
        (dict(abacus_offset=2), "abacus_offset"),
        (dict(abacus="yes"), "abacus"),
        (dict(pos="relative"), "pos"),
    ],
)
def test_bad_lever_configs_name_the_key(tok, kw, key):
    with pytest.raises(ModelError) as err:
        config(tok, **kw)
    assert err.value.key == key


def test_digit_levers_need_units_first_and_a_cache_needs_lever_inputs(tok):
    m = GPT(config(Tokenizer("digits"), abacus=True))
    with pytest.raises(ModelError, match="reversed") as err:
        m.use_tokenizer(Tokenizer("digits"))
    assert err.value.key == "abacus"
    m = model(tok, coupling="statement").eval()
    cache = KVCache(m.config, 1, 8, torch.device("cpu"), torch.float32)
    with pytest.raises(ModelError, match="levers="):
        m(torch.tensor([[1, 24]]), cache=cache)
    m(torch.tensor([[1, 24]]), cache=cache, levers=LeverInputs(positions=torch.tensor([[0, 1]])))


def test_train_config_validates_levers_with_key_naming_errors():
    def error(*overrides: str) -> str:
        with pytest.raises(ConfigError) as err:
            config_from_dict({}, overrides=list(overrides))
        return str(err.value)

    assert "key 'model.abacus'" in error("model.abacus=true")  # digits scheme by default
    assert "key 'model.coupling'" in error("model.coupling=statement", "data.tokenizer.numbers=fixed")
    assert "key 'model.coupling'" in error("model.coupling=rows", "data.tokenizer.numbers=reversed")
    assert "key 'model.coupling'" in error(
        "model.coupling=program", "data.tokenizer.numbers=reversed", "model.pos=alibi"
    )
    assert "key 'model.random_positions'" in error("model.random_positions=64")  # below block_size
    assert "key 'model.abacus_offset'" in error("model.abacus_offset=-1")
    assert "key 'model.abacus'" in error("model.hf=smollm2", "model.abacus=true")
    ok = config_from_dict(
        {},
        overrides=[
            "data.tokenizer.numbers=reversed",
            "model.abacus=true",
            "model.abacus_offset=8",
            "model.pos=fire",
        ],
    )
    assert ok.model.overrides() == {"pos": "fire", "abacus": True, "abacus_offset": 8}


def test_hf_export_refuses_every_lever(tok):
    for kw, key in ((LEVERS["abacus"], "abacus"), (LEVERS["coupling-statement"], "coupling"),
                    (LEVERS["randpos"], "random_positions"), (LEVERS["fire"], "pos")):  # fmt: skip
        cfg = config(tok, **kw)
        for given in (cfg, cfg.to_dict()):
            with pytest.raises(CadmusError) as err:
                choose_mapping(given)
            assert err.value.key == key
    assert choose_mapping(config(tok).to_dict()).name == "gpt_neox"


# ---- through the trainer and the evaluator ----------------------------------------------


def test_trainer_and_evaluator_carry_the_levers(tmp_path):
    from cadmus.eval import generate_answers, load_checkpoint
    from cadmus.train import train

    rows = programs(64)
    for split in ("train", "val"):
        (tmp_path / "ds" / split).mkdir(parents=True)
        table = {"prompt": [p for p, _ in rows], "completion": [a for _, a in rows]}
        pq.write_table(pa.table(table), tmp_path / "ds" / split / "shard-00000.parquet")
    raw = {
        "out_dir": str(tmp_path / "run"),
        "threads": 1,
        "data": {"dataset": str(tmp_path / "ds"), "tokenizer": {"numbers": "reversed"}},
        "model": {
            "n_layer": 1,
            "n_embd": 32,
            "n_head": 2,
            "block_size": 32,
            "abacus": True,
            "abacus_offset": 4,
            "coupling": "program",
        },
        "batch": {"micro": 8},
        "stop": {"max_steps": 3},
        "eval": {"interval": None, "batches": 1},
        "log": {"interval": 1, "tensorboard": False, "progress": False},
    }
    run = train(config_from_dict(raw))
    ckpt = load_checkpoint(run)
    assert ckpt.model.lever_source.tokenizer is not None  # given by load_model from tokenizer.json
    prompts = [p for p, _ in rows[:5]]
    cached = generate_answers(ckpt, prompts, ["complete"] * 5, max_new_tokens=[4] * 5)
    plain = generate_answers(ckpt, prompts, ["complete"] * 5, max_new_tokens=[4] * 5, use_cache=False)
    assert cached == plain
    assert asdict(ckpt.model.config)["coupling"] == "program"


def test_a_resumed_lever_run_repeats_its_losses(tmp_path):
    """The random offsets and positions come from the RNG the checkpoints store."""
    from cadmus.train import train

    rows = programs(32, seed=3)
    (tmp_path / "ds" / "train").mkdir(parents=True)
    table = {"prompt": [p for p, _ in rows], "completion": [a for _, a in rows]}
    pq.write_table(pa.table(table), tmp_path / "ds" / "train" / "shard-00000.parquet")

    def levered(out: str) -> dict:
        return {
            "out_dir": str(tmp_path / out),
            "threads": 1,
            "data": {
                "dataset": str(tmp_path / "ds"),
                "tokenizer": {"numbers": "reversed"},
                "val_split": None,
            },
            "model": {
                "n_layer": 1,
                "n_embd": 32,
                "n_head": 2,
                "block_size": 32,
                "abacus": True,
                "abacus_offset": 5,
                "random_positions": 64,
            },
            "batch": {"micro": 4},
            "stop": {"max_steps": 6},
            "eval": {"interval": 3, "batches": 1},
            "checkpoint": {"interval": 2},
            "log": {"interval": 1, "tensorboard": False, "progress": False},
        }

    def losses(run) -> dict[int, float]:
        records = map(json.loads, (run / "log.jsonl").read_text().splitlines())
        return {r["step"]: r["loss"] for r in records if r.get("event") == "train"}  # resumed steps win

    straight = losses(train(config_from_dict(levered("a"))))

    class Crash(Exception):
        pass

    def crash(model, step, where=None):
        raise Crash(step)

    with pytest.raises(Crash):
        train(config_from_dict(levered("b")), on_eval=crash)  # dies at step 3, checkpoint at 2
    resumed = levered("b")
    resumed["resume"] = True
    resumed["eval"]["interval"] = None
    assert losses(train(config_from_dict(resumed))) == straight
