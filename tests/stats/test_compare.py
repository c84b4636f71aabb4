"""compare(): the ratio interval against the textbook Mann-Whitney critical values, the verdicts on samples from known
laws (seeded), the refusals, and the agreement between the interval and the test."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hetflow.stats import SampleError, TooFewSamples, compare, samples_document


def sorted_log_ratios(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sort(np.subtract.outer(np.log(a), np.log(b)).ravel())


@pytest.mark.parametrize(("m", "critical_u"), [(5, 2), (8, 13), (10, 23), (20, 127)])
def test_ratio_ci_ends_are_the_pairwise_ratios_the_u_table_names(m: int, critical_u: int) -> None:
    """Two-sided 5% critical values of U for m = n (Mann-Whitney tables: 5 -> 2, 8 -> 13, 10 -> 23, 20 -> 127): the
    interval runs from the (U+1)-th smallest pairwise ratio to the (U+1)-th largest (Bauer 1972)."""
    rng = np.random.default_rng(m)
    a, b = rng.lognormal(4.6, 0.1, m), rng.lognormal(4.7, 0.1, m)
    d = sorted_log_ratios(a, b)
    c = compare(a, b)
    assert c.test == "Mann-Whitney U, two-sided, exact"
    assert c.ratio_ci == pytest.approx((math.exp(d[critical_u]), math.exp(d[-critical_u - 1])), rel=1e-9)
    assert c.ratio_hl == pytest.approx(math.exp(np.median(d)), rel=1e-9)
    assert c.ratio == pytest.approx(np.median(a) / np.median(b))


def test_a_twenty_percent_difference_is_found_and_stated() -> None:
    rng = np.random.default_rng(1601)
    fast, slow = rng.lognormal(np.log(100), 0.05, 10), rng.lognormal(np.log(120), 0.05, 10)
    c = compare(fast, slow, names=("fgd", "fifo"))
    assert c.significant and c.verdict == "faster" and c.p_value < 0.001
    assert c.ratio_ci[0] < 1 / 1.2 < c.ratio_ci[1] and c.ratio_ci[1] < 1
    assert c.a12 > 0.9 and c.effect == "large"
    s = c.sentence()
    assert s.startswith(f"fgd's median makespan is {c.ratio:.2f}x fifo's (95% CI ") and s.endswith("): fgd is faster.")
    assert "Mann-Whitney U p < 0.0001, n = 10 and 10; A12 = 1.00)" in s  # exact p: 2 / C(20, 10) = 1.1e-5
    assert compare(slow, fast).verdict == "slower"


def test_identical_laws_show_no_significant_difference() -> None:
    rng = np.random.default_rng(1606)
    a, b = rng.lognormal(np.log(100), 0.1, 30), rng.lognormal(np.log(100), 0.1, 30)
    c = compare(a, b)
    assert not c.significant and c.p_value >= 0.05 and c.verdict == "no significant difference"
    assert c.ratio_ci[0] < 1 < c.ratio_ci[1]
    assert c.sentence().endswith(": no significant difference at the 95% level.")


def test_false_alarms_and_misses_over_many_seeded_trials() -> None:
    """100 seeded trials of 10 runs a side: same law -> about 5% false alarms (the exact test is a little under);
    a 20% difference at cv 10% -> found nearly always."""
    rng = np.random.default_rng(16)
    same = sum(compare(rng.lognormal(0, 0.1, 10), rng.lognormal(0, 0.1, 10)).significant for _ in range(100))
    found = sum(compare(rng.lognormal(0, 0.1, 10), rng.lognormal(np.log(1.2), 0.1, 10)).significant for _ in range(100))
    assert same <= 10 and found >= 90


def test_paired_runs_add_the_geometric_mean_of_ratios() -> None:
    rng = np.random.default_rng(1603)
    base = rng.lognormal(np.log(100), 0.3, 12)  # the same 12 inputs run by both: large spread between inputs
    a, b = base * 0.9 * rng.lognormal(0, 0.01, 12), base * rng.lognormal(0, 0.01, 12)
    c = compare(a, b, paired=True)
    expected = math.exp(np.mean(np.log(a / b)))
    assert c.geomean_ratio == pytest.approx(expected)
    assert c.geomean_ci is not None and c.geomean_ci[0] < 0.9 < c.geomean_ci[1] < 1
    assert "geometric mean of paired ratios 0.90x" in c.sentence()
    assert not c.significant  # unpaired, the spread between inputs hides the 10%: why pairing is worth stating
    with pytest.raises(TooFewSamples, match="as many of A as of B"):
        compare(a, b[:-1], paired=True)


@pytest.mark.parametrize(
    ("n_a", "n_b", "confidence", "text"),
    [
        (4, 10, 0.95, "too few samples to compare: n = 4 and 10"),
        (10, 3, 0.95, "n = 10 and 3"),
        (5, 5, 0.999, "too few samples for a 100% interval"),  # 5 and 5 reach at best p = 0.008
    ],
)
def test_too_few_samples_are_refused_in_one_line(n_a: int, n_b: int, confidence: float, text: str) -> None:
    with pytest.raises(TooFewSamples, match=text) as err:
        compare([float(i + 1) for i in range(n_a)], [float(i + 2) for i in range(n_b)], confidence)
    assert "\n" not in str(err.value) and "(fix: " in str(err.value)


def test_times_must_be_positive() -> None:
    with pytest.raises(SampleError, match="B's samples include a value <= 0"):
        compare([1.0] * 5, [1.0, 2, 3, 0, 4])


def test_constant_samples_give_a_point_interval() -> None:
    c = compare([5.0] * 5, [6.0] * 5)
    assert c.ratio_ci == pytest.approx((5 / 6, 5 / 6)) and c.significant and c.verdict == "faster"
    same = compare([5.0] * 5, [5.0] * 5)
    assert same.p_value == 1 and not same.significant and same.ratio_ci == (1.0, 1.0)


def test_large_samples_use_the_normal_approximation_without_holding_all_pairs() -> None:
    rng = np.random.default_rng(1604)
    c = compare(rng.lognormal(0, 0.1, 3000), rng.lognormal(0.02, 0.1, 3000))
    assert c.test.endswith("asymptotic") and c.significant and c.ratio_ci[0] < math.exp(-0.02) < c.ratio_ci[1]


def test_as_dict_carries_the_sentence() -> None:
    import json

    rng = np.random.default_rng(1605)
    d = compare(rng.lognormal(0, 0.1, 8), rng.lognormal(0.3, 0.1, 8)).as_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["sentence"].endswith("A is faster.") and len(d["ratio_ci"]) == 2 and d["geomean_ci"] is None


def test_samples_document_holds_the_samples_and_their_summary() -> None:
    doc = samples_document({"makespan_s": [3, 1, 2]}, source="bench", workflow="wf.yaml")
    assert list(doc) == ["format", "source", "workflow", "samples", "summary"]
    assert doc["format"] == "hetflow-samples/1" and doc["samples"] == {"makespan_s": [3.0, 1.0, 2.0]}
    assert doc["summary"]["makespan_s"]["median"] == 2.0
    with pytest.raises(SampleError, match="may not be called 'summary'"):
        samples_document({"makespan_s": [1.0]}, summary=1)


times = st.lists(st.floats(min_value=0.5, max_value=500.0, allow_nan=False), min_size=5, max_size=25)


@settings(max_examples=50, deadline=None)
@given(times, times, st.sampled_from([0.9, 0.95, 0.99]), st.randoms())
def test_the_interval_agrees_with_the_test_and_ignores_order(
    a: list[float], b: list[float], confidence: float, rnd: object
) -> None:
    try:
        c = compare(a, b, confidence)
    except TooFewSamples:  # 5 and 5 at 99%: cannot be formed
        return
    assert c.ratio_ci[0] <= c.ratio_hl * (1 + 1e-9) and c.ratio_hl <= c.ratio_ci[1] * (1 + 1e-9)
    lo, hi = c.ratio_ci
    if not (math.isclose(lo, 1, rel_tol=1e-9) or math.isclose(hi, 1, rel_tol=1e-9)):  # 1 on an end: a tie decides
        assert c.significant == (not lo <= 1 <= hi)
    shuffled = list(a)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    d = compare(shuffled, b, confidence)
    assert (d.ratio, d.ratio_ci, d.p_value, d.a12) == (c.ratio, c.ratio_ci, c.p_value, c.a12)
