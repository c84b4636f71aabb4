"""The quicker paths of loading many one-task sets give what the plain ones gave: task sets built a field at a time,
a DAG declared parents first (analysed without Kahn's order except to break ties; its analysis against the reference
is in test_dag_ids.py), the fit check once per Resources object, and duplicate JSON keys refused at any depth."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hetflow.errors import CycleError, FitError, SpecError
from hetflow.spec import Platform, TaskSet, Workflow, load_workflow
from hetflow.spec.platform import NodeType
from hetflow.spec.records import task_sets
from hetflow.spec.resources import Resources


def test_ends_equally_heavy_go_to_the_first_in_kahns_order_not_the_first_declared() -> None:
    # b (declared second) and c (third) both end paths of 2 s; Kahn's order is a, c, b: c comes first
    w = Workflow("t", (TaskSet("a", runtime=1), TaskSet("b", runtime=1, after=("a",)), TaskSet("c", runtime=2)))
    assert w.order == ("a", "c", "b")
    assert w.critical_path == (2.0, ("c",))
    assert w.heaviest_path(lambda s: 1.0) == (2.0, ("a", "b"))  # one end alone: no order needed


def test_a_dag_declared_out_of_order_still_finds_its_cycle_and_order() -> None:
    w = Workflow("t", (TaskSet("b", after=("a",)), TaskSet("a"), TaskSet("c", after=("b", "a"))))
    assert w.order == ("a", "b", "c") and w.analysis.levels == {"a": 0, "b": 1, "c": 2}
    with pytest.raises(CycleError, match="a -> b -> a"):
        Workflow("t", (TaskSet("b", after=("a",)), TaskSet("a", after=("b",))))


@pytest.mark.parametrize(
    ("sets", "says"),
    [
        ((TaskSet("a", after=("x",)), TaskSet("b", after=("b",))), r"tasks\[0\] \(a\)\.after.*'x'"),
        ((TaskSet("b", after=("b",)), TaskSet("a", after=("x",))), r"tasks\[0\] \(b\)\.after.*depends on itself"),
        ((TaskSet("a"), TaskSet("b", after=("a", "a", "zz"))), r"tasks\[1\] \(b\)\.after.*'zz'"),
    ],
)
def test_the_first_wrong_dependency_is_the_one_reported(sets: tuple[TaskSet, ...], says: str) -> None:
    with pytest.raises(SpecError) as exc:
        Workflow("t", sets)
    assert exc.value.place is not None

    assert re.search(says, f"{exc.value.place} {exc.value}", re.S)


def test_parents_named_twice_count_once() -> None:
    w = Workflow("t", (TaskSet("a", runtime=1), TaskSet("b", runtime=2, after=("a", "a"))))
    assert w.parents == {"a": (), "b": ("a",)} and w.critical_path == (3.0, ("a", "b"))


_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "count": st.integers(1, 5),
    "resources": st.builds(Resources, st.integers(0, 8), st.integers(0, 2000)),
    "runtime": st.floats(0, 1e6),
    "after": st.lists(st.sampled_from(["x", "y"]), max_size=2).map(tuple),
    "workload": st.none() | st.just("w"),
    "command": st.none() | st.just("echo"),
    "retries": st.integers(0, 3),
    "partition": st.none() | st.just("p"),
    "outputs": st.integers(0, 10),
    "image": st.none() | st.just("img"),
    "cold_start": st.floats(0, 5),
}


@settings(max_examples=100, deadline=None)
@given(st.data(), st.integers(1, 6), st.sets(st.sampled_from(sorted(_VALUES))))
def test_task_sets_built_a_field_at_a_time_are_the_constructors(data: st.DataObject, n: int, given_: set[str]) -> None:
    columns: dict[str, list[Any]] = {"name": [f"s{i}" for i in range(n)]}
    for key in sorted(given_):
        columns[key] = [data.draw(_VALUES[key], label=key) for _ in range(n)]
    built = task_sets(n, columns)
    made = [TaskSet(**{k: v[i] for k, v in columns.items()}) for i in range(n)]
    assert built == made
    assert [dataclasses.astuple(b) for b in built] == [dataclasses.astuple(m) for m in made]
    assert [hash(b) for b in built] == [hash(m) for m in made] and repr(built) == repr(made)


def test_task_sets_may_skip_init_as_taskset_does_nothing_in_it_but_store() -> None:
    # task_sets stores fields without calling __init__: a __post_init__ (checks, derived fields) would be skipped
    assert not hasattr(TaskSet, "__post_init__"), "records.task_sets must then call it (or TaskSet)"
    assert TaskSet.__slots__ == tuple(f.name for f in dataclasses.fields(TaskSet))


def test_task_sets_need_a_name_column() -> None:
    with pytest.raises(TypeError, match="name"):
        task_sets(1, {"runtime": [1.0]})


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('{"workflow": "w", "workflow": "v", "tasks": [{"name": "a"}]}', "workflow"),
        ('{"tasks": [{"name": "a"}, {"name": "b", "cores": 1, "cores": 1}]}', "cores"),
        ('{"tasks": [{"name": "a", "runtime": {"dist": "normal", "mean": 1, "std": 1, "std": 2}}]}', "std"),
        ('{"tasks": [{"name": "a", "variants": [{"cores": 2, "runtime": 1, "runtime": 3}]}]}', "runtime"),
        ('{"tasks": [{"name": "a", "x": {"y": {"z": 1, "z": 1}}}]}', "z"),
        ('{"tasks": [{"name": "a", "name": "a"}], "tasks": []}', "name"),  # the inner object closes first
        ('{"tasks": [{"name": "a", "after": [], "after": []}], "x": [1,}', "after"),  # before a later syntax error
    ],
)
def test_a_json_key_twice_is_refused_at_any_depth(tmp_path: Path, text: str, key: str) -> None:
    path = tmp_path / "w.json"
    path.write_text(text)
    with pytest.raises(SpecError) as exc:
        load_workflow(path)
    assert exc.value.problem == f"key {key!r} appears twice in one object"
    assert exc.value.fix == "keep one of them" and exc.value.source == str(path)


def test_a_json_workflow_with_colons_in_its_strings_loads(tmp_path: Path) -> None:
    doc = {"workflow": "w:1", "tasks": [{"name": "a:b", "command": "echo http://x"}, {"name": "c", "after": "a:b"}]}
    path = tmp_path / "w.json"
    path.write_text(json.dumps(doc))
    w = load_workflow(path)
    assert w.name == "w:1" and w.order == ("a:b", "c") and w["a:b"].command == "echo http://x"


def test_the_first_set_that_fits_nowhere_is_reported_among_sets_sharing_resources() -> None:
    small, big = Resources(2), Resources(64)
    sets = tuple(TaskSet(f"s{i}", resources=big if i in (5, 7) else small) for i in range(10))
    pf = Platform("p", (NodeType("n", count=1, cores=8),))
    with pytest.raises(FitError) as exc:
        pf.check_fits(Workflow("t", sets))
    assert exc.value.place == "tasks[5] (s5)"
    pf.check_fits(Workflow("t", sets[:5]))  # the ones that fit pass


def test_a_lower_bound_is_worked_out_once_per_platform(monkeypatch: pytest.MonkeyPatch) -> None:
    from hetflow.spec.load import load_platform

    calls: list[int] = []
    bound = Platform._bound

    def counted(self: Platform, wf: Workflow) -> float:
        calls.append(1)
        return bound(self, wf)

    monkeypatch.setattr(Platform, "_bound", counted)
    wf = load_workflow(
        {"workflow": "w", "tasks": [{"name": "a", "runtime": 10}, {"name": "b", "runtime": 5, "after": "a"}]}
    )
    small = load_platform({"platform": "p", "nodes": [{"type": "n", "count": 1, "cores": 1}]})
    fast = load_platform({"platform": "q", "nodes": [{"type": "n", "count": 1, "cores": 1, "speed": 2.0}]})
    assert small.lower_bound(wf) == small.lower_bound(wf) == 15.0  # a warning and a summary ask: one pass
    assert fast.lower_bound(wf) == 7.5 and len(calls) == 2  # another platform: its own
    assert list(wf.bounds.values()) == [(fast, 7.5)]  # only the last is kept (a sweep keeps no platform alive)
