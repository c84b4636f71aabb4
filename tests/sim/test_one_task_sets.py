"""Workflows of many one-task sets (a converted trace): the engine's pass over its lanes places exactly as plain fifo
first-fit with backfill does, and a set keeps no per-set containers it does not need."""

from __future__ import annotations

import heapq

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hetflow.core.sets import NO_RANGES, NO_SETS
from hetflow.sim.simulator import run_simulation
from hetflow.spec.platform import NodeType, Platform
from hetflow.spec.resources import Resources
from hetflow.spec.workflow import TaskSet, Workflow

Record = tuple[int, int, tuple[int, ...]]  # cores, run time, parents (indices of earlier records)


@st.composite
def traces(draw: st.DrawFn) -> list[Record]:
    """A random DAG of one-task sets with many shapes (1-8 cores) and integer run times (ties at every instant)."""
    n = draw(st.integers(1, 40))
    out: list[Record] = []
    for i in range(n):
        parents = tuple(sorted(draw(st.sets(st.integers(0, i - 1), max_size=3)))) if i else ()
        out.append((draw(st.integers(1, 8)), draw(st.integers(1, 20)), parents))
    return out


def reference(records: list[Record], nodes: int, cores: int) -> dict[int, tuple[float, int]]:
    """Fifo first-fit with backfill, written plainly: after the ends of each instant, the records they released join
    the ready list in declaration order; then one pass, in release order, starts every ready record that fits on the
    first node with room. Returns each record's (start, node)."""
    free = [cores] * nodes
    left = [len(p) for _, _, p in records]
    kids: list[list[int]] = [[] for _ in records]
    for i, (_, _, parents) in enumerate(records):
        for p in parents:
            kids[p].append(i)
    ready = [i for i, n in enumerate(left) if n == 0]
    ends: list[tuple[float, int, int]] = []
    started: dict[int, tuple[float, int]] = {}
    now = 0.0
    while True:
        keep = []
        for i in ready:
            need = records[i][0]
            for node, f in enumerate(free):
                if f >= need:
                    free[node] -= need
                    started[i] = (now, node)
                    heapq.heappush(ends, (now + records[i][1], i, node))
                    break
            else:
                keep.append(i)
        ready = keep
        if not ends:
            return started
        now = ends[0][0]
        released = []
        while ends and ends[0][0] == now:
            _, i, node = heapq.heappop(ends)
            free[node] += records[i][0]
            for k in kids[i]:
                left[k] -= 1
                if left[k] == 0:
                    released.append(k)
        ready.extend(sorted(released))


def as_workflow(records: list[Record]) -> Workflow:
    sets = [
        TaskSet(f"T{i}", 1, Resources.of(c), float(t), tuple(f"T{p}" for p in parents))
        for i, (c, t, parents) in enumerate(records)
    ]
    return Workflow("trace", tuple(sets))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=traces(), nodes=st.integers(1, 4))
def test_fifo_on_one_task_sets_places_as_plain_first_fit(records: list[Record], nodes: int) -> None:
    plat = Platform("p", (NodeType("n", nodes, 8, 0, 0),))
    res = run_simulation(as_workflow(records), plat, "task", "fifo", check=lambda e: e.validate())
    names = [n.name for n in plat.nodes()]
    got = {int(iv.set[1:]): (iv.start, names.index(iv.node)) for iv in res.intervals}
    assert got == reference(records, nodes, 8)


def test_sets_share_empty_containers_once_done() -> None:
    """A set holds a deque of ready ranges only while it has some, and lists of parents and children only once it has
    one: at the end of a run no set holds a deque, and the leaves and roots share the empty lists."""
    records: list[Record] = [(1 + i % 4, 5 + i % 7, (i - 1,) if i % 3 else ()) for i in range(60)]
    plat = Platform("p", (NodeType("n", 2, 8, 0, 0),))
    res = run_simulation(as_workflow(records), plat, "task", "fifo", flat=False)  # the engine's sets, not the kernel
    assert res.engine is not None
    states = list(res.engine.sets.values())
    assert all(s.ready is NO_RANGES for s in states)
    roots = [s for s in states if not s.parents]
    leaves = [s for s in states if not s.children]
    assert roots and leaves
    assert all(s.parents is NO_SETS for s in roots)
    assert all(s.children is NO_SETS for s in leaves)
    assert not NO_RANGES and not NO_SETS  # nothing was ever appended to the shared ones
