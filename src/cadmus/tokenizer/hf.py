"""Export to Hugging Face: a `tokenizers` WordLevel model behind one Split pre-tokenizer.

The pre-tokenizer's regex reproduces Cadmus's splitting, alternatives tried
in order at each position:

1. a whole-word token (keyword, built-in, English word, pool identifier and,
   under `whole`, a number token 10..bound-1) only when no word character
   touches it on either side: `(?<![A-Za-z0-9_])(?:...)(?![A-Za-z0-9_])`;
2. a multi-character symbol token (operators, the indentation token),
   longest first;
3. any single character.

Each piece is then looked up whole in the vocabulary, so ids equal
`Tokenizer.encode` exactly for the `digits` and `whole` schemes (tested on a
corpus). `reversed` and `fixed` rewrite numbers in ways a Split cannot
express (reordering digits, inserting `<npad>`): `to_hf(strict=True)` refuses
them; with `strict=False` the export uses the same vocabulary but writes
numbers digit by digit, most significant first (documented as inexact).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from cadmus.tokenizer.vocab import BOS, EOS, NUMBER_PAD, PAD, SEP, SPECIALS, WORD_RE

HF_EXACT = ("digits", "whole")
_WB = "[A-Za-z0-9_]"


def split_pattern(vocab: Sequence[str], numbers: str) -> str:
    """The Oniguruma regex that splits text the way `Tokenizer.encode` does (for exact schemes)."""
    words = [t for t in vocab if len(t) > 1 and WORD_RE.fullmatch(t)]
    if numbers != "whole":
        words = [t for t in words if not t.isdigit()]
    words.sort(key=lambda t: (-len(t), t))
    symbols = [
        t for t in vocab if len(t) > 1 and t not in SPECIALS and t != NUMBER_PAD and not WORD_RE.search(t)
    ]
    symbols.sort(key=lambda t: (-len(t), t))
    parts = []
    if words:
        parts.append(f"(?<!{_WB})(?:{'|'.join(words)})(?!{_WB})")
    parts.extend(re.escape(s) for s in symbols)
    parts.append(r"[\s\S]")
    return "|".join(parts)


def build_hf_tokenizer(vocab: Sequence[str], numbers: str) -> Any:
    """The `tokenizers.Tokenizer` object (WordLevel + Split + Fuse decoder)."""
    from tokenizers import AddedToken, Regex, decoders, models, pre_tokenizers
    from tokenizers import Tokenizer as HFTokenizer

    ids = {t: i for i, t in enumerate(vocab)}
    hf = HFTokenizer(models.WordLevel(vocab=ids, unk_token=None))
    hf.pre_tokenizer = pre_tokenizers.Split(
        Regex(split_pattern(vocab, numbers)), behavior="isolated", invert=False
    )
    hf.decoder = decoders.Fuse()
    hf.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in SPECIALS])
    return hf


def to_hf(vocab: Sequence[str], numbers: str) -> Any:
    """A `transformers.PreTrainedTokenizerFast` over `vocab` with bos/eos/pad/sep set.

    Exact only for the schemes in `HF_EXACT`; `Tokenizer.to_hf` refuses the
    others unless asked for the inexact export.
    """
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_object=build_hf_tokenizer(vocab, numbers),
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        sep_token=SEP,
        clean_up_tokenization_spaces=False,
        split_special_tokens=True,
        model_max_length=1 << 30,
    )
