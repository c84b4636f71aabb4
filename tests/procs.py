"""Helpers of the tests that run real processes: waiting for a condition or for an executor's outcomes, and whether a
process is still alive."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from hetflow.executors import Executor, Outcome


def wait_for(cond: Callable[[], object], timeout: float = 20.0, what: str = "a condition") -> None:
    """Poll cond until it is true; fail the test after timeout seconds (a bound on a hang, not a timing assertion)."""
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def drain(ex: Executor, n: int, timeout: float = 60.0) -> dict[int, Outcome]:
    """Poll an executor until n outcomes came back (fail the test after timeout seconds); them, by key."""
    got: dict[int, Outcome] = {}
    end = time.monotonic() + timeout
    while len(got) < n:
        assert time.monotonic() < end, f"only {len(got)} of {n} outcomes came back"
        for o in ex.poll(0.5):
            got[o.key] = o
    return got


def write_pid(path: str | Path) -> None:
    """Write this process's id into path at once (a reader never sees the file empty)."""
    tmp = Path(f"{path}.{os.getpid()}.tmp")
    tmp.write_text(str(os.getpid()))
    os.replace(tmp, path)


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        try:
            return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except (OSError, IndexError):
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def first_sleeps_long(path: str) -> int:
    """Write this worker's pid into path; the first attempt (no such file yet) then sleeps 60 s, a later one does not:
    a test that kills the first attempt always finds it mid-task, however loaded the machine."""
    first = not os.path.exists(path)
    write_pid(path)
    if first:
        time.sleep(60)
    return os.getpid()


def descendants(pid: int) -> set[int]:
    """Every process below pid, read from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    out: set[int] = set()
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            out.add(child)
            todo.append(child)
    return out
