"""fifo: release order; each task on the first node where it fits; later tasks fill the holes (backfill)."""

from __future__ import annotations

from collections.abc import Iterator

from hetflow.core.engine import Engine, SetState
from hetflow.core.policy import Placement
from hetflow.policies._fit import FirstFit, NodeFilter


class Fifo:
    name = "fifo"

    def __init__(self) -> None:
        self._nodes = NodeFilter()
        self._fit = FirstFit()

    def priority(self, s: SetState, engine: Engine) -> tuple[float, ...]:
        return (s.seq,)

    def place(self, s: SetState, engine: Engine) -> Iterator[Placement]:
        option = self._nodes.first_option(engine, s)
        return self._fit.place(engine, s, option, self._nodes.nodes(engine, s, option))
