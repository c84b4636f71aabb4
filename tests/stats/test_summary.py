"""describe(): the intervals against values worked out by hand from the textbook formulas, the normality test on
samples whose law is known, and properties that hold for any sample."""

from __future__ import annotations

import math
from math import comb

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hetflow.stats import SampleError, describe, median_ci_ranks

# Le Boudec, Performance Evaluation of Computer and Communication Systems, Table A.1 (95%): n -> ranks (j, k).
LE_BOUDEC_95 = {6: (1, 6), 10: (2, 9), 20: (6, 15), 30: (10, 21), 50: (18, 33), 100: (40, 61)}


def binomial_tail(n: int, j: int) -> float:
    """P(Binomial(n, 1/2) <= j), exactly, with integers."""
    return sum(comb(n, i) for i in range(j + 1)) / 2**n


@pytest.mark.parametrize(("n", "ranks"), sorted(LE_BOUDEC_95.items()))
def test_median_ci_ranks_match_le_boudec_and_the_binomial(n: int, ranks: tuple[int, int]) -> None:
    j, k, coverage = median_ci_ranks(n, 0.95) or (0, 0, 0.0)
    assert (j, k) == ranks
    assert coverage == pytest.approx(1 - 2 * binomial_tail(n, j - 1), abs=1e-12)
    assert coverage >= 0.95 > 1 - 2 * binomial_tail(n, j)  # the widest rank that still covers: j + 1 would not


def test_no_median_ci_below_six_samples_at_95_percent() -> None:
    assert median_ci_ranks(5, 0.95) is None  # [X(1), X(5)] covers 1 - 2/32 = 93.75%
    assert median_ci_ranks(8, 0.99) is not None and median_ci_ranks(7, 0.99) is None  # 1 - 2/128 = 98.4%
    assert describe([1.0, 2, 3, 4, 5]).median_ci is None
    assert describe([1.0, 2, 3, 4, 5, 6]).median_ci == (1.0, 6.0)


def test_median_ci_is_the_order_statistics_of_the_sample() -> None:
    x = [7.0, 3, 9, 1, 5, 10, 2, 8, 4, 6]  # sorted: 1..10; ranks 2 and 9 at 95%
    s = describe(x)
    assert s.median == 5.5
    assert s.median_ci == (2.0, 9.0)
    assert s.median_ci_ranks == (2, 9)
    assert s.median_ci_coverage == pytest.approx(1 - 2 * 11 / 1024)


def test_mean_ci_is_the_student_t_interval_worked_by_hand() -> None:
    x = [9.8, 10.2, 10.4, 9.9, 10.0, 10.6, 9.7, 10.1]
    n, mean = len(x), sum(x) / len(x)
    s2 = sum((v - mean) ** 2 for v in x) / (n - 1)
    t_975_7 = 2.364624251592785  # Student t quantile 0.975 with 7 degrees of freedom (tables: 2.365)
    half = t_975_7 * math.sqrt(s2 / n)
    s = describe(x)
    assert s.mean == pytest.approx(mean)
    assert s.std == pytest.approx(math.sqrt(s2))
    assert s.cv == pytest.approx(math.sqrt(s2) / mean)
    assert s.mean_ci == pytest.approx((mean - half, mean + half))
    wider = describe(x, confidence=0.99).mean_ci
    assert wider is not None and s.mean_ci is not None and wider[0] < s.mean_ci[0] and wider[1] > s.mean_ci[1]


def test_percentiles_and_extremes() -> None:
    s = describe(list(range(1, 102)))  # 1..101: p10 = 11, p50 = 51, p90 = 91 exactly
    assert (s.percentiles["p10"], s.percentiles["p50"], s.percentiles["p90"]) == (11, 51, 91)
    assert (s.min, s.max, s.n) == (1, 101, 101)


def test_shapiro_accepts_a_normal_sample_and_rejects_an_exponential_one() -> None:
    rng = np.random.default_rng(16)
    normal = describe(rng.normal(100.0, 5.0, 200))
    skewed = describe(rng.exponential(100.0, 200))
    assert normal.normality_test == "shapiro-wilk"
    assert normal.normal and normal.normality_p is not None and normal.normality_p > 0.05
    assert not skewed.normal and skewed.normality_p is not None and skewed.normality_p < 1e-6


def test_small_and_degenerate_samples_leave_out_what_they_cannot_give() -> None:
    one = describe([4.0])
    assert (one.mean, one.std, one.mean_ci, one.median_ci) == (4, 0, None, None)
    assert (one.normality_p, one.normal) == (None, False)
    flat = describe([2.0] * 10)
    assert flat.mean_ci == (2.0, 2.0) and flat.median_ci == (2.0, 2.0) and flat.normality_p is None
    assert describe([0.0, 0.0]).cv == 0.0


def test_as_dict_is_json_ready() -> None:
    import json

    d = describe([1.0, 2, 3, 4, 5, 6, 7]).as_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["median_ci"] == [1.0, 7.0] and d["percentiles"]["p50"] == 4.0


@pytest.mark.parametrize(
    ("values", "confidence", "text"),
    [
        ([], 0.95, "no samples"),
        ([1.0, float("nan")], 0.95, "NaN or infinity"),
        (["a"], 0.95, "not all numbers"),
        ([1.0, 2.0], 1.0, "confidence 1.0"),
        ([1.0, 2.0], 0.3, "confidence 0.3"),
    ],
)
def test_bad_samples_are_one_line(values: list[float], confidence: float, text: str) -> None:
    with pytest.raises(SampleError, match=text) as err:
        describe(values, confidence)
    assert "\n" not in str(err.value) and "fix:" in str(err.value)


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=150, deadline=None)
@given(st.lists(finite, min_size=2, max_size=60), st.sampled_from([0.8, 0.9, 0.95, 0.99]), st.randoms())
def test_intervals_hold_their_estimates_and_ignore_order(values: list[float], confidence: float, rnd: object) -> None:
    s = describe(values, confidence)
    tol = 1e-9 * (1 + max(abs(v) for v in values))
    assert s.mean_ci is not None and s.mean_ci[0] - tol <= s.mean <= s.mean_ci[1] + tol
    if s.median_ci is not None:
        assert s.median_ci[0] <= s.median <= s.median_ci[1]
        assert s.median_ci_coverage is not None and s.median_ci_coverage >= confidence
    assert s.min <= s.percentiles["p10"] <= s.percentiles["p50"] == s.median <= s.percentiles["p90"] <= s.max
    shuffled = list(values)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    t = describe(shuffled, confidence)
    assert (t.median, t.median_ci, t.percentiles, t.n) == (s.median, s.median_ci, s.percentiles, s.n)
    assert t.mean == pytest.approx(s.mean, abs=tol) and t.std == pytest.approx(s.std, rel=1e-9, abs=tol)
