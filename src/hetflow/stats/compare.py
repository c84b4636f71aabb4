"""Is A faster than B? Two samples of a time (makespans of repeated runs) compared as Hoefler & Belli (SC'15) ask:
a ratio with a confidence interval, a rank test that assumes no normality, an effect size (Vargha-Delaney A12), the
geometric mean of ratios when runs are paired, and one sentence that says it all. Lower is better: these are times.

Independent runs: the ratio of medians; Mann-Whitney U, two-sided. Paired runs (run i of A and of B share an input or
a seed): the geometric mean of the ratios A[i] / B[i]; Wilcoxon signed-rank on their logs, two-sided.

The interval is always the one the reported test gives, inverted on log times (Hodges-Lehmann; Bauer 1972): the
factors theta such that the same test does not reject "A / theta is like B" at 1 - confidence. Its ends are pairwise
ratios (Walsh averages of log ratios when paired). We prefer it to a bootstrap because
  - it is exact for small samples (5-10 runs, where a bootstrap of a median takes only a few distinct values),
  - it is deterministic (no seed: the same data always give the same sentence),
  - it agrees with the test: the interval excludes 1 exactly when p < 1 - confidence, so the sentence never shows
    "CI 0.80-0.95" beside "no significant difference".
It assumes that A's times are B's scaled by theta (a shift of logs): then theta is the ratio of medians (of every
quantile) and, paired, the geometric mean; `ratio_hl` is the Hodges-Lehmann estimate of theta itself.
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

MIN_SAMPLES = 5  # per side: below, no rank test says anything useful (5 and 5 give at best p = 0.008)
EXACT_MAX_N = 50  # exact null distributions up to this many samples a side (without ties), the normal one beyond
A12_LEVELS = ((0.71, "large"), (0.64, "medium"), (0.56, "small"), (0.0, "negligible"))  # Vargha & Delaney 2000

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Comparison:
    """A against B. ratio: median(A) / median(B) (< 1: A is faster); ratio_ci: the interval of the test at
    `confidence` (see the module); p_value: the test's, two-sided; a12: the probability that a run of A is shorter
    than a run of B (ties count half; 0.5: neither tends to be faster); effect: Vargha-Delaney's label for a12;
    geomean_ratio and geomean_ci: when paired, the geometric mean of A[i] / B[i] and its Student-t interval on the
    logs (else None)."""

    names: tuple[str, str]
    metric: str
    n: tuple[int, int]
    medians: tuple[float, float]
    confidence: float
    paired: bool
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
        U p = 0.002, n = 10 and 10; A12 = 0.91): A is faster." Paired: "A's makespan is 0.90x B's, run for run
        (geometric mean of 12 paired ratios; 95% CI 0.89-0.91; Wilcoxon signed-rank p = 0.0005; A12 = 0.62): ..." """
        a, b = self.names
        level = f"{self.confidence * 100:g}%"
        if self.geomean_ratio is not None:
            lo, mid, hi = figures(self.ratio_ci[0], self.geomean_ratio, self.ratio_ci[1])
            head = f"{a}'s {self.metric} is {mid}x {b}'s, run for run (geometric mean of {self.n[0]} paired ratios"
            test = f"Wilcoxon signed-rank {p_text(self.p_value)}"
        else:
            lo, mid, hi = figures(self.ratio_ci[0], self.ratio, self.ratio_ci[1])
            head = f"{a}'s median {self.metric} is {mid}x {b}'s ("
            test = f"Mann-Whitney U {p_text(self.p_value)}, n = {self.n[0]} and {self.n[1]}"
        parts = [f"{level} CI {lo}-{hi}", test, f"A12 = {self.a12:.2f}"]
        ending = f"{a} is {self.verdict}" if self.significant else f"no significant difference at the {level} level"
        return f"{head}{'; ' if self.paired else ''}{'; '.join(parts)}): {ending}."

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
    5 values or the test cannot reject anything at this confidence (so no interval can be formed: 5 pairs at 95%),
    SampleError on unusable values."""
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
    test, p_at, centre, far = paired_test(x - y) if paired else independent_test(x, y)
    ci = shift_interval(centre, far, lambda shift: p_at(shift) >= alpha)
    if ci is None:
        raise TooFewSamples(
            f"too few samples for a {confidence:.0%} interval on the ratio: n = {xa.size} and {xb.size}",
            fix="run more repetitions or lower --confidence",
        )
    u_a = float(sps.mannwhitneyu(xa, xb, method="asymptotic").statistic)  # pairs with a > b, ties count 1/2
    a12 = 1.0 - u_a / (xa.size * xb.size)
    p_value = p_at(0.0)
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
        paired=paired,
        ratio=float(np.median(xa) / np.median(xb)),
        ratio_hl=math.exp(centre),
        ratio_ci=(math.exp(ci[0]), math.exp(ci[1])),
        test=test,
        p_value=p_value,
        a12=a12,
        effect=next(label for level, label in A12_LEVELS if max(a12, 1 - a12) >= level),
        significant=significant,
        verdict=("faster" if centre < 0 else "slower") if significant else "no significant difference",
        geomean_ratio=geomean,
        geomean_ci=geomean_ci,
    )


Test = tuple[str, Callable[[float], float], float, float]  # name, p at a shift of logs, centre, span of the shifts


def exact_or_asymptotic(values: Floats, n: int) -> str:
    """The exact null distribution for small samples without ties, the normal approximation otherwise."""
    return "exact" if n <= EXACT_MAX_N and np.unique(values).size == values.size else "asymptotic"


def independent_test(x: Floats, y: Floats) -> Test:
    """Mann-Whitney U on log times, at a shift of A's logs; centred on the Hodges-Lehmann shift."""
    method = exact_or_asymptotic(np.concatenate([x, y]), max(x.size, y.size))

    def p_at(shift: float) -> float:
        p = float(sps.mannwhitneyu(x - shift, y, alternative="two-sided", method=method).pvalue)
        return 1.0 if math.isnan(p) else p  # every value tied: nothing tells them apart

    span = float(x.max() - x.min() + y.max() - y.min()) + 1.0
    return f"Mann-Whitney U, two-sided, {method}", p_at, hodges_lehmann(x, y), span


