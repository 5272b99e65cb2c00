"""The seeded generator of languages: `generate_language(i, seed)`.

Language `i` depends only on (`seed`, `i`): its random stream is seeded from
the SHA-256 of both, never from Python's `hash` or global state. Each draw
picks a naming style and sigil, a letter case for words that keeps words
and names apart, keyword and operator spellings (words or symbols), a word
order for assignment and `for`, a terminator, a comment marker and a block
layout; a draw that `check_spec` finds ambiguous is thrown away and the
next one from the same stream taken, so every language returned is checked.
"""

from __future__ import annotations

import hashlib
import random
from functools import lru_cache

from cadmus.lang.genlang_spec import (
    BASE_KEYWORDS,
    CONSTRUCTS,
    FOR_KEYWORDS,
    OPERATOR_KEYS,
    AssignSpec,
    BlockSpec,
    LanguageSpec,
    SpecError,
    check_spec,
)

MAX_DRAWS = 1000

# Candidate spellings, lowercase; words get the language's letter case.
KEYWORD_WORDS: dict[str, tuple[str, ...]] = {
    "print": ("print", "show", "say", "write", "emit", "display", "echo", "scribble", "output", "tell"),
    "if": ("if", "when", "whether", "si", "wenn", "provided", "suppose", "test"),
    "elif": ("elif", "elsif", "elseif", "orif", "orwhen", "alsoif", "butif"),
    "else": ("else", "otherwise", "sinon", "elsewise", "alternatively", "failing"),
    "while": ("while", "whilst", "during", "loop", "aslongas", "repeatwhile"),
    "for": ("for", "foreach", "each", "iterate", "every", "walk"),
    "in": ("in", "of", "through", "across", "within"),
    "range": ("range", "span", "interval", "seq", "between"),
    "from": ("from", "starting", "beginning", "since"),
    "to": ("to", "upto", "below", "till", "until", "before"),
    "step": ("step", "by", "stride", "jump", "skipping"),
    "def": ("def", "func", "function", "fn", "proc", "define", "sub", "routine", "method"),
    "return": ("return", "give", "ret", "answer", "yield", "produce", "back"),
    "assert": ("assert", "ensure", "require", "expect", "verify", "insist", "check"),
    "break": ("break", "stop", "exit", "leave", "quit", "halt"),
    "continue": ("continue", "next", "cycle", "again", "onward"),
    "pass": ("pass", "nothing", "noop", "nop", "idle", "rest", "skip"),
}
KEYWORD_SYMBOLS: dict[str, tuple[str, ...]] = {
    "print": ("?", "!!", ">>>", "<:"),
    "if": ("??", "?:"),
    "assert": ("!!!", "=>!"),
}
OPERATOR_WORDS: dict[str, tuple[str, ...]] = {
    "+": ("plus", "add"),
    "-": ("minus", "less"),
    "*": ("times", "mul"),
    "/": ("div", "over", "quot"),
    "%": ("mod", "rem"),
    "&": ("band", "bitand"),
    "|": ("bor", "bitor"),
    "^": ("xor", "bxor"),
    "<<": ("shl", "lsh"),
    ">>": ("shr", "rsh"),
    "==": ("eq", "equals", "is"),
    "!=": ("ne", "neq", "isnt", "differs"),
    "<": ("lt", "below", "under"),
    "<=": ("le", "atmost"),
    ">": ("gt", "above", "exceeds"),
    ">=": ("ge", "atleast"),
    "and": ("and", "also", "both"),
    "or": ("or", "either", "orelse"),
    "not": ("not", "no", "never"),
    "~": ("compl", "inv", "flip"),
}
OPERATOR_SYMBOLS: dict[str, tuple[str, ...]] = {
    "+": ("+",),
    "-": ("-",),
    "*": ("*",),
    "/": ("/", "//"),
    "%": ("%", "%%"),
    "&": ("&", ".&."),
    "|": ("|", ".|."),
    "^": ("^", "><"),
    "<<": ("<<", "<<<"),
    ">>": (">>", ">>>"),
    "==": ("==", "=", "==="),
    "!=": ("!=", "<>", "~=", "/="),
    "<": ("<",),
    "<=": ("<=", "=<"),
    ">": (">",),
    ">=": (">=", "=>"),
    "and": ("&&", "&&&"),
    "or": ("||", "|||"),
    "not": ("!", "~~"),
    "~": ("~", "!~"),
}
ASSIGN = {
    "infix": (("=", ":=", "<-", "=:"), ("becomes", "gets", "is", "takes")),
    "prefix": (("=", ":="), ("be", "to", "becomes", "as")),
    "reversed": (("->", "=>", "|>", "-->"), ("into", "intothe", "goesto")),
}
ASSIGN_LEADS = ("let", "set", "make", "put", "scribble", "assign")
TERMINATORS = ("", "", "", ";", ".", ";;")
COMMENTS = ("#", "#", "--", "//", ";;", "%%", "rem", "note")
CLOSER_SETS = (
    ("end",) * 4,
    ("endif", "endwhile", "endfor", "enddef"),
    ("fi", "od", "rof", "fed"),
    ("done",) * 4,
    ("stop",) * 4,
)
WORD_OPENERS = ("do", "then", "begin", "colon")


