"""Reading a journal back: its workflow, platform and runs, and one record per task derived from the events."""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hetflow.errors import SpecError
from hetflow.journal import store as J
from hetflow.journal.codec import platform_from_dict, set_from_dict
from hetflow.spec.data import Transfer
from hetflow.spec.logs import attempt_logs
from hetflow.spec.platform import Platform
from hetflow.spec.resources import GPU_UNIT
from hetflow.spec.trace import Interval, Mark
from hetflow.spec.workflow import TaskSet, Workflow

# task statuses in records
PENDING = "pending"  # never started
UNFINISHED = "unfinished"  # started, and the run stopped (crashed) before it ended
_TERMINAL = frozenset({J.DONE, J.FAILED, J.SKIPPED, J.CANCELLED})


@dataclass
class TaskRecord:
    """What became of one task, over every run of the journal. Times are wall-clock seconds (time.time())."""

    set: str
    index: int
    task_id: str
    status: str = PENDING  # done, failed, skipped, cancelled, pending, unfinished
    node: str | None = None
    start: float | None = None
    end: float | None = None
    cores: int = 0
    gpu_units: int = 0
    attempts: int = 0
    error: str | None = None
    run: int | None = None  # the run in which it last started
    failures: list[Interval] = field(default_factory=list)  # each attempt that ended in an error, in order
    tries: list[int] = field(default_factory=list)  # the attempt number of every start, in order (over all runs)


@dataclass(frozen=True)
class RunInfo:
    run: int
    started: float
    ended: float | None  # None: the process died before it recorded its end (kill -9, power loss)
    status: str
    last_event: float | None = None  # the time of its last event (where an interrupted run stopped)


