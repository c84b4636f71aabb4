"""Busy cores and GPUs over time, as step series, from execution intervals.

numpy is imported by the series only: a run that reports its utilization alone (a simulation's summary) never loads
it, which is a quarter of a short command's start-up."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hetflow.spec.resources import GPU_UNIT
from hetflow.spec.trace import Interval

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class StepSeries:
    """value[i] holds from times[i] until times[i+1]; the last value holds until the end."""

    times: np.ndarray
    values: np.ndarray

    def area(self, until: float) -> float:
        """Integral of the series from its first time to `until`."""
        if len(self.times) == 0:
            return 0.0
        import numpy as np

        ends = np.append(self.times[1:], until)
        return float(np.sum(self.values * np.clip(ends - self.times, 0, None)))


def busy_series(intervals: Sequence[Interval], gpus: bool = False) -> StepSeries:
    """Cores (or GPUs) busy over time."""
    import numpy as np

    n = len(intervals)
    if n == 0:
        return StepSeries(np.zeros(0), np.zeros(0))
    start = np.fromiter((iv.start for iv in intervals), float, n)
    end = np.fromiter((iv.end for iv in intervals), float, n)
    if gpus:
        amount = np.fromiter((iv.gpu_units * iv.n for iv in intervals), float, n) / GPU_UNIT
    else:
        amount = np.fromiter((iv.cores * iv.n for iv in intervals), float, n)
    times = np.concatenate([start, end])
    deltas = np.concatenate([amount, -amount])
    order = np.argsort(times, kind="stable")
    times, deltas = times[order], deltas[order]
    uniq, first = np.unique(times, return_index=True)
    values = np.cumsum(deltas)[np.append(first[1:] - 1, len(times) - 1)]
    return StepSeries(uniq, np.round(values, 9))


def utilization(intervals: Sequence[Interval], capacity: float, makespan: float, gpus: bool = False) -> float:
    """Mean fraction of capacity busy over [0, makespan]."""
    if capacity <= 0 or makespan <= 0:
        return 0.0
    if gpus:
        used = sum(iv.gpu_units * iv.n * (iv.end - iv.start) for iv in intervals) / GPU_UNIT
    else:
        used = sum(iv.cores * iv.n * (iv.end - iv.start) for iv in intervals)
    return used / (capacity * makespan)
