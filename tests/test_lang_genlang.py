"""Generated languages: the round trip in 1,000 languages, the spec's YAML, determinism, ambiguity rules.

`parse_generated(to_generated(p, spec), spec) == p` for programs of every
task family in languages 0..999 of seed 0 (each family's three sampled
programs take turns) and for random DSL programs; a language is the same in
another process; the checker refuses hand-made ambiguous specs; the CLI
shows a language and renders in it.
"""

from __future__ import annotations

import hashlib
import random
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cadmus.cli import main
from cadmus.lang import (
    SAMPLE_DSL,
    BinOp,
    BinOpKind,
    LangError,
    LanguageSpec,
    Module,
    Name,
    ParseError,
    Print,
    PrintError,
    SpecError,
    check_spec,
    dump_spec,
    generate_language,
    get_renderer,
    is_language,
    load_spec,
    parse,
    parse_generated,
    random_program,
    spec_from_dict,
    to_generated,
)
from cadmus.tasks import all_families

N_LANGUAGES = 1000


def family_programs() -> dict[str, list[Module]]:
    out: dict[str, list[Module]] = {}
    for name, family in sorted(all_families().items()):
        rng = random.Random(f"genlang:{name}")
        knobs = family.knobs()
        programs = []
        for _ in range(3):
            sample = family.sample(rng, knobs)
            programs.append(Module((*sample.body, Print((sample.answer,)))))
        out[name] = programs
    return out


def test_every_familys_programs_round_trip_in_1000_languages() -> None:
    programs = family_programs()
    failures = []
    for i in range(N_LANGUAGES):
        spec = generate_language(i)
        for name, versions in programs.items():
            program = versions[i % len(versions)]
            text = to_generated(program, spec)
            try:
                back = parse_generated(text, spec)
            except ParseError as err:
                failures.append((i, name, str(err)))
                continue
            if back != program:
                failures.append((i, name, "different tree"))
    assert failures == []


def test_random_dsl_programs_round_trip() -> None:
    rng = random.Random(7)
    shown = 0
    for i in range(0, N_LANGUAGES, 10):
        program = random_program(rng, max_statements=12)
        spec = generate_language(i)
        try:
            text = to_generated(program, spec)
        except PrintError as err:  # a name outside [a-z_][a-z0-9_]* (the DSL allows `True`, `X1`)
            assert "is not a name a generated language can write" in str(err)
            continue
        shown += 1
        assert parse_generated(text, spec) == program, i
    assert shown >= 50
    sample = parse(SAMPLE_DSL)
    for seed in (1, 2):
        for i in range(20):
            spec = generate_language(i, seed)
            assert parse_generated(to_generated(sample, spec), spec) == sample


def test_languages_vary_what_the_issue_lists() -> None:
    specs = [generate_language(i) for i in range(200)]
    assert len({s.keywords["print"] for s in specs}) > 10
    assert {s.assign.form for s in specs} == {"infix", "prefix", "reversed"}
    assert {s.block.layout for s in specs} == {"indent", "delimited"}
    assert {s.names for s in specs} == {"lower", "upper", "capital"}
    assert len({s.sigil for s in specs}) >= 3 and len({s.terminator for s in specs}) >= 3
    assert any(s.operators["+"] != "+" for s in specs) and any(
        not s.operators["and"].isalpha() for s in specs
    )
    assert len({to_generated(parse("x = 7\n"), s) for s in specs}) > 50


def test_the_spec_round_trips_through_yaml(tmp_path: Path) -> None:
    for i in range(0, 300, 7):
        spec = generate_language(i, 3)
        text = dump_spec(spec)
        assert spec_from_dict(yaml.safe_load(text)) == spec
    path = tmp_path / "lang.yaml"
    path.write_text(dump_spec(generate_language(4)))
    assert load_spec(path) == generate_language(4)


def test_a_bad_spec_file_names_its_key(tmp_path: Path) -> None:
    data = yaml.safe_load(dump_spec(generate_language(1)))
    del data["keywords"]["while"]
    with pytest.raises(SpecError) as info:
        spec_from_dict(data, file="x.yaml")
    assert "while" in str(info.value) and "keywords" in str(info.value)
    data = yaml.safe_load(dump_spec(generate_language(1)))
    data["block"]["colour"] = "red"
    with pytest.raises(SpecError) as info:
        spec_from_dict(data)
    assert "block.colour" in str(info.value)


def _fingerprint(indices: range, seed: int) -> str:
    text = "".join(dump_spec(generate_language(i, seed)) for i in indices)
    return hashlib.sha256(text.encode()).hexdigest()


