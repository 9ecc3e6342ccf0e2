"""Wilson intervals, checked against the score test they invert (solved numerically here)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patchtool.testrun.stats import Z95, Rate, wilson_interval


def _score_bounds(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The p where the score statistic |k/n - p| / sqrt(p(1-p)/n) equals z, found by bisection."""
    phat = k / n

    def excess(p: float) -> float:
        return abs(phat - p) - z * math.sqrt(p * (1 - p) / n)

    def solve(lo: float, hi: float) -> float:
        # excess(lo) and excess(hi) have opposite signs on each side of phat.
        for _ in range(200):
            mid = (lo + hi) / 2
            if (excess(mid) > 0) == (excess(lo) > 0):
                lo = mid
            else:
                hi = mid
        return (lo + hi) / 2

    low = 0.0 if k == 0 else solve(1e-15, phat)
    high = 1.0 if k == n else solve(phat, 1 - 1e-15)
    return low, high


def test_half_of_twenty_is_about_030_to_070() -> None:
    low, high = wilson_interval(10, 20)
    assert low == pytest.approx(0.2993, abs=1e-4)
    assert high == pytest.approx(0.7007, abs=1e-4)


def test_zero_of_twenty_still_allows_a_rate_of_sixteen_percent() -> None:
    low, high = wilson_interval(0, 20)
    assert low == 0.0
    assert high == pytest.approx(0.1611, abs=1e-4)


def test_no_runs_means_nothing_is_known() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)


@pytest.mark.parametrize(("k", "n"), [(-1, 5), (6, 5), (0, -1)])
def test_impossible_counts_are_rejected(k: int, n: int) -> None:
    with pytest.raises(ValueError):
        wilson_interval(k, n)


@given(st.integers(min_value=1, max_value=400).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_matches_the_score_test_and_contains_the_estimate(kn: tuple[int, int]) -> None:
    k, n = kn
    low, high = wilson_interval(k, n)
    ref_low, ref_high = _score_bounds(k, n)
    assert low == pytest.approx(ref_low, abs=1e-9)
    assert high == pytest.approx(ref_high, abs=1e-9)
    assert 0.0 <= low <= k / n <= high <= 1.0
    # symmetric in failures and passes
    mirror = wilson_interval(n - k, n)
    assert mirror[0] == pytest.approx(1 - high, abs=1e-12)
    assert mirror[1] == pytest.approx(1 - low, abs=1e-12)


def test_rate_describes_itself() -> None:
    rate = Rate(9, 20)
    assert rate.value == 0.45
    assert rate.describe() == "9/20 (45%, 95% CI 26%-66%)"
    assert Rate(0, 0).value == 0.0
