"""Run-time forecasts per set key: a quantile regression on the history when it is rich enough, robust per-key
estimates when it is thin, the declared run time when there is none; each forecast says which basis it used.

Durations are learnt as work: seconds x the relative speed of the node that ran them, i.e. seconds at speed 1, the
unit a task set's runtime is declared in (the simulator divides by each node's speed). The regression is linear in
the logarithms of the features (cores, GPUs, input bytes, workflow size) for the 10th, 50th and 90th percentiles
(scikit-learn's QuantileRegressor): a power law per percentile, which goes on beyond the sizes it saw where a tree
ensemble would stay flat at the largest one it learnt from.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from hetflow.predict.history import Attempt
from hetflow.spec.distribution import Distribution

MODEL, HISTORY, DECLARED = "model", "history", "declared"
MIN_MODEL = 8  # attempts a key needs before a regression is fitted (one that varies a feature by 25%)
MIN_QUANTILES = 10  # attempts a key needs for empirical percentiles (fewer: a lognormal from median and MAD)
QUANTILES = (0.1, 0.5, 0.9)
Z90 = 1.2815515655446004  # the standard normal's 90th percentile
MAD_SCALE = 1.4826  # MAD x this estimates a normal's standard deviation
MIN_SPREAD = math.log(1.25)  # a feature the history varies by less than 25% says nothing a power law could use


@dataclass(frozen=True, slots=True)
class Query:
    """What a forecast is for: one task of a set with these resources, input and workflow size."""

    cores: int = 1
    gpus: float = 0.0
    input_bytes: float | None = None
    workflow_tasks: int = 1


@dataclass(frozen=True, slots=True)
class Forecast:
    """A set's run time at speed 1 as three percentiles, the basis they came from and how many attempts it saw."""

    key: str
    p10: float
    p50: float
    p90: float
    basis: str
    n: int

    @property
    def sigma(self) -> float:
        """The log-spread of the lognormal with these p10 and p90 (0 for a point forecast)."""
        if self.p10 <= 0 or self.p90 <= 0:
            return 0.0
        return max(0.0, math.log(self.p90 / self.p10) / (2 * Z90))

    def distribution(self) -> Distribution:
        """The run-time law the simulator draws from: the lognormal with median p50 and this spread (fixed when the
        forecast is a point)."""
        sigma = self.sigma
        if self.p50 <= 0 or sigma <= 0:
            return Distribution.fixed(max(self.p50, 0.0))
        return Distribution.lognormal(self.p50, math.sqrt(math.expm1(sigma**2)))

    def as_dict(self) -> dict[str, float]:
        return {"p10": round(self.p10, 6), "p50": round(self.p50, 6), "p90": round(self.p90, 6)}


def _features(a: Attempt | Query) -> list[float | None]:
    size = a.input_bytes if a.input_bytes is not None and a.input_bytes > 0 else None
    return [
        math.log(max(a.cores, 1)),
        math.log1p(a.gpus),
        None if size is None else math.log(size),
        math.log(max(a.workflow_tasks, 1)),
    ]


def _work(a: Attempt) -> float:
    return max(a.duration * a.speed, 0.0)


def fit_model(key: str, history: Sequence[Attempt], query: Query) -> Forecast | None:
    """The quantile regression's forecast; None when no feature varies by 25% or more in the history (or the query
    lacks the ones that do): then the percentiles of the history say as much."""
    rows = [_features(a) for a in history]
    target = _features(query)
    columns = [
        j
        for j in range(len(target))
        if target[j] is not None
        and all(r[j] is not None for r in rows)
        and max(r[j] or 0.0 for r in rows) - min(r[j] or 0.0 for r in rows) >= MIN_SPREAD
    ]
    if not columns:
        return None
    import numpy as np
    from sklearn.linear_model import QuantileRegressor

    x = np.array([[r[j] for j in columns] for r in rows], dtype=float)
    y = np.log(np.maximum([_work(a) for a in history], 1e-6))
    at = np.array([[target[j] for j in columns]], dtype=float)
    preds = sorted(
        float(np.exp(QuantileRegressor(quantile=q, alpha=0.0, solver="highs").fit(x, y).predict(at)[0]))
        for q in QUANTILES
    )
    return Forecast(key, preds[0], preds[1], preds[2], MODEL, len(history))


def robust(key: str, history: Sequence[Attempt]) -> Forecast:
    """Per-key estimates: the empirical percentiles; with fewer than MIN_QUANTILES attempts, a lognormal fitted by
    the median and the MAD of the logarithms (robust to one stray run), its interval that of the next run (Student
    t, widened by sqrt(1 + 1/n): a few runs say little about the spread)."""
    import numpy as np

    work = np.array([_work(a) for a in history], dtype=float)
    if len(work) >= MIN_QUANTILES:
        p10, p50, p90 = (float(v) for v in np.quantile(work, QUANTILES))
        return Forecast(key, p10, p50, p90, HISTORY, len(work))
    median = float(np.median(work))
    if median <= 0:
        return Forecast(key, 0.0, 0.0, 0.0, HISTORY, len(work))
    from scipy.stats import t as student

    n = len(work)
    logs = np.log(np.maximum(work, 1e-6))
    sigma = MAD_SCALE * float(np.median(np.abs(logs - math.log(median))))
    z = float(student.ppf(QUANTILES[2], n - 1)) * math.sqrt(1 + 1 / n) if n >= 2 else 0.0  # the next run's interval
    return Forecast(key, median * math.exp(-z * sigma), median, median * math.exp(z * sigma), HISTORY, n)


def forecast(key: str, history: Sequence[Attempt], query: Query, declared: float) -> Forecast:
    """The best forecast the history allows: model, else history, else the declared run time (a point)."""
    if len(history) >= MIN_MODEL:
        fitted = fit_model(key, history, query)
        if fitted is not None:
            return fitted
    if history:
        return robust(key, history)
    return Forecast(key, declared, declared, declared, DECLARED, 0)
