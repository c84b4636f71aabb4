"""`hetflow predict`: the forecast of each set and of the makespan, from a history of real runs and traces."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import hetflow as hf
from hetflow.cli import main
from hetflow.predict import HistoryStore, record_wfformat
from tests.shared import wfinstance_files

PLATFORM = {"platform": "two", "nodes": [{"type": "n", "cores": 2}]}


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def test_predict_json_has_the_exact_shape_and_says_its_basis(tmp_path: Path) -> None:
    hist = tmp_path / "hist"
    ran = {"workflow": "w", "tasks": [{"name": "nap", "count": 3, "runtime": 5.0, "command": "sleep 0.2"}]}
    with hf.Session(platform=PLATFORM, history=hist) as s:
        s.run(ran)
    wf, pf = tmp_path / "wf.json", tmp_path / "p.json"
    wf.write_text(
        json.dumps(
            {
                "workflow": "w",
                "tasks": [
                    {"name": "nap", "count": 2, "runtime": 5.0, "command": "sleep 0.2"},
                    {"name": "new", "runtime": 3.0, "command": "true", "after": ["nap"]},
                ],
            }
        )
    )
    pf.write_text(json.dumps(PLATFORM))
    r = invoke("predict", wf, "-p", pf, "--history", hist, "--json", "--repeat", "50", "--seed", "1")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert set(out) == {"makespan_s", "sets"} and set(out["makespan_s"]) == {"p10", "p50", "p90"}
    assert [set(s) for s in out["sets"]] == [{"set", "key", "runtime_s", "basis"}] * 2
    nap, new = out["sets"]
    assert (nap["set"], nap["key"], nap["basis"]) == ("nap", "nap", "history")
    assert (new["set"], new["key"], new["basis"]) == ("new", "new", "declared")
    assert set(nap["runtime_s"]) == {"p10", "p50", "p90"} and new["runtime_s"] == {"p10": 3.0, "p50": 3.0, "p90": 3.0}
    assert 0.2 <= nap["runtime_s"]["p50"] < 1.0  # what the runs took, not the 5 s declared
    m = out["makespan_s"]
    assert m["p10"] <= m["p50"] <= m["p90"] and m["p50"] == pytest.approx(nap["runtime_s"]["p50"] + 3.0, rel=0.3)
    again = invoke("predict", wf, "-p", pf, "--history", hist, "--json", "--repeat", "50", "--seed", "1")
    assert json.loads(again.stdout) == out  # reproducible for a seed
    table = invoke("predict", wf, "-p", pf, "--history", hist, "--repeat", "5")
    assert table.exit_code == 0 and "declared" in table.stdout and "makespan on two" in table.stdout
    r = invoke("predict", wf, "--history", hist)
    assert r.exit_code == 2 and "no platform to simulate on" in r.stderr


def test_a_set_without_history_keeps_the_law_it_declares(tmp_path: Path) -> None:
    wf, pf = tmp_path / "wf.yaml", tmp_path / "p.json"
    wf.write_text("workflow: w\ntasks:\n  - {name: a, count: 4, runtime: {dist: lognormal, median: 10, cv: 0.3}}\n")
    pf.write_text(json.dumps(PLATFORM))
    r = invoke("predict", wf, "-p", pf, "--history", tmp_path / "empty", "--json", "--repeat", "100")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    (a,) = out["sets"]
    assert a["basis"] == "declared" and a["runtime_s"]["p10"] < a["runtime_s"]["p50"] == 10.0 < a["runtime_s"]["p90"]
    m = out["makespan_s"]
    assert m["p10"] < m["p50"] < m["p90"] and 20 < m["p50"] < 40  # two waves of two on two cores, each drawn


@pytest.mark.skipif(not wfinstance_files(), reason="no shared WfFormat instances")
def test_predict_a_trace_from_its_own_history(tmp_path: Path) -> None:
    (trace,) = [f for f in wfinstance_files() if f.name.startswith("montage")]
    store = HistoryStore(tmp_path)
    record_wfformat(store, trace)
    r = invoke("predict", trace, "--history", tmp_path, "--json", "--repeat", "20")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert {s["key"] for s in out["sets"]} >= {"mProject", "mDiffFit", "mAdd"}
    assert all(s["basis"] == "history" for s in out["sets"])
    assert out["makespan_s"]["p10"] <= out["makespan_s"]["p90"]
