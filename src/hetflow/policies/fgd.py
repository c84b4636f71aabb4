"""fgd: fragmentation gradient descent (Weng et al., USENIX ATC 2023). Release order; each task on the node whose
expected GPU fragmentation (policies/fragment.py) grows least when the task lands there, the expectation taken over
the shapes of the tasks seen so far (each set counted once, with its number of tasks, when first offered).

Ties (equal growth) go to the lowest node index. Variants tried on the multigpu50 trace did not leave fewer GPUs
unallocated (best-fit tie-breaks, coarser ties, a demand-weighted mix): DESIGN.md, "Packing policies".
"""

from __future__ import annotations

from collections.abc import Iterator

from hetflow.core.policy import Placement
from hetflow.core.view import PlacementView, ReadySet
from hetflow.policies.fragment import ShapeMix, State, after
from hetflow.policies.scored import place_by_key
from hetflow.spec.resources import Resources


class Fgd:
    name = "fgd"
    greedy = True

    def __init__(self) -> None:
        self.mix = ShapeMix()
        self._seen: set[int] = set()

    def priority(self, s: ReadySet, view: PlacementView) -> tuple[float, ...]:
        return (s.seq,)

    def place(self, s: ReadySet, view: PlacementView) -> Iterator[Placement]:
        if s.sid not in self._seen:
            self._seen.add(s.sid)
            r = s.variants[0].resources
            self.mix.add((r.cores, r.gpu_units), s.count)
        free_cores, free_gpu = view.free_cores, view.free_gpu
        expected = self.mix.expected
        deltas: dict[State, float] = {}  # per pass over the nodes: many nodes share a state

        def key(i: int, need: Resources) -> float:
            state = (free_cores[i], tuple(free_gpu[i]))
            d = deltas.get(state)
            if d is None:
                d = deltas[state] = expected(after(state, need)) - expected(state)
            return round(d, 6)  # equal growth computed in a different order must tie

        yield from place_by_key(s, view, key)
