"""heft: the set with the longest remaining path first; each task where it finishes earliest, over nodes of
different speed and over the set's variants. A task waits for a busy node when that still finishes it sooner.
"""

from __future__ import annotations

from collections.abc import Iterator

from hetflow.core.engine import Engine, SetState
from hetflow.core.policy import Placement
from hetflow.policies._fit import NodeFilter


class Heft:
    name = "heft"

    def __init__(self) -> None:
        self._nodes = NodeFilter()

    def priority(self, s: SetState, engine: Engine) -> tuple[float, ...]:
        return (-s.rank, s.seq)

    def place(self, s: SetState, engine: Engine) -> Iterator[Placement]:
        led = engine.ledger
        now = engine.now
        while s.counts[1]:
            best: tuple[float, int, int, int] | None = None  # (finish, waits, node, option)
            for option, opt in enumerate(s.options):
                need = opt.resources
                for i in self._nodes.nodes(engine, s, option):
                    dur = opt.runtime / led.nodes[i].speed
                    if led.fit_count(i, need, 1):
                        cand = (now + dur, 0, i, option)
                    elif best is not None and now + dur >= best[0]:
                        continue  # even starting now it would not beat the best
                    else:
                        cand = (engine.available_at(i, need) + dur, 1, i, option)
                    if best is None or cand < best:
                        best = cand
            if best is None or best[1]:
                return  # nothing fits now, or waiting for a busy node finishes sooner
            _, _, node, option = best
            yield node, option, led.fit_count(node, s.options[option].resources, s.counts[1])
