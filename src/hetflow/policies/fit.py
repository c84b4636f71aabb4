"""Placement helpers shared by the policies: the first variant some node can hold, and first-fit."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from hetflow.core.policy import Placement
from hetflow.core.view import PlacementView, ReadySet
from hetflow.spec.resources import GPU_UNIT


def first_variant(view: PlacementView, s: ReadySet) -> int:
    """The first way of running the set that some node can hold (the default when it fits anywhere)."""
    n = len(s.variants)
    if n == 1:
        return 0  # the only one
    for k in range(n):
        if view.usable_nodes(s, k):
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

    def place(self, view: PlacementView, s: ReadySet, variant: int, nodes: Sequence[int]) -> Iterator[Placement]:
        need = s.variants[variant].resources
        c, g = need.cores, need.gpu_units
        if view.passes != self._pass:
            self._pass, self._full = view.passes, []
        every = len(nodes) == view.live_nodes
        left = s.n_ready  # the engine applies each placement in full before asking for the next
        if c and every:  # every live node is usable: visit only those with a free core
            # the engine's own list, which placing changes: a copy, unless one task is left (its placement ends this)
            nodes = view.open_nodes if left == 1 else list(view.open_nodes)
        if not c or need.memory or (g > GPU_UNIT and g % GPU_UNIT) or view.scoped:
            yield from plain_first_fit(view, s, variant, nodes)
            return
        full = self._full
        if full and any(c >= fc and g >= fg for fc, fg in full):
            return
        w, whole, gpus = g // GPU_UNIT, view.whole_free, view.free_gpu
        free_cores, free_gpu = view.free_cores, view.free_gpu_units
        if not left:
            return
        if not g:  # cores only: the same walk, with one comparison per node that has too few
            for i in nodes:
                if free_cores[i] >= c:
                    k = free_cores[i] // c
                    if k >= left:
                        yield i, variant, left
                        return
                    yield i, variant, k
                    left -= k
            if every and left:
                full.append((c, g))
            return
        for i in nodes:  # cores, and whole GPUs or a fraction of one: counters say how many fit
            k = free_cores[i] // c
            if k and w:
                k = min(k, whole[i] // w)
            elif k and g:
                k = min(k, sum([f // g for f in gpus[i]])) if free_gpu[i] >= g else 0
            if k:
                if k >= left:
                    yield i, variant, left
                    return
                yield i, variant, k
                left -= k
        if every and left:
            full.append((c, g))


def plain_first_fit(view: PlacementView, s: ReadySet, variant: int, nodes: Sequence[int]) -> Iterator[Placement]:
    """First-fit for any need, asking the view how many fit."""
    need = s.variants[variant].resources
    c, g = need.cores, need.gpu_units
    free_cores, free_gpu, fit_count = view.free_cores, view.free_gpu_units, view.fit_count
    for i in nodes:
        if free_cores[i] < c or free_gpu[i] < g:
            continue
        left = s.n_ready
        if not left:
            return
        k = fit_count(i, need, left)
        if k:
            yield i, variant, k
