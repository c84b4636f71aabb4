"""The fast path for plain records (spec/records.py) against the models: the same task sets from what both accept,
and never a document the models refuse (then the models word the error, the same as without a fast path)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hetflow.errors import SpecError
from hetflow.spec import Workflow, load_workflow
from hetflow.spec.distribution import Distribution
from hetflow.spec.models import validated_task_sets
from hetflow.spec.native import own_record, task_sets_from_dict, workflow_from_dict
from hetflow.spec.records import NotPlain, plain_task_sets

_ODD: st.SearchStrategy[Any] = st.sampled_from(
    [None, True, False, -1, 0, 1, 2.5, -0.5, float("nan"), float("inf"), 10**30, "", "x", "[x]", [], {}, "a\ud800"]
)
_GOOD_NAMES = st.sampled_from(["a", "b", "c", "T1", "with space", "x\n", "é"])
_NAMES = st.one_of(_GOOD_NAMES, st.sampled_from(["br[ack]et", "", "a\ud800", 3, None]))
_GOOD: dict[str, st.SearchStrategy[Any]] = {  # what the models accept, mostly
    "count": st.integers(1, 10**20),
    "cores": st.integers(0, 64),
    "gpus": st.sampled_from([0, 1, 0.5, 0.25, 2, 3.0, 1.5, 3.0001, "1", 10**6]),
    "memory": st.sampled_from([0, 512, "2GiB", "1.5 GB", 1.5, 2**70, "7"]),
    "gpu_memory": st.sampled_from([0, 512, "10GiB", "1.5 GB", 2**70]),
    "gpu_models": st.one_of(_GOOD_NAMES, st.lists(st.sampled_from(["A100", "h200", "V100M32"]), max_size=3)),
    "runtime": st.one_of(
        st.floats(0, 1e12),
        st.integers(0, 10**400),
        st.sampled_from(
            [
                {"dist": "lognormal", "median": 150, "cv": 0.1},
                {"dist": "normal", "mean": 20.5, "std": 2},
                {"dist": "uniform", "low": 1, "high": 3},
                {"dist": "gamma", "mean": 8, "cv": 0.5},
                {"samples": [3, 4.5, 4]},
            ]
        ),
    ),
    "after": st.one_of(_GOOD_NAMES, st.lists(_GOOD_NAMES, max_size=3), st.tuples(_GOOD_NAMES, _GOOD_NAMES)),
    "workload": _GOOD_NAMES,
    "partition": _GOOD_NAMES,
    "command": st.sampled_from(["echo {index}", "", "x" * 50]),
    "retries": st.integers(0, 3),
    "function": st.sampled_from(["pkg.mod:f", "m:g"]),
    "variants": st.sampled_from([[], [{"cores": 2}], [{"gpus": 1, "runtime": 4}], [{"gpus": 2.5}]]),
}
_BAD: dict[str, st.SearchStrategy[Any]] = {  # odd values of every kind, some of them acceptable too
    "after": st.one_of(_NAMES, st.lists(_NAMES, max_size=3), st.sets(_GOOD_NAMES, max_size=2), _ODD),
    "gpus": st.one_of(st.sampled_from([0.00001, 1e300, "-1", -0.0]), _ODD),
    "memory": st.one_of(st.sampled_from(["3 parsecs", "-1", "1e400", -0.0]), _ODD),
    "gpu_memory": st.one_of(st.sampled_from(["3 parsecs", "-1", -0.0]), _ODD),
    "gpu_models": st.one_of(st.lists(_NAMES, max_size=2), _ODD),
    "runtime": st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(-5, 0),
        _ODD,
        st.sampled_from(  # bad distributions: each a one-line error with its place and fix, the same both ways
            [
                {"dist": "lognormal", "median": -1, "cv": 0.1},
                {"dist": "lognormal", "median": 150, "cv": 0},
                {"dist": "gamma", "mean": 5, "cv": -0.2},
                {"dist": "normal", "mean": 5},
                {"dist": "uniform", "low": 4, "high": 2},
                {"dist": "weibull", "scale": 3},
                {"dist": "normal", "mean": 5, "std": 1, "extra": 2},
                {"samples": []},
                {"samples": [1, -2]},
                {"samples": "many"},
                {"samples": [1, float("nan")]},
                {"dist": "lognormal", "median": True, "cv": 0.1},
                {"median": 150},
            ]
        ),
    ),
    "function": st.sampled_from(["not a callable", None, 3]),
    "variants": st.sampled_from([[{"bad": 1}], "x", [3]]),
}
_PLAIN = [
    *("count", "cores", "gpus", "memory", "gpu_memory", "gpu_models", "runtime", "after", "workload", "partition"),
    *("command", "retries"),
]


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    """A record of a few keys, each value good but now and then odd; now and then a key of its own or no name."""
    keys = draw(st.lists(st.sampled_from(_PLAIN), unique=True, max_size=5))
    if not draw(st.integers(0, 4)):
        keys.append(draw(st.sampled_from(["function", "variants", "unknown"])))
    record: dict[str, Any] = {}
    for k in keys:
        if k == "unknown":
            record[k] = 1
        elif draw(st.integers(0, 7)):
            record[k] = draw(_GOOD[k])
        else:
            record[k] = draw(_BAD.get(k, _ODD))
    if draw(st.integers(0, 20)):
        record["name"] = draw(_NAMES if not draw(st.integers(0, 10)) else _GOOD_NAMES)
    return record


@st.composite
def documents(draw: st.DrawFn) -> object:
    doc: dict[str, Any] = {"tasks": draw(st.lists(records(), max_size=4))}
    if draw(st.booleans()):
        doc["workflow"] = draw(st.one_of(_NAMES, st.just(None)))
    if not draw(st.integers(0, 15)):
        doc["extra"] = 1
    if not draw(st.integers(0, 15)):
        doc["tasks"] = tuple(doc["tasks"])
    if draw(st.booleans()):  # names unique, as they mostly are
        for i, record in enumerate(doc["tasks"]):
            if isinstance(record.get("name"), str):
                record["name"] += str(i)
    return doc


def outcome(fn: Any, doc: Any) -> tuple[str, Any]:
    """What fn makes of a document: ("ok", result) or ("error", the SpecError's line)."""
    try:
        return "ok", fn(doc, "w.json")
    except SpecError as exc:
        return "error", exc.line()


@settings(max_examples=600, deadline=None)
@given(documents())
def test_the_fast_path_accepts_only_what_the_models_accept_and_builds_the_same(doc: Any) -> None:
    models = outcome(validated_task_sets, doc)
    try:
        fast = plain_task_sets(doc, own_record)
    except NotPlain:
        fast = None
    if fast is not None:
        assert models == ("ok", fast)
    assert outcome(task_sets_from_dict, doc) == models


@settings(max_examples=200, deadline=None)
@given(st.lists(records(), min_size=1, max_size=4))
def test_a_record_alone_fares_the_same_both_ways(tasks: list[dict[str, Any]]) -> None:
    """One record at a time, so that a refused value is the document's only problem."""
    for record in tasks:
        doc = {"workflow": "w", "tasks": [record]}
        assert outcome(task_sets_from_dict, doc) == outcome(validated_task_sets, doc)


def plain(n: int) -> dict[str, Any]:
    tasks: list[dict[str, Any]] = [
        {"name": f"t{i}", "cores": 1 + i % 4, "runtime": 10 + i % 7, "gpus": [0, 0.5, 1][i % 3], "memory": "1GiB"}
        for i in range(n)
    ]
    for i in range(1, n):
        tasks[i]["after"] = [f"t{j}" for j in range(max(0, i - 2), i)] if i % 3 else f"t{i - 1}"
    return {"workflow": "plain", "tasks": tasks}


def test_plain_records_take_the_fast_path_and_match_the_models() -> None:
    doc = plain(50)
    name, sets = plain_task_sets(doc, own_record)
    assert (name, sets) == validated_task_sets(doc)
    assert sets[1].after == ("t0",) and sets[2].after == ("t0", "t1")
    assert isinstance(sets[0].runtime, float)


def test_a_record_with_keys_of_its_own_is_validated_alone() -> None:
    doc = plain(5)
    doc["tasks"][2] |= {"variants": [{"gpus": 1, "runtime": 4}], "function": "pkg.mod:f"}
    name, sets = plain_task_sets(doc, own_record)
    assert (name, sets) == validated_task_sets(doc)
    assert sets[2].variants and sets[2].function == "pkg.mod:f"


@pytest.mark.parametrize(
    ("change", "place", "says"),
    [
        (lambda t: t[3].update(cores=-1), "tasks[3] (t3).cores", "cores must be a whole number of cores >= 0"),
        (lambda t: t[4].update(cores=True), "tasks[4] (t4).cores", "cores must be"),
        (lambda t: t[1].update(runtime=float("nan")), "tasks[1] (t1).runtime", "runtime must be"),
        (lambda t: t[2].update(gpus=0.00001), "tasks[2] (t2).gpus", "finer than"),
        (lambda t: t[2].update(gpus=1.5), "tasks[2] (t2).gpus", "gpus 1.5 is over one GPU but not whole"),
        (lambda t: t[2].update(memory="3 parsecs"), "tasks[2] (t2).memory", "memory unit"),
        (lambda t: t[5].update(after=["t1", "t[0]"]), "tasks[5] (t5).after[1]", "after must be"),
        (lambda t: t[5].update(after=["nowhere"]), "tasks[5] (t5).after", "'nowhere', which is not a task set"),
        (lambda t: t[5].update(after="t5"), "tasks[5] (t5).after", "depends on itself"),
        (lambda t: t[6].update(name="t2"), "tasks[6] (t2)", "declared twice"),
        (
            lambda t: t[2].update(runtime={"dist": "lognormal", "median": 9, "cv": 0}),
            "tasks[2] (t2).runtime",
            "cv is 0",
        ),
        (
            lambda t: t[2].update(runtime={"dist": "normal", "mean": -3, "std": 1}),
            "tasks[2] (t2).runtime",
            "mean is -3",
        ),
        (lambda t: t[3].update(runtime={"samples": []}), "tasks[3] (t3).runtime", "samples is empty"),
        (lambda t: t[3].update(runtime={"dist": "beta"}), "tasks[3] (t3).runtime", "unknown dist 'beta'"),
        (lambda t: t[6].update(colour="red"), "tasks[6] (t6).colour", "unknown key 'colour'"),
        (lambda t: t[0].pop("name"), "tasks[0].name", "name is missing"),
        (lambda t: t[0].update(after="t7"), "tasks", "cycle"),
    ],
)
def test_errors_in_large_plain_documents_are_the_models_errors(change: Any, place: str, says: str) -> None:
    doc = plain(8)
    change(doc["tasks"])
    with pytest.raises(SpecError) as caught:
        workflow_from_dict(doc, "w.json")
    assert caught.value.place == place
    assert says in caught.value.problem
    with pytest.raises(SpecError) as again:  # the models alone, then the workflow's own checks
        name, sets = validated_task_sets(doc, "w.json")
        Workflow(name or "w", tuple(sets), source="w.json")
    assert again.value.line() == caught.value.line()


def test_a_file_of_plain_records_loads_as_its_models_build_it(tmp_path: Path) -> None:
    doc = plain(300)
    path = tmp_path / "plain.json"
    path.write_text(json.dumps(doc))
    name, sets = validated_task_sets(doc)
    assert load_workflow(path) == Workflow(name or "plain", tuple(sets))


@pytest.mark.parametrize(
    ("task", "place"),
    [
        ("{name: a, gpus: 1.5}", "tasks[0] (a).gpus"),
        ("{name: a, variants: [{gpus: 2.5}]}", "tasks[0] (a).variants[0].gpus"),
    ],
)
def test_validate_refuses_a_task_over_one_gpu_not_whole(tmp_path: Path, task: str, place: str) -> None:
    from click.testing import CliRunner

    from hetflow.cli import main

    wf = tmp_path / "wf.yaml"
    wf.write_text(f"workflow: w\ntasks:\n  - {task}\n")
    r = CliRunner().invoke(main, ["validate", str(wf)])
    assert r.exit_code == 2
    (line,) = r.output.strip().splitlines()
    assert f"{wf}: {place}: gpus " in line and "is over one GPU but not whole" in line
    assert "a task gets a fraction of one GPU or whole GPUs: ask for" in line


def test_runtime_distributions_take_the_fast_path_and_match_the_models() -> None:
    doc = plain(40)
    for i, t in enumerate(doc["tasks"]):
        if i % 3 == 0:
            t["runtime"] = {"dist": "lognormal", "median": 100 + i, "cv": 0.2}
        elif i % 3 == 1:
            t["runtime"] = {"samples": [i, i + 2, i + 1]}
    name, sets = plain_task_sets(doc, own_record)
    assert (name, sets) == validated_task_sets(doc)
    assert sets[3].runtime == 103.0 and sets[3].runtime_dist is not None
    assert sets[4].runtime == 5.0 and sets[4].runtime_dist == Distribution("samples", (4.0, 5.0, 6.0))
    assert sets[2].runtime_dist is None and sets[2].runtime == 12.0


def test_gpu_memory_and_models_take_the_fast_path_and_match_the_models() -> None:
    doc = plain(6)
    for i, t in enumerate(doc["tasks"]):
        t["gpus"], t["gpu_memory"], t["gpu_models"] = 0.5, f"{i + 1}GiB", ["A100", "h200"] if i % 2 else "V100M32"
    name, sets = plain_task_sets(doc, own_record)
    assert (name, sets) == validated_task_sets(doc)
    assert sets[1].gpu_memory == 2 * 1024**3 and sets[1].gpu_models == ("A100", "h200")
    assert sets[2].gpu_models == ("V100M32",)
