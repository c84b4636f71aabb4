"""WfFormat runtimes are measured on the machine each record names: simulated on its own recorded machines, with each
task on its recorded machine, a trace gives back its recorded runtimes; validate and simulate say which speeds were
used, and name alike machines whose clocks differ."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from hetflow.cli import main
from hetflow.sim import run_simulation
from hetflow.spec.wfformat import platform_from_wfformat, recorded_speeds, workflow_from_wfformat
from tests.shared import FIXTURES, wfinstance_params

TINY = json.loads((FIXTURES / "wfformat-1.5-tiny.json").read_text())


def pinned_by_resources() -> dict[str, Any]:
    """The tiny trace, with resources that leave each task one machine it fits on: its recorded one. node-a (8 cores,
    2.0 GHz) runs tasks of 5 cores; node-b (4 cores, 1.0 GHz, more memory) runs a task needing 20 GB."""
    doc = copy.deepcopy(TINY)
    run = doc["workflow"]["execution"]
    run["machines"][1]["memoryInBytes"] = 32e9
    for t in run["tasks"]:
        if t["machines"] == ["node-a"]:
            t["coreCount"] = 5
        else:
            t["memoryInBytes"] = 20e9
    return doc


def recorded(doc: dict[str, Any]) -> dict[str, tuple[str, float]]:
    """Each task's recorded machine and runtime."""
    run = doc["workflow"]["execution"]
    return {t["id"]: (t["machines"][0], t["runtimeInSeconds"]) for t in run["tasks"]}


def test_tasks_on_their_recorded_machines_take_their_recorded_runtimes() -> None:
    doc = pinned_by_resources()
    platform = platform_from_wfformat(doc)
    assert platform is not None
    assert {t.type: t.speed for t in platform.node_types} == {"node-a": 1.0, "node-b": 0.5}
    result = run_simulation(workflow_from_wfformat(doc), platform)
    want = recorded(doc)
    for i in result.intervals:
        machine, runtime = want[i.set]
        assert i.node == f"{machine}-0"
        assert i.end - i.start == pytest.approx(runtime)  # before: a task recorded on node-b took twice as long
    # the work of the node-b task is its runtime at the reference (fastest) speed: 20 s there, 10 s on node-a
    assert {s.name: s.runtime for s in workflow_from_wfformat(doc).sets}["work_ID03"] == 10.0


@pytest.mark.parametrize("path", wfinstance_params())
def test_real_instances_give_back_their_recorded_runtimes(path: Path) -> None:
    doc = json.loads(path.read_text())
    platform = platform_from_wfformat(doc, str(path))
    if platform is None:
        pytest.skip("records no machines")
    want = recorded(doc)
    result = run_simulation(workflow_from_wfformat(doc, str(path)), platform)
    on_own = [i for i in result.intervals if i.node == f"{want[i.set][0]}-0"]
    assert on_own
    for i in on_own:
        assert i.end - i.start == pytest.approx(want[i.set][1])
    assert (recorded_speeds(doc) or "").startswith("from recorded clocks")


def test_speeds_summary_names_alike_machines_with_other_clocks() -> None:
    assert recorded_speeds(TINY) == "from recorded clocks (2 machines: 2.0 GHz = 1.0, 1.0 GHz = 0.5)"
    doc = copy.deepcopy(TINY)
    b = doc["workflow"]["execution"]["machines"][1]
    b["cpu"]["coreCount"], b["cpu"]["speedInMHz"] = 8, 2400
    text = recorded_speeds(doc) or ""
    assert text.startswith("from recorded clocks (2 machines: 2.4 GHz = 1.0, 2.0 GHz = 0.83)")
    assert "1 group of alike machines (cores, vendor, model) with different clocks" in text
    del doc["workflow"]["execution"]["machines"]
    assert recorded_speeds(doc) is None


def test_validate_and_simulate_say_which_speeds(tmp_path: Path) -> None:
    trace = FIXTURES / "wfformat-1.5-tiny.json"
    res = CliRunner().invoke(main, ["validate", str(trace)])
    assert res.exit_code == 0 and "speeds         from recorded clocks (2 machines" in res.stdout
    res = CliRunner().invoke(main, ["simulate", str(trace), "--json"])
    assert res.exit_code == 0 and "speeds: from recorded clocks" in res.stderr
    platform = tmp_path / "p.yaml"
    platform.write_text("platform: p\nnodes:\n  - {type: n, cores: 8}\n")
    res = CliRunner().invoke(main, ["simulate", str(trace), "-p", str(platform), "--json"])
    assert res.exit_code == 0 and "speeds" not in res.stderr
