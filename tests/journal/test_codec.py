"""The journal keeps what a re-simulation needs: a set's run-time law and a node type's speed jitter, through a real
run's journal; journals written before either read as before."""

from __future__ import annotations

from pathlib import Path

import hetflow as hf
from hetflow.journal import read_journal
from hetflow.journal.codec import platform_from_dict, platform_to_dict, set_from_dict, set_to_dict
from hetflow.spec import load_platform, load_workflow
from hetflow.spec.distribution import Distribution

PLATFORM = {"platform": "two", "nodes": [{"type": "n", "cores": 2, "speed_jitter": 0.05}]}
WORKFLOW = {
    "workflow": "laws",
    "tasks": [
        {"name": "a", "count": 2, "runtime": {"dist": "lognormal", "median": 0.05, "cv": 0.2}, "command": "true"},
        {"name": "b", "runtime": {"samples": [0.01, 0.02, 0.03]}, "command": "true", "after": ["a"]},
        {"name": "c", "runtime": 0.01, "command": "true", "after": ["a"]},
    ],
}


def test_a_journal_keeps_run_time_laws_and_speed_jitter(tmp_path: Path) -> None:
    wf, platform = load_workflow(WORKFLOW), load_platform(PLATFORM)
    with hf.Session(platform=platform, journal=tmp_path / "run.db") as s:
        assert s.run(wf).ok
    view = read_journal(tmp_path / "run.db")
    assert {x.name: x.runtime_dist for x in view.workflow.sets} == {x.name: x.runtime_dist for x in wf.sets}
    assert view.workflow["a"].runtime_dist == Distribution.lognormal(0.05, 0.2)
    assert view.workflow["c"].runtime_dist is None
    assert view.platform.node_types[0].speed_jitter == 0.05


def test_journals_from_before_laws_and_jitter_read_as_before() -> None:
    wf, platform = load_workflow(WORKFLOW), load_platform(PLATFORM)
    old_set = set_to_dict(wf["a"])
    del old_set["runtime_dist"]
    assert set_from_dict(old_set).runtime_dist is None and set_from_dict(old_set).runtime == wf["a"].runtime
    old_platform = platform_to_dict(platform)
    old_platform["node_types"] = [t[:6] for t in old_platform["node_types"]]
    assert platform_from_dict(old_platform).node_types[0].speed_jitter == 0.0
