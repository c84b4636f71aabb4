"""The time a running workflow still needs, with an interval that tightens as tasks end ("near the end").

The remaining work is what the tasks not yet ended are expected to take (declared or predicted run times, times
their cores), rescaled by how the tasks that ended so far did against their expectation (actual / expected). The
ratio's mean is uncertain by its standard error (fewer ended tasks: wider), the remaining tasks add their own spread,
and so does the last one to end; all shrink to nothing as the last tasks end. Time is the remaining work over the
capacity, and never less than the longest remaining task alone (a run near its end waits for its last tasks, not
for the idle cores).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Z90 = 1.2815515655446004  # an 80% interval: p10 to p90
PRIOR_CV = 0.5  # the spread assumed for the ratio before two tasks have ended


@dataclass(frozen=True, slots=True)
class Eta:
    """Seconds still to go: the median estimate and an 80% interval; ratio is actual / expected so far."""

    p10: float
    p50: float
    p90: float
    ratio: float
    ended: int


def eta(ended: Sequence[tuple[float, float]], remaining: Sequence[tuple[float, int, int]], capacity: int) -> Eta:
    """ended: (expected, actual) seconds of each task that ended; remaining: (expected seconds still to run, cores,
    how many tasks) of the tasks that have not (a running task's expectation less what it has run); capacity:
    cores."""
    ratios = [actual / expected for expected, actual in ended if expected > 0]
    n = len(ratios)
    ratio = sum(ratios) / n if n else 1.0
    spread = math.sqrt(sum((r - ratio) ** 2 for r in ratios) / (n - 1)) if n >= 2 else PRIOR_CV * ratio
    cap = max(capacity, 1)
    work = sum(max(e, 0.0) * max(c, 1) * k for e, c, k in remaining)
    longest = max((max(e, 0.0) for e, _, k in remaining if k > 0), default=0.0)
    base = max(work / cap, longest)
    mean_err = spread / math.sqrt(max(n, 1))  # the ratio's standard error
    noise = spread * math.sqrt(sum(k * (max(e, 0.0) * max(c, 1) / cap) ** 2 for e, c, k in remaining))
    sd = math.hypot(base * mean_err, noise, spread * longest)  # and when the last task ends: its own spread
    mid = ratio * base
    return Eta(max(mid - Z90 * sd, 0.0), mid, mid + Z90 * sd, ratio, n)
