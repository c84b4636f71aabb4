"""The history store: fed by real runs' journals (hetflow run --history, Session(history=)) and WfFormat traces."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import hetflow as hf
from hetflow.cli import main
from hetflow.errors import SpecError
from hetflow.journal import read_journal
from hetflow.predict import HistoryStore, record_journal, record_wfformat, set_key, wfformat_keys
from hetflow.spec.load import load_workflow, read_document, recorded_platform
from tests.shared import wfinstance_params

PLATFORM = {"platform": "two", "nodes": [{"type": "fast", "cores": 2, "speed": 2.0}]}
WORKFLOW = {
    "workflow": "naps",
    "tasks": [
        {"name": "short", "count": 3, "runtime": 0.1, "command": "sleep 0.1"},
        {"name": "long", "runtime": 0.3, "command": "sleep 0.3", "after": ["short"]},
    ],
}


def test_a_real_run_journal_round_trips(tmp_path: Path) -> None:
    journal = tmp_path / "run.db"
    with hf.Session(platform=PLATFORM, journal=journal) as s:
        s.run(WORKFLOW)
    store = HistoryStore(tmp_path / "hist")
    assert store.path == tmp_path / "hist" / "history.db"
    assert record_journal(store, journal) == 4
    assert record_journal(store, journal) == 0  # the same journal twice adds nothing
    view = read_journal(journal)
    records = {r.task_id: r for r in view.records}
    rows = store.attempts()
    assert sorted(a.task for a in rows) == sorted(records)
    for a in rows:
        r = records[a.task]
        assert r.end is not None and r.start is not None
        assert (a.key, a.workflow, a.cores, a.gpus, a.node_type, a.speed) == (r.set, "naps", 1, 0.0, "fast", 2.0)
        assert a.duration == pytest.approx(r.end - r.start) and a.at == r.end
        assert a.input_bytes is None and a.workflow_tasks == 4
        assert a.duration >= (0.3 if a.key == "long" else 0.1)
    assert store.keys() == {"long": 1, "short": 3}


def test_sessions_and_hetflow_run_feed_the_store_when_asked(tmp_path: Path) -> None:
    hist = tmp_path / "hist"
    with hf.Session(platform=PLATFORM, history=hist) as s:  # no journal: a temporary one, gone afterwards
        s.run(WORKFLOW)
    assert HistoryStore(hist).keys() == {"long": 1, "short": 3}
    wf, pf = tmp_path / "wf.json", tmp_path / "p.json"
    wf.write_text(json.dumps(WORKFLOW))
    pf.write_text(json.dumps(PLATFORM))
    r = CliRunner().invoke(main, ["run", str(wf), "-p", str(pf), "--history", str(hist), "--json"])
    assert r.exit_code == 0, r.output
    assert HistoryStore(hist).keys() == {"long": 2, "short": 6}
    bad = tmp_path / "file"
    bad.write_text("")
    r = CliRunner().invoke(main, ["run", str(wf), "-p", str(pf), "--history", str(bad)])
    assert r.exit_code == 2 and r.stderr.count("\n") == 1 and "not a folder" in r.stderr
    with pytest.raises(SpecError, match="not a history file"):
        (tmp_path / "junk").mkdir()
        (tmp_path / "junk" / "history.db").write_text("not sqlite at all, just some text" * 100)
        HistoryStore(tmp_path / "junk")


def test_set_keys() -> None:
    assert set_key("individuals_ID0000042") == "individuals"
    assert set_key("mProject_ID0000001", "mProject-cat") == "mProject-cat"
    assert set_key("stage_2") == "stage_2"  # a native set's name stays whole


@pytest.mark.parametrize("instance", wfinstance_params())
def test_wfformat_traces_round_trip(instance: Path, tmp_path: Path) -> None:
    store = HistoryStore(tmp_path)
    wf = load_workflow(instance)
    assert record_wfformat(store, instance) == wf.n_tasks
    assert record_wfformat(store, instance) == 0
    keys = wfformat_keys(read_document(instance))
    platform = recorded_platform(instance)
    assert platform is not None  # every shared instance records its machines
    machines = {t.type: t.speed for t in platform.node_types}
    rows = {a.task: a for a in store.attempts()}
    for s in wf.sets:
        a = rows[s.name]
        assert a.key == keys[s.name] and "_ID" not in a.key
        assert a.duration == s.runtime and a.cores == s.resources.cores and a.workflow_tasks == wf.n_tasks
        inputs = [f.size for f in s.files if f.link == "input"]
        assert a.input_bytes == (float(sum(inputs)) if inputs else None)
        assert a.node_type in machines and a.speed == machines[a.node_type]


def test_a_trace_task_keeps_its_recorded_machine_and_speed(tmp_path: Path) -> None:
    """The shipped 1.5 fixture: work_ID03 ran on node-b, half node-a's clock (work at speed 1: 20 s x 0.5)."""
    store = HistoryStore(tmp_path)
    assert record_wfformat(store, Path(__file__).parents[1] / "fixtures" / "wfformat-1.5-tiny.json") == 4
    rows = {a.task: a for a in store.attempts()}
    assert {t: (a.key, a.node_type, a.speed, a.duration) for t, a in rows.items()} == {
        "split_ID01": ("split", "node-a", 1.0, 5.5),
        "work_ID02": ("work", "node-a", 1.0, 30.0),
        "work_ID03": ("work", "node-b", 0.5, 20.0),
        "merge_ID04": ("merge", "node-a", 1.0, 10.0),
    }
