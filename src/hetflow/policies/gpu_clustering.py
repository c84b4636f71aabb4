"""gpu-clustering: release order; a GPU task goes first to nodes that hold only tasks of its GPU share, then to
nodes that hold its share among others, then to nodes with no GPU task, last to nodes holding other shares; within
each class, the node with the least free GPU left (the FGD paper's "GPU clustering" baseline). Tasks without GPUs:
lowest index.

The shares on a node are what this policy placed there (it sees its own placements, not departures), which is
exact in trace replay (`hetflow pack`, no departures) and an approximation in a run where tasks end.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from hetflow.core.policy import Placement
from hetflow.core.view import PlacementView, ReadySet
from hetflow.policies.scored import place_by_key
from hetflow.spec.resources import Resources


class GpuClustering:
    name = "gpu-clustering"
    greedy = True

    def __init__(self) -> None:
        self._shares: dict[int, Counter[int]] = {}  # node -> GPU units per task -> tasks placed

    def priority(self, s: ReadySet, view: PlacementView) -> tuple[float, ...]:
        return (s.seq,)

    def place(self, s: ReadySet, view: PlacementView) -> Iterator[Placement]:
        free_gpu, shares = view.free_gpu_units, self._shares
        empty: Counter[int] = Counter()

        def key(i: int, need: Resources) -> tuple[int, int]:
            g = need.gpu_units
            if not g:
                return (0, 0)
            on = shares.get(i, empty)
            if on[g]:
                rank = 0 if len(on) == 1 else 1
            else:
                rank = 2 if not on else 3
            return (rank, free_gpu[i])

        for node, variant, n in place_by_key(s, view, key):
            g = s.variants[variant].resources.gpu_units
            if g:
                shares.setdefault(node, Counter())[g] += n
            yield node, variant, n
