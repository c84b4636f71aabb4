"""fifo: release order; each task on the first node where it fits; later tasks fill the holes (backfill)."""

from __future__ import annotations

from collections.abc import Iterator

from hetflow.core.policy import Placement
from hetflow.core.view import PlacementView, ReadySet
from hetflow.policies.fit import FirstFit, first_variant


class Fifo:
    name = "fifo"
    greedy = True  # places every ready task that fits now (core/policy.py)

    def __init__(self) -> None:
        self._fit = FirstFit()

    def priority(self, s: ReadySet, view: PlacementView) -> tuple[float, ...]:
        return (s.seq,)

    def place(self, s: ReadySet, view: PlacementView) -> Iterator[Placement]:
        variant = first_variant(view, s)
        return self._fit.place(view, s, variant, view.usable_nodes(s, variant))