def paired_test(d: Floats) -> Test:
    """Wilcoxon signed-rank on the log ratios, at a shift; centred on their Hodges-Lehmann pseudo-median."""
    method = "exact" if exact_or_asymptotic(np.abs(d), d.size) == "exact" and np.all(d != 0) else "approx"

    def p_at(shift: float) -> float:
        if np.all(d == shift):
            return 1.0  # every pair differs by exactly this: nothing left to test
        return float(sps.wilcoxon(d - shift, alternative="two-sided", method=method).pvalue)

    name = "exact" if method == "exact" else "asymptotic"
    return f"Wilcoxon signed-rank, two-sided, {name}", p_at, walsh_median(d), float(d.max() - d.min()) + 1.0


def hodges_lehmann(x: Floats, y: Floats) -> float:
    """The median of all pairwise differences x[i] - y[j], by bisection on counts (m*n may be 10^8: the differences
    are never all held in memory)."""
    ys = np.sort(y)
    low, high = float(x.min() - ys[-1]) - 1.0, float(x.max() - ys[0])
    total = x.size * y.size
    return median_by_count(total, low, high, lambda t: total - int(np.searchsorted(ys, x - t, "left").sum()))


def walsh_median(d: Floats) -> float:
    """The median of the Walsh averages (d[i] + d[j]) / 2, i <= j (the one-sample Hodges-Lehmann estimate)."""
    ds = np.sort(d)

    def at_least(t: float) -> int:  # Walsh averages > t: ordered pairs with d[i] + d[j] > 2t, then i <= j only
        ordered = int((ds.size - np.searchsorted(ds, 2 * t - ds, "right")).sum())
        return (ordered + int(np.count_nonzero(ds > t))) // 2

    n = ds.size * (ds.size + 1) // 2
    return median_by_count(n, float(ds[0]) - 1.0, float(ds[-1]), lambda t: n - at_least(t))


def median_by_count(total: int, low: float, high: float, at_most: Callable[[float], int]) -> float:
    """The median of `total` values known only through at_most(t), how many are <= t (all lie in (low, high])."""

    def kth(k: int) -> float:  # the k-th smallest value, 1-based
        return edge(low, high, lambda t: at_most(t) >= k)

    return kth(total // 2 + 1) if total % 2 else (kth(total // 2) + kth(total // 2 + 1)) / 2


def shift_interval(centre: float, span: float, accepts: Callable[[float], bool]) -> tuple[float, float] | None:
    """The shifts the test accepts, as (low, high); None when it accepts even a shift `span` away from the centre,
    past every pairwise difference (too few samples to reject anything). The accepted shifts form one interval around
    the Hodges-Lehmann centre (the two-sided p falls as the statistic moves off its middle), ended by differences."""
    low, high = centre - span, centre + span
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
    sem = float(np.std(log_ratios, ddof=1)) / math.sqrt(log_ratios.size)
    half = float(sps.t.ppf((1 + confidence) / 2, log_ratios.size - 1)) * sem
    return math.exp(mean), (math.exp(mean - half), math.exp(mean + half))


def p_text(p: float) -> str:
    """A p-value as a paper prints it."""
    return "p < 0.0001" if p < 1e-4 else f"p = {p:.2g}" if p < 0.01 else f"p = {p:.3g}"


def figures(low: float, mid: float, high: float) -> tuple[str, str, str]:
    """Three ratios with as many decimals (2 to 6) as it takes for the print to tell what the numbers do: the ends
    differ, and an interval that excludes 1 does not show an end of 1.00."""
    for decimals in range(2, 7):
        texts = (f"{low:.{decimals}f}", f"{mid:.{decimals}f}", f"{high:.{decimals}f}")
        one = f"{1:.{decimals}f}"
        if (texts[0] != texts[2] or low == high) and (low <= 1 <= high or one not in (texts[0], texts[2])):
            break
    return texts
