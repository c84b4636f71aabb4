"""Policies against a fake PlacementView: no engine, only what a policy may see. And the engine's views keep a
policy inside its set's partition whatever it asks."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import pytest

from hetflow.core.engine import Engine
from hetflow.core.instructions import Launch
from hetflow.core.partitions import Share
from hetflow.core.policy import Placement, Policy
from hetflow.core.stimuli import TasksSubmitted
from hetflow.core.view import PlacementView, ReadySet
from hetflow.errors import EngineError
from hetflow.policies import make_policy
from hetflow.spec.platform import Node
from hetflow.spec.resources import Resources
from hetflow.spec.workflow import Variant

from .conftest import node, ts


@dataclass
class FakeSet:
    name: str
    n_ready: int
    variants: tuple[Variant, ...]
    sid: int = 0
    seq: int = 0
    rank: float = 0.0

    @property
    def count(self) -> int:
        return self.n_ready


@dataclass
class FakeView:
    """CPU-only nodes; busy[i] is when node i frees all its cores (available_at's answer when a task does not fit)."""

    nodes: list[Node]
    free_cores: list[int]
    busy: dict[int, float] = field(default_factory=dict)
    now: float = 0.0
    passes: int = 1
    scoped: bool = False

    @property
    def idle(self) -> bool:
        return not self.busy

    @property
    def live_nodes(self) -> int:
        return len(self.nodes)

    @property
    def whole_free(self) -> Sequence[int]:
        return [0] * len(self.nodes)

    @property
    def free_gpu(self) -> Sequence[Sequence[int]]:
        return [[] for _ in self.nodes]

    @property
    def free_gpu_units(self) -> Sequence[int]:
        return [0] * len(self.nodes)

    @property
    def open_nodes(self) -> Sequence[int]:
        return [i for i, c in enumerate(self.free_cores) if c]

    def usable_nodes(self, s: ReadySet, variant: int) -> Sequence[int]:
        need = s.variants[variant].resources.cores
        return [i for i, n in enumerate(self.nodes) if n.cores >= need]

    def fit_count(self, node: int, need: Resources, limit: int = 1 << 62) -> int:
        return min(limit, self.free_cores[node] // need.cores)

    def available_at(self, node: int, need: Resources) -> float:
        return self.now if self.fit_count(node, need, 1) else self.busy.get(node, float("inf"))


def run(policy: Policy, s: FakeSet, view: FakeView) -> list[Placement]:
    """Apply each placement to the fake view before asking for the next, as the engine does."""
    got = []
    for i, variant, n in policy.place(s, view):
        got.append((i, variant, n))
        view.free_cores[i] -= n * s.variants[variant].resources.cores
        s.n_ready -= n
        if not s.n_ready:
            break
    return got


def cpu(cores: int, runtime: float = 10.0) -> tuple[Variant, ...]:
    return (Variant(Resources.of(cores), runtime),)


def test_fifo_fills_nodes_in_order() -> None:
    view = FakeView([node(f"n-{i}", cores=4) for i in range(3)], [0, 2, 4])
    s = FakeSet("A", 5, cpu(1))
    assert run(make_policy("fifo"), s, view) == [(1, 0, 2), (2, 0, 3)]
    assert view.free_cores == [0, 0, 1]


def test_fifo_in_a_scoped_view_asks_fit_count() -> None:
    view = FakeView([node(f"n-{i}", cores=4) for i in range(2)], [4, 4], scoped=True)
    view.fit_count = lambda node, need, limit=1 << 62: min(limit, 1)  # type: ignore[method-assign]
    assert run(make_policy("fifo"), FakeSet("A", 5, cpu(1)), view) == [(0, 0, 1), (1, 0, 1)]


def test_best_fit_leaves_the_least_room() -> None:
    view = FakeView([node(f"n-{i}", cores=4) for i in range(3)], [4, 2, 3])
    assert run(make_policy("best-fit"), FakeSet("A", 3, cpu(2)), view) == [(1, 0, 1), (2, 0, 1), (0, 0, 1)]


def test_heft_waits_for_a_busy_fast_node_when_that_finishes_sooner() -> None:
    nodes = [node("fast-0", cores=1, speed=2.0), node("slow-0", cores=1)]
    view = FakeView(nodes, [0, 1], busy={0: 5.0})
    # the first task waits for fast (5 + 10 = 15 < 20 on slow); the second would wait until 25 there: slow now
    assert run(make_policy("heft"), FakeSet("A", 2, cpu(1, 20.0)), view) == [(1, 0, 1)]
    assert make_policy("heft").priority(FakeSet("A", 1, cpu(1), seq=3, rank=7.0), view) == (-7.0, 3)


class Greedy:
    """A policy that places as many tasks as view.fit_count allows on every node, ignoring everything else."""

    name = "greedy"

    def priority(self, s: ReadySet, view: PlacementView) -> tuple[float, ...]:
        return (s.seq,)

    def place(self, s: ReadySet, view: PlacementView) -> Iterator[Placement]:
        for i in range(len(view.nodes)):
            k = view.fit_count(i, s.variants[0].resources, s.n_ready)
            if k:
                yield i, 0, k


def test_a_policy_cannot_place_outside_its_partition() -> None:
    e = Engine([node("n-0", cores=8)], "task", Greedy(), partitions={"uq": Share(0.25)})
    out = e.handle(0, [TasksSubmitted((ts("A", count=8, partition="uq"), ts("B", count=8)))])
    e.validate()
    assert sorted((x.set, x.stop - x.start) for x in out if isinstance(x, Launch)) == [("A", 2), ("B", 6)]


class Counters(Greedy):
    """A wrong policy: it trusts the raw free-core counters of the view and ignores that the view is scoped."""

    name = "counters"

    def place(self, s: ReadySet, view: PlacementView) -> Iterator[Placement]:
        for i in range(len(view.nodes)):
            k = min(view.free_cores[i] // s.variants[0].resources.cores, s.n_ready)
            if k:
                yield i, 0, k


def test_a_policy_that_reads_past_its_partition_is_stopped_before_anything_is_taken() -> None:
    e = Engine([node("n-0", cores=8)], "task", Counters(), partitions={"uq": Share(0.25)})
    with pytest.raises(EngineError, match="policy counters placed 8 tasks of A on n-0, beyond what partition uq"):
        e.handle(0, [TasksSubmitted((ts("A", count=8, partition="uq"),))])
    e.validate()  # the ledger and the partition's books are as they were
    assert e.ledger.free_cores == [8]
