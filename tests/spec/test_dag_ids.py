"""The DAG analysis on integer ids gives exactly what the analysis on dicts of names gave, ties included.

The reference below is the earlier implementation on names (dicts and sets), kept here as the specification.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from hetflow.spec import Platform, TaskSet, Workflow, dag
from hetflow.spec.platform import NodeType
from hetflow.spec.resources import Resources


def ref_children(names: Sequence[str], parents: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    kids: dict[str, list[str]] = {n: [] for n in names}
    for n in names:
        for p in parents[n]:
            kids[p].append(n)
    return kids


def ref_order(names: Sequence[str], parents: Mapping[str, Sequence[str]]) -> list[str]:
    kids = ref_children(names, parents)
    indegree = {n: len(parents[n]) for n in names}
    queue = deque(n for n in names if indegree[n] == 0)
    order: list[str] = []
    while queue:
        n = queue.popleft()
        order.append(n)
        for c in kids[n]:
            indegree[c] -= 1
            if indegree[c] == 0:
                queue.append(c)
    return order


def ref_levels(order: Sequence[str], parents: Mapping[str, Sequence[str]]) -> dict[str, int]:
    level: dict[str, int] = {}
    for n in order:
        ps = parents[n]
        level[n] = 1 + max(level[p] for p in ps) if ps else 0
    return level


def ref_longest(
    order: Sequence[str], parents: Mapping[str, Sequence[str]], weight: Callable[[str], float]
) -> tuple[float, list[str]]:
    best: dict[str, float] = {}
    via: dict[str, str | None] = {}
    for n in order:
        top, arg = 0.0, None
        for p in parents[n]:
            if best[p] > top or arg is None:
                top, arg = best[p], p
        best[n] = top + weight(n)
        via[n] = arg
    if not best:
        return 0.0, []
    end = max(order, key=lambda n: best[n])
    path: list[str] = []
    cur: str | None = end
    while cur is not None:
        path.append(cur)
        cur = via[cur]
    path.reverse()
    return best[end], path


Parents = Mapping[str, Sequence[str]]


def ref_components(members: set[str], parents: Parents, kids: Parents) -> list[set[str]]:
    parts: list[set[str]] = []
    unseen = set(members)
    while unseen:
        seed = unseen.pop()
        part = {seed}
        stack = [seed]
        while stack:
            n = stack.pop()
            for m in (*parents[n], *kids[n]):
                if m in unseen:
                    unseen.discard(m)
                    part.add(m)
                    stack.append(m)
        parts.append(part)
    return parts


def ref_split(comp: set[str], parents: Parents, kids: Parents) -> tuple[list[str], list[set[str]]]:
    sources = [n for n in comp if not any(p in comp for p in parents[n])]
    if len(sources) != 1:
        return [], [comp]
    rest = set(comp)
    chain: list[str] = []
    src = sources[0]
    while True:
        chain.append(src)
        rest.discard(src)
        if not rest:
            return [], [comp]
        inside = [c for c in kids[src] if c in rest]
        new_sources = [c for c in inside if not any(p in rest for p in parents[c])]
        if len(inside) > 1:
            parts = ref_components(rest, parents, kids)
            if len(parts) > 1:
                return chain, parts
        if len(new_sources) != 1:
            return [], [comp]
        src = new_sources[0]


def ref_workloads(order: Sequence[str], parents: Mapping[str, Sequence[str]]) -> tuple[list[list[str]], list[str]]:
    kids = ref_children(order, parents)
    rank = {n: i for i, n in enumerate(order)}
    branches: list[set[str]] = []
    shared: list[str] = []
    stack = ref_components(set(order), parents, kids)
    while stack:
        comp = stack.pop()
        chain, parts = ref_split(comp, parents, kids)
        if chain:
            shared.extend(chain)
            stack.extend(parts)
        else:
            branches.extend(parts)
    ordered = sorted((sorted(b, key=rank.__getitem__) for b in branches), key=lambda b: rank[b[0]])
    return ordered, sorted(shared, key=rank.__getitem__)


Graph = tuple[list[str], dict[str, list[str]]]


@st.composite
def dags(draw: st.DrawFn) -> Graph:
    """A random DAG declared in a shuffled order; parents may repeat (the engine passes them as declared)."""
    n = draw(st.integers(0, 16))
    hidden = [f"N{i}" for i in range(n)]
    chains = draw(st.booleans())  # chains and forks, where workloads split
    parents: dict[str, list[str]] = {}
    for i, v in enumerate(hidden):
        if not i:
            parents[v] = []
        elif chains:
            parents[v] = [hidden[draw(st.integers(max(0, i - 3), i - 1))]] if draw(st.integers(0, 5)) else []
        else:
            parents[v] = draw(st.lists(st.sampled_from(hidden[:i]), max_size=3))
    return draw(st.permutations(hidden)), parents


@settings(max_examples=400, deadline=None)
@given(dags(), st.data())
def test_every_analysis_is_the_reference_one(g: Graph, data: st.DataObject) -> None:
    names, parents = g
    order = dag.topological_order(names, parents)
    assert order == ref_order(names, parents)
    levels = dag.levels(order, parents)
    assert levels == ref_levels(order, parents) and list(levels) == order
    weight = {n: float(data.draw(st.integers(0, 3), label=n)) for n in names}  # few values: many ties
    assert dag.longest_path(order, parents, weight.__getitem__) == ref_longest(order, parents, weight.__getitem__)
    assert dag.workloads(order, parents) == ref_workloads(order, parents)


@settings(max_examples=200, deadline=None)
@given(dags(), st.data())
def test_the_workflow_analysis_is_the_reference_one(g: Graph, data: st.DataObject) -> None:
    names, parents = g
    runtime = {n: float(data.draw(st.integers(0, 3), label=n)) for n in names}
    w = Workflow("g", tuple(TaskSet(n, runtime=runtime[n], after=tuple(parents[n])) for n in names))
    if not names:
        return
    unique = {n: list(dict.fromkeys(parents[n])) for n in names}
    declared = [s.name for s in w.sets]
    order = ref_order(declared, unique)
    a = w.analysis
    assert a.order == w.order == tuple(order)
    assert a.levels == ref_levels(order, unique)
    assert (a.critical_path_s, list(a.critical_path)) == ref_longest(order, unique, runtime.__getitem__)
    branches, shared = ref_workloads(order, unique)
    assert a.shared == tuple(shared)
    assert [list(a.workloads[a.workload_of[b[0]]]) for b in branches] == [
        sorted(b, key=declared.index) for b in branches
    ]
    kids = ref_children(declared, unique)
    assert a.roots == tuple(n for n in declared if not unique[n])
    assert a.leaves == tuple(n for n in declared if not kids[n])


@st.composite
def ordered_dags(draw: st.DrawFn) -> Graph:
    """A random DAG declared parents first (as traces are), with few distinct weights so that ends tie."""
    n = draw(st.integers(1, 16))
    names = [f"N{i}" for i in range(n)]
    parents = {v: draw(st.lists(st.sampled_from(names[:i]), max_size=3)) if i else [] for i, v in enumerate(names)}
    return names, parents


def ref_bound(w: Workflow, speed: float, cores: int) -> float:
    """The lower bound as spec/platform.py computed it before: per set, weights through a lambda."""
    unique = {s.name: list(dict.fromkeys(s.after)) for s in w.sets}
    order = ref_order([s.name for s in w.sets], unique)
    cp, _ = ref_longest(order, unique, lambda n: w[n].runtime / speed)
    core_s = sum([s.count * (s.resources.cores * s.runtime) for s in w.sets])
    return max(cp, core_s / (cores * speed))


@settings(max_examples=300, deadline=None)
@given(ordered_dags(), st.data())
def test_a_dag_declared_parents_first_is_analysed_as_the_reference(g: Graph, data: st.DataObject) -> None:
    names, parents = g
    runtime = {n: float(data.draw(st.integers(0, 3), label=n)) for n in names}
    cores = {n: data.draw(st.integers(1, 4), label=f"{n} cores") for n in names}
    w = Workflow(
        "g",
        tuple(TaskSet(n, runtime=runtime[n], resources=Resources(cores[n]), after=tuple(parents[n])) for n in names),
    )
    unique = {n: list(dict.fromkeys(parents[n])) for n in names}
    assert dag.declared_in_order([tuple(names.index(p) for p in unique[n]) for n in names])
    order = ref_order(names, unique)
    a = w.analysis
    assert a.order == w.order == tuple(order)
    assert a.levels == ref_levels(order, unique)
    assert (a.critical_path_s, list(a.critical_path)) == ref_longest(order, unique, runtime.__getitem__)
    assert w.critical_path == (a.critical_path_s, a.critical_path)
    branches, shared = ref_workloads(order, unique)
    assert a.shared == tuple(shared)
    assert [list(a.workloads[a.workload_of[b[0]]]) for b in branches] == [sorted(b, key=names.index) for b in branches]
    kids = ref_children(names, unique)
    assert a.leaves == tuple(n for n in names if not kids[n])
    for speed in (1.0, 2.0, 0.5):
        pf = Platform("p", (NodeType("n", count=2, cores=4, speed=speed),))
        assert pf.lower_bound(w) == ref_bound(w, speed, 8)
