"""The engine's PlacementView (core/view.py): the ledger as one partition (or a run without partitions) sees it.

The dispatcher keeps one view per partition and hands a policy the view of the set it places, so partitions are
enforced here, in fit_count and available_at, and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

from hetflow.core.estimate import Availability
from hetflow.core.ledger import MANY, Ledger
from hetflow.core.partitions import Partitions
from hetflow.core.staging import Staging
from hetflow.core.view import AvailableAt, FitCount, Link, ReadySet
from hetflow.spec.features import Features, Requirement
from hetflow.spec.platform import Node
from hetflow.spec.resources import Resources
from hetflow.spec.workflow import Variant


class NodeFilter:
    """Per way to run (node type, resources and required features), the live nodes it may ever use, less those paused
    (Ledger.pause: they take no new work for now); worked out once per shape, not per set (a run of a million
    one-task sets has a handful of shapes), and again when nodes join, leave, or are paused or resumed. The resources
    carry the GPU models a set allows and its GPU memory, so a set keeps to those models' nodes and to the sharing
    modes that can hold it (Ledger.could_ever_fit). A variant that requires features (spec/features.py) keeps to the
    nodes whose features satisfy it; the answer is cached with the rest, so variants requiring nothing cost nothing
    more."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._stamp = ledger.epoch
        self._cache: dict[tuple[str | None, Resources, Requirement | None], list[int]] = {}
        # the way to run asked about last, and its answer: sets alike share their Variant objects (core/sets.py), so
        # a run of one-task calls asks about the same one again and again (no key to make and hash)
        self._last: tuple[Variant | None, list[int]] = (None, [])

    def nodes(self, s: ReadySet, variant: int) -> list[int]:
        v = s.variants[variant]
        led = self.ledger
        if self._stamp != led.epoch:
            self._stamp, self._cache, self._last = led.epoch, {}, (None, [])
        last, usable = self._last
        if v is last:
            return usable
        req = v.requires
        key = (v.node_type, v.resources, req)
        got = self._cache.get(key)
        if got is not None:
            self._last = (v, got)
            return got
        # it may use a node by these only (its features only when the variant requires some)
        shapes: dict[tuple[str, int, int, int, str | None, str, Features | None], bool] = {}
        usable = []
        for i, n in enumerate(led.nodes):
            if led.taking[i]:
                features = n.features if req is not None else None
                shape = (n.type, n.cores, n.gpu_units, n.memory, n.gpu_model, n.gpu_sharing, features)
                ok = shapes.get(shape)
                if ok is None:
                    ok = shapes[shape] = (
                        (v.node_type is None or v.node_type == n.type)
                        and led.could_ever_fit(i, v.resources)
                        and (req is None or req.satisfied_by(features) is None)
                    )
                if ok:
                    usable.append(i)
        self._cache[key] = usable
        self._last = (v, usable)
        return usable


class LedgerView:
    """A PlacementView: the ledger within partition k of `partitions` (k = -1, partitions None: no partitions).

    fit_count and available_at are bound once, here: heft calls them hundreds of thousands of times a run, and
    without partitions they are the ledger's and the estimate's own methods, with no call in between."""

    __slots__ = (
        "_filter",
        "_k",
        "_ledger",
        "_parts",
        "_running",
        "_staging",
        "available_at",
        "cold_start",
        "eligible_nodes",
        "fit_count",
        "free_cores",
        "free_gpu",
        "free_gpu_units",
        "nodes",
        "now",
        "open_nodes",
        "passes",
        "usable_nodes",
        "whole_free",
    )

    def __init__(
        self,
        ledger: Ledger,
        estimate: Availability,
        usable: NodeFilter,
        partitions: Partitions | None = None,
        k: int = -1,
        staging: Staging | None = None,
    ) -> None:
        self._ledger = ledger
        self._parts = partitions
        self._k = k
        self._running = estimate.launches.records
        self.now = 0.0
        self.passes = 0
        self.nodes: Sequence[Node] = ledger.nodes
        self.free_cores: Sequence[int] = ledger.free_cores
        self.whole_free: Sequence[int] = ledger.whole_free
        self.free_gpu: Sequence[Sequence[int]] = ledger.free_gpu
        self.free_gpu_units: Sequence[int] = ledger.free_gpu_total
        self.open_nodes: Sequence[int] = ledger.open_nodes
        self._filter, self._staging = usable, staging
        self.eligible_nodes: Callable[[ReadySet, int], Sequence[int]] = usable.nodes
        self.usable_nodes: Callable[[ReadySet, int], Sequence[int]] = (
            usable.nodes if staging is None else self._usable_with_inputs
        )
        self.fit_count: FitCount = ledger.fit_count if partitions is None else self._fit_in_partition
        self.available_at: AvailableAt = (
            estimate.available_at if partitions is None else partial(estimate.available_at, k=k)
        )
        self.cold_start: Callable[[ReadySet, int, int], float] = estimate.cold_start

    @property
    def scoped(self) -> bool:
        """The per-node counters alone do not say what fits: a partition's share, MIG instances or GPU memory."""
        return self._parts is not None or self._ledger.counters_unsure

    def arrival(self, s: ReadySet, node: int) -> float:
        """When the set's inputs are all at the node's site (now when they are, or when the run has no sites)."""
        return self.now if self._staging is None else self._staging.arrival(s.sid, node, self.now)

    def link(self, src: str, dst: str) -> Link | None:
        """The link between two sites (None: the run has no sites)."""
        return None if self._staging is None else self._staging.links.link(src, dst)

    def _usable_with_inputs(self, s: ReadySet, variant: int) -> Sequence[int]:
        assert self._staging is not None
        return self._staging.arrived(s.sid, self._filter.nodes(s, variant), self.now)

    @property
    def idle(self) -> bool:
        return not self._running

    @property
    def live_nodes(self) -> int:
        return self._ledger.n_alive

    def _fit_in_partition(self, node: int, need: Resources, limit: int = MANY) -> int:
        parts = self._parts
        assert parts is not None
        limit = parts.fit(self._k, node, need, limit)
        return self._ledger.fit_count(node, need, limit) if limit else 0
