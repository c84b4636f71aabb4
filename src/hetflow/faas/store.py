"""The endpoint's journal: one SQLite file recording the functions registered, every invocation accepted (with its
payload, before it is acknowledged) and every result until it is fetched or expires. After a kill -9 of the endpoint,
a restart on the same file runs again what was accepted and had not ended, or reports it lost: nothing is dropped
silently. Without a file the same calls keep nothing (an endpoint that forgets at exit)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from hetflow.errors import SpecError

SCHEMA = """
CREATE TABLE IF NOT EXISTS functions (fid TEXT PRIMARY KEY, name TEXT, kind TEXT, data BLOB);
CREATE TABLE IF NOT EXISTS invocations (
    id TEXT PRIMARY KEY, fid TEXT, fmt TEXT, payload BLOB, cores INTEGER, gpus REAL, memory INTEGER, timeout REAL,
    lease TEXT, received REAL, attempts INTEGER DEFAULT 0,
    status TEXT, result TEXT, value BLOB
);
"""


class Store:
    """The journal file, or nothing (path None). Every write commits at once: a kill -9 loses nothing committed
    (synchronous=OFF keeps what the operating system has; only a machine crash could lose the last writes)."""

    def __init__(self, path: str | Path | None) -> None:
        self.path = Path(path) if path is not None else None
        self.db: sqlite3.Connection | None = None
        if self.path is not None:
            try:
                self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=OFF")
                self.db.executescript(SCHEMA)
            except sqlite3.Error as exc:
                why = f"cannot use it as the endpoint's journal ({exc})"
                fix = "give a new file in an existing folder, or an endpoint journal"
                raise SpecError(why, source=str(self.path), place="--journal", fix=fix) from None

    def add_function(self, fid: str, name: str, kind: str, data: bytes) -> None:
        if self.db is not None:
            self.db.execute("INSERT OR IGNORE INTO functions VALUES (?, ?, ?, ?)", (fid, name, kind, data))

    def functions(self) -> Iterator[tuple[str, str, str, bytes]]:
        if self.db is not None:
            yield from self.db.execute("SELECT fid, name, kind, data FROM functions")

    def many(self, sql: str, rows: Iterable[tuple[Any, ...]]) -> None:
        """One statement over many rows, in one transaction (a burst costs one commit)."""
        if self.db is not None:
            self.db.execute("BEGIN")
            try:
                self.db.executemany(sql, rows)
            finally:
                self.db.execute("COMMIT")

    def accept(self, rows: Iterable[tuple[Any, ...]]) -> None:
        """Invocations accepted: (id, fid, fmt, payload, cores, gpus, memory, timeout, lease, received)."""
        self.many(
            "INSERT OR IGNORE INTO invocations (id, fid, fmt, payload, cores, gpus, memory, timeout, lease, received) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )

    def started(self, ident: str, attempts: int) -> None:
        """An invocation runs again after its worker died (the first attempt is not written: a restart runs again
        what has no result, and what had run twice is reported lost)."""
        if self.db is not None:
            self.db.execute("UPDATE invocations SET attempts = ? WHERE id = ?", (attempts, ident))

    def finish(self, ident: str, status: str, result: dict[str, Any], value: bytes) -> None:
        """An invocation ended: its result (the payload is no longer needed)."""
        if self.db is not None:
            self.db.execute(
                "UPDATE invocations SET status = ?, result = ?, value = ?, payload = NULL WHERE id = ?",
                (status, json.dumps(result), value, ident),
            )

    def forget(self, ids: Iterable[str]) -> None:
        self.many("DELETE FROM invocations WHERE id = ?", ((i,) for i in ids))

    def unfinished(self) -> Iterator[tuple[Any, ...]]:
        """(id, fid, fmt, payload, cores, gpus, memory, timeout, lease, received, attempts) of those not ended."""
        if self.db is not None:
            yield from self.db.execute(
                "SELECT id, fid, fmt, payload, cores, gpus, memory, timeout, lease, received, attempts "
                "FROM invocations WHERE status IS NULL ORDER BY rowid"
            )

    def results(self) -> Iterator[tuple[str, str, str, bytes, str]]:
        """(id, fid, fmt, value, result JSON) of those ended and not yet fetched."""
        if self.db is not None:
            yield from self.db.execute(
                "SELECT id, fid, fmt, value, result FROM invocations WHERE status IS NOT NULL ORDER BY rowid"
            )

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None
