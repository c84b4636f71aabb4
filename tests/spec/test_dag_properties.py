"""Properties of the DAG analysis on random graphs: order, levels, cycles, workloads and longest paths."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hetflow.errors import CycleError
from hetflow.spec import TaskSet, Workflow, dag

Graph = tuple[list[str], dict[str, list[str]]]


@st.composite
def dags(draw: st.DrawFn, min_nodes: int = 1, max_nodes: int = 14) -> Graph:
    """A random DAG: nodes in a hidden topological order, edges only forward, declared in a shuffled order."""
    n = draw(st.integers(min_nodes, max_nodes))
    hidden = [f"N{i}" for i in range(n)]
    parents = {
        v: sorted(set(draw(st.lists(st.sampled_from(hidden[:i]), max_size=3)))) if i else []
        for i, v in enumerate(hidden)
    }
    return draw(st.permutations(hidden)), parents


def edges(g: Graph) -> list[tuple[str, str]]:
    names, parents = g
    return [(p, c) for c in names for p in parents[c]]


def ancestors(node: str, parents: dict[str, list[str]]) -> set[str]:
    seen: set[str] = set()
    stack = list(parents[node])
    while stack:
        p = stack.pop()
        if p not in seen:
            seen.add(p)
            stack.extend(parents[p])
    return seen


@given(dags())
def test_order_puts_parents_first(g: Graph) -> None:
    names, parents = g
    order = dag.topological_order(names, parents)
    assert sorted(order) == sorted(names)
    at = {n: i for i, n in enumerate(order)}
    assert all(at[p] < at[c] for p, c in edges(g))


@given(dags())
def test_levels_are_longest_distances_from_a_root(g: Graph) -> None:
    names, parents = g
    level = dag.levels(dag.topological_order(names, parents), parents)
    for n in names:
        if not parents[n]:
            assert level[n] == 0
        else:
            assert all(level[n] >= level[p] + 1 for p in parents[n])
            assert any(level[n] == level[p] + 1 for p in parents[n])  # tight: a longest path arrives through a parent


@given(dags(min_nodes=2), st.data())
def test_a_planted_cycle_is_found_and_printed(g: Graph, data: st.DataObject) -> None:
    names, parents = g
    ring = data.draw(st.lists(st.sampled_from(names), min_size=2, max_size=5, unique=True), label="cycle")
    with_cycle = {n: list(ps) for n, ps in parents.items()}
    for a, b in itertools.pairwise([*ring, ring[0]]):
        if a not in with_cycle[b]:
            with_cycle[b].append(a)
    with pytest.raises(CycleError) as caught:
        dag.topological_order(names, with_cycle)
    printed = caught.value.problem.split(": ", 1)[1].split(" -> ")
    assert printed[0] == printed[-1] and len(printed) >= 3
    assert len(set(printed[:-1])) == len(printed) - 1  # a simple cycle
    assert all(a in with_cycle[b] for a, b in itertools.pairwise(printed))  # each step is a dependency


@given(dags())
def test_workloads_partition_the_sets(g: Graph) -> None:
    names, parents = g
    branches, shared = dag.workloads(dag.topological_order(names, parents), parents)
    members = [m for b in branches for m in b] + shared
    assert sorted(members) == sorted(names)
    assert all(branches)


@given(dags())
def test_branches_meet_only_through_shared_ancestors(g: Graph) -> None:
    names, parents = g
    branches, shared = dag.workloads(dag.topological_order(names, parents), parents)
    branch_of = {m: i for i, b in enumerate(branches) for m in b}
    for p, c in edges(g):
        if p in branch_of and c in branch_of:
            assert branch_of[p] == branch_of[c]
    # a shared ancestor is set apart because it feeds more than one branch
    for s in shared:
        fed = {branch_of[n] for n in names if n in branch_of and s in ancestors(n, parents)}
        assert len(fed) >= 2


@given(dags(max_nodes=9), st.data())
def test_longest_path_beats_every_path(g: Graph, data: st.DataObject) -> None:
    names, parents = g
    weight = {n: data.draw(st.integers(0, 100), label=n) for n in names}
    best, path = dag.longest_path(dag.topological_order(names, parents), parents, weight.__getitem__)
    assert all(a in parents[b] for a, b in itertools.pairwise(path))
    assert best == sum(weight[n] for n in path)
    kids = dag.children_of(names, parents)

    def heaviest_from(n: str) -> int:
        return weight[n] + max((heaviest_from(k) for k in kids[n]), default=0)

    assert best == max(heaviest_from(n) for n in names if not parents[n])


@settings(max_examples=50)
@given(dags())
def test_the_workflow_analysis_agrees(g: Graph) -> None:
    names, parents = g
    w = Workflow("g", tuple(TaskSet(n, runtime=1.0, after=tuple(parents[n])) for n in names))
    a = w.analysis
    assert set(a.workload_of) == set(names)
    assert sorted(m for ms in a.workloads.values() for m in ms) == sorted(names)
    assert a.n_levels == len(a.critical_path) == a.critical_path_s  # unit run times: the deepest path is the longest
    assert set(a.roots) == {n for n in names if not parents[n]}


def test_workload_labels_name_branches_by_letters_and_shared_ancestors_by_themselves() -> None:
    branches = [[f"B{i}"] for i in range(28)]
    labels = dag.workload_labels(branches, ["root"], prefix="2:")
    assert labels["root"] == "root"
    assert [labels[f"B{i}"] for i in (0, 1, 25, 26, 27)] == ["2:A", "2:B", "2:Z", "2:AA", "2:AB"]
    assert dag.workload_labels([["x", "y"]], []) == {"x": "A", "y": "A"}


@given(dags())
def test_workload_labels_give_each_branch_its_own_name(g: Graph) -> None:
    names, parents = g
    branches, shared = dag.workloads(dag.topological_order(names, parents), parents)
    labels = dag.workload_labels(branches, shared)
    assert set(labels) == set(names)
    assert len({labels[b[0]] for b in branches}) == len(branches)
    assert all(len({labels[m] for m in b}) == 1 for b in branches)
