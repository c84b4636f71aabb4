"""Refusals inside a multi-site run: an endpoint that will not take an invocation now (503 busy, 429 rate limited)
gives the task back to the session's engine, not started: its resources released, no attempt spent, the refusal in
the journal; it runs elsewhere (or there later), exactly once."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import hetflow as hf
from hetflow.journal.read import read_journal
from tests.faas import functions
from tests.faas import multisite_tasks as tasks
from tests.faas.endpoints import RunningEndpoint, api, kill_tree, start_endpoint
from tests.faas.test_multisite import started_on

SITE = {"platform": "site", "nodes": [{"type": "cpu", "count": 1, "cores": 2}]}


@pytest.fixture
def free(tmp_path: Path) -> Iterator[RunningEndpoint]:
    ep = start_endpoint(tmp_path / "free", platform=SITE)
    try:
        yield ep
    finally:
        kill_tree(ep)


def run_six(
    free: RunningEndpoint, other: RunningEndpoint, folder: Path, journal: Path, connected: Callable[[], object] = list,
    **options: float,
) -> None:  # fmt: skip
    """Six tasks across both sites (the free site's nodes first: fifo fills them first), each writing a start file;
    connected() is called once the session has its sites."""
    folder.mkdir()
    endpoints = {"free": free.url, "other": other.url}
    tokens = {"free": free.token, "other": other.token}
    with hf.Session(backend="faas", endpoints=endpoints, token=tokens, journal=journal, **options) as s:
        connected()
        futures = s.map(tasks.slow_square, range(6), [str(folder)] * 6, [0.2] * 6)
        assert [f.result(timeout=120) for f in futures] == [i * i for i in range(6)]


def refusals(journal: Path) -> list[str]:
    with sqlite3.connect(journal) as conn:
        return [d for (d,) in conn.execute("SELECT detail FROM events WHERE kind = 'refused'")]


def test_a_busy_site_refuses_and_its_tasks_run_on_the_other_site_once(free: RunningEndpoint, tmp_path: Path) -> None:
    busy = start_endpoint(tmp_path / "busy", "--max-pending", "1", platform=SITE)
    try:
        with busy.client() as client:
            hold = client.submit(functions.sleepy, 60)  # the one invocation it takes: busy from now on
            status, body = api(busy, "POST", "/v1/functions", {"ref": "tests.faas.functions:square"})
            status, body = api(busy, "POST", "/v1/invocations", {"function": body["function"], "args": [2]})
            assert (status, body["error"]) == (503, "busy: 1 invocations wait or run here (--max-pending)")
            folder, journal = tmp_path / "starts", tmp_path / "run.db"
            run_six(free, busy, folder, journal)
            assert started_on(folder, free) == set(range(6)) and started_on(folder, busy) == set()
            assert len(list(folder.iterdir())) == 6  # each ran once
            refused = refusals(journal)
            assert refused and all("site other: the endpoint refused it (503): busy" in d for d in refused)
            view = read_journal(journal)  # attempts unchanged: a refused start is no attempt
            assert [(r.index, r.status, r.tries) for r in view.records] == [(i, "done", [1]) for i in range(6)]
            assert not hold.done()
    finally:
        kill_tree(busy)


def test_a_rate_limited_site_refuses_with_429_and_nothing_runs_twice(free: RunningEndpoint, tmp_path: Path) -> None:
    limited = start_endpoint(tmp_path / "limited", "--rate-limit", "20", platform=SITE)  # bursts of 40
    stop = threading.Event()

    def drain() -> None:  # this machine's requests share one bucket: keep it empty while the run goes on
        while not stop.is_set():
            api(limited, "GET", "/v1/health")

    try:
        folder, journal = tmp_path / "starts", tmp_path / "run.db"
        drainer = threading.Thread(target=drain, daemon=True)

        def empty_the_bucket() -> None:
            for _ in range(60):
                if api(limited, "GET", "/v1/health")[0] == 429:
                    break
            drainer.start()

        run_six(free, limited, folder, journal, empty_the_bucket, grace=60.0)  # its heartbeat is refused: not lost
        stop.set()
        drainer.join(timeout=10)
        assert len(list(folder.iterdir())) == 6 and started_on(folder, free) | started_on(folder, limited) == set(
            range(6)
        )
        refused = refusals(journal)
        assert refused and all("(429)" in d and "too many requests" in d for d in refused)
        assert all(r.tries == [1] and r.status == "done" for r in read_journal(journal).records)
    finally:
        stop.set()
        kill_tree(limited)


def test_a_busy_site_first_in_node_order_is_paused_not_asked_again_and_again(
    free: RunningEndpoint, tmp_path: Path
) -> None:
    """fifo fills the busy site's node first: each refusal pauses that site (its pause doubling with each refusal of
    it in a row), so the tasks run on the free site meanwhile, once each, and the busy site is asked a few times, not
    once per task per pause."""
    one_core = {"platform": "site", "nodes": [{"type": "cpu", "count": 1, "cores": 1}]}  # one refusal per pause
    busy = start_endpoint(tmp_path / "busy", "--max-pending", "1", platform=one_core)
    try:
        with busy.client() as client:
            hold = client.submit(functions.sleepy, 60)  # the one invocation it takes: busy from now on
            folder, journal = tmp_path / "starts", tmp_path / "run.db"
            folder.mkdir()
            endpoints, tokens = {"busy": busy.url, "free": free.url}, {"busy": busy.token, "free": free.token}
            with hf.Session(backend="faas", endpoints=endpoints, token=tokens, journal=journal) as s:
                assert [n.site for n in s.platform.nodes()] == ["busy", "free"]
                futures = s.map(tasks.slow_square, range(12), [str(folder)] * 12, [0.2] * 12)
                assert [f.result(timeout=120) for f in futures] == [i * i for i in range(12)]
            assert started_on(folder, free) == set(range(12)) and started_on(folder, busy) == set()
            assert len(list(folder.iterdir())) == 12  # each ran once
            refused = refusals(journal)
            assert refused and all("site busy: the endpoint refused it (503): busy" in d for d in refused)
            # paused 0.05, 0.1, 0.2, ... 2 s after each: about 6 refusals in the first 3 s, then one per 2 s (before
            # the pause, the first task alone was refused 30 times in a row and failed)
            assert len(refused) <= 12
            view = read_journal(journal)  # attempts unchanged: a refused start is no attempt
            assert [(r.index, r.status, r.tries) for r in view.records] == [(i, "done", [1]) for i in range(12)]
            assert not hold.done()
    finally:
        kill_tree(busy)
