"""Sampled run times: what each task of a simulation really takes when run times vary (DESIGN.md, "Variable run
times").

The engine estimates with a set's median run time and launches its tasks grouped; the simulated executor then ends
each task at its own time. A task's draws are made once, when its set is submitted, in submission order from one
numpy Generator: its run time from the set's distribution, and a standard normal that becomes its speed factor on
whichever node it lands (exp(sigma z), median 1, sigma from the node type's speed_jitter). So a seed gives the same
schedule every time, and two policies simulated with one seed see the same tasks (common random numbers). A retried
attempt runs as long as the first; a variant keeps its fixed run time (jitter still applies).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from hetflow.core.instructions import LaunchGroup
from hetflow.spec.distribution import lognormal_factor_sigma
from hetflow.spec.platform import Node, Platform
from hetflow.spec.workflow import TaskSet, Workflow

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt


def varies(workflow: Workflow, platform: Platform) -> bool:
    """True when some run time of the workflow on the platform is drawn: a set with a distribution, or jitter."""
    return any(t.speed_jitter > 0 for t in platform.node_types) or any(
        s.runtime_dist is not None and s.runtime_dist.kind != "fixed" for s in workflow.sets
    )


class Draws:
    """Each task's drawn run time and speed factor, and the durations of a launch from them."""

    def __init__(self, nodes: Sequence[Node], platform: Platform, seed: int | None) -> None:
        import numpy as np

        self.rng = np.random.default_rng(seed)
        sigma = {t.type: lognormal_factor_sigma(t.speed_jitter) for t in platform.node_types}
        self.speed = [n.speed for n in nodes]
        self.sigma = [sigma.get(n.type, 0.0) for n in nodes]  # per node index
        self.jitter = any(self.sigma)
        self.runtime: dict[str, npt.NDArray[np.float64]] = {}  # set -> each task's run time at speed 1
        self.z: dict[str, npt.NDArray[np.float64]] = {}  # set -> each task's standard normal for its speed factor

    def add(self, sets: Sequence[TaskSet]) -> None:
        """Draw for the tasks of newly submitted sets."""
        for s in sets:
            if s.runtime_dist is not None and s.runtime_dist.kind != "fixed":
                self.runtime[s.name] = s.runtime_dist.sample(self.rng, s.count)
            if self.jitter:
                self.z[s.name] = self.rng.standard_normal(s.count)

    def durations(self, g: LaunchGroup) -> list[tuple[int, int, float]] | None:
        """(node, index, duration) of every task of a launch; None when they all take g.duration (the grouped path)."""
        import numpy as np

        drawn = self.runtime.get(g.set) if g.variant == 0 else None
        z = self.z.get(g.set)
        if drawn is None and z is None:
            return None
        out: list[tuple[int, int, float]] = []
        for node, a, b, _ in g.parts:
            d = drawn[a:b] / self.speed[node] if drawn is not None else np.full(b - a, g.duration)
            if z is not None and self.sigma[node]:
                d = d * np.exp(self.sigma[node] * z[a:b])
            out += zip([node] * (b - a), range(a, b), d.tolist(), strict=True)
        return out
