"""critical-path: the set with the longest remaining path goes first; first-fit placement with backfill."""

from __future__ import annotations

from hetflow.core.engine import Engine, SetState
from hetflow.policies.fifo import Fifo


class CriticalPath(Fifo):
    name = "critical-path"

    def priority(self, s: SetState, engine: Engine) -> tuple[float, ...]:
        return (-s.rank, s.seq)