@dataclass
class JournalView:
    """A journal as read: its workflow (every set submitted), platform, mode, policy, runs and task records."""

    path: Path
    workflow: Workflow
    platform: Platform
    mode: str
    policy: str
    runs: list[RunInfo]
    records: list[TaskRecord] = field(repr=False)
    kept: int = 0  # tasks of the last run that were done in an earlier run and not run again
    set_kinds: dict[str, str] = field(default_factory=dict, repr=False)
    first_submit: float | None = None
    marks: list[Mark] = field(default_factory=list, repr=False)  # triggers fired, partitions resized
    log_dir: Path | None = None  # where commands wrote their output (recorded, else FILE.logs by default)
    transfers: list[Transfer] = field(default_factory=list, repr=False)  # files moved between sites (multi-site)

    @property
    def origin(self) -> float:
        """When the first run started its work: its first submission (else when it started)."""
        if self.first_submit is not None:
            return self.first_submit
        return self.runs[0].started if self.runs else 0.0

    def intervals(self) -> list[Interval]:
        """One Interval per attempt that ran to an end (done, or failed: retried or not), on the wall clock."""
        out: list[Interval] = []
        for r in self.records:
            out.extend(r.failures)
            if r.status == J.DONE and r.start is not None and r.end is not None:
                node, attempt = r.node or "", r.attempts
                out.append(
                    Interval(r.set, r.index, r.index + 1, node, r.start, r.end, r.cores, r.gpu_units, J.DONE, attempt)
                )
        return out

    def done(self) -> dict[str, dict[int, Interval]]:
        """Per set, the tasks that are done, with their intervals."""
        out: dict[str, dict[int, Interval]] = {}
        for iv in self.intervals():
            if iv.status == J.DONE:
                out.setdefault(iv.set, {})[iv.first] = iv
        return out

    def counts(self) -> dict[str, int]:
        """How many tasks are in each status."""
        out: dict[str, int] = {}
        for r in self.records:
            out[r.status] = out.get(r.status, 0) + 1
        return out

    def set_counts(self) -> dict[str, dict[str, int]]:
        """Per set, in declaration order, how many of its tasks are in each status."""
        out: dict[str, dict[str, int]] = {s.name: {} for s in self.workflow.sets}
        for r in self.records:
            by = out.setdefault(r.set, {})
            by[r.status] = by.get(r.status, 0) + 1
        return out

    def unended(self) -> int:
        """How many tasks have not ended (neither done, failed, skipped nor cancelled)."""
        return sum(1 for r in self.records if r.status not in _TERMINAL)

    def complete(self) -> bool:
        """Every task ended and the last run recorded its end: the journal holds a finished run."""
        return bool(self.runs) and self.runs[-1].ended is not None and self.unended() == 0

    def run_marks(self) -> list[Mark]:
        """Marks where one run stopped and the next began: "interrupted" for a run that never recorded its end
        (at its last event), "run-end" for one that did, when another run follows, and "resume" at each resume."""
        out: list[Mark] = []
        for k, r in enumerate(self.runs):
            last = k == len(self.runs) - 1
            if r.ended is None:
                at = r.last_event if r.last_event is not None else r.started
                out.append(Mark(at, "interrupted", f"run {r.run} interrupted: it never recorded its end"))
            elif not last:
                out.append(Mark(r.ended, "run-end", f"run {r.run} ended ({r.status})"))
            if k > 0:
                out.append(Mark(r.started, "resume", f"run {r.run} began: resumed from the journal"))
        return out

    def logs(self, r: TaskRecord) -> list[dict[str, Any]]:
        """Each attempt's stdout and stderr paths (None where no such file is there: a Python task, an empty log
        removed, a journal moved without its log folder)."""
        if self.log_dir is None or r.set not in self.workflow or self.workflow[r.set].command is None:
            return []
        out: list[dict[str, Any]] = []
        for attempt in dict.fromkeys(r.tries):
            paths = attempt_logs(self.log_dir, r.task_id, attempt)
            stdout, stderr = (str(p) if p.is_file() else None for p in paths)
            out.append({"attempt": attempt, "stdout": stdout, "stderr": stderr})
        return out

    def task_rows(self) -> Iterator[dict[str, Any]]:
        """The per-task records of `hetflow report --json`: times in seconds since the first run started, and the
        log paths of every attempt."""
        o = self.origin
        for r in self.records:
            yield {
                "id": r.task_id,
                "set": r.set,
                "node": r.node,
                "start": None if r.start is None else round(r.start - o, 6),
                "end": None if r.end is None else round(r.end - o, 6),
                "cores": r.cores,
                "gpus": r.gpu_units / GPU_UNIT,
                "status": r.status,
                "attempts": r.attempts,
                "error": r.error,
                "logs": self.logs(r),
            }

    def result(self, set_name: str, index: int) -> Any:
        """A task's result, unpickled (KeyError when the journal holds none)."""
        with _connect(self.path) as conn:
            row = conn.execute(
                'SELECT data, digest FROM results WHERE "set" = ? AND idx = ?', (set_name, index)
            ).fetchone()
        if row is None:
            raise KeyError(f"{set_name}[{index}]")
        data, digest = row
        if data is None:
            data = (J.results_dir(self.path) / digest).read_bytes()
        return pickle.loads(data)


def _connect(path: str | os.PathLike[str]) -> contextlib.closing[sqlite3.Connection]:
    """A connection to read a journal, closed at the end of its `with` block."""
    return contextlib.closing(sqlite3.connect(os.fspath(path), check_same_thread=False))


