"""The plug-in interface of scheduling policies: which ready set goes first, and onto which nodes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from hetflow.core.view import PlacementView, ReadySet

Placement = tuple[int, int, int]  # (node index, variant index, number of tasks)


class Policy(Protocol):
    """Ordering (priority) and placement (place) of ready tasks. One instance serves one engine.

    Both get the set (read-only) and the placement view of its partition (core/view.py): what a policy sees is
    what it may use.

    A policy may also say `greedy = True` (a class attribute): place() places every ready task that fits now, and
    only those, and its answer depends on the set's shape (ways to run, partition) and the view alone; then a set
    that keeps ready tasks tells the dispatcher that nothing of its shape fits until the pass ends (core/dispatch.py).
    Without it, every queued set is offered to place() in every pass."""

    name: str

    def priority(self, s: ReadySet, view: PlacementView) -> tuple[float, ...]:
        """Sort key of a set when it is released; smaller goes first."""
        ...

    def place(self, s: ReadySet, view: PlacementView) -> Iterator[Placement]:
        """Placements for the set's ready tasks that fit now; the engine applies each before asking for the next."""
        ...
