"""Tokenizer: vocabulary, number schemes, round trips, errors, save/load, docs, Hugging Face export."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadmus.errors import CadmusError
from cadmus.lang import BUILTINS, INDENT, KEYWORDS, OPERATORS, PUNCTUATION
from cadmus.tasks import HELDOUT, POOLS
from cadmus.tokenizer import NUMBER_SCHEMES, Tokenizer, TokenizerError, load_tokenizer
from cadmus.tokenizer.docs import vocab_markdown

ROOT = Path(__file__).resolve().parents[1]

PROGRAMS = [
    # every keyword, builtin, operator and punctuation of the DSL appears below
    """def gcd(a, b):
    while b != 0:
        t = b
        b = a % b
        a = t
    return a

def fact(n):
    if n <= 1:
        return 1
    elif n == 2:
        return 2
    else:
        return n * fact(n - 1)

total = 0
for i in range(10):
    if i % 2 == 0 and not i >= 8 or i > 100:
        continue
    if i < 0:
        break
    total += i
    total -= 1
    total *= 2
    total /= 2
    total %= 1000
assert total == 24
""",
    """xs = array(5)
n = len(xs)
k = 0
while k < n:
    xs[k] = read()
    k = k + 1
best = xs[0]
for j in range(1, n):
    best = max(best, abs(xs[j]))
    best = min(best, 99999)
bits = 6 & 3 | 8 ^ 1
bits <<= 2
bits >>= 1
bits &= 255
bits |= 16
bits ^= 5
y = ~bits << 1 >> 1
z = -7 / 2 - 40 // 3
pass
print best, y
assert y == -47
""",
    # instruct format: English comment then the program
    """# Write a function that returns the sum of the digits of n.
def digit_sum(n):
    s = 0
    while n > 0:
        s = s + n % 10
        n = n / 10
    return s
""",
    # output format with a separator line
    """count = 3
value = count * 41 + 7
print value, count
# output:
130 3
""",
    # trace format completion
    "1: a=5\n2: b=89\n3: a=94 b=89\n4: result=8366\n",
    # held-out and random names, deep indentation, odd spacing
    """def alpha(beta, gamma_2):
    if beta > 0:
        while gamma_2 < 10:
            if gamma_2 % 3 == 0:
                gamma_2 += 1
            gamma_2 += 2
    return beta  +  gamma_2   # two and three spaces
