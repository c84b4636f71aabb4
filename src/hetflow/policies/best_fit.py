"""best-fit: release order; each task on the node it leaves with the least free capacity (GPUs first, then cores).

Packing tasks tightly keeps whole nodes and whole GPUs free for the large tasks that come later.
"""

from __future__ import annotations

from collections.abc import Iterator

from hetflow.core.policy import Placement
from hetflow.core.view import PlacementView, ReadySet
from hetflow.policies.fit import first_variant


class BestFit:
    name = "best-fit"
    greedy = True  # places every ready task that fits now (core/policy.py)

    def priority(self, s: ReadySet, view: PlacementView) -> tuple[float, ...]:
        return (s.seq,)

    def place(self, s: ReadySet, view: PlacementView) -> Iterator[Placement]:
        variant = first_variant(view, s)
        need = s.variants[variant].resources
        nodes = view.usable_nodes(s, variant)
        fit_count, free_gpu, free_cores = view.fit_count, view.free_gpu_units, view.free_cores
        while s.n_ready:
            best, best_key = -1, (0, 0, 0)
            for i in nodes:
                if fit_count(i, need, 1):
                    key = (free_gpu[i] - need.gpu_units, free_cores[i] - need.cores, i)
                    if best < 0 or key < best_key:
                        best, best_key = i, key
            if best < 0:
                return
            yield best, variant, fit_count(best, need, s.n_ready)
