"""Ctrl-C on `hetflow run`: a real process sent SIGINT mid-run stops its tasks, leaves no process behind, keeps its
journal (the run marked interrupted), says how far it got, exits 130, and `--resume` finishes the rest."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from hetflow.errors import SpecError
from hetflow.journal.read import read_journal
from tests.procs import alive, descendants, wait_for

HETFLOW = str(Path(sys.executable).parent / "hetflow")  # the console script of the project's .venv
PLATFORM = "platform: two\nnodes:\n  - {type: n, cores: 2}\n"
# quick ends at once; long waits for the file `go` (so that an interrupted run and its resume share one workflow)
WORKFLOW = (
    "workflow: sleepy\n"
    "tasks:\n"
    "  - {{name: quick, count: 2, command: 'true'}}\n"
    "  - {{name: long, count: 2, after: [quick],\n"
    "     command: 'echo $$ > {dir}/long-{{index}}.pid; while [ ! -e {dir}/go ]; do sleep 0.05; done'}}\n"
    "  - {{name: last, command: 'true', after: [long]}}\n"
)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "tmp").mkdir()
    wf, pf = tmp_path / "wf.yaml", tmp_path / "two.yaml"
    wf.write_text(WORKFLOW.format(dir=tmp_path))
    pf.write_text(PLATFORM)
    return {"wf": wf, "platform": pf, "dir": tmp_path}


def start(args: list[str], tmp: Path) -> subprocess.Popen[str]:
    """`hetflow run ...` as a process of its own, with SIGINT at its default (a shell's background job ignores it)."""
    env = dict(os.environ, TMPDIR=str(tmp))
    return subprocess.Popen(
        [HETFLOW, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def interrupt_when_long_runs(proc: subprocess.Popen[str], folder: Path, times: int = 1) -> set[int]:
    """Wait until both long tasks run (quick ended), note every process below the run, send SIGINT; those pids."""

    def written(i: int) -> bool:  # the shell makes the file before it writes the pid into it
        path = folder / f"long-{i}.pid"
        return path.exists() and path.read_text().strip().isdigit()

    wait_for(lambda: all(written(i) for i in range(2)) or proc.poll() is not None)
    assert proc.poll() is None, proc.communicate()
    below = descendants(proc.pid) | {int((folder / f"long-{i}.pid").read_text()) for i in range(2)}
    for _ in range(times):
        proc.send_signal(signal.SIGINT)
    return below


pytestmark = pytest.mark.skipif(
    not Path(HETFLOW).exists() or not sys.platform.startswith("linux"), reason="needs the console script and /proc"
)


def test_ctrl_c_stops_cleanly_and_resume_finishes(files: dict[str, Path]) -> None:
    journal, report = files["dir"] / "run.db", files["dir"] / "report"
    args = ["run", str(files["wf"]), "-p", str(files["platform"]), "--journal", str(journal), "--report", str(report)]
    proc = start(args, files["dir"] / "tmp")
    below = interrupt_when_long_runs(proc, files["dir"])
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    last = err.strip().splitlines()[-1]
    assert last == f"interrupted: 2 of 5 tasks done; resume with hetflow run {files['wf']} --journal {journal} --resume"
    assert "Traceback" not in err and out == ""
    wait_for(lambda: not any(alive(p) for p in below), timeout=10, what="the run's processes to end")
    assert (report / "index.html").exists()  # --report: written for what ran

    view = read_journal(journal)
    assert {name: sorted(done) for name, done in view.done().items()} == {"quick": [0, 1]}
    with sqlite3.connect(journal) as conn:
        assert conn.execute("SELECT status FROM runs").fetchall() == [("interrupted",)]
        kinds = {k for (k,) in conn.execute("SELECT kind FROM events WHERE \"set\" = 'long'")}
    assert {"started", "cancelled"} <= kinds and "done" not in kinds

    (files["dir"] / "go").touch()
    again = subprocess.run(
        [HETFLOW, "run", str(files["wf"]), "--journal", str(journal), "--resume"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    assert "resumed        2 tasks done in an earlier run, not run again" in again.stdout
    assert {name: len(done) for name, done in read_journal(journal).done().items()} == {
        "quick": 2,
        "long": 2,
        "last": 1,
    }


def test_without_a_journal_it_says_how_to_keep_one(files: dict[str, Path]) -> None:
    proc = start(["run", str(files["wf"]), "-p", str(files["platform"])], files["dir"] / "tmp")
    below = interrupt_when_long_runs(proc, files["dir"])
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err.strip().splitlines()[-1] == (
        f"interrupted: 2 of 5 tasks done; to resume next time, keep a journal: hetflow run {files['wf']} --journal FILE"
    )
    wait_for(lambda: not any(alive(p) for p in below), timeout=10, what="the run's processes to end")
    assert list((files["dir"] / "tmp").iterdir()) == []  # no task failed: the temporary log folder is gone


def test_a_second_ctrl_c_forces_the_stop(files: dict[str, Path]) -> None:
    """Two SIGINTs at once: however far the clean stop got, the run ends with 130 and takes its processes along."""
    journal = files["dir"] / "run.db"
    proc = start(["run", str(files["wf"]), "-p", str(files["platform"]), "--journal", str(journal)], files["dir"])

    def quick_committed() -> bool:  # a forced stop may lose rows not yet committed (run says so): wait for these
        try:
            return len(read_journal(journal).done().get("quick", ())) == 2
        except SpecError:  # not made yet, or no run recorded in it yet
            return False

    wait_for(lambda: quick_committed() or proc.poll() is not None, timeout=30, what="quick's rows in the journal")
    below = interrupt_when_long_runs(proc, files["dir"], times=2)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in err, err
    wait_for(lambda: not any(alive(p) for p in below), timeout=10, what="the run's processes to end")
    assert read_journal(journal).done().keys() == {"quick"}


def test_ctrl_c_on_a_long_simulation_exits_130(files: dict[str, Path]) -> None:
    wf = files["dir"] / "huge.yaml"
    wf.write_text("workflow: huge\ntasks:\n  - {name: T0, count: 1000000000, runtime: 100}\n")
    proc = start(["simulate", str(wf), "-p", str(files["platform"]), "--progress-every", "0.05"], files["dir"])
    assert proc.stderr is not None
    warning, first = proc.stderr.readline(), proc.stderr.readline()  # then a progress line: it simulates now
    assert warning.startswith("warning: lower bound: ") and " simulating task/fifo: " in first, (warning, first)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and err.strip().splitlines()[-1] == "interrupted" and "Traceback" not in err
