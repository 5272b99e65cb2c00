"""Packing a dataset into memory-mapped token arrays with a loss mask.

`pack(dataset_dir, tokenizer, out_dir)` writes, for every split found as
`dataset_dir/{split}/shard-*.parquet`:

- `{split}.tokens.bin`: uint16 little-endian token ids of every example,
  back to back; example = `<bos>` prompt `<sep>` completion `<eos>`;
- `{split}.mask.bin`: uint8, aligned with the tokens: 1 where the token is a
  target whose loss counts (completion tokens and the final `<eos>`; every
  token with `loss_on="all"`), 0 elsewhere;
- `{split}.offsets.npy`: int64 start of each example, length n+1 (the last
  entry is the total token count);

plus `tokenizer.json` and `pack.json` (hashes of the dataset and the
tokenizer, settings and statistics).

The tokenizer is Cadmus's (`Tokenizer`, or a path to its JSON), or another
one that frames examples itself (`ExampleTokenizer`: a pretrained model's,
from `cadmus.hf`): its `encode_example(prompt, completion)` gives the ids and
how many of them are prompt, and its `sha256` goes into `pack.json`, so a
pack made with one tokenizer is never taken for another's. A second call with the same dataset,
tokenizer and settings finds `pack.json` matching and does nothing. Files
are written under temporary names and renamed into place; `pack.json` goes
last, so an interrupted pack is never mistaken for a finished one.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from array import array
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow.parquet as pq

from cadmus.files import hash_file, sha256_file, write_json
from cadmus.tokenizer.core import Tokenizer, TokenizerError

PACK_FORMAT = "cadmus-pack"
PACK_VERSION = 1
LOSS_ON = ("completion", "all")
_COLUMNS = ("prompt", "completion")


class ExampleTokenizer(Protocol):
    """A tokenizer that frames an example itself (what `pack` needs of a non-Cadmus tokenizer)."""

    sha256: str  # identity: equal hashes mean identical encodings and framing
    vocab_size: int
    pad_id: int
    bos_id: int | None
    eos_id: int
    sep_id: int | None

    def encode_example(self, prompt: str, completion: str) -> tuple[list[int], int]:
        """The ids of a whole training example and how many of them (from the start) are prompt;
        the rest (completion and the closing end-of-sequence token) are targets."""
        ...

    def to_dict(self) -> dict[str, Any]: ...

    def save(self, path: str | Path) -> Any: ...


def _find_splits(dataset_dir: Path) -> dict[str, list[Path]]:
    if not dataset_dir.is_dir():
        raise TokenizerError(f"dataset folder not found: {dataset_dir}", file=str(dataset_dir))
    splits: dict[str, list[Path]] = {}
    for sub in sorted(p for p in dataset_dir.iterdir() if p.is_dir()):
        shards = sorted(sub.glob("shard-*.parquet"))
        if shards:
            splits[sub.name] = shards
    if not splits:
        raise TokenizerError(
            "no Parquet shards found (expected DIR/{split}/shard-*.parquet)", file=str(dataset_dir)
        )
    return splits


def dataset_fingerprint(dataset_dir: str | Path) -> dict[str, Any]:
    """SHA-256 over `manifest.json` and every shard (names and bytes), plus the manifest's own hash."""
    dataset_dir = Path(dataset_dir)
    splits = _find_splits(dataset_dir)
    h = hashlib.sha256()
    manifest = dataset_dir / "manifest.json"
    manifest_sha = None
    if manifest.is_file():
        manifest_sha = sha256_file(manifest)
        h.update(b"manifest.json\0" + manifest_sha.encode() + b"\0")
    for split, shards in splits.items():
        for shard in shards:
            h.update(f"{split}/{shard.name}\0".encode())
            hash_file(shard, h)
            h.update(b"\0")
    return {"sha256": h.hexdigest(), "manifest_sha256": manifest_sha, "splits": list(splits)}


def _files(split: str) -> tuple[str, str, str]:
    return f"{split}.tokens.bin", f"{split}.mask.bin", f"{split}.offsets.npy"


def _cached(out_dir: Path, want: dict[str, Any]) -> dict[str, Any] | None:
    meta_path = out_dir / "pack.json"
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    for key, value in want.items():
        if meta.get(key) != value:
            return None
    for split, stats in meta.get("splits", {}).items():
        tokens, mask, offsets = (out_dir / f for f in _files(split))
        n = stats.get("tokens", -1)
        if not (tokens.is_file() and mask.is_file() and offsets.is_file()):
            return None
        if tokens.stat().st_size != 2 * n or mask.stat().st_size != n:
            return None
    return meta


