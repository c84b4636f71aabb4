"""An endpoint's file store on a journal: its blobs outlive a restart; what a crash left half-written in incoming/
and the working folders of tasks that were running are removed when the endpoint starts again."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from hetflow.faas.files import FileStore
from hetflow.faas.workdir import FILES_ENV


def test_a_restart_keeps_the_blobs_and_clears_a_crashs_leftovers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(FILES_ENV, "")  # FileStore sets it for the endpoint's workers: restored after the test
    journal = tmp_path / "ep.db"
    store = FileStore(journal)
    data = b"kept across restarts"
    sha = hashlib.sha256(data).hexdigest()
    store.blob(sha).write_bytes(data)
    (store.incoming / "tmpa1b2c3").write_bytes(b"half an upload")  # the endpoint was killed mid-PUT
    (store.root / "work" / "task-7").mkdir()
    (store.root / "work" / "task-7" / "out.txt").write_text("a task's partial output")
    again = FileStore(journal)
    assert again.root == store.root and again.blob(sha).read_bytes() == data
    assert list(again.incoming.iterdir()) == [] and list((again.root / "work").iterdir()) == []
