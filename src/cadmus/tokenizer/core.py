"""Encoding text to token ids and back, under one of the number schemes.

Splitting is fixed and vocabulary-driven (see docs/tokenizer.md):

1. A *word* is a maximal run of `[A-Za-z0-9_]`. A word of digits only is a
   *number* and goes to the number scheme. Another word is one token when
   the vocabulary holds it whole (keyword, built-in, English word, pool
   identifier), else it is spelled character by character (digits inside an
   identifier such as `x1` are plain characters, never a number).
2. Elsewhere the longest multi-character symbol token matches (operators
   such as `<<=`, the 4-space indentation token), else one character.

Number schemes (a run of digits `d1..dk`):

- `digits`: one token per digit, most significant first.
- `reversed`: one token per digit, least significant first; decoding
  reverses every number back (it is the same involution).
- `fixed`: left-padded with `<npad>` to a multiple of `width` tokens, then
  the digits; `<npad>` decodes to nothing, so leading zeros in the text and
  padding are never confused and the round trip is exact.
- `whole`: one token for the canonical decimal of a value below `bound`;
  anything else (larger, or written with leading zeros) falls back to digits.

A minus sign is always the operator token `-`, never part of a number.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from itertools import chain
from pathlib import Path
from typing import Any

from cadmus.errors import CadmusError
from cadmus.tokenizer.hf import HF_EXACT, to_hf
from cadmus.tokenizer.vocab import (
    BOS,
    CHARS,
    EOS,
    IDENTIFIER_MODES,
    NEWLINE,
    NUMBER_PAD,
    NUMBER_SCHEMES,
    PAD,
    SEP,
    SPECIALS,
    VOCAB_VERSION,
    WORD_RE,
    build_vocab,
    categorize,
)

FORMAT = "cadmus-tokenizer"
_BAD_CHAR = re.compile(r"[^\n\x20-\x7e]")
_NUMBER = re.compile(r"(?<![A-Za-z0-9_])[0-9]+(?![A-Za-z0-9_])")
_CACHE_LIMIT = 1 << 18
_HOLE = "\x00"  # stands for a skipped special while numbers are un-reversed


class TokenizerError(CadmusError):
    """Text that cannot be encoded, ids that cannot be decoded, or a bad tokenizer file."""


def _reverse_numbers(text: str) -> str:
    return _NUMBER.sub(lambda m: m.group()[::-1], text)


class _PieceCache(dict):
    """Piece string -> tuple of ids; computes on a miss, bounded in size."""

    def __init__(self, compute: Any) -> None:
        super().__init__()
        self._compute = compute

    def __missing__(self, piece: str) -> tuple[int, ...]:
        if len(self) >= _CACHE_LIMIT:
            self.clear()
        ids = self._compute(piece)
        self[piece] = ids
        return ids


class Tokenizer:
    """A fixed vocabulary plus a number scheme: `encode`, `decode`, `save`, `load`, `to_hf`.

    `Tokenizer(numbers="digits")` builds the vocabulary of the current
    version from the DSL's lexicon; `Tokenizer.load(path)` restores a saved
    one exactly (its own vocabulary list, whatever this version would build).
    """

    def __init__(
        self,
        numbers: str = "digits",
        *,
        width: int = 4,
        bound: int = 1000,
        identifiers: str = "pools",
    ) -> None:
        _check_config(numbers, width, bound, identifiers)
        vocab = [tok for tok, _ in build_vocab(numbers, width=width, bound=bound, identifiers=identifiers)]
        self._setup(vocab, numbers, width, bound, identifiers, VOCAB_VERSION)

    # ---- construction -----------------------------------------------------

    def _setup(
        self, vocab: list[str], numbers: str, width: int, bound: int, identifiers: str, version: int
    ) -> None:
        self.numbers = numbers
        self.width = width
        self.bound = bound
        self.identifiers = identifiers
        self.version = version
        self._vocab: tuple[str, ...] = tuple(vocab)
        self._sha256: str | None = None
        self._ids: dict[str, int] = {tok: i for i, tok in enumerate(vocab)}
        self.pad_id = self._ids[PAD]
        self.bos_id = self._ids[BOS]
        self.eos_id = self._ids[EOS]
        self.sep_id = self._ids[SEP]
        self.special_ids = frozenset(self._ids[s] for s in SPECIALS)
        self._npad_id = self._ids.get(NUMBER_PAD)
        # Multi-character tokens that are not words, longest first, so the
        # regex alternation is a greedy longest match.
        symbols = sorted(
            (
                t
                for t in vocab
                if len(t) > 1 and t not in SPECIALS and t != NUMBER_PAD and not WORD_RE.search(t)
            ),
            key=lambda t: (-len(t), t),
        )
        self._symbols = tuple(symbols)
        self._words = frozenset(t for t in vocab if len(t) > 1 and WORD_RE.fullmatch(t) and not t.isdigit())
        parts = [r"[A-Za-z0-9_]+", *(re.escape(s) for s in symbols), r"[\s\S]"]
        self._split = re.compile("|".join(parts))
        self._cache = _PieceCache(self._piece)
        # Decoding: the text of each id; specials render as their names.
        strings = list(vocab)
        if self._npad_id is not None:
            strings[self._npad_id] = ""
        self._strings = strings
        self._strings_skip = [_HOLE if i in self.special_ids else s for i, s in enumerate(strings)]

    @classmethod
    def from_dict(cls, data: Any, *, source: str | None = None) -> Tokenizer:
        """Rebuild from `to_dict()` output, checking every field; errors say what is wrong."""

        def fail(msg: str, key: str | None = None) -> TokenizerError:
            return TokenizerError(f"invalid tokenizer: {msg}", file=source, key=key)

        if not isinstance(data, dict):
            raise fail("expected a JSON object")
        if data.get("format") != FORMAT:
            raise fail(f"'format' must be '{FORMAT}', got {data.get('format')!r}", "format")
        for key, typ in (
            ("version", int),
            ("numbers", str),
            ("width", int),
            ("bound", int),
            ("identifiers", str),
            ("vocab", list),
        ):
            if key not in data:
                raise fail(f"missing key '{key}'", key)
            if not isinstance(data[key], typ) or isinstance(data[key], bool):
                raise fail(f"'{key}' must be of type {typ.__name__}, got {type(data[key]).__name__}", key)
        version = data["version"]
        if version < 1 or version > VOCAB_VERSION:
            raise fail(
                f"vocabulary version {version} is not known to this Cadmus (knows 1..{VOCAB_VERSION})",
                "version",
            )
        try:
            _check_config(data["numbers"], data["width"], data["bound"], data["identifiers"])
        except TokenizerError as err:
            raise fail(err.message, err.key) from None
        vocab = data["vocab"]
        if not all(isinstance(t, str) and t for t in vocab):
            raise fail("every vocabulary entry must be a non-empty string", "vocab")
        dupes = sorted({t for t in vocab if vocab.count(t) > 1}) if len(set(vocab)) != len(vocab) else []
        if dupes:
            raise fail(f"duplicate vocabulary entries: {dupes[:5]!r}", "vocab")
        if len(vocab) > 65535:
            raise fail(f"{len(vocab)} tokens do not fit uint16 ids", "vocab")
        for i, special in enumerate(SPECIALS):
            if i >= len(vocab) or vocab[i] != special:
                raise fail(f"id {i} must be '{special}'", "vocab")
        missing = [c for c in (*CHARS, NEWLINE) if c not in set(vocab)]
        if missing:
            raise fail(f"character fallback incomplete, missing {missing[:5]!r}", "vocab")
        if data["numbers"] == "whole":
            absent = [str(n) for n in range(data["bound"]) if str(n) not in set(vocab)]
            if absent:
                raise fail(
                    f"numbers='whole' needs tokens 0..{data['bound'] - 1}; missing {absent[:5]!r}", "vocab"
                )
        if data["numbers"] == "fixed" and NUMBER_PAD not in vocab:
            raise fail(f"numbers='fixed' needs the token '{NUMBER_PAD}'", "vocab")
        for tok in vocab:
            if tok in SPECIALS or tok == NUMBER_PAD or len(tok) == 1:
                continue
            if _BAD_CHAR.search(tok):
                raise fail(f"token {tok!r} holds a character outside printable ASCII", "vocab")
            if WORD_RE.search(tok) and not WORD_RE.fullmatch(tok):
                raise fail(f"token {tok!r} mixes word characters and symbols", "vocab")
            if tok.isdigit() and data["numbers"] != "whole":
                raise fail(f"number token {tok!r} only makes sense with numbers='whole'", "vocab")
        if "sha256" in data and data["sha256"] != _vocab_hash(vocab):
            raise fail("'sha256' does not match the vocabulary (the file was edited or damaged)", "sha256")
        tok = cls.__new__(cls)
        tok._setup(list(vocab), data["numbers"], data["width"], data["bound"], data["identifiers"], version)
        return tok

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": self.version,
            "numbers": self.numbers,
            "width": self.width,
            "bound": self.bound,
            "identifiers": self.identifiers,
            "vocab_size": len(self._vocab),
            "sha256": _vocab_hash(self._vocab),
            "vocab": list(self._vocab),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, ensure_ascii=True) + "\n"

    def save(self, path: str | Path) -> Path:
        """Write the tokenizer as JSON (atomically) and return the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(self.to_json(), encoding="ascii")
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> Tokenizer:
        """Load a tokenizer JSON file, or from a folder: its `cadmus_tokenizer.json` (a `save_hf`
        folder) if present, else its `tokenizer.json` (packed datasets, checkpoints)."""
        path = Path(path)
        if path.is_dir():
            hf_side = path / "cadmus_tokenizer.json"
            path = hf_side if hf_side.is_file() else path / "tokenizer.json"
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            raise TokenizerError(f"cannot read tokenizer: {err.strerror}", file=str(path)) from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise TokenizerError(
                f"invalid tokenizer: not JSON ({err.msg})", file=str(path), line=err.lineno, col=err.colno
            ) from None
        return cls.from_dict(data, source=str(path))

    # ---- identity -----------------------------------------------------------

    @property
    def vocab(self) -> tuple[str, ...]:
        return self._vocab

    @property
    def vocab_size(self) -> int:
        return len(self._vocab)

    def __len__(self) -> int:
        return len(self._vocab)

    def token_id(self, token: str) -> int:
        try:
            return self._ids[token]
        except KeyError:
            raise TokenizerError(f"{token!r} is not a token") from None

    def id_to_token(self, i: int) -> str:
        return self._vocab[i]

    @property
    def sha256(self) -> str:
        """Hash of the canonical JSON: equal hashes mean identical encodings."""
        if self._sha256 is None:
            self._sha256 = hashlib.sha256(self.to_json().encode("ascii")).hexdigest()
        return self._sha256

    def __reduce__(self) -> tuple[Any, ...]:
        return (Tokenizer.from_dict, (self.to_dict(),))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tokenizer) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(self.sha256)

    def __repr__(self) -> str:
        extra = {"fixed": f", width={self.width}", "whole": f", bound={self.bound}"}.get(self.numbers, "")
        return (
            f"Tokenizer(numbers={self.numbers!r}{extra}, identifiers={self.identifiers!r}, "
            f"version={self.version}, vocab_size={self.vocab_size})"
        )

    def describe(self) -> dict[str, Any]:
        """Summary: settings, size and token count per category."""
        counts: dict[str, int] = {}
        for tok in self._vocab:
            cat = categorize(tok)
            counts[cat] = counts.get(cat, 0) + 1
        return {
            "version": self.version,
            "numbers": self.numbers,
            "width": self.width if self.numbers == "fixed" else None,
            "bound": self.bound if self.numbers == "whole" else None,
            "identifiers": self.identifiers,
            "vocab_size": self.vocab_size,
            "categories": counts,
            "hf_exact": self.numbers in HF_EXACT,
        }

    # ---- encoding -----------------------------------------------------------

    def _piece(self, piece: str) -> tuple[int, ...]:
        ids = self._ids
        if piece.isdigit():
            return self._number(piece)
        if len(piece) == 1 or not WORD_RE.fullmatch(piece):
            return (ids[piece],)  # the splitter only yields symbol tokens and single characters
        tid = ids.get(piece)
        if tid is not None and piece in self._words:
            return (tid,)
        return tuple(ids[c] for c in piece)

    def _number(self, digits: str) -> tuple[int, ...]:
        ids = self._ids
        scheme = self.numbers
        if scheme == "whole":
            if (digits[0] != "0" or len(digits) == 1) and int(digits) < self.bound:
                return (ids[digits],)
            return tuple(ids[c] for c in digits)
        if scheme == "reversed":
            return tuple(ids[c] for c in reversed(digits))
        if scheme == "fixed":
            pad = -len(digits) % self.width
            return (self._npad_id,) * pad + tuple(ids[c] for c in digits)  # type: ignore[operator]
        return tuple(ids[c] for c in digits)

    def _check_text(self, text: str) -> None:
        bad = _BAD_CHAR.search(text)
        if bad is None:
            return
        pos = bad.start()
        line = text.count("\n", 0, pos) + 1
        col = pos - (text.rfind("\n", 0, pos) + 1) + 1
        ch = bad.group()
        raise TokenizerError(
            f"cannot encode character {ch!r} (U+{ord(ch):04X}) at line {line}, column {col}: "
            "only printable ASCII and newline are encodable",
            line=line,
            col=col,
        )

    def encode(self, text: str) -> list[int]:
        """Token ids of `text` (no specials added). Raises TokenizerError on other characters."""
        if not isinstance(text, str):
            raise TokenizerError(f"encode expects a str, got {type(text).__name__}")
        self._check_text(text)
        return list(chain.from_iterable(map(self._cache.__getitem__, self._split.findall(text))))

    def encode_batch(self, texts: Iterable[str]) -> list[list[int]]:
        return [self.encode(t) for t in texts]

    def encode_example(self, prompt: str, completion: str) -> tuple[list[int], int]:
        """`<bos> prompt <sep> completion <eos>` and the index of the first completion token."""
        ids = [self.bos_id, *self.encode(prompt), self.sep_id]
        start = len(ids)
        ids.extend(self.encode(completion))
        ids.append(self.eos_id)
        return ids, start

    def tokens(self, text: str) -> list[str]:
        """The token strings of `text` (for inspection and docs)."""
        return [self._vocab[i] for i in self.encode(text)]

    # ---- decoding -----------------------------------------------------------

    def decode(self, ids: Iterable[int], *, skip_special_tokens: bool = False) -> str:
        """Text of `ids`. Specials render as their names unless skipped.

        Each stretch between specials is decoded on its own, so under
        `reversed` a number right after `<sep>` is restored correctly.
        """
        strings = self._strings_skip if skip_special_tokens else self._strings
        seq = _as_ints(ids)
        try:
            if seq and min(seq) < 0:
                raise IndexError
            if self.numbers == "reversed" and not skip_special_tokens:
                specials = self.special_ids
                parts = [_HOLE + strings[i] + _HOLE if i in specials else strings[i] for i in seq]
            else:
                parts = [strings[i] for i in seq]
        except (IndexError, TypeError):
            raise TokenizerError(self._bad_ids(seq)) from None
        text = "".join(parts)
        if self.numbers == "reversed":
            text = _reverse_numbers(text)
        return text.replace(_HOLE, "") if _HOLE in text else text

    def _bad_ids(self, ids: Iterable[int]) -> str:
        for pos, i in enumerate(_as_ints(ids)):
            if not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < len(self._vocab):
                return f"cannot decode id {i!r} at position {pos}: ids run from 0 to {len(self._vocab) - 1}"
        return "cannot decode ids"  # pragma: no cover

    # ---- Hugging Face -------------------------------------------------------

    def to_hf(self, *, strict: bool = True) -> Any:
        """A `transformers.PreTrainedTokenizerFast` giving the same ids (see `cadmus.tokenizer.hf`).

        Schemes outside `HF_EXACT` raise unless `strict=False`, which exports the
        same vocabulary but writes numbers digit by digit (inexact).
        """
        if strict and self.numbers not in HF_EXACT:
            raise TokenizerError(
                f"numbers={self.numbers!r} has no exact Hugging Face equivalent (exact: {', '.join(HF_EXACT)}); "
                "pass strict=False for an export that writes numbers as plain digits",
                key="numbers",
            )
        return to_hf(self.vocab, self.numbers)

    def save_hf(self, directory: str | Path, *, strict: bool = True) -> Path:
        """`to_hf().save_pretrained(directory)`, plus this tokenizer's JSON as `cadmus_tokenizer.json`."""
        directory = Path(directory)
        self.to_hf(strict=strict).save_pretrained(str(directory))
        self.save(directory / "cadmus_tokenizer.json")
        return directory


