"""A Session's live dashboard: `python -m hetflow.dashboard` in a process of its own, reading the journal the
session writes. Only the standard library here, so the runtime that starts it imports neither the web stack nor
the simulator (the comparison panel's), and a crash of the server never stops a run."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from hetflow.errors import ExecutionError

START_TIMEOUT_S = 30.0
DEFAULT_PORT = 8787
HOST = "127.0.0.1"  # a live dashboard is for the machine it runs on


def temporary_journal() -> Path:
    """A journal file in a new temporary folder, for a session with a dashboard and no journal of its own."""
    return Path(tempfile.mkdtemp(prefix="hetflow-dashboard-")) / "run.db"


def port_of(option: bool | int | None) -> int | None:
    """Session(dashboard=...) as a port: True: the default one, else any free one (None); an int: that one."""
    return None if option is True else int(option or 0)


class LiveDashboard:
    """The dashboard server of one journal: started at once, its URL known when the constructor returns. temporary:
    the journal's folder is temporary_journal()'s, removed on stop."""

    def __init__(self, journal: Path, log_dir: Path | None, port: int | None = None, temporary: bool = False) -> None:
        self.temporary = journal.parent if temporary else None
        self.token = secrets.token_urlsafe(18)
        token = f"--token={self.token}"  # a token may begin with "-": never a separate argument
        cmd = [sys.executable, "-m", "hetflow.dashboard", os.fspath(journal), token]
        cmd += ["--host", HOST, "--parent", str(os.getpid())]
        cmd += ["--port", str(DEFAULT_PORT), "--any-port"] if port is None else ["--port", str(port)]
        if log_dir is not None:
            cmd += ["--logs", os.fspath(log_dir)]
        # a session of its own: Ctrl-C on the run leaves the dashboard up until the session closes
        self.process = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, start_new_session=True
        )
        line = _first_line(self.process, START_TIMEOUT_S)
        if not line.startswith("http"):
            self.stop()
            raise ExecutionError(
                f"the dashboard did not start on {HOST}:{DEFAULT_PORT if port is None else port} (see its error above)"
            )
        self.url = line

    def stop(self, remove: bool = True) -> None:
        """End the server; remove: also a temporary journal's folder (once nothing writes it)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        if remove and self.temporary is not None:
            shutil.rmtree(self.temporary, ignore_errors=True)


def _first_line(process: subprocess.Popen[str], timeout: float) -> str:
    """The first line the process prints ("" when it prints none in time or ends first)."""
    out = process.stdout
    if out is None:
        return ""
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(out.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return got[0].strip() if got else ""
