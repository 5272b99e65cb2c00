"""The compiled canonical form (`cadmus.data._ccanon`) writes exactly what canon.py's walk writes."""

from __future__ import annotations

import random
import re

import pytest

from cadmus.data import canon
from cadmus.data.formats import FORMATS, shown
from cadmus.lang import Assert, Assign, CmpKind, Compare, Name, Num, from_python, parse, random_program
from cadmus.tasks import all_families


def both(nodes: tuple, rename: bool) -> tuple:
    compiled = canon.form(nodes, rename)
    assert compiled == canon.form_python(nodes, rename)
    return compiled


def test_the_compiled_walk_is_built() -> None:
    # A fresh clone's `make install` builds it (the README requires a C compiler).
    assert canon.walk_info()["walk"] == "c"


@pytest.mark.parametrize("name", sorted(all_families()))
def test_every_family_in_every_format(name: str) -> None:
    family = all_families()[name]
    rng = random.Random(f"canon/{name}")
    knobs = family.knobs({})
    for _ in range(60):
        sample = family.sample(rng, knobs)
        parts = [tuple(sample.body), (sample.answer,), tuple(sample.test_inputs)]
        parts += [shown(fmt, sample)[0] for fmt in FORMATS]
        for nodes in parts:
            for rename in (True, False):
                both(nodes, rename)


def test_random_programs_with_every_construct() -> None:
    rng = random.Random(2026)
    for i in range(1500):
        module = random_program(rng, max_statements=30, max_depth=4, reads=i % 3 == 0)
        _, biggest, variables, functions = both(module.body, True)
        assert both((module,), False)[1] == biggest
        assert len(variables) == len(set(variables)) and len(functions) == len(set(functions))


def test_the_form_itself() -> None:
    body = parse("def g(n):\n    return n * 2\nx = 7\ny = g(x) + 1\n").body
    body += (Assign(Name("z"), Num(40000000000000000000)),)  # past int64: only a tree holds it
    form, biggest, variables, functions = canon.form(body, True)
    assert form.decode() == canon.canonical_form(body)
    assert form.startswith(b"FuncDef f0 ( v0 ) ( Return BinOp * v0 2 ) Assign v1 7")
    assert biggest == 40000000000000000000
    assert variables == ("n", "x", "y", "z") and functions == ("g",)
    assert canon.form(body, False)[0].startswith(b"FuncDef g ( n )")
    assert canon.form((), True) == (b"", 0, (), ())


def test_any_iterable_and_the_same_key() -> None:
    body = tuple(parse("a = 1\nb = a + 2\nassert b == 3\n").body)
    assert canon.form(iter(body), True) == canon.form(body, True)
    assert canon.program_key(body) == canon.program_key(list(body))
    renamed = canon.rename(body, {"a": "p", "b": "q"})
    assert canon.key_and_max_const(body, text="a plus b") == canon.key_and_max_const(renamed, text="p plus q")


def test_a_front_ends_checks_are_not_program_text() -> None:
    # The Python front end writes checks as asserts with `error` set; equality ignores it, and so does the key.
    test = Compare(CmpKind.EQ, Name("x"), Num(1))
    checked, plain = (Assert(test, error="ValueError: no"),), (Assert(test),)
    assert both(checked, True) == both(plain, True)
    lowered = from_python("xs = [3, 1]\nm = min(xs)\nprint(m)\n").body
    assert any(type(s) is Assert and s.error for s in lowered)
    assert canon.program_key(lowered) == canon.program_key(canon.rename(lowered, {"xs": "a", "m": "b"}))


def test_values_it_does_not_know_take_the_python_walk() -> None:
    # A str where a node belongs: the Python walk decides, and raises.
    odd = (Assign(Name("x"), "seven"),)
    with pytest.raises(TypeError):
        canon.form_python(odd, True)
    with pytest.raises(TypeError):
        canon.form(odd, True)
    # A bool where an int belongs: the Python walk writes it as it always has.
    assert canon.form((Num(True),), True) == canon.form_python((Num(True),), True) == (b"True", 0, (), ())


def test_trees_no_parser_builds_give_the_same_form() -> None:
    """Hand-built oddities: an empty first name, a name of digits, a negative value forced into a Num."""
    forced = Num(5)
    object.__setattr__(forced, "value", -(10**30))  # what Num's own check refuses
    for nodes in ((Name(""), Name("x")), (Name("12"),), (Name("١٢"),), (forced,), (Num(2**70), Num(3))):
        for rename in (True, False):
            both(nodes, rename)
    assert canon.form((Name("12"),), False)[1] == 12  # canon.py counts every all-digit token


def by_names(text: str, mapping: dict[str, str]) -> str:
    """rename_words' definition: a pattern of the names, longest first, between word boundaries."""
    pattern = r"\b(" + "|".join(map(re.escape, sorted(mapping, key=len, reverse=True))) + r")\b"
    return re.sub(pattern, lambda m: mapping[m.group(1)], text)


def test_rename_words_replaces_whole_words_only() -> None:
    rng = random.Random(7)
    alphabet = "ab_x1é Z.,()+-*/ \n"
    names = ["a", "ab", "x1", "a_b", "é", "Z", "_", "b1a", "xs"]
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        mapping = {n: rng.choice(["v0", "v1", "f0"]) for n in rng.sample(names, rng.randint(1, 4))}
        assert canon.rename_words(text, mapping) == by_names(text, mapping)
    odd = {"x": "v0", "x+": "no"}  # a key that is not a word takes the pattern of the names
    assert canon.rename_words("x+x1 (x)", odd) == by_names("x+x1 (x)", odd) == "nox1 (v0)"
