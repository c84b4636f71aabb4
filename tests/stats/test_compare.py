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


def test_paired_runs_are_tested_pair_by_pair() -> None:
    """12 inputs with a wide spread, each run by A and by B: A is 10% faster on every one. Unpaired, the spread
    between inputs hides it; paired (Wilcoxon signed-rank on the log ratios), it is plain."""
    rng = np.random.default_rng(1603)
    base = rng.lognormal(np.log(100), 0.3, 12)
    a, b = base * 0.9 * rng.lognormal(0, 0.01, 12), base * rng.lognormal(0, 0.01, 12)
    assert not compare(a, b).significant
    c = compare(a, b, paired=True)
    assert c.paired and c.test == "Wilcoxon signed-rank, two-sided, exact"
    assert c.significant and c.verdict == "faster" and c.p_value == pytest.approx(2 / 2**12)  # all 12 pairs agree
    assert c.geomean_ratio == pytest.approx(math.exp(np.mean(np.log(a / b))))
    assert c.geomean_ci is not None and c.geomean_ci[0] < 0.9 < c.geomean_ci[1] < 1
    assert c.ratio_ci[0] < c.geomean_ratio < c.ratio_ci[1] < 1
    s = c.sentence()
    assert s.startswith(
        f"A's makespan is {c.geomean_ratio:.2f}x B's, run for run (geometric mean of 12 paired ratios; "
    )
    assert "Wilcoxon signed-rank p = 0.00049; A12 = " in s and s.endswith("): A is faster.")
    with pytest.raises(TooFewSamples, match="as many of A as of B"):
        compare(a, b[:-1], paired=True)
    with pytest.raises(TooFewSamples, match="too few samples for a 95% interval"):
        compare(a[:5], b[:5], paired=True)  # 5 pairs reach at best p = 2/32 = 0.0625


@pytest.mark.parametrize(("n", "critical_t"), [(10, 8), (12, 13), (20, 52)])
def test_paired_ci_ends_are_the_walsh_averages_the_t_table_names(n: int, critical_t: int) -> None:
    """Two-sided 5% critical values of Wilcoxon's T (tables: 10 -> 8, 12 -> 13, 20 -> 52): the interval runs from
    the (T+1)-th smallest Walsh average of the log ratios to the (T+1)-th largest."""
    rng = np.random.default_rng(n)
    a, b = rng.lognormal(4.6, 0.1, n), rng.lognormal(4.65, 0.1, n)
    d = np.log(a) - np.log(b)
    walsh = np.sort([(d[i] + d[j]) / 2 for i in range(n) for j in range(i, n)])
    c = compare(a, b, paired=True)
    assert c.ratio_ci == pytest.approx((math.exp(walsh[critical_t]), math.exp(walsh[-critical_t - 1])), rel=1e-9)
    assert c.ratio_hl == pytest.approx(math.exp(np.median(walsh)), rel=1e-9)


def test_the_sentence_never_rounds_an_end_onto_one() -> None:
    rng = np.random.default_rng(1607)
    c = compare(rng.lognormal(0, 0.1, 3000), rng.lognormal(0.006, 0.1, 3000), paired=True)
    assert c.significant and c.ratio_ci[1] < 1
    ci = c.sentence().split("95% CI ")[1].split(";")[0]
    assert float(ci.split("-")[1]) < 1, ci


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


@settings(max_examples=60, deadline=None)
@given(times, times, st.sampled_from([0.9, 0.95, 0.99]), st.booleans(), st.randoms())
def test_the_interval_agrees_with_the_test_and_ignores_order(
    a: list[float], b: list[float], confidence: float, paired: bool, rnd: object
) -> None:
    if paired:
        a, b = a[: len(b)], b[: len(a)]
    try:
        c = compare(a, b, confidence, paired=paired)
    except TooFewSamples:  # 5 and 5 at 99%, 5 pairs at 95%: no interval can be formed
        return
    assert c.ratio_ci[0] <= c.ratio_hl * (1 + 1e-9) and c.ratio_hl <= c.ratio_ci[1] * (1 + 1e-9)
    lo, hi = c.ratio_ci
    if not (math.isclose(lo, 1, rel_tol=1e-9) or math.isclose(hi, 1, rel_tol=1e-9)):  # 1 on an end: a tie decides
        assert c.significant == (not lo <= 1 <= hi)
    order = list(range(len(a)))
    rnd.shuffle(order)  # type: ignore[attr-defined]
    d = compare([a[i] for i in order], [b[i] for i in order] if paired else b, confidence, paired=paired)
    assert (d.ratio, d.ratio_ci, d.p_value, d.a12) == (c.ratio, c.ratio_ci, c.p_value, c.a12)
