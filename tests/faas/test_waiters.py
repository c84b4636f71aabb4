"""Clients that wait for a result and go away leave nothing waiting on the endpoint: long polls that time out or
whose client disconnects, and channel connections that close with invocations still running."""

from __future__ import annotations

import http.client
import time
from collections.abc import Iterator

import pytest

from tests.faas import functions
from tests.faas.endpoints import RunningEndpoint, api, running_endpoint

SLOW_S = 60.0  # longer than the test: the invocations never end while it looks


@pytest.fixture(scope="module")
def ep(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEndpoint]:
    with running_endpoint(tmp_path_factory.mktemp("ep")) as running:
        yield running


def waiters(ep: RunningEndpoint) -> int:
    status, out = api(ep, "GET", "/v1/resources")
    assert status == 200
    return int(out["load"]["waiters"])


def settles_at(ep: RunningEndpoint, count: int, seconds: float = 20.0) -> int:
    """The endpoint's waiter count once it reached count (or what it is after `seconds`)."""
    end = time.monotonic() + seconds
    while (now := waiters(ep)) != count and time.monotonic() < end:
        time.sleep(0.05)
    return now


def slow_invocation(ep: RunningEndpoint) -> str:
    status, out = api(ep, "POST", "/v1/functions", {"ref": "tests.faas.functions:sleepy"})
    assert status == 201
    status, out = api(ep, "POST", "/v1/invocations", {"function": out["function"], "args": [SLOW_S]})
    assert status == 202
    return str(out["id"])


def test_long_polls_that_time_out_or_disconnect_leave_no_waiter(ep: RunningEndpoint) -> None:
    ident = slow_invocation(ep)
    status, out = api(ep, "GET", f"/v1/results/{ident}?wait=0.2")
    assert status == 202 and out["status"] == "pending"
    assert settles_at(ep, 0) == 0  # timed out: its waiter went with it
    conns = []
    for _ in range(5):  # long polls whose clients hang up before the answer
        conn = http.client.HTTPConnection("127.0.0.1", ep.port, timeout=30)
        conn.request("GET", f"/v1/results/{ident}?wait=30", headers={"Authorization": f"Bearer {ep.token}"})
        conns.append(conn)
    assert settles_at(ep, 5) == 5
    for conn in conns:
        conn.close()
    assert settles_at(ep, 0) == 0  # not 30 s later, nor when the invocation ends
    status, out = api(ep, "GET", f"/v1/results/{ident}")
    assert status == 202  # the invocation itself goes on


def test_channel_clients_that_close_leave_no_waiter(ep: RunningEndpoint) -> None:
    before = waiters(ep)
    for _ in range(3):
        with ep.client() as client:
            futures = [client.submit(functions.sleepy, SLOW_S) for _ in range(2)]
            assert settles_at(ep, before + 2) == before + 2
            assert not any(f.done() for f in futures)
    assert settles_at(ep, before) == before
