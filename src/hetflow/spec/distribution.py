"""Run-time distributions: how long a task of a set takes, as a law rather than one number.

A task set's `runtime` may be a distribution; the engine and heft estimate with its median (TaskSet.runtime), and
only the simulator draws from it, with an explicit numpy Generator (DESIGN.md, "Variable run times"). numpy and
scipy are imported inside the methods that need them: loading a workflow (and the engine) must not load them.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hetflow.errors import SpecError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

KINDS = ("fixed", "lognormal", "normal", "uniform", "gamma", "samples")
_PARAMS = {  # the parameters of each kind in a workflow file, in order
    "lognormal": ("median", "cv"),
    "normal": ("mean", "std"),
    "uniform": ("low", "high"),
    "gamma": ("mean", "cv"),
}
_EXAMPLE = "e.g. {dist: lognormal, median: 150, cv: 0.1}"


@dataclass(frozen=True, slots=True)
class Distribution:
    """One run-time law. params: fixed (value,), lognormal (median, cv), normal (mean, std), uniform (low, high),
    gamma (mean, cv), samples (the observed run times, sorted). Build one with the class methods, which check."""

    kind: str
    params: tuple[float, ...]

    # ---- construction ---------------------------------------------------------------------------------------------
    @classmethod
    def fixed(cls, value: float) -> Distribution:
        _at_least("runtime", value, 0)
        return cls("fixed", (float(value),))

    @classmethod
    def lognormal(cls, median: float, cv: float) -> Distribution:
        _positive("median", median)
        _positive("cv", cv)
        return cls("lognormal", (float(median), float(cv)))

    @classmethod
    def normal(cls, mean: float, std: float) -> Distribution:
        _at_least("mean", mean, 0)
        _at_least("std", std, 0)
        return cls("normal", (float(mean), float(std)))

    @classmethod
    def uniform(cls, low: float, high: float) -> Distribution:
        _at_least("low", low, 0)
        _at_least("high", high, low, f"give high >= low ({low:g})")
        return cls("uniform", (float(low), float(high)))

    @classmethod
    def gamma(cls, mean: float, cv: float) -> Distribution:
        _positive("mean", mean)
        _positive("cv", cv)
        return cls("gamma", (float(mean), float(cv)))

    @classmethod
    def from_samples(cls, samples: Sequence[float]) -> Distribution:
        if not samples:
            raise SpecError("samples is empty", fix="give at least one run time in seconds, e.g. samples: [140, 152]")
        for x in samples:
            _at_least("a sample", x, 0)
        return cls("samples", tuple(sorted(map(float, samples))))

    def scaled(self, factor: float) -> Distribution:
        """The same law with every run time multiplied by factor (> 0); cvs stay."""
        p = self.params
        if self.kind in ("lognormal", "gamma"):
            return Distribution(self.kind, (p[0] * factor, p[1]))
        return Distribution(self.kind, tuple(x * factor for x in p))

    # ---- what it says ---------------------------------------------------------------------------------------------
    @property
    def median(self) -> float:
        return self.quantile(0.5)

    @property
    def mean(self) -> float:
        k, p = self.kind, self.params
        if k == "lognormal":
            return p[0] * math.sqrt(1 + p[1] ** 2)  # exp(mu + sigma^2 / 2), with exp(sigma^2) = 1 + cv^2
        if k == "uniform":
            return (p[0] + p[1]) / 2
        if k == "samples":
            return math.fsum(p) / len(p)
        return p[0]  # fixed, normal, gamma

    def quantile(self, q: float) -> float:
        """The run time below which a fraction q of the tasks end (0 <= q <= 1)."""
        if not 0 <= q <= 1:
            raise ValueError(f"a quantile of {q}")
        from statistics import NormalDist  # not at import: loading a workflow should not pay for it

        k, p = self.kind, self.params
        if k == "fixed":
            return p[0]
        if k == "lognormal":
            if q in (0, 1):
                return 0.0 if q == 0 else math.inf
            return p[0] * math.exp(_sigma(p[1]) * NormalDist().inv_cdf(q))
        if k == "normal":  # sampled values are clipped at 0, so its quantiles are too
            if q in (0, 1) and p[1] > 0:
                return 0.0 if q == 0 else math.inf
            return max(0.0, p[0] + p[1] * (NormalDist().inv_cdf(q) if p[1] > 0 else 0.0))
        if k == "uniform":
            return p[0] + q * (p[1] - p[0])
        if k == "gamma":
            special = importlib.import_module("scipy.special")  # typed or not, whichever stubs the venv has

            shape = 1 / p[1] ** 2
            return float(special.gammaincinv(shape, q)) * p[0] / shape
        return _empirical(p, q)

    def sample(self, rng: np.random.Generator, n: int) -> npt.NDArray[np.float64]:
        """n run times drawn with rng (never negative)."""
        import numpy as np

        k, p = self.kind, self.params
        if k == "fixed":
            return np.full(n, p[0])
        if k == "lognormal":
            return p[0] * np.exp(_sigma(p[1]) * rng.standard_normal(n))
        if k == "normal":
            return np.maximum(rng.normal(p[0], p[1], n), 0.0)
        if k == "uniform":
            return rng.uniform(p[0], p[1], n)
        if k == "gamma":
            shape = 1 / p[1] ** 2
            return rng.gamma(shape, p[0] / shape, n)
        return rng.choice(np.asarray(p), n)

    def as_dict(self) -> dict[str, Any]:
        """The law as a workflow file writes it (a plain number for a fixed one is the caller's choice)."""
        if self.kind == "fixed":
            return {"dist": "fixed", "value": self.params[0]}
        if self.kind == "samples":
            return {"samples": list(self.params)}
        return {"dist": self.kind, **dict(zip(_PARAMS[self.kind], self.params, strict=True))}


def lognormal_factor_sigma(cv: float) -> float:
    """sigma of the lognormal with median 1 and coefficient of variation cv (node speed jitter uses it)."""
    return _sigma(cv)


def _sigma(cv: float) -> float:
    return math.sqrt(math.log1p(cv * cv))


def _empirical(sorted_samples: tuple[float, ...], q: float) -> float:
    """The q-quantile of samples, interpolated linearly between order statistics (numpy's default)."""
    pos = q * (len(sorted_samples) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_samples) - 1)
    return sorted_samples[lo] + (pos - lo) * (sorted_samples[hi] - sorted_samples[lo])


