"""dot-product: release order; each task on the node whose free (cores, GPUs) vector has the smallest dot product
with the task's request, both scaled by the largest node (the FGD paper's "dot-product" baseline, after Tetris).

A small product means the task asks for what the node has little of, so the node's resources are used evenly.
"""

from __future__ import annotations

from collections.abc import Iterator

from hetflow.core.policy import Placement
from hetflow.core.view import PlacementView, ReadySet
from hetflow.policies.scored import place_by_key
from hetflow.spec.resources import Resources


class DotProduct:
    name = "dot-product"
    greedy = True

    def priority(self, s: ReadySet, view: PlacementView) -> tuple[float, ...]:
        return (s.seq,)

    def place(self, s: ReadySet, view: PlacementView) -> Iterator[Placement]:
        nodes = view.nodes
        max_cores = max((n.cores for n in nodes), default=1) or 1
        max_gpu = max((n.gpu_units for n in nodes), default=1) or 1
        free_cores, free_gpu = view.free_cores, view.free_gpu_units

        def key(i: int, need: Resources) -> float:
            return (free_cores[i] / max_cores) * (need.cores / max_cores) + (free_gpu[i] / max_gpu) * (
                need.gpu_units / max_gpu
            )

        return place_by_key(s, view, key)