def pack(
    dataset_dir: str | Path,
    tokenizer: Tokenizer | ExampleTokenizer | str | Path,
    out_dir: str | Path,
    *,
    loss_on: str = "completion",
    batch_rows: int = 4096,
    force: bool = False,
    progress: bool = False,
) -> dict[str, Any]:
    """Pack every split of a dataset; returns the `pack.json` contents.

    Does nothing (and returns the existing metadata) when `out_dir/pack.json`
    already matches this dataset, tokenizer and `loss_on`, unless `force`.
    Memory stays bounded by `batch_rows` rows plus 8 bytes per example for
    the offsets.
    """
    if loss_on not in LOSS_ON:
        raise TokenizerError(f"loss_on must be one of {', '.join(LOSS_ON)}, got {loss_on!r}", key="loss_on")
    if isinstance(tokenizer, str | Path):
        tokenizer = Tokenizer.load(tokenizer)
    dataset_dir = Path(dataset_dir)
    out_dir = Path(out_dir)
    fingerprint = dataset_fingerprint(dataset_dir)
    want = {
        "format": PACK_FORMAT,
        "version": PACK_VERSION,
        "dataset_sha256": fingerprint["sha256"],
        "tokenizer_sha256": tokenizer.sha256,
        "loss_on": loss_on,
    }
    if not force and (meta := _cached(out_dir, want)) is not None:
        return meta
    if tokenizer.vocab_size > 65536:
        raise TokenizerError(f"vocabulary of {tokenizer.vocab_size} tokens does not fit uint16")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "pack.json").unlink(missing_ok=True)  # invalid until the new one is written
    tokenizer.save(out_dir / "tokenizer.json")
    start = time.perf_counter()
    splits = {}
    for split, shards in _find_splits(dataset_dir).items():
        splits[split] = _pack_split(split, shards, tokenizer, out_dir, loss_on, batch_rows, progress)
    meta = {
        **want,
        "dataset": str(dataset_dir.resolve()),
        "manifest_sha256": fingerprint["manifest_sha256"],
        "tokenizer": "tokenizer.json",
        "tokenizer_config": {k: v for k, v in tokenizer.to_dict().items() if k != "vocab"},
        "dtype": "uint16",
        "byteorder": "little",
        "special_ids": {
            "pad": tokenizer.pad_id,
            "bos": tokenizer.bos_id,
            "eos": tokenizer.eos_id,
            "sep": tokenizer.sep_id,
        },
        "seconds": round(time.perf_counter() - start, 3),
        "splits": splits,
    }
    write_json(out_dir / "pack.json", meta, sort_keys=False)
    return meta


def _pack_split(
    split: str,
    shards: list[Path],
    tok: Tokenizer | ExampleTokenizer,
    out_dir: Path,
    loss_on: str,
    batch_rows: int,
    progress: bool,
) -> dict[str, Any]:
    names = _files(split)
    tmps = [out_dir / f".{name}.{os.getpid()}.tmp" for name in names]
    try:
        return _write_split(split, shards, tok, out_dir, loss_on, batch_rows, progress, names, tmps)
    finally:
        for tmp in tmps:
            tmp.unlink(missing_ok=True)


def _write_split(
    split: str,
    shards: list[Path],
    tok: Tokenizer | ExampleTokenizer,
    out_dir: Path,
    loss_on: str,
    batch_rows: int,
    progress: bool,
    names: tuple[str, str, str],
    tmps: list[Path],
) -> dict[str, Any]:
    # Cadmus frames <bos> prompt <sep> completion <eos>; another tokenizer frames the example itself
    frame = None if isinstance(tok, Tokenizer) else tok.encode_example
    encode = tok.encode if frame is None else None
    bos, sep, eos = tok.bos_id, tok.sep_id, tok.eos_id
    prompt_byte = b"\x01" if loss_on == "all" else b"\x00"
    offsets = array("q", [0])
    total = 0
    max_len = 0
    max_prompt = 0
    target_tokens = 0
    swap = sys.byteorder != "little"
    with tmps[0].open("wb") as ftok, tmps[1].open("wb") as fmask:
        for shard in shards:
            try:
                pf = pq.ParquetFile(shard)
            except Exception as err:  # pyarrow raises several types for a bad file
                raise TokenizerError(f"cannot read Parquet shard: {err}", file=str(shard)) from None
            missing = [c for c in _COLUMNS if c not in pf.schema_arrow.names]
            if missing:
                raise TokenizerError(f"shard lacks column(s) {', '.join(missing)}", file=str(shard))
            row = 0
            for batch in pf.iter_batches(batch_size=batch_rows, columns=list(_COLUMNS)):
                prompts = batch.column(0).to_pylist()
                completions = batch.column(1).to_pylist()
                toks = array("H")
                mask = bytearray()
                for p_text, c_text in zip(prompts, completions):
                    if frame is not None:
                        try:
                            ids, n_prompt = frame(p_text, c_text)
                        except TokenizerError as err:
                            raise TokenizerError(f"row {row}: {err.message}", file=str(shard)) from None
                        toks.extend(ids)
                        n_target = len(ids) - n_prompt
                    else:
                        try:
                            p = encode(p_text)
                            c = encode(c_text)
                        except TokenizerError as err:
                            which = "prompt" if _fails(encode, p_text) else "completion"
                            raise TokenizerError(
                                f"row {row}, {which}: {err.message}", file=str(shard)
                            ) from None
                        toks.append(bos)
                        toks.extend(p)
                        toks.append(sep)
                        toks.extend(c)
                        toks.append(eos)
                        n_prompt = len(p) + 2
                        n_target = len(c) + 1
                    mask += prompt_byte * n_prompt
                    mask += b"\x01" * n_target
                    length = n_prompt + n_target
                    total += length
                    offsets.append(total)
                    max_len = max(max_len, length)
                    max_prompt = max(max_prompt, n_prompt)
                    target_tokens += n_target
                    row += 1
                if swap:
                    toks.byteswap()
                ftok.write(toks.tobytes())
                fmask.write(mask)
            if progress:
                print(f"pack {split}: {shard.name} done, {len(offsets) - 1} examples", file=sys.stderr)
    n = len(offsets) - 1
    with tmps[2].open("wb") as f:
        np.save(f, np.frombuffer(offsets, dtype=np.int64))
    for tmp, name in zip(tmps, names):
        tmp.replace(out_dir / name)
    return {
        "examples": n,
        "tokens": total,
        "target_tokens": target_tokens if loss_on == "completion" else total,
        "completion_tokens": target_tokens,
        "max_len": max_len,
        "max_prompt_len": max_prompt,
        "mean_len": round(total / n, 3) if n else 0.0,
        "shards": [s.name for s in shards],
    }


