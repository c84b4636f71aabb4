"""The journal records where a run's commands wrote their output, and a journal read back gives each attempt's log
files: the executors' naming rule (TASK_ID.out, then TASK_ID.N.out), the recorded folder, FILE.logs for older
journals that did not record one."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import hetflow as hf
from hetflow.journal import read_journal
from hetflow.journal import store as J
from hetflow.spec.logs import attempt_logs

PLATFORM = {"platform": "two", "nodes": [{"type": "n", "count": 1, "cores": 2}]}


IDS = ["a", "set[3]", "数据准备[0]", "sp ace*?[1]", "x/y", "", "x.2", "x[0]x", "a b[3]"]


def test_log_names_are_plain_and_never_shared() -> None:
    """Every attempt of every task id gets its own file, named with nothing a shell or glob reads specially."""
    names = [attempt_logs(Path("logs"), task_id, attempt)[0].name for task_id in IDS for attempt in (1, 2, 7)]
    assert len(set(names)) == len(names)
    assert all(not set(n) & set("*?[]/ \\'\"$") for n in names), names
    assert attempt_logs(Path("logs"), "set[3]", 2) == (Path("logs/set@3.2.out"), Path("logs/set@3.2.err"))


def test_a_run_records_its_log_folder_and_the_report_finds_every_attempt(tmp_path: Path) -> None:
    journal, logs = tmp_path / "run.db", tmp_path / "elsewhere"
    with hf.Session(platform=PLATFORM, journal=journal, log_dir=logs, retry_backoff=0.01) as s:
        flaky = s.shell(f"echo try; test -f {tmp_path}/seen || {{ touch {tmp_path}/seen; exit 1; }}", retries=1)
        flaky.result()
        s.submit(len, "abc").result()
    view = read_journal(journal)
    assert view.log_dir == logs.absolute()
    rows = {r["set"]: r for r in view.task_rows()}
    (shell,) = [r for r in rows.values() if r["logs"]]
    assert shell["attempts"] == 2 and [entry["attempt"] for entry in shell["logs"]] == [1, 2]
    for entry in shell["logs"]:
        assert Path(entry["stdout"]).parent == logs.absolute() and Path(entry["stdout"]).read_text() == "try\n"
    assert Path(shell["logs"][1]["stdout"]).name.endswith(".2.out")
    assert all(r["logs"] == [] for r in rows.values() if r is not shell)  # a Python task writes no log files

    with sqlite3.connect(journal) as conn:  # a journal from before the log folder was recorded
        conn.execute("DELETE FROM meta WHERE key = ?", (J.LOG_DIR_KEY,))
    old = read_journal(journal)
    assert old.log_dir == Path(f"{journal}.logs")
    shell_record = next(r for r in old.records if r.set == shell["set"])
    assert [e["stdout"] for e in old.logs(shell_record)] == [None, None]  # nothing there: no path pretends to be
