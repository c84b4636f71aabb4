"""Where an attempt of a task writes its output: one naming rule that every executor writes by and the journal's
reader finds the files by (both import spec, neither imports the other)."""

from __future__ import annotations

from pathlib import Path

_PLAIN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+=-")


def safe_name(task_id: str) -> str:
    """A file name for a task id that no shell or glob reads specially, and that no other task id gets: SET[3] is
    SET@3, and in SET any character but letters, digits and _+=- becomes %XX per UTF-8 byte (so "a b[3]" is
    a%20b@3, and the set "x.2" is x%2E2, not to be mistaken for the second attempt of x)."""
    base, bracket, index = task_id[:-1].rpartition("[") if task_id.endswith("]") else ("", "", "")
    if not (bracket and index.isdigit()):
        base, index = task_id, ""
    name = "".join(c if c in _PLAIN else "".join(f"%{b:02X}" for b in c.encode()) for c in base)
    return (name or "%") + (f"@{index}" if index else "")


def attempt_logs(folder: Path, task_id: str, attempt: int) -> tuple[Path, Path]:
    """FOLDER/NAME.out and .err for the first attempt, NAME.N.out and .err for attempt N > 1 (NAME: safe_name of
    the task id), so that a retry keeps the logs of the attempts before it."""
    name = safe_name(task_id)
    if attempt > 1:
        name = f"{name}.{attempt}"
    return folder / f"{name}.out", folder / f"{name}.err"
