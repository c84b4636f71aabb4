"""The compiled loops of loading (spec/passes.py) against plain reference code, interpreted (the source, loaded on its
own) and, when the build compiled the module, compiled: the same results, and None exactly where the reference finds
something the general path must name."""

from __future__ import annotations

import math
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import hetflow.spec.passes
from hetflow.errors import SpecError
from hetflow.spec.load import load_workflow
from hetflow.spec.models import validated_task_sets
from hetflow.spec.resources import Resources
from hetflow.spec.workflow import TaskSet, Workflow
from tests.interpreted import builds

MODULES = builds(hetflow.spec.passes)
NAMES = st.sampled_from(["a", "b", "T1", "with space", "é", "x\n", "", "[x]", "y]", "a\ud800", "\udcff"])


def names_reference(values: list[Any]) -> list[tuple[str, ...]] | None:
    out = []
    for v in values:
        items = (v,) if type(v) is str else tuple(v) if type(v) in (list, tuple) else None
        if items is None or any(type(x) is not str for x in items):
            return None
        for x in items:
            if not x or "[" in x or "]" in x:
                return None
            try:
                x.encode()
            except UnicodeEncodeError:
                return None
        out.append(items)
    return out


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(NAMES, st.lists(NAMES, max_size=3), st.tuples(NAMES), st.just(3), st.just(None))))
def test_name_tuples_take_what_a_name_is_and_nothing_else(values: list[Any]) -> None:
    for module in MODULES:
        assert module.name_tuples(values) == names_reference(values)


def parents_reference(afters: list[Any], index: dict[str, int]) -> tuple[list[tuple[int, ...]], bool] | None:
    pids = []
    for i, after in enumerate(afters):
        if type(after) is not tuple or any(type(p) is not str for p in after):
            return None
        ids = tuple(dict.fromkeys(index.get(p, -1) for p in after))
        if -1 in ids or i in ids:
            return None
        pids.append(ids)
    return pids, all(max(ps) < i for i, ps in enumerate(pids) if ps)


@st.composite
def afters(draw: st.DrawFn) -> tuple[list[Any], dict[str, int]]:
    n = draw(st.integers(1, 12))
    names = [f"s{i}" for i in range(n)]
    pick = st.one_of(
        st.sampled_from(names), st.sampled_from(["nowhere", "s99"]) if draw(st.booleans()) else st.nothing()
    )
    out: list[Any] = [tuple(draw(st.lists(pick, max_size=14))) for _ in range(n)]  # (past FEW: the set branch)
    if not draw(st.integers(0, 5)):
        out[draw(st.integers(0, n - 1))] = list(out[0])  # a hand-made set's list
    return out, {name: i for i, name in enumerate(names)}


@settings(max_examples=300, deadline=None)
@given(afters())
def test_parent_ids_are_each_parent_once_in_the_order_named(case: tuple[list[Any], dict[str, int]]) -> None:
    values, index = case
    for module in MODULES:
        assert module.parent_ids(values, index) == parents_reference(values, index)


def test_a_join_of_many_sets_keeps_each_parent_once_in_the_order_named() -> None:
    index = {f"s{i}": i for i in range(2001)}
    after = tuple(f"s{i % 1000}" for i in range(2000))  # each of 1,000 parents twice
    for module in MODULES:
        assert module.parent_ids([*([()] * 2000), after], index) == ([*([()] * 2000), tuple(range(1000))], True)
        assert module.parent_ids([*([()] * 2000), (*after, "s2000")], index) is None  # itself, past FEW parents


def weights_reference(order: Any, parents: list[tuple[int, ...]], weight: list[Any]) -> tuple[list[float], list[int]]:
    best, via = [0.0] * len(parents), [-1] * len(parents)
    for n in order:
        if parents[n]:
            via[n] = max(parents[n], key=best.__getitem__)
            best[n] = best[via[n]] + weight[n]
        else:
            best[n] = 0.0 + weight[n]
    return best, via


WEIGHTS = st.one_of(st.integers(0, 10**6), st.floats(0, 1e9), st.sampled_from([0.0, 1.5, math.inf, math.nan]))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(WEIGHTS, st.lists(st.integers(0, 30), max_size=3)), min_size=1, max_size=30))
def test_path_weights_pick_the_first_heaviest_parent_as_max_does(nodes: list[tuple[Any, list[int]]]) -> None:
    weight = [w for w, _ in nodes]
    parents = [tuple(dict.fromkeys(p % i for p in ps)) if i else () for i, (_, ps) in enumerate(nodes)]
    for module in MODULES:
        got = module.path_weights(range(len(nodes)), parents, weight)
        assert repr(got) == repr(weights_reference(range(len(nodes)), parents, weight))  # (nan == nan, by repr)


