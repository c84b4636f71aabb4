"""Deployment cost: what a node pays before it can run a task of an image for the first time (a container or a
function cold start), as the engine expects it.

A way to run a set (Variant) names its image (None: the set's name, so each function is its own container) and a
cold start, to which the node adds its own (`NodeType.cold_start`: starting any container there); zero: nothing to
deploy. The first task of an image on a node deploys it: that task, and every task of the image placed on the node
before the deployment is done, starts when it is done, holding its resources from its placement (as a real container
start does); later tasks are warm. A node with `keep_warm` forgets an image idle that long after the estimated end
of its last task there, and the next task pays again.

This is data, not a clock: the engine's `now` and its launches' estimated ends. The engine puts the expected delay
into each Launch / LaunchGroup (`cold_start`) and into its estimated end, so heft's `available_at` and the placement
view's `cold_start` (which the hha policy adds to its finish times) see it; the simulator applies it; a real
executor pays its own first-run cost, measured, not modelled.
"""

from __future__ import annotations

from hetflow.spec.platform import Node
from hetflow.spec.workflow import Variant

_NEVER = float("-inf")


def deployment(set_name: str, v: Variant, node: Node) -> tuple[str, float]:
    """(image, cold start in s) of running a task of the set this way on the node."""
    return v.image or set_name, v.cold_start + node.cold_start


class Deployments:
    """Per node, the images deployed there: image -> (when its deployment is done, the estimated end of its last
    task there). `declared` stays False until a set or a node declares a cold start, and then nothing is asked."""

    def __init__(self, nodes: list[Node]) -> None:
        self.nodes = nodes  # the ledger's, by index
        self.declared = False
        self._noted: tuple[Variant, ...] = ()  # the ways to run noted last
        self.on_node: list[dict[str, tuple[float, float]]] = []

    def add_node(self, node: Node) -> None:
        self.on_node.append({})
        self.declared = self.declared or node.cold_start > 0

    def note(self, variants: tuple[Variant, ...]) -> None:
        """A set with these ways to run was released (sets alike share theirs: a repeat is known at once)."""
        if not self.declared and variants is not self._noted:
            self._noted = variants
            self.declared = any(v.cold_start > 0 for v in variants)

    def delay(self, set_name: str, v: Variant, node: int, now: float) -> float:
        """The expected wait, from now, before a task run this way on the node may start."""
        nd = self.nodes[node]
        image, cost = deployment(set_name, v, nd)
        if not cost:
            return 0.0
        got = self.on_node[node].get(image)
        if got is None:
            return cost
        ready, last = got
        if nd.keep_warm is not None and now > max(ready, last) + nd.keep_warm:
            return cost  # idle too long: gone
        return max(0.0, ready - now)

    def use(self, set_name: str, v: Variant, node: int, now: float, delay: float, end: float) -> None:
        """Tasks run this way were placed on the node at now, waiting delay s (from `delay`), ending about `end`."""
        image, cost = deployment(set_name, v, self.nodes[node])
        if cost:
            deployed = self.on_node[node]
            _, last = deployed.get(image, (now, _NEVER))
            deployed[image] = (now + delay, max(last, end))
