"""The journal: an append-only SQLite record of a real run (DESIGN.md, "Journal").

One file holds the run's platform, mode and policy, every task set submitted (the workflow's, and those added while
running), every transition of every task and node as an event, and the results. A journal can hold several runs of
the same workflow: the first, then each `--resume`.

Writes are buffered and committed in batches (every FLUSH_S seconds, or MAX_PENDING rows), in WAL mode with
synchronous=NORMAL: a commit costs no fsync, and a process killed with SIGKILL loses at most the last batch (the
operating system keeps what was written). A small result (up to INLINE_MAX bytes, pickled) is stored inline; a larger
one goes into the content-addressed folder beside the file (FILE.results/SHA256), written once per content.

Tables:
    meta(key, value)                          format, platform (JSON), mode, policy, workflow name, created,
                                              log_dir (where the latest run's commands wrote their output; absent
                                              from older journals, whose readers assume FILE.logs)
    runs(run, started, ended, pid, status)    status: running, done, failed (some task failed or was skipped),
                                              cancelled, crashed (the runtime stopped on an error), interrupted (the
                                              process died: found so by the next run; ended stays NULL)
    sets(seq, name, run, kind, spec)          spec: JSON of the task set (codec.set_to_dict); kind: workflow, call, ...
    events(seq, run, t, kind, set, idx, node, attempt, t0, cores, gpu_units, detail)   (kinds below; a journal
                                              older than a kind simply has no such rows)
    results(set, idx, run, size, data, digest)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hetflow.errors import ExecutionError, SpecError
from hetflow.journal.codec import platform_to_dict, set_to_dict
from hetflow.spec.data import Transfer
from hetflow.spec.platform import Platform
from hetflow.spec.workflow import TaskSet

FORMAT = "hetflow-journal 1"
FLUSH_S = 0.05
MAX_PENDING = 20_000
INLINE_MAX = 64 * 1024
LOG_DIR_KEY = "log_dir"

# event kinds: a task's (set, idx) or a whole set's (idx NULL) or a node's (node only)
SUBMITTED = "submitted"  # set: its tasks are known (detail: count)
RELEASED = "released"  # set: its tasks are ready
STARTED = "started"  # task: an attempt went to a node (attempt, cores, gpu_units, detail: the GPU grant)
DONE = "done"  # task: ended well (t0: start, t: end, as measured where it ran)
ERROR = "error"  # task: an attempt failed (detail: why); RETRIED or FAILED follows
RETRIED = "retried"  # task: back to the ready queue (detail: why)
FAILED = "failed"  # task: gave up after its retries (detail: the error)
LOST = "lost"  # task: its worker died under it; it runs again without using a retry
PREEMPTED = "preempted"  # task: stopped because its partition shrank; it runs again without using a retry
REFUSED = "refused"  # task: where it was sent refused it (detail: why); it never started, and is placed again
SKIPPED = "skipped"  # set: its pending tasks are skipped (detail: count and why)
CANCELLED = "cancelled"  # task, or set when idx is NULL
KEPT = "kept"  # task: done in an earlier run of this journal, not run again
NODE_JOINED = "node-joined"
NODE_LOST = "node-lost"
TRIGGERED = "triggered"  # run: a trigger fired (detail: its name and what it did)
RESIZED = "resized"  # run: a partition got new shares (detail: which and how much)
TRANSFER = "transfer"  # run: a file really moved between sites (set: the reader's set, "" for the origin's final
#                        outputs; t0: start, t: end; detail: JSON {from_set, from_site, to_site, bytes})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs(run INTEGER PRIMARY KEY, started REAL NOT NULL, ended REAL, pid INTEGER, status TEXT);
CREATE TABLE IF NOT EXISTS sets(seq INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, run INTEGER NOT NULL,
    kind TEXT NOT NULL, spec TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events(seq INTEGER PRIMARY KEY, run INTEGER NOT NULL, t REAL NOT NULL, kind TEXT NOT NULL,
    "set" TEXT, idx INTEGER, node TEXT, attempt INTEGER, t0 REAL, cores INTEGER, gpu_units INTEGER, detail TEXT);
CREATE TABLE IF NOT EXISTS results("set" TEXT NOT NULL, idx INTEGER NOT NULL, run INTEGER NOT NULL,
    size INTEGER NOT NULL, data BLOB, digest TEXT, PRIMARY KEY("set", idx));
"""

Event = tuple[Any, ...]


