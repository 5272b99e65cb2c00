"""Counterfactual pairs: one element resampled, everything else kept, both programs true on the VM."""

import random

import pytest

from cadmus.lang import Assert, CmpKind, Compare, Module, Name, check, num, to_dsl, tokenize
from cadmus.tasks import (
    COUNTERFACTUAL_KINDS,
    Sample,
    TaskError,
    counterfactual_pairs,
    counterfactual_sites,
    get_family,
    make_counterfactual,
    tree_differences,
    verified_answer,
)
from cadmus.tasks.counterfactual import get_at

ARITH3 = {"n_statements_min": 3, "n_statements_max": 3, "operators": ["+", "-", "*"], "max_value": 50}


def true_program(sample: Sample, value: int) -> Module:
    return Module((*sample.body, Assert(Compare(CmpKind.EQ, sample.answer, num(value)))))


def text_tokens(sample: Sample) -> list[tuple[str, str]]:
    return [(kind, value) for kind, value, _line, _col in tokenize(to_dsl(Module((*sample.body,))))]


@pytest.mark.parametrize("kind", COUNTERFACTUAL_KINDS)
@pytest.mark.parametrize("family", ["arith", "reassign"])
def test_pairs_differ_only_in_the_chosen_element_and_both_are_true(kind, family):
    fam = get_family(family)
    knobs = fam.knobs(ARITH3 if family == "arith" else {"operators": ["+", "-"]})
    pairs = counterfactual_pairs(fam, knobs, kind, 25, seed=7)
    assert len(pairs) >= 10, f"too few {kind} pairs from {family}"
    for pair in pairs:
        clean_root = (*pair.clean.body, pair.clean.answer)
        corrupt_root = (*pair.corrupt.body, pair.corrupt.answer)
        # exactly one node differs, and it is the chosen site
        assert tree_differences(clean_root, corrupt_root) == [pair.site.path]
        before, after = get_at(clean_root, pair.site.path), get_at(corrupt_root, pair.site.path)
        assert type(before) is type(after)
        if kind == "constant":
            assert (before.value, after.value) == (int(pair.before), int(pair.after))
            assert len(pair.before) == len(pair.after)  # same width by default
        elif kind == "operator":
            assert (before.op.value, after.op.value) == (pair.before, pair.after)
        else:
            assert isinstance(before, Name) and (before.id, after.id) == (pair.before, pair.after)
        # both programs are true on the VM, with the answers the pair records, and the answers differ
        assert pair.clean_answer != pair.corrupt_answer
        for sample, value in ((pair.clean, pair.clean_answer), (pair.corrupt, pair.corrupt_answer)):
            assert check(true_program(sample, value)).ok
            assert verified_answer(sample) == value
        # in the printed programs too, only the chosen element's token changes (the answer expression
        # is not printed in the body: a changed answer name leaves the body identical)
        a, b = text_tokens(pair.clean), text_tokens(pair.corrupt)
        assert len(a) == len(b)
        changed = [(x[1].rstrip("="), y[1].rstrip("=")) for x, y in zip(a, b) if x != y]  # `-=` is `-`
        expected = [(pair.before, pair.after)] if pair.site.statement < len(pair.clean.body) else []
        assert changed == expected


def test_sites_are_reads_constants_and_operators_in_program_order():
    fam = get_family("arith")
    sample = fam.sample(random.Random(3), fam.knobs(ARITH3))
    names = counterfactual_sites(sample, "name")
    root = (*sample.body, sample.answer)
    assert names and all(isinstance(get_at(root, s.path), Name) for s in names)
    # assignment targets are never name sites: every site path ends inside an expression
    assert all(s.path[1:2] != ("target",) for s in names)
    assert names[-1].statement == len(sample.body)  # the answer expression comes last
    constants = counterfactual_sites(sample, "constant")
    assert [s.index for s in constants] == list(range(len(constants)))
    assert [s.statement for s in constants] == sorted(s.statement for s in constants)


def test_deterministic_and_none_without_alternative():
    fam = get_family("arith")
    knobs = fam.knobs(ARITH3)
    one = counterfactual_pairs(fam, knobs, "constant", 5, seed=11)
    two = counterfactual_pairs(fam, knobs, "constant", 5, seed=11)
    assert [(p.site.path, p.after) for p in one] == [(p.site.path, p.after) for p in two]
    # `b = a + 5`: the read of `a` has no other variable assigned before it
    two_stmt = fam.sample(random.Random(1), fam.knobs({"n_statements_min": 2, "n_statements_max": 2}))
    first_read = counterfactual_sites(two_stmt, "name")[0]
    assert first_read.statement == 1
    assert make_counterfactual(two_stmt, "name", random.Random(0), site=first_read.index) is None


def test_unknown_kind_is_a_typed_error():
    fam = get_family("arith")
    sample = fam.sample(random.Random(0), fam.knobs())
    with pytest.raises(TaskError) as err:
        counterfactual_sites(sample, "loop")
    assert err.value.key == "kind"
