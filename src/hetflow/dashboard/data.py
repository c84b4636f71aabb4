"""What the dashboard shows of one journal, as JSON-ready dicts: its summary, progress per set, tasks and their logs.

A JournalSource reads its journal again only when the file (or its WAL) changed, so a browser polling every second
costs one read per journal write, and a live run (the journal a Session is writing) is shown by the same code as a
recorded one: a task started and not ended is running while the journal's last run is running.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hetflow.errors import SpecError
from hetflow.journal import JournalView, TaskRecord, read_journal
from hetflow.journal.read import PENDING, UNFINISHED
from hetflow.metrics.result import RunResult
from hetflow.spec.logs import attempt_logs
from hetflow.spec.resources import GPU_UNIT
from hetflow.spec.trace import Interval

LOG_CAP = 256 * 1024  # bytes of a log the dashboard sends: the tail of a longer one
STATES = ("done", "running", "waiting", "failed", "skipped", "cancelled", "pending", "unfinished")
LIVE = "running"  # a run's status while it goes on


class DashboardError(Exception):
    """A request the dashboard cannot answer: its HTTP status and one line saying why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Snapshot:
    """One reading of a journal: the view (None while it records no run yet), when it was read, the sets released."""

    source: JournalSource
    view: JournalView | None
    now: float
    released: frozenset[str] = frozenset()
    problem: str | None = None  # why the journal could not be read

    @property
    def live(self) -> bool:
        return self.view is not None and bool(self.view.runs) and self.view.runs[-1].status == LIVE

    def state(self, r: TaskRecord) -> str:
        """A task's state as shown: a started task is running while the run goes on (waiting: a retry's backoff)."""
        if r.status == UNFINISHED:
            if not self.live:
                return UNFINISHED
            return "running" if r.end is None else "waiting"
        return r.status

    def require(self) -> JournalView:
        if self.view is None:
            raise DashboardError(404, f"{self.source.name}: {self.problem or 'no run recorded yet'}")
        return self.view


class JournalSource:
    """One journal the dashboard serves, and where its tasks' logs are (the folder given, else the one the journal
    records, else FILE.logs)."""

    def __init__(self, path: str | os.PathLike[str], log_dir: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path)
        self.name = self.path.name
        self.log_dir = Path(log_dir) if log_dir is not None else None
        self._lock = threading.Lock()
        self._key: tuple[int, ...] | None = None
        self._snapshot: Snapshot | None = None
        self.simulated: tuple[tuple[int, str, str], RunResult] | None = None  # compare.py's, per what was submitted

    def _stat_key(self) -> tuple[int, ...]:
        key: list[int] = []
        for p in (self.path, Path(os.fspath(self.path) + "-wal")):
            try:
                st = p.stat()
                key += [st.st_mtime_ns, st.st_size]
            except OSError:
                key += [0, 0]
        return tuple(key)

    def snapshot(self) -> Snapshot:
        """The journal as it is now (read again only when it changed; a live one also when a second passed)."""
        with self._lock:
            key = self._stat_key()
            old = self._snapshot
            if old is not None and key == self._key and not (old.live and time.time() - old.now > 1.0):
                return old
            if old is not None and key == self._key:  # nothing written: only the clock moved
                self._snapshot = Snapshot(self, old.view, time.time(), old.released, old.problem)
                return self._snapshot
            self._key, self._snapshot = key, self._read()
            return self._snapshot

    def _read(self) -> Snapshot:
        now = time.time()
        try:
            view = read_journal(self.path)
        except SpecError as exc:
            return Snapshot(self, None, now, problem=" ".join(exc.line().split()))
        return Snapshot(self, view, now, self._released())

    def _released(self) -> frozenset[str]:
        """The task sets whose tasks were released (ready to run), from the journal's events."""
        try:
            conn = sqlite3.connect(f"file:{os.fspath(self.path)}?mode=ro", uri=True)
            try:
                rows = conn.execute('SELECT DISTINCT "set" FROM events WHERE kind = ?', ("released",)).fetchall()
            finally:
                conn.close()
        except sqlite3.Error:
            return frozenset()
        return frozenset(r[0] for r in rows if r[0] is not None)

    # ---- logs ------------------------------------------------------------------------------------------------------
    def log_path(self, view: JournalView, task_id: str, attempt: int, stream: str) -> Path:
        """Where a command's stdout ("out") or stderr ("err") of one attempt is (spec.logs, the executors' rule)."""
        folder = self.log_dir or view.log_dir or Path(os.fspath(self.path) + ".logs")
        out, err = attempt_logs(folder, task_id, attempt)
        return out if stream == "out" else err


def summary(snap: Snapshot, index: int) -> dict[str, Any]:
    """One journal in the runs list: what ran, how it stands, how long it took."""
    src = snap.source
    out: dict[str, Any] = {"id": index, "name": src.name, "path": str(src.path)}
    if snap.view is None:
        return out | {"status": "waiting", "problem": snap.problem, "counts": {}, "total": 0}
    v = snap.view
    counts = dict.fromkeys(STATES, 0)
    for r in v.records:
        counts[snap.state(r)] += 1
    last = v.runs[-1] if v.runs else None
    ends = [r.end for r in v.records if r.end is not None]
    elapsed = (snap.now if snap.live else max(ends, default=v.origin)) - v.origin
    return out | {
        "workflow": v.workflow.name,
        "platform": v.platform.name,
        "mode": v.mode,
        "policy": v.policy,
        "status": last.status if last is not None else "waiting",
        "runs": [{"run": r.run, "started": r.started, "ended": r.ended, "status": r.status} for r in v.runs],
        "live": snap.live,
        "counts": {k: n for k, n in counts.items() if n},
        "total": len(v.records),
        "elapsed_s": round(max(elapsed, 0.0), 3),
        "started": v.runs[0].started if v.runs else None,
        "marks": len(v.marks),
    }


