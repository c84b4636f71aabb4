"""Placement helpers shared by the policies: which nodes a way of running may use, and first-fit."""

from __future__ import annotations

from collections.abc import Iterator

from hetflow.core.engine import Engine, SetState
from hetflow.core.policy import Placement
from hetflow.spec.resources import GPU_UNIT


class NodeFilter:
    """Caches, per set and option, the nodes that option may ever use (recomputed when nodes join or leave)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[int, int], tuple[int, list[int]]] = {}

    def nodes(self, engine: Engine, st: SetState, option: int) -> list[int]:
        stamp = engine.ledger.epoch
        hit = self._cache.get((st.sid, option))
        if hit is not None and hit[0] == stamp:
            return hit[1]
        alive, opt = engine.ledger.alive, st.options[option]
        shapes: dict[tuple[str, int, int, int], bool] = {}  # usable() reads only these, and whether it is alive
        usable = []
        for i, n in enumerate(engine.nodes):
            if alive[i]:
                shape = (n.type, n.cores, n.gpu_units, n.memory)
                ok = shapes.get(shape)
                if ok is None:
                    ok = shapes[shape] = engine.usable(opt, i)
                if ok:
                    usable.append(i)
        self._cache[st.sid, option] = (stamp, usable)
        return usable

    def first_option(self, engine: Engine, st: SetState) -> int:
        """The first way of running the set that some node can hold (the default when it fits anywhere)."""
        for k in range(len(st.options)):
            if self.nodes(engine, st, k):
                return k
        return 0


class FirstFit:
    """First-fit: fill nodes in order with as many ready tasks as fit (later sets backfill the holes).

    Within one scheduling pass the ledger only shrinks, so a need (cores, and whole GPUs or a fraction of one) that
    found no room on any live node finds none later in that pass, and neither does a need at least as large: such
    sets are not scanned again until the next pass.
    """

    def __init__(self) -> None:
        self._pass = -1
        self._full: list[tuple[int, int]] = []  # (cores, GPU units) that fit nowhere in this pass

    def place(self, engine: Engine, st: SetState, option: int, nodes: list[int]) -> Iterator[Placement]:
        need = st.options[option].resources
        led = engine.ledger
        c, g = need.cores, need.gpu_units
        if engine.passes != self._pass:
            self._pass, self._full = engine.passes, []
        every = len(nodes) == led.n_alive
        if c and every:
            nodes = list(led.open_nodes)  # every live node is usable: visit only those with a free core
        counts = st.counts
        if not c or need.memory or (g > GPU_UNIT and g % GPU_UNIT) or led.scope is not None:
            yield from _general(engine, st, option, nodes)
            return
        full = self._full
        if any(c >= fc and g >= fg for fc, fg in full):
            return
        w, whole, gpus = g // GPU_UNIT, led.whole_free, led.free_gpu
        free_cores, free_gpu = led.free_cores, led.free_gpu_total
        for i in nodes:  # cores, and whole GPUs or a fraction of one: counters say how many fit
            k = free_cores[i] // c
            if k and w:
                k = min(k, whole[i] // w)
            elif k and g:
                k = min(k, sum([f // g for f in gpus[i]])) if free_gpu[i] >= g else 0
            if k:
                left = counts[1]
                if not left:
                    return
                yield i, option, k if k < left else left
        if every and counts[1]:
            full.append((c, g))


def _general(engine: Engine, st: SetState, option: int, nodes: list[int]) -> Iterator[Placement]:
    """First-fit for any need, asking the ledger how many fit."""
    need = st.options[option].resources
    led = engine.ledger
    c, g = need.cores, need.gpu_units
    free_cores, free_gpu = led.free_cores, led.free_gpu_total
    for i in nodes:
        if free_cores[i] < c or free_gpu[i] < g:
            continue
        left = st.counts[1]
        if not left:
            return
        k = led.fit_count(i, need, left)
        if k:
            yield i, option, k
