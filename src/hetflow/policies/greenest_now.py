"""greenest-now: each ready set at the site whose carbon intensity is lowest now, however long its inputs take to
get there or its tasks to run (the simple spatial baseline; ties: the earliest finish)."""

from __future__ import annotations

from hetflow.core.view import PlacementView
from hetflow.policies.sited import Grid, Option, SitePolicy, needs_grid


class GreenestNow(SitePolicy):
    name = "greenest-now"

    def __init__(self, grid: Grid | None = None) -> None:
        super().__init__(needs_grid(self.name, grid))

    def choose(self, options: list[Option], view: PlacementView) -> Option:
        now = view.now
        return min(options, key=lambda o: (self.intensity_now(o.site, now), o.finish, o.start))
