"""carbon: spatial shifting. Each ready set goes to the site where its tasks would emit least (their energy x the
site's mean intensity over their estimated interval, policies/sited.py) among the sites that meet its slack: that
finish it, from now, within (1 + max_slowdown) x what the fastest site takes. A set slowed by at most that fraction
delays any path through it by at most that fraction of the set's own time, so the makespan grows by about
max_slowdown at most (estimates, not a bound: queues at the chosen site can add to it)."""

from __future__ import annotations

from hetflow.core.view import PlacementView
from hetflow.policies.sited import Grid, Option, SitePolicy, needs_grid

EPS = 1e-9


class Carbon(SitePolicy):
    name = "carbon"

    def __init__(self, grid: Grid | None = None) -> None:
        super().__init__(needs_grid(self.name, grid))

    def choose(self, options: list[Option], view: PlacementView) -> Option:
        assert self.grid is not None
        now = view.now
        fast = super().choose(options, view)
        limit = now + (1 + self.grid.max_slowdown) * (fast.finish - now) + EPS
        return min((o for o in options if o.finish <= limit), key=lambda o: (o.carbon_g, o.finish, o.start))
