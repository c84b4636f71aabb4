"""One sample described the way Hoefler & Belli (SC'15) ask: the mean with its Student-t interval, the median with
its non-parametric interval (order statistics, Le Boudec), percentiles, and a normality test that says which of the two
to trust. Nothing assumes normality; the test only tells the reader whether the mean's interval is meaningful."""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as sps

from hetflow.stats.samples import as_samples, check_confidence

PERCENTILES = (1, 5, 10, 25, 50, 75, 90, 95, 99)
NORMAL_ALPHA = 0.05  # Summary.normal: Shapiro-Wilk does not reject normality at this level
SHAPIRO_MAX_N = 5000  # scipy's Shapiro-Wilk p-value is not accurate beyond; D'Agostino-Pearson takes over


@dataclass(frozen=True)
class Summary:
    """The description of one sample (e.g. the makespans of N runs). Intervals are (low, high) at `confidence`;
    median_ci is None when n is too small for one (n < 6 at 95%), mean_ci when n < 2, normality_p when n < 3 or
    all values are equal. median_ci_ranks are the 1-based order statistics that bound median_ci and
    median_ci_coverage their exact coverage (>= confidence: order statistics give discrete levels)."""

    n: int
    mean: float
    std: float
    cv: float
    min: float
    max: float
    confidence: float
    mean_ci: tuple[float, float] | None
    median: float
    median_ci: tuple[float, float] | None
    median_ci_ranks: tuple[int, int] | None
    median_ci_coverage: float | None
    percentiles: dict[str, float]
    normality_test: str
    normality_p: float | None
    normal: bool

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: tuples as lists, a non-finite cv as None."""
        return {
            "n": self.n,
            "mean": self.mean,
            "std": self.std,
            "cv": self.cv if math.isfinite(self.cv) else None,
            "min": self.min,
            "max": self.max,
            "confidence": self.confidence,
            "mean_ci": list(self.mean_ci) if self.mean_ci is not None else None,
            "median": self.median,
            "median_ci": list(self.median_ci) if self.median_ci is not None else None,
            "median_ci_ranks": list(self.median_ci_ranks) if self.median_ci_ranks is not None else None,
            "median_ci_coverage": self.median_ci_coverage,
            "percentiles": dict(self.percentiles),
            "normality_test": self.normality_test,
            "normality_p": self.normality_p,
            "normal": self.normal,
        }


def median_ci_ranks(n: int, confidence: float = 0.95) -> tuple[int, int, float] | None:
    """The ranks (j, k), 1-based, of the order statistics [X(j), X(k)] that bound a confidence interval for the median
    of n samples, and its exact coverage; None when even [X(1), X(n)] covers less than `confidence`.

    Le Boudec, Performance Evaluation of Computer and Communication Systems, Thm. 2.1: P(X(j) < median < X(k)) =
    B(k-1) - B(j-1) with B the Binomial(n, 1/2) CDF. The symmetric choice k = n + 1 - j gives coverage 1 - 2 B(j-1);
    j is the largest rank that keeps it >= confidence (Le Boudec's Table A.1: n = 10 -> 2, 9; n = 20 -> 6, 15)."""
    confidence = check_confidence(confidence)
    if n < 1:
        return None
    tails = sps.binom.cdf(np.arange(n), n, 0.5)  # B(0) .. B(n-1)
    j = int(np.count_nonzero(tails <= (1 - confidence) / 2 * (1 + 1e-12)))  # B(j-1) <= alpha/2, largest such j
    if j == 0:
        return None
    return j, n + 1 - j, float(1 - 2 * tails[j - 1])


def describe(samples: Iterable[float], confidence: float = 0.95) -> Summary:
    """Describe a sample: mean (Student-t CI), median (order-statistic CI), percentiles, Shapiro-Wilk normality."""
    confidence = check_confidence(confidence)
    x = np.sort(as_samples(samples))
    n = int(x.size)
    mean = float(np.mean(x))
    std = float(np.std(x, ddof=1)) if n > 1 else 0.0
    mean_ci = None
    if n > 1:
        half = float(sps.t.ppf((1 + confidence) / 2, n - 1)) * std / math.sqrt(n)
        mean_ci = (mean - half, mean + half)
    ranks = median_ci_ranks(n, confidence)
    median = float(np.median(x))
    test, normality_p = normality(x)
    return Summary(
        n=n,
        mean=mean,
        std=std,
        cv=std / abs(mean) if mean != 0 else (0.0 if std == 0 else math.inf),
        min=float(x[0]),
        max=float(x[-1]),
        confidence=confidence,
        mean_ci=mean_ci,
        median=median,
        median_ci=(float(x[ranks[0] - 1]), float(x[ranks[1] - 1])) if ranks else None,
        median_ci_ranks=(ranks[0], ranks[1]) if ranks else None,
        median_ci_coverage=ranks[2] if ranks else None,
        percentiles={f"p{q}": float(v) for q, v in zip(PERCENTILES, np.percentile(x, PERCENTILES), strict=True)}
        | {"p50": median},  # the same number as `median`, not one rounded differently
        normality_test=test,
        normality_p=normality_p,
        normal=normality_p is not None and normality_p >= NORMAL_ALPHA,
    )


def normality(x: np.ndarray[Any, Any]) -> tuple[str, float | None]:
    """(test name, p-value) of a normality test: Shapiro-Wilk up to 5000 samples, D'Agostino-Pearson beyond (it needs
    20 or more, which it has there). None when it cannot be tested: fewer than 3 samples, or all equal."""
    if x.size > SHAPIRO_MAX_N:
        return "dagostino-pearson", float(sps.normaltest(x).pvalue)
    if x.size < 3 or x[0] == x[-1]:
        return "shapiro-wilk", None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # near-constant samples: scipy warns, the p-value is still what we report
        return "shapiro-wilk", float(sps.shapiro(x).pvalue)
