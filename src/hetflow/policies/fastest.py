"""fastest: carbon-oblivious; each ready set at the site where its tasks would finish first, transfers included
(policies/sited.py). Without sites it is a set-level earliest-finish policy over the one platform."""

from __future__ import annotations

from hetflow.policies.sited import Grid, SitePolicy


class Fastest(SitePolicy):
    name = "fastest"

    def __init__(self, grid: Grid | None = None) -> None:
        super().__init__(grid)
