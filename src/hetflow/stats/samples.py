"""Samples as the statistics take them, and the errors they raise: one line, exit 2 at the command line."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from hetflow.errors import SpecError


class SampleError(SpecError):
    """Samples the statistics cannot use: none, not numbers, not finite, not positive where a ratio is taken."""


class TooFewSamples(SampleError):
    """Too few samples to say anything at the confidence asked: a refusal rather than a number nobody should cite."""


def as_samples(values: Iterable[float], *, what: str = "samples", positive: bool = False) -> npt.NDArray[np.float64]:
    """The values as a 1-D float array, checked: at least one, all finite (and all > 0 when a ratio is taken)."""
    try:
        x = np.asarray(list(values), dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise SampleError(f"{what} are not all numbers ({exc})", fix="give numbers only") from None
    if x.ndim != 1:
        raise SampleError(f"{what} are not a flat list of numbers", fix="give one number per run")
    if x.size == 0:
        raise SampleError(f"no {what}", fix="give at least one value")
    if not np.all(np.isfinite(x)):
        raise SampleError(f"{what} include NaN or infinity", fix="drop the runs that did not finish")
    if positive and np.any(x <= 0):
        raise SampleError(f"{what} include a value <= 0", fix="compare positive quantities (times, not differences)")
    return x


def check_confidence(confidence: float) -> float:
    """The confidence level, checked to lie in [0.5, 1)."""
    if not 0.5 <= confidence < 1:
        raise SampleError(f"confidence {confidence} is not in [0.5, 1)", fix="give e.g. 0.95 for a 95% interval")
    return float(confidence)
