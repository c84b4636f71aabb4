"""best-fit: release order; each task on the node it leaves with the least free capacity (GPUs first, then cores).

Packing tasks tightly keeps whole nodes and whole GPUs free for the large tasks that come later.
"""

from __future__ import annotations

from collections.abc import Iterator

from hetflow.core.engine import Engine, SetState
from hetflow.core.policy import Placement
from hetflow.policies._fit import NodeFilter


class BestFit:
    name = "best-fit"

    def __init__(self) -> None:
        self._nodes = NodeFilter()

    def priority(self, s: SetState, engine: Engine) -> tuple[float, ...]:
        return (s.seq,)

    def place(self, s: SetState, engine: Engine) -> Iterator[Placement]:
        option = self._nodes.first_option(engine, s)
        need = s.options[option].resources
        led = engine.ledger
        nodes = self._nodes.nodes(engine, s, option)
        while s.counts[1]:
            best, best_key = -1, (0, 0, 0)
            for i in nodes:
                if led.fit_count(i, need, 1):
                    key = (led.free_gpu_total[i] - need.gpu_units, led.free_cores[i] - need.cores, i)
                    if best < 0 or key < best_key:
                        best, best_key = i, key
            if best < 0:
                return
            yield best, option, led.fit_count(best, need, s.counts[1])
