"""Placement helpers shared by the policies: which nodes a way of running may use, and first-fit."""

from __future__ import annotations

from collections.abc import Iterator

from hetflow.core.engine import Engine, SetState
from hetflow.core.policy import Placement


class NodeFilter:
    """Caches, per set and option, the nodes that option may ever use (recomputed when nodes join or leave)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[int, int], tuple[int, list[int]]] = {}

    def nodes(self, engine: Engine, st: SetState, option: int) -> list[int]:
        stamp = len(engine.nodes) * 2 + sum(engine.ledger.alive)
        hit = self._cache.get((st.sid, option))
        if hit is not None and hit[0] == stamp:
            return hit[1]
        usable = [i for i in range(len(engine.nodes)) if engine.usable(st.options[option], i)]
        self._cache[st.sid, option] = (stamp, usable)
        return usable

    def first_option(self, engine: Engine, st: SetState) -> int:
        """The first way of running the set that some node can hold (the default when it fits anywhere)."""
        for k in range(len(st.options)):
            if self.nodes(engine, st, k):
                return k
        return 0


def first_fit(engine: Engine, st: SetState, option: int, nodes: list[int]) -> Iterator[Placement]:
    """Fill nodes in order with as many ready tasks as fit."""
    need = st.options[option].resources
    led = engine.ledger
    c, g = need.cores, need.gpu_units
    free_cores, free_gpu = led.free_cores, led.free_gpu_total
    if c and len(nodes) == led.n_alive:
        nodes = list(led.open_nodes)  # every live node is usable: visit only those with a free core
    for i in nodes:
        if free_cores[i] < c or free_gpu[i] < g:
            continue
        left = st.counts[1]
        if not left:
            return
        k = led.fit_count(i, need, left)
        if k:
            yield i, option, k
