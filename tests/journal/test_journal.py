"""The journal of real runs: real SQLite files written by real sessions, read back."""

from __future__ import annotations

import os
import signal
import sqlite3
from pathlib import Path

import pytest

import hetflow as hf
from hetflow.errors import SpecError
from hetflow.journal import read_journal, results_dir
from hetflow.journal import store as J
from tests.procs import first_sleeps_long, wait_for
from tests.runtime import tasks as t

TWO_CORES = {"platform": "two", "nodes": [{"type": "n", "cores": 2}]}


def events(path: Path) -> list[tuple[str, str | None, int | None]]:
    with sqlite3.connect(path) as conn:
        return conn.execute('SELECT kind, "set", idx FROM events ORDER BY seq').fetchall()


def test_every_transition_of_every_task_is_journaled(tmp_path: Path) -> None:
    journal = tmp_path / "run.db"
    wf = {
        "workflow": "w",
        "tasks": [
            {"name": "a", "count": 3, "command": "echo {index}", "runtime": 1},
            {"name": "bad", "command": "exit 5", "retries": 1},
            {"name": "after_bad", "command": "true", "after": ["bad"]},
        ],
    }
    with hf.Session(platform=TWO_CORES, journal=journal, retry_backoff=0.01) as s:
        run = s.run(wf)
    assert not run.ok
    kinds = events(journal)
    assert kinds[:1] == [(J.NODE_JOINED, None, None)]
    assert {(J.SUBMITTED, n, None) for n in ("a", "bad", "after_bad")} <= set(kinds)
    for i in range(3):
        assert [k for k, n, x in kinds if (n, x) == ("a", i)] == [J.STARTED, J.DONE]
    assert [k for k, n, x in kinds if n == "bad"] == [
        J.SUBMITTED,
        J.RELEASED,
        J.STARTED,
        J.ERROR,
        J.RETRIED,
        J.STARTED,
        J.ERROR,
        J.FAILED,
    ]
    assert (J.SKIPPED, "after_bad", None) in kinds
    from_journal = [(iv.node, iv.status, iv.attempts) for iv in read_journal(journal).intervals() if iv.set == "bad"]
    assert from_journal == [("n-0", "failed", 1), ("n-0", "failed", 2)]  # every attempt, as the session records it
    recorded = [(iv.node, iv.status, iv.attempts) for iv in run.result().intervals if iv.set == "bad"]
    assert recorded == from_journal
    with sqlite3.connect(journal) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        ((status, ended),) = conn.execute("SELECT status, ended FROM runs").fetchall()
    assert status == "failed" and ended is not None

    view = read_journal(journal)
    assert (view.workflow.name, view.platform.name, view.mode, view.policy) == ("w", "two", "task", "fifo")
    assert view.workflow["a"].command == "echo {index}" and view.workflow["a"].runtime == 1
    rows = {r["id"]: r for r in view.task_rows()}
    assert set(rows) == {"a[0]", "a[1]", "a[2]", "bad", "after_bad"}
    assert (
        rows["bad"]["status"] == "failed" and rows["bad"]["attempts"] == 2 and rows["bad"]["error"] == "exit status 5"
    )
    assert rows["after_bad"]["status"] == "skipped" and rows["after_bad"]["start"] is None
    assert all(rows[f"a[{i}]"]["status"] == "done" and rows[f"a[{i}]"]["node"] == "n-0" for i in range(3))
    assert view.result("a", 1).stdout == "1\n"  # results are kept; a command's output files sit beside the journal
    assert Path(view.result("a", 1).stdout_path).parent == Path(f"{journal}.logs")


def test_small_results_inline_large_ones_content_addressed(tmp_path: Path) -> None:
    journal = tmp_path / "run.db"
    with hf.Session(platform=TWO_CORES, journal=journal) as s:
        futures = s.map(t.blob, [10, 200_000, 200_000])
        assert [len(f.result(timeout=30)) for f in futures] == [10, 200_000, 200_000]
    with sqlite3.connect(journal) as conn:
        rows = conn.execute("SELECT idx, size, data IS NULL, digest FROM results ORDER BY idx").fetchall()
    assert [(i, size > J.INLINE_MAX, external) for i, size, external, _ in rows] == [
        (0, False, 0),
        (1, True, 1),
        (2, True, 1),
    ]
    assert rows[1][3] == rows[2][3] and os.listdir(results_dir(journal)) == [rows[1][3]]  # one file per content
    view = read_journal(journal)
    assert view.result(futures[1].set, 2) == b"x" * 200_000


def test_a_journal_is_never_written_over(tmp_path: Path) -> None:
    journal = tmp_path / "run.db"
    with hf.Session(platform=TWO_CORES, journal=journal):
        t.inc(1).result(timeout=30)
    with pytest.raises(SpecError, match=r"already records a run.*--resume"):
        hf.Session(platform=TWO_CORES, journal=journal)
    with pytest.raises(SpecError, match="no such journal to resume"):
        hf.Session(platform=TWO_CORES, journal=tmp_path / "none.db", resume=True)
    not_a_journal = tmp_path / "x.db"
    not_a_journal.write_text("hello, this is not SQLite" * 100)
    with pytest.raises(SpecError, match=r"x\.db"):
        read_journal(not_a_journal)


def test_a_path_that_cannot_be_a_journal_says_why(tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    with pytest.raises(SpecError, match=r"folder: this is a folder, not a journal file \(fix: give a file path"):
        hf.Session(platform=TWO_CORES, journal=folder)
    with pytest.raises(SpecError, match=r"this is a folder"):
        hf.Session(platform=TWO_CORES, journal=folder, resume=True)
    empty = tmp_path / "empty.db"
    empty.touch()
    with pytest.raises(SpecError, match=r"empty\.db: the file is empty, not a hetflow journal \(fix: delete it"):
        hf.Session(platform=TWO_CORES, journal=empty)
    missing = tmp_path / "no" / "such" / "run.db"
    with pytest.raises(SpecError, match=r"run\.db: the folder .*such does not exist \(fix: create the folder"):
        hf.Session(platform=TWO_CORES, journal=missing)
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t(x)")
    conn.close()
    with pytest.raises(SpecError, match=r"other\.db: not a hetflow journal .*\(fix: choose another file"):
        hf.Session(platform=TWO_CORES, journal=other)
    text = tmp_path / "x.db"
    text.write_text("hello, this is not SQLite" * 100)
    with pytest.raises(SpecError, match=r"x\.db: not a hetflow journal"):
        hf.Session(platform=TWO_CORES, journal=text)
    assert text.read_text() == "hello, this is not SQLite" * 100  # never written over


def test_a_worker_killed_mid_task_shows_in_the_journal(tmp_path: Path) -> None:
    journal, pidfile = tmp_path / "run.db", tmp_path / "pid"
    with hf.Session(platform=TWO_CORES, journal=journal) as s:
        f = s.submit(first_sleeps_long, str(pidfile))  # the first attempt sleeps 60 s: the kill lands mid-task
        wait_for(pidfile.exists, what="the task to start", timeout=60)
        os.kill(int(pidfile.read_text()), signal.SIGKILL)
        f.result(timeout=60)
    assert [k for k, n, _ in events(journal) if n == f.set] == [
        J.SUBMITTED,
        J.RELEASED,
        J.STARTED,
        J.LOST,
        J.STARTED,
        J.DONE,
    ]
    (row,) = read_journal(journal).task_rows()
    assert (row["status"], row["attempts"]) == ("done", 2)
