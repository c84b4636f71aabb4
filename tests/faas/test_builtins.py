"""The endpoint's built-in shell function: a timeout ends the whole command, background jobs included."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from hetflow.faas.builtins import echo, shell


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat")
    return not (status.exists() and status.read_text().split()[2] == "Z")  # a zombie has ended


def test_a_timeout_kills_what_the_command_started(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    with pytest.raises(subprocess.TimeoutExpired) as info:
        shell(f"echo started; sleep 60 & echo $! > {pid_file}; wait", timeout=1.0)
    assert info.value.output == "started\n"  # what it printed before the timeout comes with the error
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pid), "the background sleep outlived the timed-out command"


def test_output_status_and_echo() -> None:
    done = shell("echo out; echo err >&2; exit 3")
    assert (done["returncode"], done["stdout"], done["stderr"]) == (3, "out\n", "err\n")
    assert echo(5) == 5 and echo(1, a=2) == {"args": [1], "kwargs": {"a": 2}}
