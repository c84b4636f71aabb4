"""The history store: one SQLite file with one row per task attempt that ended done, from real runs' journals and
recorded WfFormat traces. It is what the run-time models learn from (models.py)."""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import astuple, dataclass, fields
from pathlib import Path

from hetflow.errors import SpecError

HISTORY_FILE = "history.db"
_SUFFIX = re.compile(r"_ID\d+$")  # WfCommons task ids: NAME_ID0000042
_COLUMNS = (
    "key TEXT NOT NULL, workflow TEXT NOT NULL, cores INTEGER NOT NULL, gpus REAL NOT NULL, node_type TEXT, "
    "speed REAL NOT NULL, input_bytes REAL, workflow_tasks INTEGER NOT NULL, duration REAL NOT NULL, "
    "at REAL NOT NULL, source TEXT NOT NULL, task TEXT NOT NULL"
)


@dataclass(frozen=True, slots=True)
class Attempt:
    """One task attempt that ended done. duration is wall seconds on a node of relative `speed` (so its work at
    speed 1 is duration x speed); input_bytes is None when the task declared no input files."""

    key: str
    workflow: str
    cores: int
    gpus: float
    node_type: str | None
    speed: float
    input_bytes: float | None
    workflow_tasks: int
    duration: float
    at: float  # when it ended (epoch seconds)
    source: str  # the journal or trace it came from: recording a file twice adds nothing
    task: str


def set_key(name: str, category: str | None = None) -> str:
    """What history pools a task under: its category when a trace records one, else its name without a WfCommons
    _IDnnnnnnn suffix (a native task set's name as it is)."""
    return category or _SUFFIX.sub("", name)


def default_history_dir() -> Path:
    return Path.home() / ".hetflow"


class HistoryStore:
    """The history file in `directory` (default ~/.hetflow), created on first use."""

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        folder = Path(directory) if directory is not None else default_history_dir()
        if folder.exists() and not folder.is_dir():
            raise SpecError("not a folder", source=str(folder), fix="give --history a folder (history.db goes in it)")
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / HISTORY_FILE
        try:
            with self._connect() as conn:
                conn.execute(f"CREATE TABLE IF NOT EXISTS attempts ({_COLUMNS}, UNIQUE (source, task, at))")
                conn.execute("CREATE INDEX IF NOT EXISTS by_key ON attempts (key)")
        except sqlite3.DatabaseError as exc:
            raise SpecError(f"not a history file ({exc})", source=str(self.path), fix="move it away") from None

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=30.0)
        try:
            with conn:
                yield conn
        finally:
            conn.close()

    def add(self, attempts: Iterable[Attempt]) -> int:
        """Store attempts (one already stored is skipped); how many were new."""
        rows = [astuple(a) for a in attempts]
        marks = ", ".join("?" * len(fields(Attempt)))
        with self._connect() as conn:
            before = conn.total_changes
            conn.executemany(f"INSERT OR IGNORE INTO attempts VALUES ({marks})", rows)
            return conn.total_changes - before

    def attempts(self, key: str | None = None) -> list[Attempt]:
        """Every stored attempt (of one set key), oldest first."""
        where, args = ("WHERE key = ?", (key,)) if key is not None else ("", ())
        with self._connect() as conn:
            rows = conn.execute(f"SELECT * FROM attempts {where} ORDER BY at, rowid", args).fetchall()
        return [Attempt(*row) for row in rows]

    def keys(self) -> dict[str, int]:
        """How many attempts each set key has."""
        with self._connect() as conn:
            return dict(conn.execute("SELECT key, count(*) FROM attempts GROUP BY key ORDER BY key").fetchall())
