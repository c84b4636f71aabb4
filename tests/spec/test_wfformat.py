"""WfCommons WfFormat 1.4 and 1.5 instances: the tiny fixtures in detail, every shared instance, and contradictions."""

from __future__ import annotations

import copy
import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from hetflow import load_platform, load_workflow
from hetflow.errors import CycleError, SpecError
from hetflow.spec import FileRef, Resources
from hetflow.spec.load import is_wfformat, recorded_platform
from hetflow.spec.wfformat import platform_from_wfformat, workflow_from_wfformat
from tests.shared import FIXTURES, wfinstance_files, wfinstance_params

TINY15 = FIXTURES / "wfformat-1.5-tiny.json"
TINY14 = FIXTURES / "wfformat-1.4-tiny.json"


def tiny(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def test_a_1_5_instance() -> None:
    w = load_workflow(TINY15)
    assert w.name == "tiny-split-merge" and w.source == str(TINY15)
    assert [s.name for s in w.sets] == ["split_ID01", "work_ID02", "work_ID03", "merge_ID04"]
    assert all(s.count == 1 for s in w.sets)
    split, work2, work3, merge = w.sets
    assert (split.runtime, split.resources) == (5.5, Resources(1, 0, 0))  # no coreCount: one core
    assert work2.resources == Resources(3, 0, 2_000_000)  # 2.5 cores hold 3
    assert work3.resources.cores == 4
    assert merge.after == ("work_ID02", "work_ID03")
    assert split.files == (
        FileRef("in.dat", 1000, "input"),
        FileRef("a.dat", 400, "output"),
        FileRef("b.dat", 600, "output"),
    )
    a = w.analysis
    assert a.n_levels == 3
    assert a.critical_path == ("split_ID01", "work_ID02", "merge_ID04") and a.critical_path_s == 45.5


def test_the_machines_of_a_1_5_instance() -> None:
    p = load_platform(TINY15)
    a, b = p.node_types
    assert (a.type, a.count, a.cores, a.memory, a.speed) == ("node-a", 1, 8, 16_000_000_000, 1.0)
    assert (b.type, b.cores, b.memory, b.speed) == ("node-b", 4, 8_000_000_000, 0.5)  # 1000 MHz beside 2000
    assert p.gpus == 0
    assert recorded_platform(TINY15) == p


def test_a_1_4_instance() -> None:
    w = load_workflow(TINY14)
    fetch, align, report = w.sets
    assert [s.name for s in w.sets] == ["fetch_ID0000001", "align_ID0000002", "report_ID0000003"]
    assert fetch.resources == Resources(1, 0, 1_000_000)
    assert (align.resources.cores, align.runtime, align.after) == (4, 40.5, ("fetch_ID0000001",))
    assert report.after == ("align_ID0000002",)  # referred to by id, resolved to the name
    assert align.files == (FileRef("reads.fq", 5000, "input"), FileRef("aligned.bam", 3000, "output"))
    (host,) = load_platform(TINY14).node_types
    assert (host.type, host.cores, host.memory, host.speed) == ("host-1", 16, 4_000_000_000, 1.0)


def test_format_is_told_by_content() -> None:
    assert is_wfformat(tiny(TINY15)) and is_wfformat(tiny(TINY14))
    assert not is_wfformat({"workflow": "w", "tasks": []})
    assert load_workflow(tiny(TINY15)) == load_workflow(TINY15)


def test_1_6_reads_as_1_5() -> None:
    doc = tiny(TINY15)
    doc["schemaVersion"] = "1.6"
    assert workflow_from_wfformat(doc) == load_workflow(TINY15)


def test_no_machines_no_platform() -> None:
    doc = tiny(TINY15)
    del doc["workflow"]["execution"]["machines"]
    assert platform_from_wfformat(doc) is None
    with pytest.raises(SpecError, match="records no machines"):
        load_platform(doc)


@pytest.mark.parametrize("path", wfinstance_params())
def test_every_shared_instance_loads(path: Path) -> None:
    w, p = load_workflow(path), load_platform(path)
    p.check_fits(w)
    raw = json.loads(path.read_text())["workflow"]
    assert w.n_tasks == len(w) == len(raw["specification"]["tasks"])
    runtimes = {t["id"]: t["runtimeInSeconds"] for t in raw["execution"]["tasks"]}
    assert sum(s.runtime for s in w.sets) == pytest.approx(sum(runtimes.values()))
    # the critical path is a real path, and no task alone outlasts it
    path_ = w.analysis.critical_path
    assert all(a in w[b].after for a, b in itertools.pairwise(path_))
    assert w.analysis.critical_path_s >= max(runtimes.values())
    assert p.n_nodes == len(raw["execution"]["machines"])


def test_the_shared_figures_match_their_source_table() -> None:
    """Critical paths and total work as SOURCE.md beside the instances gives them."""
    expected = {"helloworld-chain-5-chameleon.json": (501, 501), "soykb-chameleon-10fastq-10ch-001.json": (2933, 11815)}
    found = {f.name: f for f in wfinstance_files()}
    if not set(expected) <= set(found):
        pytest.skip("the shared WfFormat instances are absent")
    for name, (cp, work) in expected.items():
        w = load_workflow(found[name])
        assert round(w.analysis.critical_path_s) == cp
        assert round(sum(s.runtime for s in w.sets)) == work


def edited(path: Path, change: Any) -> dict[str, Any]:
    doc = copy.deepcopy(tiny(path))
    change(doc)
    return doc


def spec15(doc: dict[str, Any]) -> list[dict[str, Any]]:
    tasks: list[dict[str, Any]] = doc["workflow"]["specification"]["tasks"]
    return tasks


def run15(doc: dict[str, Any]) -> list[dict[str, Any]]:
    tasks: list[dict[str, Any]] = doc["workflow"]["execution"]["tasks"]
    return tasks


S = "workflow.specification.tasks"
E = "workflow.execution.tasks"


@pytest.mark.parametrize(
    ("change", "place", "says"),
    [
        (
            lambda d: spec15(d)[1]["children"].clear(),
            f"{S}[3] (merge_ID04).parents",
            "names 'work_ID02' as a parent, but 'work_ID02' does not name it as a child",
        ),
        (
            lambda d: spec15(d)[3]["parents"].remove("work_ID03"),
            f"{S}[2] (work_ID03).children",
            "names 'merge_ID04' as a child, but 'merge_ID04' does not name it as a parent",
        ),
        (lambda d: spec15(d)[3]["parents"].append("ghost"), f"{S}[3] (merge_ID04).parents", "parent 'ghost'"),
        (lambda d: spec15(d)[0]["children"].append("work_ID05"), f"{S}[0] (split_ID01).children", "child 'work_ID05'"),
        (lambda d: spec15(d)[2].update(id="work_ID02"), f"{S}[2] (work_ID02)", "task id 'work_ID02' is used twice"),
        (lambda d: run15(d).pop(), f"{S}[3] (merge_ID04)", "no run time is recorded for task 'merge_ID04'"),
        (lambda d: run15(d)[0].pop("runtimeInSeconds"), f"{E}[0] (split_ID01).runtimeInSeconds", "is missing"),
        (lambda d: run15(d)[0].update(runtimeInSeconds=-1), f"{E}[0] (split_ID01).runtimeInSeconds", "seconds >= 0"),
        (lambda d: run15(d)[0].update(runtimeInSeconds="5"), f"{E}[0] (split_ID01).runtimeInSeconds", "not '5'"),
        (lambda d: run15(d).append(dict(run15(d)[0])), f"{E}[4] (split_ID01)", "recorded twice"),
        (lambda d: run15(d).append({"id": "x", "runtimeInSeconds": 1}), f"{E}[4] (x)", "not in workflow.specification"),
        (lambda d: run15(d)[1].update(coreCount=-2), f"{E}[1] (work_ID02).coreCount", "number of cores >= 0"),
        (lambda d: spec15(d)[0]["inputFiles"].append("nope.dat"), f"{S}[0] (split_ID01).inputFiles", "'nope.dat'"),
        (lambda d: d["workflow"].pop("execution"), "workflow", "records no execution"),
        (lambda d: d["workflow"]["specification"]["tasks"].clear(), f"{S}", "at least one task"),
        (lambda d: d.update(schemaVersion="1.2"), "schemaVersion", "version '1.2' is not supported"),
        (lambda d: d.pop("schemaVersion"), None, "no schemaVersion"),
        (lambda d: d["workflow"]["specification"].pop("tasks"), S, "tasks is missing"),
        (
            lambda d: (spec15(d)[0]["parents"].append("merge_ID04"), spec15(d)[3]["children"].append("split_ID01")),
            S,
            "the dependencies form a cycle: ",
        ),
    ],
)
def test_contradictions_and_gaps_in_1_5(change: Any, place: str | None, says: str) -> None:
    with pytest.raises(SpecError) as caught:
        workflow_from_wfformat(edited(TINY15, change), "tiny.json")
    assert (caught.value.source, caught.value.place) == ("tiny.json", place)
    assert says in caught.value.problem
    if "cycle" in says:
        assert isinstance(caught.value, CycleError)


W = "workflow.tasks"


@pytest.mark.parametrize(
    ("change", "place", "says"),
    [
        (
            lambda d: d["workflow"]["tasks"][2]["parents"].append("nothing"),
            f"{W}[2] (report_ID0000003).parents",
            "'nothing'",
        ),
        (
            lambda d: d["workflow"]["tasks"][0]["children"].append("report_ID0000003"),
            f"{W}[0] (fetch_ID0000001).children",
            "does not name it as a parent",
        ),
        (lambda d: d["workflow"]["tasks"][1].update(name="fetch_ID0000001"), f"{W}[1] (fetch_ID0000001)", "used twice"),
        (
            lambda d: d["workflow"]["tasks"][1].pop("runtimeInSeconds"),
            f"{W}[1] (align_ID0000002).runtimeInSeconds",
            "missing",
        ),
        (
            lambda d: d["workflow"]["tasks"][0]["files"][0].update(link="both"),
            f"{W}[0] (fetch_ID0000001).files[0] (reads.fq).link",
            "input",
        ),
    ],
)
def test_contradictions_and_gaps_in_1_4(change: Any, place: str, says: str) -> None:
    with pytest.raises(SpecError) as caught:
        workflow_from_wfformat(edited(TINY14, change), "tiny.json")
    assert (caught.value.source, caught.value.place) == ("tiny.json", place)
    assert says in caught.value.problem


@pytest.mark.parametrize(
    ("change", "place", "says"),
    [
        (lambda d: d["workflow"]["execution"]["machines"][1].pop("cpu"), "node-b", "no core count"),
        (lambda d: d["workflow"]["execution"]["machines"][1].update(nodeName="node-a"), "node-a", "recorded twice"),
    ],
)
def test_bad_machines(change: Any, place: str, says: str) -> None:
    with pytest.raises(SpecError) as caught:
        platform_from_wfformat(edited(TINY15, change), "tiny.json")
    assert caught.value.place is not None and caught.value.place.startswith("workflow.execution.machines[1] (" + place)
    assert says in caught.value.problem


def test_machines_without_clock_run_at_speed_one() -> None:
    def drop_clocks(d: dict[str, Any]) -> None:
        for m in d["workflow"]["execution"]["machines"]:
            del m["cpu"]["speedInMHz"]

    p = platform_from_wfformat(edited(TINY15, drop_clocks))
    assert p is not None and [t.speed for t in p.node_types] == [1.0, 1.0]
