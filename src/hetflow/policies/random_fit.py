"""random: release order; each task on a node drawn uniformly among those it fits on now (the FGD paper's floor).

Seeded (random.Random), so a replay or a simulation with the same seed places the same way.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from hetflow.core.policy import Placement
from hetflow.core.view import PlacementView, ReadySet
from hetflow.policies.fit import first_variant


class RandomFit:
    name = "random"
    greedy = False  # its answer depends on the draw, not only on the set's shape and the view

    def __init__(self, seed: int = 0) -> None:
        self._rng = random.Random(seed)

    def priority(self, s: ReadySet, view: PlacementView) -> tuple[float, ...]:
        return (s.seq,)

    def place(self, s: ReadySet, view: PlacementView) -> Iterator[Placement]:
        variant = first_variant(view, s)
        need = s.variants[variant].resources
        nodes = view.usable_nodes(s, variant)
        while s.n_ready:
            fits = [i for i in nodes if view.fit_count(i, need, 1)]
            if not fits:
                return
            yield self._rng.choice(fits), variant, 1
