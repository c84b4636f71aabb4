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
        self._pass = -1
        self._reserved: dict[int, float] = {}  # node -> when the tasks that chose to wait for it are done

    def priority(self, s: SetState, engine: Engine) -> tuple[float, ...]:
        return (-s.rank, s.seq)

    def place(self, s: SetState, engine: Engine) -> Iterator[Placement]:
        led = engine.ledger
        now = engine.now
        if engine.passes != self._pass:  # reservations last one scheduling pass
            self._pass, self._reserved = engine.passes, {}
        reserved = self._reserved
        waiting = 0  # tasks of this set that chose to wait for a busy node
        while s.counts[1] > waiting:
            best: tuple[float, int, int, int] | None = None  # (finish, waits, node, option)
            for option, opt in enumerate(s.options):
                need = opt.resources
                for i in self._nodes.nodes(engine, s, option):
                    dur = opt.runtime / led.nodes[i].speed
                    if i not in reserved and led.fit_count(i, need, 1):
                        cand = (now + dur, 0, i, option)
                    elif engine.idle or (best is not None and now + dur >= best[0]):
                        continue  # nothing runs, so no event would end a wait; or it could not beat the best
                    else:
                        start = max(engine.available_at(i, need), reserved.get(i, now))
                        cand = (start + dur, 1, i, option)
                    if best is None or cand < best:
                        best = cand
            if best is None:
                return
            finish, waits, node, option = best
            if waits:  # waiting for that node finishes sooner: hold the task, and the node for it
                reserved[node] = finish
                waiting += 1
                continue
            yield node, option, led.fit_count(node, s.options[option].resources, s.counts[1] - waiting)
