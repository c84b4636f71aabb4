"""A run killed with kill -9 is incomplete: `report --compare-sim` says so instead of comparing; once resumed, the
report marks where the first run was interrupted and where the resume began."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from hetflow.journal import read_journal
from hetflow.metrics.journaled import journal_result
from hetflow.report import gantt_figure, write_report
from hetflow.report.plots import MARK_COLORS
from tests.journal.test_resume import done_count
from tests.procs import wait_for

CLI = [sys.executable, "-c", "from hetflow.cli import main; main()"]


def hetflow(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *map(str, args)], capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})}
    )


def test_an_interrupted_run_is_incomplete_then_its_resume_is_marked(tmp_path: Path) -> None:
    journal, workflow, platform = tmp_path / "run.db", tmp_path / "wf.yaml", tmp_path / "two.yaml"
    workflow.write_text(  # quick tasks, then slow ones (HF_NAP seconds: long in the first run, none on resume)
        "workflow: interrupted\n"
        "tasks:\n"
        "  - {name: quick, count: 2, runtime: 0.05, command: 'true'}\n"
        "  - {name: slow, count: 3, runtime: 0.1, after: [quick], command: 'sleep ${HF_NAP}'}\n"
    )
    platform.write_text("platform: two\nnodes:\n  - {type: n, cores: 2}\n")
    with (tmp_path / "first.log").open("w") as log:
        first = subprocess.Popen(
            [*CLI, "run", str(workflow), "--platform", str(platform), "--journal", str(journal)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "HF_NAP": "60"},
        )
        try:
            wait_for(lambda: done_count(journal) >= 2, timeout=60, what="the quick tasks to be journaled as done")
        finally:
            os.kill(first.pid, signal.SIGKILL)
            first.wait()

    r = hetflow("report", journal, "--compare-sim")
    assert r.returncode == 0, r.stderr
    (said,) = r.stdout.strip().splitlines()  # one line, no comparison
    assert said.startswith("incomplete") and "2 of 5 tasks ended; the last run never recorded its end" in said
    assert f"resume with hetflow run WORKFLOW --journal {journal} --resume" in " ".join(said.split())
    assert "simulated" not in r.stdout
    r = hetflow("report", journal, "--compare-sim", "--json")
    assert json.loads(r.stdout) == {
        "incomplete": True,
        "tasks": 5,
        "ended": 2,
        "last_run_ended": False,
        "resume": f"hetflow run WORKFLOW --journal {journal} --resume",
    }
    view = read_journal(journal)
    assert not view.complete() and view.unended() == 3
    (mark,) = view.run_marks()
    assert (mark.kind, mark.text) == ("interrupted", "run 1 interrupted: it never recorded its end")
    assert view.runs[0].last_event is not None and mark.t == view.runs[0].last_event

    resumed = hetflow("run", workflow, "--journal", journal, "--resume", env={"HF_NAP": "0"})
    assert resumed.returncode == 0, resumed.stderr
    view = read_journal(journal)
    assert view.complete() and [r.status for r in view.runs] == ["interrupted", "done"]
    assert [(m.kind, m.text) for m in view.run_marks()] == [
        ("interrupted", "run 1 interrupted: it never recorded its end"),
        ("resume", "run 2 began: resumed from the journal"),
    ]
    r = hetflow("report", journal, "--compare-sim")
    assert r.returncode == 0 and "simulated" in r.stdout and "2 runs (resumed)" in r.stdout

    result = journal_result(view)
    page = write_report([result], tmp_path / "report").read_text()
    assert "<td>interrupted</td><td>run 1 interrupted: it never recorded its end</td>" in page
    assert "<td>resume</td><td>run 2 began: resumed from the journal</td>" in page
    (ax,) = gantt_figure([result]).axes
    numbered = {t.get_text(): t.get_color() for t in ax.texts if t.get_color() in MARK_COLORS.values()}
    assert numbered == {"1": MARK_COLORS["interrupted"], "2": MARK_COLORS["resume"]}  # both marks, numbered
    lines = {line.get_xdata()[0] for line in ax.get_lines()}  # type: ignore[index]
    assert {round(m.t, 6) for m in result.timeline()} <= {round(float(x), 6) for x in lines}
