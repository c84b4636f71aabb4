"""carbon-wait: temporal shifting ("Let's wait awhile"). The workflow waits for the greenest window that still meets
the deadline, holding nothing, then runs as `fastest` does.

The window is planned from a fastest run of the same workflow (hetflow.sim.sites simulates it first): its intervals
say how many watts each site draws when, relative to the start; `greenest_start` tries every start on the hour from
0 to deadline - makespan and keeps the one whose shifted intervals emit least. The policy holds every set released
before that start until then (core: a set's not-before, like a retry's backoff). fastest decides only on times
relative to now, so the shifted run is the planned one, shifted: it ends at start + makespan <= deadline, exactly.
(A not-before per set, each at its own latest start by the critical path, promises nothing: sets held to the same
green hour compete for the same nodes there, and the critical path ignores queues.)
"""

from __future__ import annotations

from collections.abc import Sequence

from hetflow.core.view import PlacementView, ReadySet
from hetflow.policies.fastest import Fastest
from hetflow.policies.sited import J_PER_KWH, Grid, needs_grid

HOUR_S = 3600.0
Draw = tuple[str, float, float, float]  # (site, start, end, watts) of one interval of the planned run


class CarbonWait(Fastest):
    name = "carbon-wait"

    def __init__(self, grid: Grid | None = None) -> None:
        super().__init__(needs_grid(self.name, grid))

    def not_before(self, s: ReadySet, view: PlacementView) -> float:
        """Every set released before the planned start waits until then."""
        assert self.grid is not None
        return self.grid.hold_until


def greenest_start(draws: Sequence[Draw], grid: Grid, makespan: float, step: float = HOUR_S) -> float:
    """The start, on a multiple of `step` from 0 to deadline - makespan, at which the planned run's draws emit
    least (0 when there is no deadline or no room; ties: the earliest)."""
    if grid.deadline is None or makespan > grid.deadline:
        return 0.0
    best, best_g = 0.0, carbon_g(draws, grid, 0.0)
    k = 1
    last = min(grid.deadline - makespan, YEAR_S)  # the series repeat yearly: no later start can be greener
    while k * step <= last:
        g = carbon_g(draws, grid, k * step)
        if g < best_g - 1e-9:
            best, best_g = k * step, g
        k += 1
    return best


YEAR_S = 366 * 24 * 3600.0


def carbon_g(draws: Sequence[Draw], grid: Grid, shift: float) -> float:
    """Grams the draws emit when the run starts `shift` s later."""
    total = 0.0
    for site, t0, t1, watts in draws:
        if t1 > t0:
            total += watts * (t1 - t0) * grid.intensity[site].mean(t0 + shift, t1 + shift)
    return total / J_PER_KWH
