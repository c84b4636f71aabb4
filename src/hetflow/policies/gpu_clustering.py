"""gpu-clustering: release order; a GPU task goes first to nodes that hold only tasks of its kind, then to nodes that
hold its kind among others, then to nodes with no GPU task, last to nodes holding other shares; within
each class, the node with the least free GPU left (the FGD paper's "GPU clustering" baseline). A task's kind is
"a fraction of a GPU" (any fraction) or its number of whole GPUs. Tasks without GPUs: lowest index.

The kinds on a node are what this policy placed there (it sees its own placements, not departures), which is
exact in trace replay (`hetflow pack`, no departures) and an approximation in a run where tasks end.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from hetflow.core.policy import Placement
from hetflow.core.view import PlacementView, ReadySet
from hetflow.policies.scored import place_by_key
from hetflow.spec.resources import GPU_UNIT, Resources


def kind(gpu_units: int) -> int:
    """-1 for a fraction of a GPU, else the number of whole GPUs (0: none)."""
    return -1 if 0 < gpu_units < GPU_UNIT else gpu_units // GPU_UNIT


class GpuClustering:
    name = "gpu-clustering"
    greedy = True

    def __init__(self) -> None:
        self._kinds: dict[int, Counter[int]] = {}  # node -> kind -> tasks placed

    def priority(self, s: ReadySet, view: PlacementView) -> tuple[float, ...]:
        return (s.seq,)

    def place(self, s: ReadySet, view: PlacementView) -> Iterator[Placement]:
        free_gpu, kinds = view.free_gpu_units, self._kinds
        empty: Counter[int] = Counter()

        def key(i: int, need: Resources) -> tuple[int, int]:
            g = kind(need.gpu_units)
            if not g:
                return (0, 0)
            on = kinds.get(i, empty)
            if on[g]:
                return (0 if len(on) == 1 else 1, free_gpu[i])
            return (3 if on else 2, free_gpu[i])

        for node, variant, n in place_by_key(s, view, key):
            g = kind(s.variants[variant].resources.gpu_units)
            if g:
                kinds.setdefault(node, Counter())[g] += n
            yield node, variant, n
