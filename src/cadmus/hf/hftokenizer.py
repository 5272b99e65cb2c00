"""The tokenizer of an exported model: Cadmus's Hugging Face tokenizer made exact for every number scheme.

`Tokenizer.to_hf()` is exact for `digits` and `whole`. The two other schemes
rewrite numbers, which a `Split` pre-tokenizer alone cannot do, but a chain
of `Replace` normalizers (regex pattern, literal replacement) can:

- `fixed` inserts `<npad>` tokens before a number: one zero-width `Replace`
  per remainder r = 1..W-1 of the number's length modulo W writes W - r
  padding characters at the number's start. The padding is the private-use
  character `NPAD_CHAR`, which the vocabulary entry of `<npad>` is renamed to
  (a text can never hold it: Cadmus refuses any non-ASCII character), and the
  decoder deletes it, as Cadmus decodes `<npad>` to nothing.
- `reversed` writes every number's digits least significant first. Literal
  replacements cannot move a digit, but each position can be overwritten by
  the digit of its mirror position. Pass (o, t) replaces a digit o whose
  mirror holds t by a marker character that remembers both (later passes
  still read the original digit o through it); a last round turns every
  marker into its digit t. A pass names the mirror through a lookaround per
  offset, so numbers of up to `REVERSED_MAX_DIGITS` digits are reversed; a
  longer digit run becomes a character outside the vocabulary, so encoding it
  fails loudly instead of giving other ids than Cadmus. The decoder fuses the
  tokens into one string and applies the same reversal, as `Tokenizer.decode`
  does.

A template post-processor makes ``tokenizer(prompt)`` give exactly the
generation input Cadmus builds (``<bos> prompt <sep>``) and ``tokenizer(prompt,
completion)`` the training example (``<bos> prompt <sep> completion <eos>``);
``add_special_tokens=False`` encodes bare text. `check_tokenizer` compares
the result with Cadmus's ids and decoded text on a list of texts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from cadmus.hf.errors import HFError

NPAD_CHAR = "\ue0ff"  # stands for <npad> in the exported vocabulary of `fixed`
REVERSED_MAX_DIGITS = 40  # longest digit run the exported `reversed` tokenizer reverses
_MARK0 = 0xE000  # markers of the reversal: chr(_MARK0 + 10 * original + mirror)
_TOO_LONG = "\ue0fe"  # replaces a longer digit run; not in the vocabulary, so encoding fails
_WORD = "A-Za-z0-9_"
_SPECIALS = ("<pad>", "<bos>", "<eos>", "<sep>")


def _mark(original: int, mirror: int) -> str:
    return chr(_MARK0 + 10 * original + mirror)


def _u(ch: str) -> str:
    return f"\\x{{{ord(ch):04X}}}"


def fixed_passes(width: int) -> list[tuple[str, str]]:
    """(pattern, replacement) pairs that left-pad each number to a multiple of `width` characters."""
    passes = []
    for r in range(1, width):
        pattern = f"(?<![{_WORD}])(?=(?:[0-9]{{{width}}})*[0-9]{{{r}}}(?![{_WORD}]))"
        passes.append((pattern, NPAD_CHAR * (width - r)))
    return passes


def reversal_passes(max_digits: int = REVERSED_MAX_DIGITS) -> list[tuple[str, str]]:
    """(pattern, replacement) pairs that reverse every number of up to `max_digits` digits.

    A number is a maximal digit run with no letter, digit or underscore on
    either side (Cadmus's definition). In the passes, a marker counts as the
    digit it replaced, so `C` (a number character) and `B` (a character that
    continues a word) include the markers.
    """
    marks = f"{_u(chr(_MARK0))}-{_u(chr(_MARK0 + 99))}"
    C = f"[0-9{marks}]"
    B = f"[{_WORD}{marks}]"
    start = f"(?:\\A|[^{_WORD}{marks}])"
    end = f"(?!{B})"
    half = (max_digits - 1) // 2
    passes = [(f"(?<![{_WORD}])[0-9]{{{max_digits + 1},}}(?![{_WORD}])", _TOO_LONG)]
    for o in range(10):
        for t in range(10):
            mirror = f"[{t}{_u(_mark(t, 0))}-{_u(_mark(t, 9))}]"
            alts = []
            for a in range(half + 1):
                # a digits before this one: the mirror lies ahead, with a digits after it
                alts.append(f"(?<={start}{C}{{{a}}}{o})(?={C}*?{mirror}{C}{{{a}}}{end})")
                # a digits after this one: the mirror lies behind, with a digits before it
                alts.append(f"(?<={start}{C}{{{a}}}{mirror}{C}*{o})(?={C}{{{a}}}{end})")
            passes.append((f"{o}(?:{'|'.join(alts)})", _mark(o, t)))
    for t in range(10):
        cls = "".join(_u(_mark(o, t)) for o in range(10))
        passes.append((f"[{cls}]", str(t)))
    return passes


def _replace_chain(kind: str, passes: Sequence[tuple[str, str]]) -> list[Any]:
    from tokenizers import Regex, decoders, normalizers

    module = normalizers if kind == "normalizer" else decoders
    return [module.Replace(Regex(pattern), content) for pattern, content in passes]


def build_hf_tokenizer(tokenizer: Any, *, max_length: int) -> Any:
    """A `transformers.PreTrainedTokenizerFast` that gives Cadmus's ids for `tokenizer`'s scheme."""
    import json

    from tokenizers import Tokenizer as Backend
    from tokenizers import decoders, normalizers, processors
    from transformers import PreTrainedTokenizerFast

    scheme = tokenizer.numbers
    backend = tokenizer.to_hf(strict=False).backend_tokenizer
    if scheme == "fixed":
        data = json.loads(backend.to_str())
        vocab = data["model"]["vocab"]
        vocab[NPAD_CHAR] = vocab.pop("<npad>")
        backend = Backend.from_str(json.dumps(data))
        backend.normalizer = normalizers.Sequence(_replace_chain("normalizer", fixed_passes(tokenizer.width)))
        backend.decoder = decoders.Sequence([decoders.Replace(NPAD_CHAR, ""), decoders.Fuse()])
    elif scheme == "reversed":
        passes = reversal_passes()
        backend.normalizer = normalizers.Sequence(_replace_chain("normalizer", passes))
        # The decoder reverses numbers back; a run too long to reverse is left as it is.
        backend.decoder = decoders.Sequence([decoders.Fuse(), *_replace_chain("decoder", passes[1:])])
    bos, sep, eos = (tokenizer.bos_id, tokenizer.sep_id, tokenizer.eos_id)
    backend.post_processor = processors.TemplateProcessing(
        single="<bos> $A <sep>",
        pair="<bos> $A <sep> $B:1 <eos>:1",
        special_tokens=[("<bos>", bos), ("<sep>", sep), ("<eos>", eos)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<bos>",
        eos_token="<eos>",
        pad_token="<pad>",
        sep_token="<sep>",
        clean_up_tokenization_spaces=False,
        split_special_tokens=True,
        model_max_length=max_length,
        padding_side="left",
    )


def check_tokenizer(hf: Any, tokenizer: Any, texts: Iterable[str]) -> int:
    """Raise `HFError` unless `hf` encodes and decodes every text as Cadmus does; returns how many."""
    n = 0
    for text in texts:
        want = tokenizer.encode(text)
        got = hf(text, add_special_tokens=False)["input_ids"]
        if got != want:
            raise HFError(
                f"the exported tokenizer gives other ids than Cadmus for {text[:60]!r} "
                f"(numbers={tokenizer.numbers!r}); nothing was written",
                key="numbers",
            )
        ids = [tokenizer.bos_id, *want, tokenizer.sep_id]
        if hf(text)["input_ids"] != ids:
            raise HFError(f"the exported tokenizer does not frame {text[:60]!r} as <bos> text <sep>")
        for skip in (False, True):
            if hf.decode(ids, skip_special_tokens=skip) != tokenizer.decode(ids, skip_special_tokens=skip):
                raise HFError(
                    f"the exported tokenizer decodes {text[:60]!r} otherwise than Cadmus "
                    f"(numbers={tokenizer.numbers!r}); nothing was written",
                    key="numbers",
                )
        n += 1
    return n
