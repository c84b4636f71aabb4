"""The plug-in interface of scheduling policies: which ready set goes first, and onto which nodes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from hetflow.core.engine import Engine, SetState

Placement = tuple[int, int, int]  # (node index, option index, number of tasks)


class Policy(Protocol):
    """Ordering (priority) and placement (place) of ready tasks. One instance serves one engine."""

    name: str

    def priority(self, s: SetState, engine: Engine) -> tuple[float, ...]:
        """Sort key of a set when it is released; smaller goes first."""
        ...

    def place(self, s: SetState, engine: Engine) -> Iterator[Placement]:
        """Placements for the set's ready tasks that fit now; the engine applies each before asking for the next."""
        ...