def _case(word: str, case: str) -> str:
    if not word[:1].isalpha():
        return word
    if case == "upper":
        return word.upper()
    if case == "capital":
        return word[0].upper() + word[1:]
    return word


def _seed_of(seed: int, index: int) -> int:
    digest = hashlib.sha256(f"cadmus-genlang:{seed}:{index}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _draw(rng: random.Random, name: str) -> LanguageSpec:
    names = rng.choice(("lower", "lower", "upper", "capital"))
    sigil = rng.choice(("", "", "", "$", "@", "?"))
    cases = ["lower", "upper", "capital"]
    if not sigil:  # keep words out of the identifiers' shape
        cases.remove(names)
    case = rng.choice(cases)
    symbolic = rng.random()  # how often this language prefers symbols to words

    def pick(words: tuple[str, ...], symbols: tuple[str, ...], p_symbol: float) -> str:
        if symbols and (not words or rng.random() < p_symbol):
            return rng.choice(symbols)
        return _case(rng.choice(words), case)

    for_style = rng.choice(("range", "range", "from_to"))
    keywords = {}
    for key in (*BASE_KEYWORDS, *FOR_KEYWORDS[for_style]):
        keywords[key] = pick(KEYWORD_WORDS[key], KEYWORD_SYMBOLS.get(key, ()), 0.15)
    operators = {}
    for key in OPERATOR_KEYS:
        if key == "neg":
            operators[key] = "-"
            continue
        # The arithmetic operators stay symbols more often: they are what most languages share.
        p = 0.85 if key in ("+", "-", "*") else 0.35 + 0.6 * symbolic
        operators[key] = pick(OPERATOR_WORDS[key], OPERATOR_SYMBOLS[key], p)
    form = rng.choice(("infix", "infix", "prefix", "reversed"))
    symbols, words = ASSIGN[form]
    op = pick(words, symbols, 0.6)
    lead = _case(rng.choice(ASSIGN_LEADS), case) if form == "prefix" else ""
    layout = rng.choice(("indent", "delimited"))
    if layout == "indent":
        opener = rng.choice((":", ":", "", _case(rng.choice(WORD_OPENERS), case)))
        closers = rng.choice(((("",) * 4), ("",) * 4, rng.choice(CLOSER_SETS)))
    elif rng.random() < 0.5:
        opener, closers = "{", ("}",) * 4
    else:
        opener, closers = _case(rng.choice(WORD_OPENERS), case), rng.choice(CLOSER_SETS)
    closers = tuple(_case(c, case) for c in closers)
    block = BlockSpec(
        layout=layout,
        opener=opener,
        closers=dict(zip(CONSTRUCTS, closers, strict=True)),
        else_style=rng.choice(("close_each", "close_once")) if opener != "{" else "close_each",
        indent=rng.choice((2, 3, 4, 4)),
    )
    return LanguageSpec(
        name=name,
        keywords=keywords,
        operators=operators,
        assign=AssignSpec(form=form, lead=lead, op=op),
        for_style=for_style,
        print_parens=rng.random() < 0.6,
        cond_parens=rng.random() < 0.3,
        sigil=sigil,
        names=names,
        terminator=rng.choice(TERMINATORS),
        comment=_case(rng.choice(COMMENTS), case),
        block=block,
    )


def language_name(index: int, seed: int = 0) -> str:
    """The registry name of generated language `index`: `gen:N`, or `gen:N@S` for seed S != 0."""
    return f"gen:{index}" if seed == 0 else f"gen:{index}@{seed}"


@lru_cache(maxsize=4096)
def generate_language(index: int, seed: int = 0) -> LanguageSpec:
    """Generated language `index` of family `seed`: the first unambiguous draw of its own stream."""
    if index < 0 or seed < 0:
        raise SpecError(f"a generated language has a nonnegative index and seed, not ({index}, {seed})")
    rng = random.Random(_seed_of(seed, index))
    name = language_name(index, seed)
    last: SpecError | None = None
    for _ in range(MAX_DRAWS):
        spec = _draw(rng, name)
        try:
            check_spec(spec)
        except SpecError as err:
            last = err
            continue
        return spec
    raise SpecError(f"no unambiguous language in {MAX_DRAWS} draws for {name} (last: {last})")
