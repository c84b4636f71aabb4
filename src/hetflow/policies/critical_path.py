"""critical-path: the set with the longest remaining path goes first; first-fit placement with backfill."""

from __future__ import annotations

from hetflow.core.view import PlacementView, ReadySet
from hetflow.policies.fifo import Fifo


class CriticalPath(Fifo):
    name = "critical-path"

    def priority(self, s: ReadySet, view: PlacementView) -> tuple[float, ...]:
        return (-s.rank, s.seq)
