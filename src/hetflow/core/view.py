"""What a policy may see: a read-only view of the set it orders or places, and a placement view of the nodes scoped
to that set's partition.

The engine hands a policy one PlacementView per set, with the set's partition built in: fit_count and available_at
count only what the partition's share of a node still holds, so a policy cannot place outside its partition, and
sees no more of the engine than placing needs. The per-node counters are the ledger's own lists (read-only, no
copies: first-fit reads them in its hot loop); they ignore partitions, which is why `scoped` says whether they may be
trusted alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from hetflow.spec.platform import Node
from hetflow.spec.resources import Resources
from hetflow.spec.workflow import Variant


class Link(Protocol):
    """The network from one site to another (spec.site.Link): latency in s, bandwidth in bytes per s."""

    @property
    def latency(self) -> float: ...

    @property
    def bandwidth(self) -> float: ...


class Links(Protocol):
    """The links between the sites of a run (spec.site.Sites), and its origin: where the workflow's inputs are."""

    @property
    def origin(self) -> str: ...

    def link(self, a: str, b: str, /) -> Link: ...


class ReadySet(Protocol):
    """A task set as a policy sees it."""

    @property
    def name(self) -> str: ...

    @property
    def sid(self) -> int:
        """Its id: declaration order, unique in a run."""
        ...

    @property
    def count(self) -> int: ...

    @property
    def variants(self) -> tuple[Variant, ...]:
        """The ways to run its tasks; a placement names one by index."""
        ...

    @property
    def rank(self) -> float:
        """Longest remaining path from it, its own run time included."""
        ...

    @property
    def seq(self) -> int:
        """Release order."""
        ...

    @property
    def n_ready(self) -> int:
        """Its tasks that may be placed now."""
        ...


class PlacementView(Protocol):
    """The nodes as a policy placing one set may see them, within that set's partition."""

    @property
    def now(self) -> float: ...

    @property
    def idle(self) -> bool:
        """Nothing runs (so no event would end a wait for a busy node)."""
        ...

    @property
    def passes(self) -> int:
        """The number of the current scheduling pass (the ledger only shrinks within one)."""
        ...

    @property
    def nodes(self) -> Sequence[Node]:
        """Every node by index, gone ones included (their speed and type, for instance)."""
        ...

    @property
    def live_nodes(self) -> int:
        """How many nodes are alive."""
        ...

    @property
    def scoped(self) -> bool:
        """The per-node counters below do not say alone what fits: the set belongs to a partition (they are not all
        it may use), or some node is in MIG mode or knows its GPU memory. Ask fit_count then."""
        ...

    @property
    def free_cores(self) -> Sequence[int]: ...

    @property
    def whole_free(self) -> Sequence[int]:
        """Per node: GPUs that are wholly free."""
        ...

    @property
    def free_gpu(self) -> Sequence[Sequence[int]]:
        """Per node, per GPU: free GPU units (on a MIG node, what its instances leave; not all of it may fit one)."""
        ...

    @property
    def free_gpu_units(self) -> Sequence[int]:
        """Per node: free GPU units over all its GPUs."""
        ...

    @property
    def open_nodes(self) -> Sequence[int]:
        """Live nodes with a free core, in index order."""
        ...

    def usable_nodes(self, s: ReadySet, variant: int) -> Sequence[int]:
        """The live nodes that variant of the set may ever use (node type, big enough) and its inputs have reached
        (core/staging.py), in index order."""
        ...

    def eligible_nodes(self, s: ReadySet, variant: int, /) -> Sequence[int]:
        """The live nodes that variant of the set may ever use, whether or not its inputs have reached them."""
        ...

    def arrival(self, s: ReadySet, node: int, /) -> float:
        """When the set's inputs are all at the node's site (now when they are there: always without sites).
        A node's site is view.nodes[node].site."""
        ...

    def link(self, src: str, dst: str, /) -> Link | None:
        """The link from one site to another (latency, bandwidth; within a site a free one); None without sites."""
        ...

    def fit_count(self, node: int, need: Resources, limit: int = ..., /) -> int:
        """How many tasks needing `need` fit on the node now, within the partition (at most limit)."""
        ...

    def available_at(self, node: int, need: Resources, /) -> float:
        """Estimated time one more such task fits on the node, within the partition (inf: never)."""
        ...

    def cold_start(self, s: ReadySet, variant: int, node: int, /) -> float:
        """Expected s a task run that way would wait on the node now for its image to be deployed (core/deploy.py)."""
        ...


class FitCount(Protocol):
    """PlacementView.fit_count as a value (the engine binds the ledger's own when there are no partitions)."""

    def __call__(self, node: int, need: Resources, limit: int = ..., /) -> int: ...


class AvailableAt(Protocol):
    """PlacementView.available_at as a value."""

    def __call__(self, node: int, need: Resources, /) -> float: ...
