"""gpu-packing: release order; GPU tasks first onto GPUs already shared, then onto free GPUs of nodes already in
use, and only then onto idle nodes (the FGD paper's "GPU packing" baseline). Tasks without GPUs: lowest index.

Within the first class, the node whose GPUs the task would use have the least room left wins; within the second, the
node that needs the fewest wholly free GPUs for it; within the third, the node with the fewest GPUs.
"""

from __future__ import annotations

from collections.abc import Iterator

from hetflow.core.policy import Placement
from hetflow.core.view import PlacementView, ReadySet
from hetflow.policies.scored import gpu_slots, place_by_key
from hetflow.spec.resources import GPU_UNIT, Resources


class GpuPacking:
    name = "gpu-packing"
    greedy = True

    def priority(self, s: ReadySet, view: PlacementView) -> tuple[float, ...]:
        return (s.seq,)

    def place(self, s: ReadySet, view: PlacementView) -> Iterator[Placement]:
        free_gpu, nodes = view.free_gpu, view.nodes

        def key(i: int, need: Resources) -> tuple[int, int]:
            k, per = gpu_slots(need, GPU_UNIT)
            if not k:
                return (0, 0)
            gpus = free_gpu[i]
            if all(f == GPU_UNIT for f in gpus):
                return (3, nodes[i].gpu_units)  # an idle node
            chosen = sorted(f for f in gpus if f >= per)[:k]  # the fullest GPUs that still hold it
            whole = sum(1 for f in chosen if f == GPU_UNIT)
            if whole:
                return (2, whole)
            return (1, sum(chosen))

        return place_by_key(s, view, key)
