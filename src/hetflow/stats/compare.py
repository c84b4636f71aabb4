"""Is A faster than B? Two samples of a time (makespans of repeated runs) compared as Hoefler & Belli (SC'15) ask:
the ratio of medians with a confidence interval, a rank test that assumes no normality (Mann-Whitney U, two-sided),
an effect size (Vargha-Delaney A12), the geometric mean of ratios when runs are paired, and one sentence that says it
all. Lower is better: the samples are times.

The interval on the ratio is the Hodges-Lehmann / Bauer (1972) distribution-free interval, taken on log times: under
the model "A's times are B's scaled by theta" (a shift of logs), it is the set of factors theta that the same
Mann-Whitney test does not reject at 1 - confidence (A / theta against B). We choose it over a bootstrap because
  - it is exact for small samples (5-10 runs, where a bootstrap of the median takes only a few distinct values),
  - it is deterministic (no seed; the same data always give the same sentence),
  - and it agrees with the test that is reported: the interval excludes 1 exactly when p < 1 - confidence, so the
    sentence never shows "CI 0.80-0.95" beside "no significant difference".
Under the scale model theta is the ratio of medians (and of every quantile); `ratio` is the plain ratio of the two
medians, `ratio_hl` the Hodges-Lehmann estimate of theta (the median of all pairwise log ratios).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats as sps

from hetflow.stats.samples import TooFewSamples, as_samples, check_confidence

MIN_SAMPLES = 5  # per side: below, no rank test can reach p < 0.05 in any useful way (5 and 5 give at best 0.008)
EXACT_MAX_N = 50  # the exact Mann-Whitney distribution up to this size per side (without ties), the normal one beyond
A12_LEVELS = ((0.71, "large"), (0.64, "medium"), (0.56, "small"), (0.0, "negligible"))  # Vargha & Delaney 2000

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Comparison:
    """A against B. ratio: median(A) / median(B) (< 1: A is faster); ratio_ci: its interval at `confidence`;
    p_value: Mann-Whitney U, two-sided; a12: the probability that a run of A is shorter than a run of B (ties count
    half; 0.5: neither tends to be faster); effect: Vargha-Delaney's label for a12; geomean_ratio and geomean_ci:
    the geometric mean of A[i] / B[i] with a Student-t interval on the logs, when the runs are paired (else None)."""

    names: tuple[str, str]
    metric: str
    n: tuple[int, int]
    medians: tuple[float, float]
    confidence: float
    ratio: float
    ratio_hl: float
    ratio_ci: tuple[float, float]
    test: str
    p_value: float
    a12: float
    effect: str
    significant: bool
    verdict: str  # "faster", "slower" or "no significant difference"
    geomean_ratio: float | None = None
    geomean_ci: tuple[float, float] | None = None

    def sentence(self) -> str:
        """One sentence to paste into a paper, e.g. "A's median makespan is 0.83x B's (95% CI 0.79-0.88; Mann-Whitney
        U p = 0.002, n = 10 and 10; A12 = 0.91): A is faster." """
        a, b = self.names
        level = f"{self.confidence * 100:g}%"
        lo, mid, hi = figures(self.ratio_ci[0], self.ratio, self.ratio_ci[1])
        parts = [f"{level} CI {lo}-{hi}", f"Mann-Whitney U {p_text(self.p_value)}, n = {self.n[0]} and {self.n[1]}"]
        parts.append(f"A12 = {self.a12:.2f}")
        if self.geomean_ratio is not None and self.geomean_ci is not None:
            g_lo, g, g_hi = figures(self.geomean_ci[0], self.geomean_ratio, self.geomean_ci[1])
            parts.append(f"geometric mean of paired ratios {g}x, {level} CI {g_lo}-{g_hi}")
        ending = f"{a} is {self.verdict}" if self.significant else f"no significant difference at the {level} level"
        return f"{a}'s median {self.metric} is {mid}x {b}'s ({'; '.join(parts)}): {ending}."

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, with the sentence."""
        d = asdict(self)
        for key in ("names", "n", "medians", "ratio_ci", "geomean_ci"):
            d[key] = list(d[key]) if d[key] is not None else None
        d["sentence"] = self.sentence()
        return d


def compare(
    a: Iterable[float],
    b: Iterable[float],
    confidence: float = 0.95,
    *,
    paired: bool = False,
    names: tuple[str, str] = ("A", "B"),
    metric: str = "makespan",
) -> Comparison:
    """Compare sample A with sample B (times, > 0). Raises TooFewSamples (one line) when either side has fewer than
    5 values or the interval cannot be formed at this confidence, SampleError on unusable values."""
    confidence = check_confidence(confidence)
    alpha = 1 - confidence
    xa = as_samples(a, what=f"{names[0]}'s samples", positive=True)
    xb = as_samples(b, what=f"{names[1]}'s samples", positive=True)
    if min(xa.size, xb.size) < MIN_SAMPLES:
        raise TooFewSamples(
            f"too few samples to compare: n = {xa.size} and {xb.size}",
            fix=f"give at least {MIN_SAMPLES} runs per side (10 or more to see differences of a few percent)",
        )
    if paired and xa.size != xb.size:
        raise TooFewSamples(f"paired runs need as many of A as of B: n = {xa.size} and {xb.size}", fix="drop --paired")
    x, y = np.log(xa), np.log(xb)
    untied = np.unique(np.concatenate([x, y])).size == x.size + y.size
    method = "exact" if untied and max(x.size, y.size) <= EXACT_MAX_N else "asymptotic"

    def p_at(shift: float) -> float:
        p = float(sps.mannwhitneyu(x - shift, y, alternative="two-sided", method=method).pvalue)
        return 1.0 if math.isnan(p) else p  # all values tied: nothing tells them apart

    centre = hodges_lehmann(x, y)
    p_value = p_at(0.0)
    ci = shift_interval(x, y, centre, lambda s: p_at(s) >= alpha)
    if ci is None:
        raise TooFewSamples(
            f"too few samples for a {confidence:.0%} interval on the ratio: n = {xa.size} and {xb.size}",
            fix="run more repetitions or lower --confidence",
        )
    u_a = float(sps.mannwhitneyu(xa, xb, alternative="two-sided", method=method).statistic)  # pairs a > b, ties 1/2
    a12 = 1.0 - u_a / (xa.size * xb.size)
    significant = p_value < alpha
    geomean = geomean_ci = None
    if paired:
        geomean, geomean_ci = paired_ratio(x - y, confidence)
    return Comparison(
        names=names,
        metric=metric,
        n=(int(xa.size), int(xb.size)),
        medians=(float(np.median(xa)), float(np.median(xb))),
        confidence=confidence,
        ratio=float(np.median(xa) / np.median(xb)),
        ratio_hl=math.exp(centre),
        ratio_ci=(math.exp(ci[0]), math.exp(ci[1])),
        test=f"Mann-Whitney U, two-sided, {method}",
        p_value=p_value,
        a12=a12,
        effect=next(label for level, label in A12_LEVELS if max(a12, 1 - a12) >= level),
        significant=significant,
        verdict=("faster" if a12 > 0.5 else "slower") if significant else "no significant difference",
        geomean_ratio=geomean,
        geomean_ci=geomean_ci,
    )


def hodges_lehmann(x: Floats, y: Floats) -> float:
    """The median of all pairwise differences x[i] - y[j], found by bisection on counts (m*n may be 10^8: the
    differences are never all held in memory)."""
    total = x.size * y.size
    ys = np.sort(y)

    def at_most(k: int) -> float:  # the k-th smallest difference, 1-based
        fewer = lambda d: int(np.searchsorted(ys, x - d, "left").sum()) <= total - k  # noqa: E731  (#{diff > d})
        return edge(float(x.min() - ys[-1]) - 1.0, float(x.max() - ys[0]), fewer)

    if total % 2:
        return at_most(total // 2 + 1)
    return (at_most(total // 2) + at_most(total // 2 + 1)) / 2


def shift_interval(x: Floats, y: Floats, centre: float, accepts: Callable[[float], bool]) -> tuple[float, float] | None:
    """The shifts d (of x against y) the test accepts, as (low, high); None when it accepts even a shift that puts
    every x above every y (too few samples to reject anything). The accepted shifts form one interval around the
    Hodges-Lehmann centre (the two-sided p falls as U moves away from m*n/2), whose ends are pairwise differences."""
    far = float(x.max() - x.min() + y.max() - y.min()) + 1.0
    low, high = centre - far, centre + far
    if accepts(low) or accepts(high):
        return None
    if not accepts(centre):  # every difference equal (constant samples): the interval is that one point
        return centre, centre
    return edge(low, centre, accepts), edge(high, centre, accepts)


def edge(outside: float, inside: float, holds: Callable[[float], bool]) -> float:
    """Where a monotone condition starts to hold between `outside` (false) and `inside` (true), by bisection to a
    relative 1e-12: the end of the interval, as close as floats allow to the pairwise difference it is."""
    while abs(inside - outside) > 1e-12 * max(1.0, abs(inside), abs(outside)):
        mid = (inside + outside) / 2
        if holds(mid):
            inside = mid
        else:
            outside = mid
    return inside


def paired_ratio(log_ratios: Floats, confidence: float) -> tuple[float, tuple[float, float]]:
    """The geometric mean of paired ratios and its Student-t interval, taken on the logs."""
    mean = float(np.mean(log_ratios))
    half = float(sps.t.ppf((1 + confidence) / 2, log_ratios.size - 1) * np.std(log_ratios, ddof=1)) / math.sqrt(
        log_ratios.size
    )
    return math.exp(mean), (math.exp(mean - half), math.exp(mean + half))


def p_text(p: float) -> str:
    """A p-value as a paper prints it."""
    return "p < 0.0001" if p < 1e-4 else f"p = {p:.2g}" if p < 0.01 else f"p = {p:.3g}"


def figures(low: float, mid: float, high: float) -> tuple[str, str, str]:
    """Three ratios with as many decimals (2 to 4) as it takes for the interval's ends to differ in print."""
    for decimals in (2, 3, 4):
        texts = tuple(f"{v:.{decimals}f}" for v in (low, mid, high))
        if texts[0] != texts[2] or low == high:
            break
    return texts[0], texts[1], texts[2]