def progress(snap: Snapshot) -> dict[str, Any]:
    """Per task set: its tasks by state (a table panel)."""
    v = snap.require()
    cols = ["done", "running", "failed", "skipped", "cancelled", "pending"]
    per: dict[str, dict[str, int]] = {s.name: dict.fromkeys(cols, 0) for s in v.workflow.sets}
    for r in v.records:
        st = snap.state(r)
        st = "pending" if st in (PENDING, "waiting", UNFINISHED) else st
        per[r.set][st] += 1
    rows = [[name, sum(c.values()), *(c[k] for k in cols)] for name, c in per.items()]
    return {"columns": ["set", "tasks", *cols], "rows": rows, "bars": {"total": 1, "parts": [2, 3, 4, 5, 6]}}


def attempts(snap: Snapshot) -> Iterator[tuple[TaskRecord, Interval]]:
    """Every attempt that has a start: ended ones as recorded, running ones until now (status "running")."""
    v = snap.require()
    for r in v.records:
        for iv in r.failures:
            yield r, iv
        if r.start is None:
            continue
        state = snap.state(r)
        if state == "done" and r.end is not None:
            yield r, Interval(r.set, r.index, r.index + 1, r.node or "", r.start, r.end, r.cores, r.gpu_units)
        elif state == "running":
            end = max(snap.now, r.start)
            yield (
                r,
                Interval(
                    r.set, r.index, r.index + 1, r.node or "", r.start, end, r.cores, r.gpu_units, "running", r.attempts
                ),
            )


def node_types(snap: Snapshot) -> dict[str, str]:
    """Node name -> its node type, for the platform of the journal."""
    return {n.name: n.type for n in snap.require().platform.nodes()}


def _cell_time(t: float | None, origin: float) -> float | None:
    return None if t is None else round(t - origin, 3)


def tasks(snap: Snapshot, query: dict[str, str]) -> dict[str, Any]:
    """The task table: filtered by state, set and a text in the id or error; a page of rows with each attempt's logs."""
    v = snap.require()
    state, set_name, text = query.get("state", ""), query.get("set", ""), query.get("q", "").lower()
    offset, limit = _int(query, "offset", 0, 0, 10**9), _int(query, "limit", 100, 1, 1000)
    if state and state not in STATES:
        raise DashboardError(400, f"unknown state {state!r} (use one of {', '.join(STATES)})")
    if set_name and set_name not in v.workflow:
        raise DashboardError(400, f"unknown task set {set_name!r}")
    picked = [
        r
        for r in v.records
        if (not state or snap.state(r) == state)
        and (not set_name or r.set == set_name)
        and (not text or text in r.task_id.lower() or text in (r.error or "").lower())
    ]
    rows = []
    for r in picked[offset : offset + limit]:
        logs = []
        for a in range(1, r.attempts + 1):
            sizes = {s: _size(snap.source.log_path(snap.require(), r.task_id, a, s)) for s in ("out", "err")}
            logs.append({"attempt": a, **{s: n for s, n in sizes.items() if n is not None}})
        rows.append(
            {
                "id": r.task_id,
                "set": r.set,
                "state": snap.state(r),
                "node": r.node,
                "start": _cell_time(r.start, v.origin),
                "end": _cell_time(r.end, v.origin),
                "cores": r.cores,
                "gpus": r.gpu_units / GPU_UNIT,
                "attempts": r.attempts,
                "error": r.error,
                "logs": logs,
            }
        )
    sets = [s.name for s in v.workflow.sets]
    return {"total": len(picked), "offset": offset, "rows": rows, "sets": sets, "states": list(STATES)}


def read_log(snap: Snapshot, query: dict[str, str]) -> dict[str, Any]:
    """One attempt's stdout or stderr: only the files the journal's tasks name, read-only, the last LOG_CAP bytes."""
    v = snap.require()
    task_id, stream = query.get("task", ""), query.get("stream", "")
    if stream not in ("out", "err"):
        raise DashboardError(400, "stream must be out or err")
    record = next((r for r in v.records if r.task_id == task_id), None)
    if record is None:
        raise DashboardError(404, f"no task {task_id!r} in {snap.source.name}")
    attempt = _int(query, "attempt", 1, 1, 10**6)
    if attempt > record.attempts:
        raise DashboardError(404, f"{task_id} ran {record.attempts} attempt(s), not {attempt}")
    path = snap.source.log_path(snap.require(), task_id, attempt, stream)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        raise DashboardError(404, f"{task_id} attempt {attempt} wrote no std{stream}") from None
    with os.fdopen(fd, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        f.seek(max(0, size - LOG_CAP))
        data = f.read(LOG_CAP)
    return {
        "task": task_id,
        "attempt": attempt,
        "stream": stream,
        "size": size,
        "truncated": size > LOG_CAP,
        "text": data.decode("utf-8", errors="replace"),
    }


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def _int(query: dict[str, str], key: str, default: int, low: int, high: int) -> int:
    raw = query.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise DashboardError(400, f"{key} must be a whole number, not {raw!r}") from None
    if not low <= value <= high:
        raise DashboardError(400, f"{key} must be between {low} and {high}")
    return value
