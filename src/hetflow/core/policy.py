"""The plug-in interface of scheduling policies: which ready set goes first, and onto which nodes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from hetflow.core.view import PlacementView, ReadySet

Placement = tuple[int, int, int]  # (node index, variant index, number of tasks)


class Policy(Protocol):
    """Ordering (priority) and placement (place) of ready tasks. One instance serves one engine.

    Both get the set (read-only) and the placement view of its partition (core/view.py): what a policy sees is
    what it may use."""

    name: str

    def priority(self, s: ReadySet, view: PlacementView) -> tuple[float, ...]:
        """Sort key of a set when it is released; smaller goes first."""
        ...

    def place(self, s: ReadySet, view: PlacementView) -> Iterator[Placement]:
        """Placements for the set's ready tasks that fit now; the engine applies each before asking for the next."""
        ...
