"""The panel registry: a later layer adds a panel with one register() call and the server lists and serves it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hetflow.dashboard.app import bind, serve, url
from hetflow.dashboard.data import JournalSource, Snapshot
from hetflow.dashboard.panels import PANELS, Panel, register
from tests.dashboard.conftest import split_url
from tests.dashboard.test_server import get
from tests.procs import wait_for


def sets_table(snap: Snapshot) -> dict[str, Any]:
    v = snap.require()
    return {"columns": ["set", "count"], "rows": [[s.name, s.count] for s in v.workflow.sets]}


@pytest.fixture
def extra_panel() -> Iterator[Panel]:
    panel = register(Panel("sets", "Task sets", "table", sets_table, every=3.0))
    yield panel
    del PANELS["sets"]


def test_a_registered_panel_is_listed_and_served(recorded: Path, extra_panel: Panel) -> None:
    sock = bind("127.0.0.1", 0)
    base, token = split_url(url(sock, "t0ken"))
    stop = threading.Event()
    server = threading.Thread(target=serve, args=([JournalSource(recorded)], sock, token, stop.is_set), daemon=True)
    server.start()
    try:
        wait_for(lambda: get(base + "/api/runs", token)[0] == 200, what="the server")
        listed = json.loads(get(base + "/api/runs/0/panels", token)[1])
        assert listed[-1] == {"name": "sets", "title": "Task sets", "kind": "table", "every": 3.0}
        data = json.loads(get(base + "/api/runs/0/panels/sets", token)[1])
        assert data["rows"] == [["ok", 4], ["big", 1], ["bad", 1], ["after", 2]]
    finally:
        stop.set()
        server.join(10)
    assert not server.is_alive()  # until() stops the server


def test_a_panel_name_is_taken_once_and_its_kind_must_be_drawable(extra_panel: Panel) -> None:
    with pytest.raises(ValueError, match="exists already"):
        register(Panel("sets", "Again", "table", sets_table))
    with pytest.raises(ValueError, match="use one of table, plot, tasks"):
        register(Panel("pie", "Pie", "pie", sets_table))
    assert "pie" not in PANELS
