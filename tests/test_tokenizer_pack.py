"""Packing a Parquet dataset into memory-mapped token arrays with a loss mask."""

from __future__ import annotations

import json
import os
import random

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cadmus.tokenizer import PackedSplit, Tokenizer, TokenizerError, pack


def _example(rng: random.Random) -> tuple[str, str]:
    a, b = rng.randint(0, 999), rng.randint(0, 99)
    prompt = f"x = {a}\ny = x + {b}\nif y > 50:\n    y -= 7\nassert y == "
    y = a + b
    return prompt, str(y - 7 if y > 50 else y)


def _write_shard(path, rows, row_group_size=7):
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table(
        {
            "id": [f"ex{i}" for i in range(len(rows))],
            "prompt": [p for p, _ in rows],
            "completion": [c for _, c in rows],
        }
    )
    pq.write_table(table, path, row_group_size=row_group_size)


@pytest.fixture
def dataset(tmp_path):
    rng = random.Random(1)
    root = tmp_path / "data"
    rows = {
        "train": [[_example(rng) for _ in range(40)], [_example(rng) for _ in range(25)]],
        "test": [[_example(rng) for _ in range(10)] + [("# output:\n", "3: b=89\n"), ("", "")]],
    }
    for split, shards in rows.items():
        for k, shard_rows in enumerate(shards):
            _write_shard(root / split / f"shard-{k:05d}.parquet", shard_rows)
    (root / "manifest.json").write_text(json.dumps({"seed": 1}))
    flat = {split: [r for shard in shards for r in shard] for split, shards in rows.items()}
    return root, flat


@pytest.mark.parametrize("scheme", ["digits", "reversed", "fixed", "whole"])
def test_pack_layout_mask_and_round_trip(dataset, tmp_path, scheme):
    root, rows = dataset
    tok = Tokenizer(scheme)
    out = tmp_path / "packed"
    meta = pack(root, tok, out)
    assert set(meta["splits"]) == {"train", "test"}
    for name in ("train", "test"):
        split = PackedSplit(out, name)
        assert len(split) == len(rows[name]) == meta["splits"][name]["examples"]
        assert split.offsets.dtype == np.int64 and split.offsets[0] == 0
        assert len(split.offsets) == len(split) + 1
        assert split.tokens.dtype == np.uint16 and split.mask.dtype == np.uint8
        assert len(split.tokens) == len(split.mask) == split.offsets[-1]
        assert (out / f"{name}.tokens.bin").stat().st_size == 2 * split.n_tokens
        assert split.max_len == int(split.lengths.max())
        for i, (prompt, completion) in enumerate(rows[name]):
            tokens, mask = split.example(i)
            expected, start = tok.encode_example(prompt, completion)
            assert tokens.tolist() == expected
            assert mask.tolist() == [0] * start + [1] * (len(expected) - start)
            assert tok.decode(tokens) == f"<bos>{prompt}<sep>{completion}<eos>"
            assert split.prompt(i).tolist() == expected[:start]
            assert split.prompt(i)[-1] == tok.sep_id
            assert split.completion(i).tolist() == expected[start:]
            assert split.texts(i) == (prompt, completion)
    assert PackedSplit(out, "train").tokenizer == tok


def test_loss_on_all_and_stats(dataset, tmp_path):
    root, _ = dataset
    meta = pack(root, Tokenizer(), tmp_path / "all", loss_on="all")
    split = PackedSplit(tmp_path / "all", "train")
    assert split.mask.all()
    stats = meta["splits"]["train"]
    assert stats["tokens"] == split.n_tokens
    assert stats["mean_len"] == pytest.approx(split.n_tokens / len(split), abs=1e-3)
    with pytest.raises(TokenizerError, match="loss_on"):
        pack(root, Tokenizer(), tmp_path / "x", loss_on="prompt")


def test_pack_is_cached_and_invalidated(dataset, tmp_path):
    root, _ = dataset
    out = tmp_path / "packed"
    tok = Tokenizer()
    pack(root, tok, out)
    stamp = os.stat(out / "train.tokens.bin").st_mtime_ns
    meta = json.loads((out / "pack.json").read_text())
    assert meta["tokenizer_sha256"] == tok.sha256
    assert Tokenizer.load(out / "tokenizer.json") == tok
    # same dataset and tokenizer (loaded from its file): nothing is rewritten
    again = pack(root, out / "tokenizer.json", out)
    assert os.stat(out / "train.tokens.bin").st_mtime_ns == stamp
    assert again == meta
    # another tokenizer repacks
    pack(root, Tokenizer("whole"), out)
    assert PackedSplit(out, "train").tokenizer.numbers == "whole"
    # another loss_on repacks
    pack(root, Tokenizer("whole"), out, loss_on="all")
    assert PackedSplit(out, "train").mask.all()
    # a changed dataset repacks
    rows = [("a = 1\nassert a == ", "1")]
    _write_shard(root / "train" / "shard-00002.parquet", rows)
    meta = pack(root, Tokenizer("whole"), out, loss_on="all")
    assert meta["splits"]["train"]["examples"] == 66
    # a damaged output is detected and repacked
    with open(out / "test.tokens.bin", "r+b") as f:
        f.truncate(10)
    with pytest.raises(TokenizerError, match="truncated"):
        PackedSplit(out, "test")
    pack(root, Tokenizer("whole"), out, loss_on="all")
    assert len(PackedSplit(out, "test")) == 12
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_pack_errors(tmp_path):
    with pytest.raises(TokenizerError, match="not found"):
        pack(tmp_path / "nope", Tokenizer(), tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(TokenizerError, match="no Parquet shards"):
        pack(tmp_path / "empty", Tokenizer(), tmp_path / "out")
    bad = tmp_path / "bad"
    _write_shard(bad / "train" / "shard-00000.parquet", [("ok", "1"), ("x = 1\n", "caf\u00e9")])
    with pytest.raises(TokenizerError, match=r"row 1, completion: cannot encode character 'é'") as info:
        pack(bad, Tokenizer(), tmp_path / "out")
    assert "shard-00000.parquet" in str(info.value)
    assert not (tmp_path / "out" / "pack.json").exists()
    nocol = tmp_path / "nocol"
    (nocol / "train").mkdir(parents=True)
    pq.write_table(pa.table({"text": ["a"]}), nocol / "train" / "shard-00000.parquet")
    with pytest.raises(TokenizerError, match="lacks column"):
        pack(nocol, Tokenizer(), tmp_path / "out2")
    with pytest.raises(TokenizerError, match=r"no pack\.json"):
        PackedSplit(tmp_path / "out2", "train")


def test_packed_split_lookup_errors(dataset, tmp_path):
    root, _ = dataset
    pack(root, Tokenizer(), tmp_path / "p")
    with pytest.raises(TokenizerError, match="no split 'valid'"):
        PackedSplit(tmp_path / "p", "valid")
    split = PackedSplit(tmp_path / "p", "test")
    with pytest.raises(IndexError):
        split.example(len(split))
    assert split.example(-1)[0].tolist() == split.example(len(split) - 1)[0].tolist()
    # the empty example is <bos><sep><eos> with the mask only on <eos>
    tokens, mask = split.example(len(split) - 1)
    assert tokens.tolist() == [1, 3, 2] and mask.tolist() == [0, 0, 1]