zz_9 = alpha(007, 0)
assert zz_9 == 12345678901234567890
""",
    # python-only builtins and odd punctuation
    "xs = []\nappend(xs, 4)\npop(xs)\n{'a': \"b\"}; `x` @ $ ? ! \\ ~\n",
    "",
    "\n\n",
    "0",
    "    ",
]


def _random_program(rng: random.Random) -> str:
    names = [*POOLS["mixed"], *HELDOUT, "tmp_1", "x2", "q9z"]
    lines = []
    depth = 0
    for _ in range(rng.randint(1, 12)):
        name = rng.choice(names)
        num = rng.choice([rng.randint(0, 9), rng.randint(0, 999), rng.randint(0, 10**9), 10**20])
        op = rng.choice([*OPERATORS])
        kind = rng.random()
        pad = INDENT * depth
        if kind < 0.2 and depth < 4:
            lines.append(f"{pad}{rng.choice(['if', 'while'])} {name} {op} {num}:")
            depth += 1
            lines.append(f"{INDENT * depth}{name} = -{num}")
        elif kind < 0.3 and depth > 0:
            depth -= 1
            lines.append(f"{INDENT * depth}{name} {op} ({num} + {rng.choice(names)})")
        else:
            lines.append(f"{pad}{name} {op} {num} {rng.choice(OPERATORS)} {rng.choice(names)}[{num % 7}]")
    lines.append(f"assert {rng.choice(names)} == {rng.randint(-(10**6), 10**6)}")
    return "\n".join(lines) + "\n"


CORPUS = PROGRAMS + [_random_program(random.Random(seed)) for seed in range(300)]
TOKENIZERS = [
    Tokenizer("digits"),
    Tokenizer("reversed"),
    Tokenizer("fixed"),
    Tokenizer("fixed", width=3),
    Tokenizer("whole"),
    Tokenizer("whole", bound=100),
    Tokenizer("digits", identifiers="chars"),
]


def test_corpus_covers_the_lexicon():
    text = "\n".join(PROGRAMS)
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))
    assert set(KEYWORDS) <= words
    assert set(BUILTINS) <= words
    for item in (*OPERATORS, *PUNCTUATION):
        assert item in text, item


@pytest.mark.parametrize("tok", TOKENIZERS, ids=repr)
def test_round_trip_corpus(tok):
    for text in CORPUS:
        ids = tok.encode(text)
        assert all(isinstance(i, int) and 0 <= i < tok.vocab_size for i in ids)
        assert tok.decode(ids) == text


@pytest.mark.parametrize("tok", TOKENIZERS, ids=repr)
@settings(max_examples=150, deadline=None)
@given(text=st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E) | st.just("\n")))
def test_round_trip_any_printable_ascii(tok, text):
    ids = tok.encode(text)
    assert tok.decode(ids) == text
    assert tok.bos_id not in ids and tok.sep_id not in ids


@given(
    prompt=st.text(alphabet="ab1 2_=\n", max_size=20),
    completion=st.text(alphabet="ab1 2_=\n", max_size=20),
)
@settings(max_examples=100, deadline=None)
def test_examples_decode_segment_by_segment(prompt, completion):
    for tok in TOKENIZERS[:3]:
        ids, start = tok.encode_example(prompt, completion)
        assert ids[0] == tok.bos_id and ids[start - 1] == tok.sep_id and ids[-1] == tok.eos_id
        assert tok.decode(ids) == f"<bos>{prompt}<sep>{completion}<eos>"
        assert tok.decode(ids, skip_special_tokens=True) == prompt + completion
        assert tok.decode(ids[start:-1]) == completion


def test_specials_and_layout_ids():
    tok = Tokenizer()
    assert (tok.pad_id, tok.bos_id, tok.eos_id, tok.sep_id) == (0, 1, 2, 3)
    assert tok.encode("\n") == [tok.token_id("\n")]
    assert tok.encode(INDENT * 2 + "  x") == [tok.token_id(INDENT)] * 2 + [tok.token_id(" ")] * 2 + [
        tok.token_id("x")
    ]
    assert tok.tokens("<bos>") == list("<bos>")
    assert tok.bos_id not in tok.encode("<bos><sep><eos><pad><npad>")


def test_base_ids_shared_by_all_schemes():
    base = Tokenizer().vocab
    for tok in TOKENIZERS:
        if tok.identifiers == "pools":
            assert tok.vocab[: len(base)] == base
    assert Tokenizer("reversed").vocab == base


def test_whole_words_and_character_fallback():
    tok = Tokenizer()
    for word in (*KEYWORDS, "total", "count", "function"):
        assert tok.tokens(word) == [word]
    for op in OPERATORS:
        assert tok.tokens(op) == [op]
    # a word is looked up whole, never split into known pieces
    assert tok.tokens("counter") == list("counter")
    assert tok.tokens("iffy") == list("iffy")
    assert tok.tokens("x1 = 1") == ["x", "1", " = ", "1"]
    assert tok.tokens("a<<=b") == ["a", "<<=", "b"]
    # held-out names are spelled by characters under every setting
    for name in HELDOUT:
        for t in TOKENIZERS:
            assert t.tokens(name) == list(name), name
    # identifiers="chars" spells pool names by characters but keeps keywords whole
    chars = Tokenizer(identifiers="chars")
    assert chars.tokens("total") == list("total")
    assert chars.tokens("value") == list("value")
    assert chars.tokens("while") == ["while"]


def test_digits_and_minus():
    tok = Tokenizer()
    assert tok.tokens("x = -305") == ["x", " = ", "-", "3", "0", "5"]


def test_reversed_reverses_digit_order():
    tok = Tokenizer("reversed")
    assert tok.tokens("x = 1234 + 56") == ["x", " = ", "4", "3", "2", "1", " + ", "6", "5"]
    digits = Tokenizer("digits")
    assert tok.encode("1234") == digits.encode("4321")
    # digits inside identifiers are not numbers
    assert tok.tokens("x12") == ["x", "1", "2"]
    # a number right after <sep> is restored per segment
    ids, _ = tok.encode_example("assert x == ", "120")
    assert tok.decode(ids, skip_special_tokens=True) == "assert x == 120"


def test_fixed_pads_to_width():
    tok = Tokenizer("fixed", width=4)
    assert tok.tokens("7") == ["<npad>"] * 3 + ["7"]
    assert tok.tokens("0042") == ["0", "0", "4", "2"]
    assert tok.tokens("12345") == ["<npad>"] * 3 + list("12345")
    assert tok.decode(tok.encode("7 + 0042")) == "7 + 0042"
    assert tok.tokens("x7") == ["x", "7"]


def test_whole_uses_whole_tokens_under_the_bound():
    tok = Tokenizer("whole", bound=1000)
    assert tok.tokens("999 + 0 + 42") == ["999", " + ", "0", " + ", "42"]
    assert tok.tokens("1000") == list("1000")
    assert tok.tokens("007") == list("007")
    assert tok.tokens("x42") == ["x", "4", "2"]
    assert tok.vocab_size == Tokenizer().vocab_size + 990
    small = Tokenizer("whole", bound=100)
    assert small.tokens("99 100") == ["99", " ", "1", "0", "0"]


def test_error_names_character_and_position():
    tok = Tokenizer()
    with pytest.raises(TokenizerError) as info:
        tok.encode("x = 1\ny = 2\tz")
    err = info.value
    assert isinstance(err, CadmusError)
    assert (err.line, err.col) == (2, 6)
    assert "'\\t'" in str(err) and "line 2, column 6" in str(err)
    with pytest.raises(TokenizerError, match=r"'é'.*line 1, column 3"):
        tok.encode("a é")
    with pytest.raises(TokenizerError, match="line 1, column 2"):
        tok.encode("a\r\n")
    with pytest.raises(TokenizerError, match="cannot decode id"):
        tok.decode([1, 99999])
    with pytest.raises(TokenizerError, match="cannot decode id"):
        tok.decode([-1])


def test_bad_config_names_key():
    with pytest.raises(TokenizerError) as info:
        Tokenizer("roman")
    assert info.value.key == "numbers"
    with pytest.raises(TokenizerError, match="width"):
        Tokenizer("fixed", width=0)
    with pytest.raises(TokenizerError, match="bound"):
        Tokenizer("whole", bound=5)
    with pytest.raises(TokenizerError, match="identifiers"):
        Tokenizer(identifiers="none")


@pytest.mark.parametrize("tok", TOKENIZERS, ids=repr)
def test_save_load_equal(tok, tmp_path):
    path = tok.save(tmp_path / "tok.json")
    back = Tokenizer.load(path)
    assert back == tok and back.sha256 == tok.sha256
    assert back.vocab == tok.vocab and back.numbers == tok.numbers
    assert load_tokenizer(tmp_path / "tok.json") == tok
    for text in CORPUS[:20]:
        assert back.encode(text) == tok.encode(text)


def test_load_keeps_saved_vocabulary(tmp_path):
    data = Tokenizer().to_dict()
    data["vocab"] = [*data["vocab"], "extra_word"]
    del data["sha256"]
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(data))
    tok = Tokenizer.load(tmp_path)  # a folder finds tokenizer.json
    assert tok.tokens("extra_word") == ["extra_word"]
    assert tok.vocab_size == Tokenizer().vocab_size + 1


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.update(format="other"), "format"),
        (lambda d: d.pop("vocab"), "missing key 'vocab'"),
        (lambda d: d.update(numbers="roman"), "unknown number scheme"),
        (lambda d: d.update(version=99), "version 99"),
        (lambda d: d.update(width="4"), "'width' must be of type int"),
        (lambda d: d["vocab"].append("x"), "duplicate"),
        (lambda d: d["vocab"].remove("q"), "character fallback"),
        (lambda d: d["vocab"].__setitem__(0, "<bos>"), "duplicate|id 0"),
        (lambda d: d["vocab"].append("a+"), "mixes"),
        (lambda d: d["vocab"].append("123"), "numbers='whole'"),
        (lambda d: d.update(sha256="0" * 64), "sha256"),
        (lambda d: d.update(numbers="whole"), "needs tokens"),
        (lambda d: d.update(numbers="fixed"), "<npad>"),
    ],
)
def test_load_validates(tmp_path, edit, message):
    data = Tokenizer().to_dict()
    edit(data)
    path = tmp_path / "tok.json"
    path.write_text(json.dumps(data))
    with pytest.raises(TokenizerError, match=message) as info:
        Tokenizer.load(path)
    assert str(path) in str(info.value)


def test_load_reports_unreadable_files(tmp_path):
    with pytest.raises(TokenizerError, match="cannot read"):
        Tokenizer.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{\n  nope")
    with pytest.raises(TokenizerError, match="not JSON") as info:
        Tokenizer.load(bad)
    assert info.value.line == 2


def test_describe_and_versions():
    for scheme in NUMBER_SCHEMES:
        info = Tokenizer(scheme).describe()
        assert info["numbers"] == scheme
        assert sum(info["categories"].values()) == info["vocab_size"]
    assert Tokenizer().version >= 1
    assert repr(Tokenizer("fixed", width=3)).startswith("Tokenizer(numbers='fixed', width=3,")


def test_english_words_never_pool_names():
    tok = Tokenizer(identifiers="chars")
    pool_names = {n for pool in POOLS.values() for n in pool} | set(HELDOUT)
    assert not (set(tok.vocab) & pool_names - set("abcdefghijklmnopqrstuvwxyz"))


def test_docs_are_current():
    doc = ROOT / "docs" / "tokenizer.md"
    assert doc.read_text(encoding="utf-8") == vocab_markdown(), (
        "docs/tokenizer.md is stale: run `python -m cadmus.tokenizer.docs docs/tokenizer.md`"
    )


# ---- Hugging Face -----------------------------------------------------------

HF_CASES = [
    Tokenizer("digits"),
    Tokenizer("whole"),
    Tokenizer("whole", bound=100),
    Tokenizer("digits", identifiers="chars"),
]


@pytest.mark.parametrize("tok", HF_CASES, ids=repr)
def test_hf_gives_the_same_ids(tok, tmp_path):
    from transformers import PreTrainedTokenizerFast

    tok.save_hf(tmp_path)
    hf = PreTrainedTokenizerFast.from_pretrained(str(tmp_path))
    assert (hf.bos_token_id, hf.eos_token_id, hf.pad_token_id, hf.sep_token_id) == (1, 2, 0, 3)
    assert Tokenizer.load(tmp_path / "cadmus_tokenizer.json") == tok
    assert Tokenizer.load(tmp_path) == tok  # the folder's HF tokenizer.json is not ours
    with pytest.raises(TokenizerError, match="'format' must be 'cadmus-tokenizer'"):
        Tokenizer.load(tmp_path / "tokenizer.json")
    extra = ["<bos>x<sep>1", "12ab ab12 _1 1_ 00 0 10 99 100 999 1000", "counter=count+iffy"]
    for text in CORPUS + extra:
        ids = hf.encode(text, add_special_tokens=False)
        assert ids == tok.encode(text), text
        assert hf.decode(ids) == text


@given(text=st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E) | st.just("\n")))
@settings(max_examples=100, deadline=None)
def test_hf_same_ids_random_text(text):
    for tok, hf in _hf_objects():
        assert hf.encode(text, add_special_tokens=False) == tok.encode(text)


_HF_CACHE: list = []


def _hf_objects():
    if not _HF_CACHE:
        _HF_CACHE.extend((t, t.to_hf()) for t in HF_CASES[:2])
    return _HF_CACHE


def test_hf_refuses_inexact_schemes():
    for scheme in ("reversed", "fixed"):
        with pytest.raises(TokenizerError, match="no exact Hugging Face"):
            Tokenizer(scheme).to_hf()
    hf = Tokenizer("reversed").to_hf(strict=False)
    assert hf.encode("x = 12", add_special_tokens=False) == Tokenizer("digits").encode("x = 12")


def _family_texts(per_family: int = 6) -> list[str]:
    """Canonical DSL and Python renderings of programs sampled from every task family."""
    from cadmus import lang, tasks

    texts = []
    for family in tasks.all_families().values():
        for seed in range(per_family):
            sample = family.sample(random.Random(seed), family.knobs())
            module = lang.Module(sample.body)
            texts.append(lang.to_dsl(module))
            texts.append(lang.to_python(module))
            if sample.instruction:
                texts.append(f"# {sample.instruction}\n")
    return texts


def test_round_trip_sampled_family_programs():
    texts = _family_texts()
    assert len(texts) >= 24 * 6 * 2
    for tok in TOKENIZERS:
        for text in texts:
            assert tok.decode(tok.encode(text)) == text
    hf_tok = Tokenizer("digits")
    hf = hf_tok.to_hf()
    for text in texts:
        assert hf.encode(text, add_special_tokens=False) == hf_tok.encode(text)


def test_vocabulary_is_pinned_to_its_version():
    """Any change of the default vocabulary (lexicon, pools, word list) must bump VOCAB_VERSION."""
    from cadmus.tokenizer import VOCAB_VERSION
    from cadmus.tokenizer.core import _vocab_hash

    pinned = {
        1: "9af23a038e728574d71129c4cae79fc7c47c36aa65d1c4e07f7a7a75bb4b2d92",
        2: "691ae2164e73ff870e599c82efd8d83bb1cc569f4bee6f9b7da511e54a691f2d",
    }
    assert _vocab_hash(Tokenizer().vocab) == pinned[VOCAB_VERSION], (
        "the default vocabulary changed: bump VOCAB_VERSION in cadmus/tokenizer/vocab.py, pin the new "
        "hash here and regenerate docs/tokenizer.md"
    )


def test_pickle_round_trip():
    import pickle

    for tok in TOKENIZERS:
        back = pickle.loads(pickle.dumps(tok))
        assert back == tok
        assert back.encode(CORPUS[0]) == tok.encode(CORPUS[0])


@given(text=st.text(alphabet="0123456789ab_ -=<>\n", max_size=40))
@settings(max_examples=200, deadline=None)
def test_number_heavy_text(text):
    for tok in TOKENIZERS:
        assert tok.decode(tok.encode(text)) == text
    for tok, hf in _hf_objects():
        assert hf.encode(text, add_special_tokens=False) == tok.encode(text)
