"""`hetflow run` and `hetflow report` from the command line, on real processes and real journals."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from rich.console import Console

import hetflow as hf
from hetflow.cli import main
from hetflow.cli.run import follow

PLATFORM = "platform: two\nnodes:\n  - {type: n, cores: 2}\n"


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    wf = tmp_path / "wf.yaml"
    wf.write_text(
        "workflow: small\n"
        "tasks:\n"
        "  - {name: a, count: 4, runtime: 0.1, command: 'sleep 0.1'}\n"
        "  - {name: b, runtime: 0.1, after: [a], function: 'tests.runtime.tasks:square'}\n"
    )
    failing = tmp_path / "failing.yaml"
    failing.write_text(
        "workflow: failing\n"
        "tasks:\n"
        "  - {name: ok, count: 2, command: 'true'}\n"
        "  - {name: bad, command: 'echo broken >&2; exit 3'}\n"
        "  - {name: child, command: 'true', after: [bad]}\n"
    )
    platform = tmp_path / "two.yaml"
    platform.write_text(PLATFORM)
    return {"wf": wf, "failing": failing, "platform": platform, "dir": tmp_path}


def test_run_then_report(files: dict[str, Path]) -> None:
    journal, out = files["dir"] / "run.db", files["dir"] / "report"
    r = invoke("run", files["wf"], "--platform", files["platform"], "--journal", journal, "--json", "--report", out)
    assert r.exit_code == 0, r.output
    (summary,) = json.loads(r.stdout)
    assert (summary["workflow"], summary["source"], summary["tasks"], summary["failed"]) == ("small", "real", 5, 0)
    # two rounds of `sleep 0.1` (b, a function, returns at once: its 0.1 s is only the estimate the simulation uses)
    assert summary["makespan_s"] >= 0.2 and {p.name for p in out.iterdir()} == {
        "index.html",
        "gantt.png",
        "utilization.png",
    }

    r = invoke("report", journal, "--json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert [row["id"] for row in rows] == ["a[0]", "a[1]", "a[2]", "a[3]", "b"]
    assert set(rows[0]) >= {"id", "set", "node", "start", "end", "cores", "gpus", "status", "attempts"}
    assert all(row["status"] == "done" and row["attempts"] == 1 and row["node"] == "n-0" for row in rows)
    assert max(row["end"] for row in rows) == pytest.approx(summary["makespan_s"], abs=1e-3)

    r = invoke("report", journal, "--out", files["dir"] / "again")
    assert r.exit_code == 0 and (files["dir"] / "again" / "index.html").exists()

    r = invoke("report", journal, "--compare-sim", "--json")
    compare = json.loads(r.stdout)
    assert compare["simulated"]["makespan_s"] == pytest.approx(0.3)  # two rounds of a, then b
    assert compare["real"]["makespan_s"] == pytest.approx(summary["makespan_s"], abs=1e-3)
    r = invoke("report", journal, "--compare-sim")
    assert "simulated      0.30 s makespan" in r.stdout and "real" in r.stdout


def test_a_failed_task_gives_exit_status_1_and_is_reported(files: dict[str, Path]) -> None:
    r = invoke("run", files["failing"], "--platform", files["platform"])
    assert r.exit_code == 1
    assert "failed         bad: exit status 3: broken" in r.stdout
    assert "skipped        child (1 task): a dependency of child failed or was cancelled" in r.stdout


def test_bad_input_is_one_line_and_exit_status_2(files: dict[str, Path]) -> None:
    journal = files["dir"] / "run.db"
    assert invoke("run", files["wf"], "--platform", files["platform"], "--journal", journal).exit_code == 0
    other = files["dir"] / "other.yaml"
    other.write_text("platform: other\nnodes:\n  - {type: n, cores: 1}\n")
    cases = [
        (("run", files["wf"], "--journal", journal), "already records a run (fix: pass --resume"),
        (("run", files["wf"], "--resume"), "resume needs a journal"),
        (("run", files["wf"], "--backend", "nope"), "unknown backend 'nope'"),
        (("run", files["wf"], "--policy", "nope"), "unknown policy 'nope'"),
        (("report", files["dir"] / "missing.db"), "missing.db: no such journal"),
        (("run", files["wf"], "--journal", journal, "--resume", "--mode", "sync"), "used mode 'task', not 'sync'"),
        (("run", files["wf"], "--journal", journal, "--resume", "--policy", "heft"), "used policy 'fifo'"),
        (("run", files["wf"], "--journal", journal, "--resume", "--platform", other), "another platform than 'other'"),
        (("run", files["wf"], "--partition", "x"), "write NAME=CORES or NAME=CORES,GPUS"),
    ]
    for args, message in cases:
        r = invoke(*args)
        assert r.exit_code == 2, (args, r.output)
        assert r.stderr.count("\n") == 1 and message in r.stderr, r.stderr
    nothing = files["dir"] / "nothing.yaml"
    nothing.write_text("workflow: w\ntasks:\n  - {name: a, runtime: 1}\n")
    fresh = files["dir"] / "fresh.db"
    r = invoke("run", nothing, "--platform", files["platform"], "--journal", fresh)
    assert r.exit_code == 2 and "nothing.yaml: tasks[0] (a): task set a has nothing to run" in r.stderr
    assert invoke("run", files["wf"], "--platform", files["platform"], "--journal", fresh).exit_code == 0  # no run left


def test_the_progress_bar_shows_tasks_cores_and_gpus(files: dict[str, Path]) -> None:
    platform = {"platform": "g", "nodes": [{"type": "g", "cores": 2, "gpus": 1}]}
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=160)
    with hf.Session(platform=platform) as s:
        run = s.submit_workflow(
            {"workflow": "bar", "tasks": [{"name": "a", "count": 4, "gpus": 0.5, "command": "sleep 0.3"}]}
        )
        follow(s, run, 4, console)
    text = buffer.getvalue()
    assert "bar" in text and "4/4" in text
    assert "cores 2/2" in text and "GPUs 1/1" in text  # two half-GPU tasks at a time, seen busy while they ran
    assert "ETA " in text  # the time still to go, with its interval


def test_emulate_replays_a_trace_on_the_machines_it_records(tmp_path: Path) -> None:
    trace = Path(__file__).parents[1] / "fixtures" / "wfformat-1.5-tiny.json"
    journal = tmp_path / "replay.db"
    r = invoke("run", trace, "--emulate", "0.02", "--journal", journal, "--json")
    assert r.exit_code == 0, r.output
    (summary,) = json.loads(r.stdout)
    assert (summary["tasks"], summary["failed"], summary["platform"]) == (4, 0, "tiny-split-merge (recorded machines)")
    compare = json.loads(invoke("report", journal, "--compare-sim", "--json").stdout)
    assert compare["simulated"]["makespan_s"] == pytest.approx(45.5 * 0.02)  # the journal holds the scaled run times
    assert compare["real"]["makespan_s"] >= 45.5 * 0.02  # each task really slept its scaled run time
    bad = invoke("run", trace, "--emulate", "0")
    assert bad.exit_code == 2 and "a time scale of 0.0" in bad.stderr
    empty, small = tmp_path / "empty.db", tmp_path / "small.yaml"
    small.write_text("platform: small\nnodes:\n  - {type: n, cores: 1}\n")
    assert invoke("run", trace, "--emulate", "1", "--platform", small, "--journal", empty).exit_code == 2  # too big
    r = invoke("report", empty)
    assert r.exit_code == 2 and "the journal records no run yet" in r.stderr