def _number(key: str, value: object) -> float:
    """A finite int or float (never a bool), as a float."""
    try:
        number = float(value) if type(value) in (int, float) else math.nan  # type: ignore[arg-type]
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise SpecError(f"{key} must be a number, not {_short(value)}", fix=f"write {key} as a finite number")
    return number


def _at_least(key: str, value: float, low: float, fix: str | None = None) -> None:
    if not value >= low:
        raise SpecError(f"{key} is {value:g}, below {low:g}", fix=fix or f"give {key} >= {low:g}")


def _positive(key: str, value: float) -> None:
    if not value > 0:
        raise SpecError(f"{key} is {value:g}, not > 0", fix=f"give {key} > 0 (e.g. {0.1 if key == 'cv' else 150})")


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def parse_distribution(doc: Mapping[str, Any]) -> Distribution:
    """A distribution from a workflow file's mapping ({dist: lognormal, median: 150, cv: 0.1} or {samples: [..]});
    a SpecError (problem and fix, no place: the caller knows it) for anything else."""
    if "samples" in doc:
        extra = sorted(set(doc) - {"samples"})
        if extra:
            raise SpecError(f"unknown key {extra[0]!r} beside samples", fix="give only samples: [...]")
        samples = doc["samples"]
        if type(samples) not in (list, tuple):
            raise SpecError(f"samples must be a list of seconds, not {_short(samples)}", fix="e.g. samples: [140, 152]")
        return Distribution.from_samples([_number("a sample", x) for x in samples])
    kind = doc.get("dist")
    if kind not in _PARAMS:
        known = ", ".join(_PARAMS)
        what = "no dist" if kind is None else f"unknown dist {_short(kind)}"
        raise SpecError(f"{what} in a runtime distribution", fix=f"give dist: one of {known}, or samples: [...]")
    names = _PARAMS[kind]
    for key in doc:
        if key != "dist" and key not in names:
            raise SpecError(f"unknown key {key!r} for dist {kind}", fix=f"a {kind} takes {' and '.join(names)}")
    missing = [key for key in names if key not in doc]
    if missing:
        raise SpecError(f"{missing[0]} is missing for dist {kind}", fix=f"a {kind} takes {' and '.join(names)}")
    a, b = (_number(key, doc[key]) for key in names)
    make = {
        "lognormal": Distribution.lognormal,
        "normal": Distribution.normal,
        "uniform": Distribution.uniform,
        "gamma": Distribution.gamma,
    }
    return make[kind](a, b)


def parse_runtime(value: object) -> float | Distribution:
    """A runtime value of a workflow file: seconds >= 0 (a float), or a distribution from its mapping."""
    if isinstance(value, Mapping):
        return parse_distribution(value)
    try:
        seconds = float(value) if type(value) in (int, float) else math.nan  # type: ignore[arg-type]
    except OverflowError:
        seconds = math.inf
    if math.isfinite(seconds) and seconds >= 0:
        return seconds
    raise SpecError(f"runtime must be {RUNTIME_IS}, not {_short(value)}", fix=f"write {RUNTIME_IS}")


RUNTIME_IS = f"a number of seconds >= 0 or a distribution ({_EXAMPLE})"
