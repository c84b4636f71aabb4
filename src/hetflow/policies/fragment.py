"""GPU fragmentation as the FGD paper defines it (Weng et al., USENIX ATC 2023, section 4), over the placement view.

A node's fragment with respect to a task shape is the free GPU capacity that task could not use there: all of the
node's free GPU units when the task cannot run on the node at all (too few free cores, or too few GPUs with room for
its per-GPU share), else the free units of each GPU with less room than that share. A task without GPUs that still
fits leaves no fragment. The node's expected fragmentation is the mean of that over the distribution of task shapes;
fgd places a task where it raises the expected fragmentation least.

Shapes are (cores, GPU units); memory is not part of the definition (the paper counts CPU and GPU only). A node's
state is (free cores, free units of each GPU); the fragment of a state for every shape is kept as one vector, so the
expected fragmentation of a state under the current weights is one dot product.
"""

from __future__ import annotations

import numpy as np

from hetflow.spec.resources import GPU_UNIT, Resources

State = tuple[int, tuple[int, ...]]  # (free cores, free units of each GPU)
Shape = tuple[int, int]  # (cores, GPU units)
MAX_STATES = 200_000  # fragment vectors kept (a replay of the production trace visits about 30,000 states)


def fragment(state: State, shape: Shape) -> int:
    """The free GPU units of a node in `state` that one task of `shape` could not use."""
    cores, gpus = state
    c, g = shape
    total = sum(gpus)
    if cores < c:
        return total
    if not g:
        return 0
    k, per = (1, g) if g <= GPU_UNIT else (-(-g // GPU_UNIT), GPU_UNIT)
    if sum(1 for f in gpus if f >= per) < k:
        return total
    return sum(f for f in gpus if f < per)


def after(state: State, need: Resources) -> State:
    """The state once the ledger grants one task of `need` (core/ledger.py: a fraction goes to the fullest GPU that
    holds it, whole GPUs are the first wholly free ones, in order)."""
    cores, gpus = state
    g = need.gpu_units
    free = list(gpus)
    whole, part = divmod(g, GPU_UNIT)
    taken: set[int] = set()
    for j, f in enumerate(free):
        if len(taken) == whole:
            break
        if f == GPU_UNIT:
            taken.add(j)
    for j in taken:
        free[j] = 0
    if part:
        best = min((j for j, f in enumerate(free) if f >= part and j not in taken), key=lambda j: (free[j], j))
        free[best] -= part
    return cores - need.cores, tuple(free)


class ShapeMix:
    """The distribution of task shapes (counts by shape) and each state's fragment vector over those shapes."""

    def __init__(self) -> None:
        self.shapes: list[Shape] = []
        self._index: dict[Shape, int] = {}
        self._counts: list[float] = []
        self._weights: np.ndarray = np.zeros(0)
        self._stale = False
        self._vectors: dict[State, np.ndarray] = {}

    def add(self, shape: Shape, count: float) -> None:
        """Count `count` more tasks of `shape`."""
        j = self._index.get(shape)
        if j is None:
            j = self._index[shape] = len(self.shapes)
            self.shapes.append(shape)
            self._counts.append(0.0)
        self._counts[j] += count
        self._stale = True

    @property
    def weights(self) -> np.ndarray:
        """The probability of each shape, in `shapes` order."""
        if self._stale:
            counts = np.array(self._counts)
            self._weights = counts / counts.sum()
            self._stale = False
        return self._weights

    def expected(self, state: State) -> float:
        """The expected fragment of a node in `state` (GPU units)."""
        vec = self._vectors.get(state)
        n = len(self.shapes)
        if vec is None and len(self._vectors) >= MAX_STATES:
            self._vectors.clear()  # a long run's states: start over rather than grow without bound
        if vec is None or len(vec) < n:
            done = 0 if vec is None else len(vec)
            more = np.array([fragment(state, s) for s in self.shapes[done:]], dtype=float)
            vec = more if vec is None else np.concatenate((vec, more))
            self._vectors[state] = vec
        return float(vec @ self.weights)