def _fails(encode: Any, text: Any) -> bool:
    try:
        encode(text)
    except TokenizerError:
        return True
    return False


class PackedSplit:
    """One packed split, memory-mapped: `tokens`, `mask`, `offsets`, `example(i)`."""

    def __init__(self, out_dir: str | Path, split: str) -> None:
        out_dir = Path(out_dir)
        meta_path = out_dir / "pack.json"
        try:
            meta = json.loads(meta_path.read_text())
        except OSError:
            raise TokenizerError(
                "not a packed dataset (no pack.json); run pack first", file=str(out_dir)
            ) from None
        except json.JSONDecodeError as err:
            raise TokenizerError(f"pack.json is not JSON ({err.msg})", file=str(meta_path)) from None
        if split not in meta.get("splits", {}):
            known = ", ".join(meta.get("splits", {})) or "none"
            raise TokenizerError(f"no split '{split}' in this pack (splits: {known})", file=str(out_dir))
        self.dir = out_dir
        self.split = split
        self.meta = meta
        self.stats = meta["splits"][split]
        ids = meta["special_ids"]
        self.bos_id, self.sep_id, self.eos_id, self.pad_id = ids["bos"], ids["sep"], ids["eos"], ids["pad"]
        tokens_path, mask_path, offsets_path = (out_dir / f for f in _files(split))
        self.offsets: np.ndarray = np.load(offsets_path, mmap_mode="r")
        n_tokens = int(self.offsets[-1])
        for path, size in ((tokens_path, 2 * n_tokens), (mask_path, n_tokens)):
            actual = path.stat().st_size if path.is_file() else None
            if actual != size:
                raise TokenizerError(
                    f"expected {size} bytes, found {actual if actual is not None else 'no file'} "
                    "(truncated or stale pack; pack again with force=True)",
                    file=str(path),
                )
        if n_tokens:
            self.tokens: np.ndarray = np.memmap(tokens_path, dtype="<u2", mode="r", shape=(n_tokens,))
            self.mask: np.ndarray = np.memmap(mask_path, dtype=np.uint8, mode="r", shape=(n_tokens,))
        else:
            self.tokens = np.zeros(0, dtype="<u2")
            self.mask = np.zeros(0, dtype=np.uint8)
        self._tokenizer: Tokenizer | None = None

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __repr__(self) -> str:
        return f"PackedSplit({str(self.dir)!r}, {self.split!r}: {len(self)} examples, {self.n_tokens} tokens)"

    @property
    def n_tokens(self) -> int:
        return int(self.offsets[-1])

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @property
    def max_len(self) -> int:
        return int(self.stats["max_len"])

    @property
    def tokenizer(self) -> Tokenizer:
        if self._tokenizer is None:
            self._tokenizer = Tokenizer.load(self.dir / self.meta.get("tokenizer", "tokenizer.json"))
        return self._tokenizer

    def _span(self, i: int) -> tuple[int, int]:
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"example {i} out of range for {n} examples")
        i %= n
        return int(self.offsets[i]), int(self.offsets[i + 1])

    def example(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """(tokens, mask) of example i: views into the memory maps."""
        a, b = self._span(i)
        return self.tokens[a:b], self.mask[a:b]

    def prompt(self, i: int) -> np.ndarray:
        """Tokens of example i up to and including `<sep>`: what a model is given to generate from."""
        tokens, _ = self.example(i)
        return tokens[: int(np.argmax(tokens == self.sep_id)) + 1]

    def completion(self, i: int) -> np.ndarray:
        """Tokens of example i after `<sep>`, the final `<eos>` included."""
        tokens, _ = self.example(i)
        return tokens[int(np.argmax(tokens == self.sep_id)) + 1 :]

    def texts(self, i: int) -> tuple[str, str]:
        """(prompt, completion) text of example i, decoded."""
        tok = self.tokenizer
        return (
            tok.decode(self.prompt(i)[1:-1]),
            tok.decode(self.completion(i)[:-1]),
        )