def read_journal(path: str | os.PathLike[str]) -> JournalView:
    """Read a journal file; SpecError when it is missing or not a journal."""
    source = os.fspath(path)
    if not Path(source).is_file():
        raise SpecError("no such journal", source=source, fix="check the path")
    try:
        with _connect(source) as conn:
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            if not meta and not conn.execute("SELECT 1 FROM runs LIMIT 1").fetchall():
                raise SpecError(
                    "the journal records no run yet (the run that made it stopped on bad input)",
                    source=source,
                    fix="run the workflow with this --journal first",
                )
            if meta.get("format") != J.FORMAT:
                raise SpecError(
                    "not a hetflow journal", source=source, fix="give a file written by hetflow run --journal"
                )
            last = dict(conn.execute("SELECT run, max(t) FROM events GROUP BY run").fetchall())
            runs = [
                RunInfo(run, started, ended, status, last.get(run))
                for run, started, ended, status in conn.execute(
                    "SELECT run, started, ended, status FROM runs ORDER BY run"
                )
            ]
            set_rows = conn.execute("SELECT name, kind, spec FROM sets ORDER BY seq").fetchall()
            events = conn.execute(
                'SELECT run, t, kind, "set", idx, node, attempt, t0, cores, gpu_units, detail FROM events ORDER BY seq'
            ).fetchall()
    except sqlite3.DatabaseError as exc:
        raise SpecError(f"not a hetflow journal ({exc})", source=source, fix="give a journal file") from None
    sets: list[TaskSet] = [set_from_dict(json.loads(spec)) for _, _, spec in set_rows]
    kinds = {name: kind for name, kind, _ in set_rows}
    workflow = Workflow(meta.get("workflow", "session"), tuple(sets), source=source)
    platform = platform_from_dict(json.loads(meta["platform"]))
    records, kept = _records(sets, events, runs)
    first = next((e[1] for e in events if e[2] == J.SUBMITTED), None)
    mode, policy = meta.get("mode", "task"), meta.get("policy", "fifo")
    marks = [Mark(e[1], _MARKS[e[2]], e[10] or "") for e in events if e[2] in _MARKS]
    logs = Path(meta[J.LOG_DIR_KEY]) if J.LOG_DIR_KEY in meta else Path(source + ".logs")
    moved = [transfer_of(e) for e in events if e[2] == J.TRANSFER]
    return JournalView(
        Path(source), workflow, platform, mode, policy, runs, records, kept, kinds, first, marks, logs, moved
    )


def transfer_of(event: tuple[Any, ...]) -> Transfer:
    """A TRANSFER event as the Transfer it records."""
    d = json.loads(event[10])
    return Transfer(d["from_set"], d["from_site"], event[3] or "", d["to_site"], int(d["bytes"]), event[7], event[1])


_MARKS = {J.TRIGGERED: "trigger", J.RESIZED: "resize"}


def _records(sets: list[TaskSet], events: list[tuple[Any, ...]], runs: list[RunInfo]) -> tuple[list[TaskRecord], int]:
    by_set: dict[str, list[TaskRecord]] = {}
    for s in sets:
        by_set[s.name] = [TaskRecord(s.name, i, s.task_id(i)) for i in range(s.count)]
    last_run = runs[-1].run if runs else None
    kept = 0
    for run, t, kind, name, idx, node, attempt, t0, cores, gpu_units, detail in events:
        tasks = by_set.get(name) if name is not None else None
        if tasks is None:
            continue
        if idx is None:  # a whole set
            if kind in (J.SKIPPED, J.CANCELLED):
                for r in tasks:
                    if r.status not in _TERMINAL:
                        r.status = kind
                        r.error = detail
            continue
        if not 0 <= idx < len(tasks):
            continue
        r = tasks[idx]
        if kind == J.STARTED:
            r.attempts += 1
            r.tries.append(attempt or r.attempts)
            r.status = UNFINISHED
            r.node = node
            r.start, r.end = t, None
            r.cores = cores or 0
            r.gpu_units = gpu_units or 0
            r.run = run
        elif kind == J.DONE:
            r.status = J.DONE
            r.start, r.end = (t0 if t0 is not None else r.start), t
            r.error = None
        elif kind == J.ERROR:
            r.start, r.end = (t0 if t0 is not None else r.start), t
            r.error = detail
            if r.start is not None:
                node, attempt = r.node or "", r.attempts
                r.failures.append(
                    Interval(r.set, r.index, r.index + 1, node, r.start, t, r.cores, r.gpu_units, J.FAILED, attempt)
                )
        elif kind == J.FAILED:
            r.status = J.FAILED
            r.error = detail
        elif kind == J.CANCELLED:
            if r.status not in (J.DONE, J.FAILED):
                r.status = J.CANCELLED
                r.end = r.end if r.start is None else t
        elif kind == J.REFUSED and r.tries:  # that start never happened: no attempt
            r.attempts -= 1
            r.tries.pop()
            r.node, r.start = None, None
        elif kind == J.KEPT and run == last_run:
            kept += 1
    return [r for tasks in by_set.values() for r in tasks], kept