def _as_ints(ids: Iterable[int]) -> Sequence[int]:
    if hasattr(ids, "tolist"):
        return ids.tolist()  # numpy arrays and torch tensors
    return ids if isinstance(ids, Sequence) else list(ids)


def _vocab_hash(vocab: Sequence[str]) -> str:
    return hashlib.sha256(json.dumps(list(vocab), ensure_ascii=True).encode("ascii")).hexdigest()


def _check_config(numbers: Any, width: Any, bound: Any, identifiers: Any) -> None:
    if numbers not in NUMBER_SCHEMES:
        raise TokenizerError(
            f"unknown number scheme {numbers!r} (known: {', '.join(NUMBER_SCHEMES)})", key="numbers"
        )
    if identifiers not in IDENTIFIER_MODES:
        raise TokenizerError(
            f"unknown identifiers mode {identifiers!r} (known: {', '.join(IDENTIFIER_MODES)})",
            key="identifiers",
        )
    if not isinstance(width, int) or isinstance(width, bool) or not 1 <= width <= 64:
        raise TokenizerError(f"width must be an integer from 1 to 64, got {width!r}", key="width")
    if not isinstance(bound, int) or isinstance(bound, bool) or not 10 <= bound <= 50000:
        raise TokenizerError(f"bound must be an integer from 10 to 50000, got {bound!r}", key="bound")


def load_tokenizer(path: str | Path) -> Tokenizer:
    """`Tokenizer.load(path)`: a JSON file, or a folder holding `tokenizer.json`."""
    return Tokenizer.load(path)
