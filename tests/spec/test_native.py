"""The native workflow and platform formats: what they accept, what they build, and how they refuse bad input."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from hetflow import load_platform, load_workflow
from hetflow.errors import CycleError, SpecError
from hetflow.spec import GPU_UNIT, Resources, Variant
from hetflow.spec.native import platform_from_dict, workflow_from_dict


def wf(*tasks: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"workflow": "w", "tasks": list(tasks), **top}


def refuse(doc: object, *, place: str | None, says: str, fix: str | None = None) -> SpecError:
    with pytest.raises(SpecError) as caught:
        workflow_from_dict(doc, "w.yaml")
    err = caught.value
    assert err.source == "w.yaml"
    assert err.place == place
    assert says in err.problem
    if fix is not None:
        assert err.fix is not None and fix in err.fix
    assert "\n" not in err.line()
    return err


def test_every_field_of_a_task_set() -> None:
    w = workflow_from_dict(
        wf(
            {"name": "prep", "count": 4, "runtime": 10, "command": "prep {index}"},
            {
                "name": "train",
                "cores": 8,
                "gpus": 0.25,
                "memory": "2 GiB",
                "runtime": 120.5,
                "after": "prep",
                "workload": "ml",
                "function": "pkg.mod:train",
                "retries": 2,
                "variants": [{"gpus": 1, "runtime": 40}, {"cores": 1, "gpus": 0, "memory": 512, "node_type": "cpu"}],
            },
        )
    )
    prep, train = w.sets
    assert (prep.count, prep.resources, prep.runtime, prep.command) == (4, Resources(1, 0, 0), 10.0, "prep {index}")
    assert train.resources == Resources(8, GPU_UNIT // 4, 2 * 1024**3)
    assert train.after == ("prep",)
    assert (train.workload, train.function, train.retries) == ("ml", "pkg.mod:train", 2)
    # omitted variant fields are the task's own
    assert train.variants == (
        Variant(Resources(8, GPU_UNIT, 2 * 1024**3), 40.0),
        Variant(Resources(1, 0, 512), 120.5, "cpu"),
    )
    assert w.name == "w" and w.source is None


def test_defaults_and_default_name() -> None:
    w = workflow_from_dict({"tasks": [{"name": "only"}]}, default_name="from-stem")
    (s,) = w.sets
    assert w.name == "from-stem"
    assert (s.count, s.resources, s.runtime, s.after, s.variants) == (1, Resources(1, 0, 0), 0.0, (), ())


def test_the_seed_workflow_and_platform() -> None:
    from tests.shared import SEED_PLATFORM, SEED_WORKFLOW

    w, p = load_workflow(SEED_WORKFLOW), load_platform(SEED_PLATFORM)
    a = w.analysis
    assert (w.n_tasks, len(w), a.n_levels) == (2420, 12, 5)
    assert a.workloads["A"] == ("T1", "T3", "T4", "T5", "T7", "T8", "T10", "T11")
    assert a.workloads["B"] == ("T2", "T6", "T9")
    assert a.shared == ("T0",)
    assert (p.n_nodes, p.cores, p.gpus) == (30, 1260, 180)
    assert p.node_types[0].memory == 512 * 1024**3
    assert p.lower_bound(w) == pytest.approx(1415.873, abs=1e-3)


def test_a_platform() -> None:
    p = platform_from_dict(
        {
            "platform": "mixed",
            "nodes": [
                {"type": "cpu", "count": 4, "cores": 64, "memory": "256GB"},
                {"type": "gpu", "cores": 32, "gpus": 4, "memory": 512 * 1024**3, "speed": 1.5},
            ],
        }
    )
    cpu, gpu = p.node_types
    assert (cpu.count, cpu.cores, cpu.gpu_units, cpu.memory, cpu.speed) == (4, 64, 0, 256 * 10**9, 1.0)
    assert (gpu.count, gpu.cores, gpu.gpus, gpu.memory, gpu.speed) == (1, 32, 4.0, 512 * 1024**3, 1.5)
    assert [n.name for n in p.nodes()] == ["cpu-0", "cpu-1", "cpu-2", "cpu-3", "gpu-0"]


@pytest.mark.parametrize(
    ("doc", "place", "says", "fix"),
    [
        (wf({"name": "T0", "coers": 3}), "tasks[0] (T0).coers", "unknown key 'coers'", "did you mean 'cores'?"),
        (wf({"name": "T0"}, tasks_=1), "tasks_", "unknown key 'tasks_'", "did you mean 'tasks'?"),
        (wf({"name": "T0", "variants": [{"gpu": 1}]}), "tasks[0] (T0).variants[0].gpu", "unknown key", "'gpus'"),
        (wf({"name": "T0", "zzz": 1}), "tasks[0] (T0).zzz", "unknown key 'zzz'", "the keys here are name, count"),
        (wf({"name": "T0", "cores": "four"}), "tasks[0] (T0).cores", "cores must be a whole number", "write"),
        (wf({"name": "T0", "cores": -2}), "tasks[0] (T0).cores", "not -2", None),
        (wf({"name": "T0", "cores": 1.5}), "tasks[0] (T0).cores", "whole number", None),
        (wf({"name": "T0", "count": 0}), "tasks[0] (T0).count", "count must be a whole number of tasks >= 1", None),
        (wf({"name": "T0", "count": True}), "tasks[0] (T0).count", "not True", None),
        (wf({"name": "T0", "runtime": -1}), "tasks[0] (T0).runtime", "runtime must be a number of seconds >= 0", None),
        (wf({"name": "T0", "runtime": "long"}), "tasks[0] (T0).runtime", "not 'long'", None),
        (wf({"name": "T0", "runtime": float("nan")}), "tasks[0] (T0).runtime", "seconds", None),
        (wf({"name": "T0", "gpus": -0.5}), "tasks[0] (T0).gpus", "gpus must be >= 0", None),
        (wf({"name": "T0", "gpus": "one"}), "tasks[0] (T0).gpus", "gpus must be a number", None),
        (wf({"name": "T0", "gpus": 0.00001}), "tasks[0] (T0).gpus", "finer than", "round to 4 decimals"),
        (wf({"name": "T0", "memory": "2 GX"}), "tasks[0] (T0).memory", "unit 'gx' is unknown", "GiB"),
        (wf({"name": "T0", "memory": "-1GB"}), "tasks[0] (T0).memory", "is not a size", None),
        (wf({"name": "T0", "memory": [2]}), "tasks[0] (T0).memory", "is not a size", None),
        (wf({"name": "T0", "after": [1]}), "tasks[0] (T0).after[0]", "after must be a list of task set names", None),
        (wf({"name": "T[0]"}), "tasks[0] (T[0]).name", "without brackets", None),
        (wf({"name": ""}), "tasks[0].name", "non-empty", None),
        (wf({"count": 2}), "tasks[0].name", "name is missing", "add name"),
        (wf({"name": "a", "command": "x", "function": "m:f"}), "tasks[0] (a)", "both a command and a function", None),
        (wf({"name": "a", "function": "no-colon"}), "tasks[0] (a).function", "package.module:function", None),
        (wf({"name": "a", "command": 5}), "tasks[0] (a).command", "shell command", None),
        (wf({"name": "a", "variants": {"gpus": 1}}), "tasks[0] (a).variants", "a list of variants", None),
        (wf(), "tasks", "at least one task set", None),
        (wf("T0"), "tasks[0]", "expected a mapping", "key: value"),
        ({"workflow": "w"}, "tasks", "tasks is missing", None),
        ([{"name": "T0"}], None, "expected a workflow mapping, found list", "tasks:"),
        ({"platform": "p", "nodes": []}, None, "this is a platform, not a workflow", None),
        (wf({"name": "T0"}, {"name": "T0"}), "tasks[1] (T0)", "task set 'T0' is declared twice", "rename"),
        (wf({"name": "T0", "after": ["T9"]}), "tasks[0] (T0).after", "'T9', which is not a task set", "declare"),
        (
            wf({"name": "prep"}, {"name": "T", "after": "prepp"}),
            "tasks[1] (T).after",
            "'prepp'",
            "did you mean 'prep'?",
        ),
        (wf({"name": "T0", "after": "T0"}), "tasks[0] (T0).after", "T0 depends on itself", None),
    ],
)
def test_bad_workflows(doc: object, place: str | None, says: str, fix: str | None) -> None:
    refuse(doc, place=place, says=says, fix=fix)


def test_a_cycle_is_printed() -> None:
    doc = wf({"name": "A", "after": ["C"]}, {"name": "B", "after": ["A"]}, {"name": "C", "after": ["B"]}, {"name": "D"})
    err = refuse(doc, place="tasks", says="the dependencies form a cycle: ")
    assert isinstance(err, CycleError)
    cycle = err.problem.split(": ", 1)[1].split(" -> ")
    assert cycle[0] == cycle[-1] and sorted(cycle[:-1]) == ["A", "B", "C"]


@pytest.mark.parametrize(
    ("doc", "place", "says"),
    [
        ({"nodes": [{"type": "a", "cores": 1}, {"type": "a", "cores": 2}]}, "nodes[1] (a)", "declared twice"),
        ({"nodes": [{"type": "a", "cores": 1, "speed": 0}]}, "nodes[0] (a).speed", "speed must be a number > 0"),
        ({"nodes": [{"type": "a", "cores": 1, "count": 0}]}, "nodes[0] (a).count", "whole number of nodes >= 1"),
        ({"nodes": [{"type": "a"}]}, "nodes[0] (a).cores", "cores is missing"),
        ({"nodes": [{"type": "a", "cores": 4, "gpu": 1}]}, "nodes[0] (a).gpu", "unknown key 'gpu'"),
        ({"nodes": [{"type": "a", "cores": 4, "memory": "lots"}]}, "nodes[0] (a).memory", "is not a size"),
        ({"platform": "p"}, "nodes", "nodes is missing"),
        ({"tasks": [{"name": "T0"}]}, None, "this is a workflow, not a platform"),
        ("summit", None, "expected a platform mapping, found str"),
    ],
)
def test_bad_platforms(doc: object, place: str | None, says: str) -> None:
    with pytest.raises(SpecError) as caught:
        platform_from_dict(doc, "p.yaml")
    assert (caught.value.source, caught.value.place) == ("p.yaml", place)
    assert says in caught.value.problem


# Any JSON-like value: the loader builds a workflow or refuses it with a SpecError, never anything else.
json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
task_like = st.fixed_dictionaries(
    {"name": st.sampled_from(["A", "B", "C"])},
    optional={
        k: json_like | st.sampled_from(["A", "2GiB", 1, 0.5, ["A"], ["B", "C"]])
        for k in ("count", "cores", "gpus", "memory", "runtime", "after", "variants", "command", "coers")
    },
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(json_like, st.fixed_dictionaries({"tasks": st.lists(task_like, max_size=4)})))
def test_any_document_loads_or_is_refused_cleanly(doc: object) -> None:
    try:
        workflow_from_dict(doc, "any.yaml")
    except SpecError as err:
        assert err.source == "any.yaml" and "\n" not in err.line()


names = st.lists(st.text("abcdefgh", min_size=1, max_size=3), min_size=1, max_size=8, unique=True)


@st.composite
def valid_workflows(draw: st.DrawFn) -> dict[str, Any]:
    tasks = []
    order = draw(names)
    for i, name in enumerate(order):
        task: dict[str, Any] = {
            "name": name,
            "count": draw(st.integers(1, 10_000)),
            "cores": draw(st.integers(0, 128)),
            "gpus": draw(st.one_of(st.integers(0, 4).map(lambda k: k / 4), st.integers(1, 10))),  # whole above 1
            "memory": draw(st.sampled_from(["1GiB", "512 MB", 0, 123456789])),
            "runtime": draw(st.floats(0, 1e6, allow_nan=False)),
        }
        if i:
            task["after"] = draw(st.lists(st.sampled_from(order[:i]), max_size=3))
        tasks.append(task)
    return {"workflow": "generated", "tasks": tasks}


@settings(max_examples=60, deadline=None)
@given(valid_workflows())
def test_yaml_and_json_files_load_as_the_dict(tmp_path_factory: pytest.TempPathFactory, doc: dict[str, Any]) -> None:
    import json

    folder = tmp_path_factory.mktemp("roundtrip")
    (folder / "w.yaml").write_text(yaml.safe_dump(doc))
    (folder / "w.json").write_text(json.dumps(doc))
    expected = workflow_from_dict(doc)
    assert load_workflow(folder / "w.yaml") == expected
    assert load_workflow(folder / "w.json") == expected
    assert load_workflow(folder / "w.yaml").source == str(folder / "w.yaml")
