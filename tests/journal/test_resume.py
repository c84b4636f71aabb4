"""kill -9 of the driver in the middle of a run, then `hetflow run --resume`: real processes, a real SQLite file."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

from hetflow.journal import read_journal
from hetflow.journal import store as J
from tests.procs import wait_for

CLI = [sys.executable, "-c", "from hetflow.cli import main; main()"]
N = 24


def done_count(journal: Path) -> int:
    if not journal.exists():
        return 0
    try:
        with sqlite3.connect(journal) as conn:
            return int(conn.execute("SELECT count(*) FROM events WHERE kind = 'done'").fetchone()[0])
    except sqlite3.Error:
        return 0


def test_kill_the_driver_then_resume_runs_only_what_had_not_finished(tmp_path: Path) -> None:
    marks, journal = tmp_path / "marks", tmp_path / "run.db"
    workflow, platform = tmp_path / "wf.yaml", tmp_path / "two.yaml"
    workflow.write_text(
        "workflow: resumable\n"
        "tasks:\n"
        f"  - {{name: t, count: {N}, runtime: 0.2, command: 'sleep 0.2 && echo {{index}} >> {marks}'}}\n"
        f"  - {{name: final, runtime: 0, after: [t], command: 'echo final >> {marks}'}}\n"
    )
    platform.write_text("platform: two\nnodes:\n  - {type: n, cores: 2}\n")
    log = (tmp_path / "first.log").open("w")
    first = subprocess.Popen(
        [*CLI, "run", str(workflow), "--platform", str(platform), "--journal", str(journal)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(lambda: done_count(journal) >= 6, timeout=60, what="six tasks to be journaled as done")
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
    assert first.returncode == -signal.SIGKILL
    with sqlite3.connect(journal) as conn:
        done_before = {i for (i,) in conn.execute("SELECT idx FROM events WHERE kind = 'done' AND \"set\" = 't'")}
    assert 6 <= len(done_before) < N

    second = subprocess.run(
        [*CLI, "run", str(workflow), "--journal", str(journal), "--resume", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert second.returncode == 0, second.stderr
    (summary,) = json.loads(second.stdout)
    assert (summary["tasks"], summary["failed"], summary["kept"]) == (N + 1, 0, len(done_before))

    view = read_journal(journal)
    assert view.counts() == {"done": N + 1}
    assert [r.status for r in view.runs] == ["interrupted", "done"]
    with sqlite3.connect(journal) as conn:
        rerun = conn.execute("SELECT kind, idx FROM events WHERE run = 2 AND \"set\" = 't'").fetchall()
    started_again = {i for kind, i in rerun if kind == J.STARTED}
    assert not started_again & done_before  # what was done is not run again...
    assert {i for kind, i in rerun if kind == J.KEPT} == done_before  # ...and the journal says so
    assert started_again | done_before == set(range(N))
    lines = Counter(marks.read_text().split())
    assert all(lines[str(i)] == 1 for i in done_before) and all(lines[str(i)] >= 1 for i in range(N))
    assert lines["final"] == 1
