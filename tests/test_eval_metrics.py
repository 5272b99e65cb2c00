import math
from itertools import combinations

import pytest

from cadmus.eval.metrics import pass_at_k, rate, wilson_interval


def test_wilson_known_values():
    # Reference values of the Wilson score interval (z = 1.96).
    low, high = wilson_interval(81, 263)
    assert low == pytest.approx(0.2553, abs=5e-4)
    assert high == pytest.approx(0.3662, abs=5e-4)
    low, high = wilson_interval(0, 10)
    assert low == 0.0
    assert high == pytest.approx(0.2775, abs=5e-4)
    low, high = wilson_interval(10, 10)
    assert low == pytest.approx(0.7225, abs=5e-4)
    assert high == pytest.approx(1.0)


def test_wilson_contains_estimate_and_shrinks():
    for k, n in [(1, 3), (50, 100), (999, 1000)]:
        low, high = wilson_interval(k, n)
        assert low <= k / n <= high
    assert (lambda a, b: a[1] - a[0] > b[1] - b[0])(wilson_interval(5, 10), wilson_interval(500, 1000))


def test_wilson_rejects_bad_counts():
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


def test_rate_str():
    assert str(rate(99, 100)).startswith("99.0% [")
    assert str(rate(0, 0)) == "n/a"


def test_pass_at_k_matches_enumeration():
    # pass@k is the probability that a random k-subset of n samples holds a correct one.
    for n in range(1, 8):
        for c in range(n + 1):
            correct = [i < c for i in range(n)]
            for k in range(1, n + 1):
                subsets = list(combinations(correct, k))
                exact = sum(any(s) for s in subsets) / len(subsets)
                assert pass_at_k(n, c, k) == pytest.approx(exact, abs=1e-12)


def test_pass_at_1_is_fraction_correct():
    assert pass_at_k(20, 7, 1) == pytest.approx(7 / 20)
    assert pass_at_k(200, 13, 10) == pytest.approx(1 - math.comb(187, 10) / math.comb(200, 10))