def connect(path: str | os.PathLike[str]) -> sqlite3.Connection:
    """A connection in WAL mode with synchronous=NORMAL."""
    conn = sqlite3.connect(os.fspath(path), check_same_thread=False, isolation_level="DEFERRED")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def results_dir(path: str | os.PathLike[str]) -> Path:
    """The content-addressed folder of a journal's large results."""
    return Path(os.fspath(path) + ".results")


def has_runs(path: str | os.PathLike[str]) -> bool:
    """Whether the file is a journal that records at least one run (False: no such file yet). SpecError when the path
    cannot be a journal: a folder, an empty file, a file that is not a hetflow journal, a file in a missing folder."""
    _check_path(path)
    if not Path(path).exists():
        return False
    try:
        conn = sqlite3.connect(f"file:{os.fspath(path)}?mode=ro", uri=True)
        try:
            return bool(conn.execute("SELECT count(*) FROM runs").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:  # not a journal: never write over it
        raise SpecError(
            f"not a hetflow journal ({exc})", source=os.fspath(path), fix="choose another file for the journal"
        ) from None


def _check_path(path: str | os.PathLike[str]) -> None:
    """SpecError when the path cannot hold a journal: a folder, an empty file, a file in a missing folder."""
    p, source = Path(path), os.fspath(path)
    if p.is_dir():
        raise SpecError(
            "this is a folder, not a journal file", source=source, fix=f"give a file path, e.g. {p / 'run.db'}"
        )
    if not p.exists():
        if not p.parent.is_dir():
            raise SpecError(
                f"the folder {p.parent} does not exist",
                source=source,
                fix="create the folder first, or choose a file in an existing folder",
            )
        return
    if p.stat().st_size == 0:
        raise SpecError(
            "the file is empty, not a hetflow journal",
            source=source,
            fix="delete it to start a new journal there, or choose another file",
        )


class Journal:
    """Writes one run into a journal file. Used by one thread at a time (the runtime's driver)."""

    def __init__(self, path: str | os.PathLike[str], *, resume: bool = False) -> None:
        self.path = Path(path)
        source = os.fspath(path)
        if resume and not self.path.exists():
            raise SpecError("no such journal to resume", source=source, fix="check the path, or drop --resume")
        _check_path(path)
        if not resume and has_runs(path):
            raise SpecError(
                "the journal already records a run",
                source=source,
                fix="pass --resume to go on with it, or choose another file",
            )
        try:
            self.conn = connect(path)
            self.conn.executescript(_SCHEMA)
            self.conn.commit()
        except sqlite3.DatabaseError as exc:
            raise SpecError(f"not a hetflow journal ({exc})", source=source, fix="choose another file") from None
        self.run = 0
        self._events: list[Event] = []
        self._sets: list[tuple[Any, ...]] = []
        self._results: list[tuple[Any, ...]] = []
        self._last_flush = time.monotonic()
        self._closed = False

    # ---- the run --------------------------------------------------------------------------------------------------
    def meta(self) -> dict[str, str]:
        return dict(self.conn.execute("SELECT key, value FROM meta").fetchall())

    def begin(
        self,
        platform: Platform,
        mode: str,
        policy: str,
        workflow: str | None,
        log_dir: str | os.PathLike[str] | None = None,
    ) -> int:
        """Start a run; the first run of a file records its platform, mode, policy and workflow name; every run
        records its log folder (when it has one), so that a report finds each task's output."""
        try:
            if not self.meta():
                rows = {
                    "format": FORMAT,
                    "platform": json.dumps(platform_to_dict(platform)),
                    "mode": mode,
                    "policy": policy,
                    "workflow": workflow or "session",
                    "created": repr(time.time()),
                }
                self.conn.executemany("INSERT INTO meta VALUES (?, ?)", rows.items())
            elif workflow is not None:
                self.conn.execute("UPDATE meta SET value = ? WHERE key = 'workflow'", (workflow,))
            if log_dir is not None:
                self.conn.execute(
                    "INSERT OR REPLACE INTO meta VALUES (?, ?)", (LOG_DIR_KEY, os.fspath(Path(log_dir).absolute()))
                )
            self.conn.execute("UPDATE runs SET status = 'interrupted' WHERE ended IS NULL")
            cur = self.conn.execute(
                "INSERT INTO runs(started, pid, status) VALUES (?, ?, 'running')", (time.time(), os.getpid())
            )
            self.conn.commit()
        except sqlite3.Error as exc:
            raise ExecutionError(f"{self.path}: cannot write the journal: {exc}") from exc
        self.run = int(cur.lastrowid or 0)
        return self.run

    def name_workflow(self, name: str) -> None:
        """Record the name of the workflow the run executes (s.run of a declarative workflow)."""
        self.conn.execute("UPDATE meta SET value = ? WHERE key = 'workflow'", (name,))

    def end(self, status: str) -> None:
        self.flush()
        self.conn.execute("UPDATE runs SET ended = ?, status = ? WHERE run = ?", (time.time(), status, self.run))
        self.conn.commit()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.flush()
            self.conn.close()

    # ---- buffered writes ------------------------------------------------------------------------------------------
    def add_sets(self, sets: Iterable[TaskSet], kind: str) -> None:
        run = self.run
        for s in sets:
            self._sets.append((s.name, run, kind, json.dumps(set_to_dict(s), separators=(",", ":"))))

    def event(
        self,
        t: float,
        kind: str,
        set_name: str | None = None,
        idx: int | None = None,
        node: str | None = None,
        attempt: int | None = None,
        t0: float | None = None,
        cores: int | None = None,
        gpu_units: int | None = None,
        detail: str | None = None,
    ) -> None:
        self._events.append((self.run, t, kind, set_name, idx, node, attempt, t0, cores, gpu_units, detail))

    def result(self, set_name: str, idx: int, data: bytes) -> None:
        """Keep a task's pickled result: inline when small, else in the content-addressed folder."""
        if len(data) <= INLINE_MAX:
            self._results.append((set_name, idx, self.run, len(data), data, None))
            return
        digest = hashlib.sha256(data).hexdigest()
        folder = results_dir(self.path)
        target = folder / digest
        if not target.exists():
            folder.mkdir(exist_ok=True)
            tmp = folder / f".{digest}.{os.getpid()}.tmp"
            tmp.write_bytes(data)
            os.replace(tmp, target)
        self._results.append((set_name, idx, self.run, len(data), None, digest))

    @property
    def pending(self) -> int:
        return len(self._events) + len(self._sets) + len(self._results)

    def due(self, now: float) -> float | None:
        """Seconds until the next flush is due (0: now), None when nothing waits to be written."""
        if not (self._events or self._sets or self._results):
            return None
        if self.pending >= MAX_PENDING:
            return 0.0
        return max(0.0, self._last_flush + FLUSH_S - now)

    def flush(self) -> None:
        """Commit what is buffered, in one transaction."""
        self._last_flush = time.monotonic()
        if not (self._events or self._sets or self._results):
            return
        sets, self._sets = self._sets, []
        events, self._events = self._events, []
        results, self._results = self._results, []
        try:
            with self.conn:
                if sets:
                    self.conn.executemany("INSERT OR IGNORE INTO sets(name, run, kind, spec) VALUES (?,?,?,?)", sets)
                if events:
                    self.conn.executemany(
                        'INSERT INTO events(run, t, kind, "set", idx, node, attempt, t0, cores, gpu_units, detail) '
                        "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                        events,
                    )
                if results:
                    self.conn.executemany("INSERT OR REPLACE INTO results VALUES (?,?,?,?,?,?)", results)
        except sqlite3.Error as exc:
            raise ExecutionError(f"{self.path}: cannot write the journal: {exc}") from exc


def record_transfers(path: str | os.PathLike[str], transfers: Iterable[Transfer]) -> None:
    """Add the files a multi-site run really moved (faas/stager.py) to its journal, as TRANSFER events of its latest
    run: the runtime's journal is closed by then, as the last moves (final outputs back to the origin) happen when
    the run's executor closes."""
    rows = [
        (t.end, TRANSFER, t.dst_set, t.start, json.dumps(transfer_detail(t), separators=(",", ":"))) for t in transfers
    ]
    if not rows:
        return
    try:
        with contextlib.closing(connect(path)) as conn, conn:
            run = conn.execute("SELECT max(run) FROM runs").fetchone()[0] or 0
            conn.executemany(
                'INSERT INTO events(run, t, kind, "set", t0, detail) VALUES (?, ?, ?, ?, ?, ?)',
                [(run, *row) for row in rows],
            )
    except sqlite3.Error as exc:
        raise ExecutionError(f"{path}: cannot write the journal: {exc}") from exc


def transfer_detail(t: Transfer) -> dict[str, Any]:
    return {"from_set": t.src_set, "from_site": t.src_site, "to_site": t.dst_site, "bytes": t.size}