def test_language_i_depends_only_on_seed_and_i() -> None:
    here = _fingerprint(range(40, 45), 9)
    code = (
        "import hashlib\n"
        "from cadmus.lang import dump_spec, generate_language\n"
        "generate_language(3, 1)\n"  # other languages made first change nothing
        "text = ''.join(dump_spec(generate_language(i, 9)) for i in range(44, 39, -1)[::-1])\n"
        "print(hashlib.sha256(text.encode()).hexdigest())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "123"},
    )
    assert out.stdout.strip() == here
    assert generate_language(40, 9) != generate_language(40, 10)
    assert generate_language(40, 9).name == "gen:40@9" and generate_language(40).name == "gen:40"


def _with(spec: LanguageSpec, **changes: object) -> LanguageSpec:
    data = spec.model_dump()
    for key, value in changes.items():
        section, _, field = key.partition("__")
        if field:
            data[section][field] = value
        else:
            data[section] = value
    return LanguageSpec.model_validate(data)


def test_the_checker_refuses_ambiguous_specs() -> None:
    base = generate_language(0)
    check_spec(base)
    kw = dict(base.keywords)
    ops = dict(base.operators)
    cases = {
        "spells both": _with(base, keywords={**kw, "while": kw["if"]}),
        "also an identifier": _with(base, sigil="", names="lower", keywords={**kw, "print": "show"}),
        "reads as": _with(base, operators={**ops, "not": "!", "neg": "-", "~": "!-"}),
        "starts with the sigil": _with(base, sigil="$", keywords={**kw, "print": "$$"}),
        "neither a word": _with(base, keywords={**kw, "pass": "no op"}),
        "assign.op": _with(base, assign={"form": "infix", "lead": "", "op": ops["=="]}),
    }
    for expected, spec in cases.items():
        with pytest.raises(SpecError) as info:
            check_spec(spec)
        assert expected in str(info.value), (expected, str(info.value))


def test_the_generator_only_returns_checked_languages() -> None:
    for i in range(0, 2000, 13):
        check_spec(generate_language(i, 5))


def test_errors_carry_positions_and_refusals_are_clear() -> None:
    spec = generate_language(2)
    text = to_generated(parse("x = 1\ny = x + 2\n"), spec)
    lines = text.splitlines()
    bad = "\n".join([lines[0], lines[1] + " ) ("]) + "\n"
    with pytest.raises(ParseError) as info:
        parse_generated(bad, spec)
    assert info.value.line == 2 and info.value.col is not None
    with pytest.raises(PrintError):
        to_generated(Module((Print((BinOp(BinOpKind.POW, Name("x"), Name("y")),)),)), spec)
    with pytest.raises(PrintError):
        to_generated(Module((Print((Name("Camel"),)),)), spec)
    with pytest.raises(PrintError):
        get_renderer("gen:2").render(parse("x = 1\n"), "python")


def test_generated_languages_are_in_the_renderer_lookup() -> None:
    program = parse(SAMPLE_DSL)
    renderer = get_renderer("gen:12@4")
    assert renderer.render(program, "dsl") == to_generated(program, generate_language(12, 4))
    assert renderer.comment == generate_language(12, 4).comment and renderer.parse_mode is None
    assert is_language("gen:12") and is_language("gen:12@4")
    for name in ("gen:012", "gen:12@0", "gen:-1", "gen:x"):
        assert not is_language(name)
        with pytest.raises(LangError):
            get_renderer(name)


def test_cli_show_and_render(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lang", "show", "7", "--seed", "2"]) == 0
    out = capsys.readouterr().out
    spec_text, _, sample = out.partition("\n# a sample program in gen:7@2:\n")
    spec = generate_language(7, 2)
    assert spec_from_dict(yaml.safe_load(spec_text)) == spec
    assert sample.startswith(to_generated(parse(SAMPLE_DSL), spec))
    src = tmp_path / "p.cad"
    src.write_text(SAMPLE_DSL)
    assert main(["render", str(src), "--to", "gen:7", "--seed", "2"]) == 0
    assert capsys.readouterr().out == to_generated(parse(SAMPLE_DSL), spec)
    assert main(["render", str(src), "--to", "gen:7"]) == 0
    assert capsys.readouterr().out == to_generated(parse(SAMPLE_DSL), generate_language(7))
    assert main(["render", str(src), "--to", "python", "--seed", "2"]) == 2
    assert "--seed" in capsys.readouterr().err