@pytest.mark.parametrize("module", MODULES)
def test_unique_keys_refuses_a_key_given_twice(module: ModuleType) -> None:
    assert module.unique_keys([("a", 1), ("b", 2)]) == {"a": 1, "b": 2}
    with pytest.raises(SpecError, match="key 'a' appears twice"):
        module.unique_keys([("a", 1), ("b", 2), ("a", 3)])


def test_a_file_with_a_key_twice_is_one_line_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "w.json"
    path.write_text('{"workflow": "w", "tasks": [{"name": "a", "cores": 1, "cores": 2}]}')
    with pytest.raises(SpecError, match="key 'cores' appears twice") as info:
        load_workflow(path)
    assert str(path) in info.value.line()


def test_sets_made_by_hand_with_lists_or_unknown_parents_take_the_general_path() -> None:
    """The compiled loop gives up on what it does not take; the workflow's own check then names the problem."""
    a, b = TaskSet("a", 1, Resources(1), 1.0), TaskSet("b", 1, Resources(1), 2.0, after=["a", "a"])  # type: ignore[arg-type]
    wf = Workflow("w", (a, b))
    assert wf.parent_ids == [(), (0,)] and wf.critical_path == (3.0, ("a", "b"))
    with pytest.raises(SpecError, match="depends on 'c', which is not a task set"):
        Workflow("w", (a, TaskSet("b", after=("c",))))
    with pytest.raises(SpecError, match="b depends on itself"):
        Workflow("w", (a, TaskSet("b", after=("b",))))


GOOD_NAMES = st.sampled_from(["a", "b", "T1", "with space", "é", "x\n"])
SIMPLE_GOOD: dict[str, st.SearchStrategy[Any]] = {
    "cores": st.integers(0, 64),
    "runtime": st.one_of(st.integers(0, 10**6), st.floats(0, 1e12)),
    "after": st.one_of(GOOD_NAMES, st.lists(GOOD_NAMES, max_size=3), st.tuples(GOOD_NAMES)),
}
SIMPLE_BAD: dict[str, st.SearchStrategy[Any]] = {
    "cores": st.sampled_from([-1, -2, True, False, 2.0, "4", None]),
    "runtime": st.sampled_from([-1, -0.5, -0.0, math.nan, math.inf, 10**400, True, "3", None, {"samples": [1, 2]}]),
    "after": st.one_of(NAMES, st.lists(NAMES, max_size=3), st.sampled_from([3, None, {"a": 1}])),
}


@st.composite
def simple_records(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A trace's records, now and then one value the models refuse or one key of another kind."""
    out = []
    for i in range(draw(st.integers(1, 4))):
        keys = draw(st.lists(st.sampled_from(["cores", "runtime", "after"]), unique=True))
        record = {k: draw(SIMPLE_BAD[k] if not draw(st.integers(0, 6)) else SIMPLE_GOOD[k]) for k in keys}
        if draw(st.integers(0, 12)):
            record["name"] = f"s{i}" if draw(st.integers(0, 5)) else draw(NAMES)
        if not draw(st.integers(0, 20)):
            record["count"] = 2
        out.append(record)
    return out


@settings(max_examples=600, deadline=None)
@given(simple_records())
@example([{"name": "a", "cores": -1}])
@example([{"name": "a", "runtime": True}])
@example([{"name": "a", "runtime": math.inf}])
@example([{"name": "a", "cores": 2, "count": 2}])
@example([{"name": "a", "after": "b[1]"}])
def test_simple_columns_read_a_trace_s_records_as_the_models_do(tasks: list[dict[str, Any]]) -> None:
    """Whatever the models refuse gives None; what it gives is what the models read; it gives up only on a key of
    another kind or a run-time distribution."""
    try:
        sets: list[TaskSet] | None = validated_task_sets({"workflow": "w", "tasks": tasks}, "w.json")[1]
    except SpecError:
        sets = None
    for module in MODULES:
        got = module.simple_columns(tasks)
        if got is None:
            assert (
                sets is None
                or any(r.keys() - {"name", "cores", "runtime", "after"} for r in tasks)
                or any(isinstance(r.get("runtime"), dict) for r in tasks)
            )
            continue
        assert sets is not None and all(r.keys() <= {"name", "cores", "runtime", "after"} for r in tasks)
        names, cores, runtimes, afters = got
        assert names == [s.name for s in sets] and cores == [s.resources.cores for s in sets]
        assert afters == [s.after for s in sets]
        assert repr(runtimes) == repr([s.runtime for s in sets])  # floats alike, to the bit
