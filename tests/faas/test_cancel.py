"""Remote cancel: DELETE /v1/invocations/{id} (and Future.cancel() of hf.Endpoint, and a multi-site Session's cancel)
takes a queued invocation out of the endpoint's queue, or kills the worker under a running one (a fresh one serves
the next call); the result says cancelled."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import hetflow as hf
from tests.faas import functions
from tests.faas import multisite_tasks as tasks
from tests.faas.endpoints import RunningEndpoint, api, running_endpoint
from tests.procs import alive, wait_for


@pytest.fixture(scope="module")
def ep(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEndpoint]:
    with running_endpoint(tmp_path_factory.mktemp("cancel")) as running:  # one node, 4 cores
        yield running


def invoke(ep: RunningEndpoint, ref: str, *args: object, cores: int = 1) -> str:
    fid = api(ep, "POST", "/v1/functions", {"ref": ref})[1]["function"]
    status, out = api(ep, "POST", "/v1/invocations", {"function": fid, "args": list(args), "cores": cores})
    assert status == 202
    return str(out["id"])


def test_delete_kills_the_worker_under_a_running_invocation(ep: RunningEndpoint, tmp_path: Path) -> None:
    marker = tmp_path / "pid"
    ident = invoke(ep, "tests.faas.functions:die_once", str(marker))
    wait_for(lambda: functions.pids_in(str(marker)), what="the call to start")
    (pid,) = functions.pids_in(str(marker))
    status, out = api(ep, "DELETE", f"/v1/invocations/{ident}")
    assert (status, out["status"]) == (200, "cancelled")
    wait_for(lambda: not alive(pid), what="the worker under it to go")
    assert api(ep, "GET", f"/v1/results/{ident}")[1]["status"] == "cancelled"
    status, out = api(ep, "DELETE", f"/v1/invocations/{ident}")
    assert (status, out) == (409, {"error": "the invocation has ended (cancelled)"})
    with ep.client() as client:  # the next call works, on a fresh worker
        assert client.submit(functions.die_once, str(marker)).result(timeout=60) != pid


def test_delete_takes_a_queued_invocation_out_of_the_queue(ep: RunningEndpoint, tmp_path: Path) -> None:
    first = invoke(ep, "tests.faas.multisite_tasks:slow_square", 0, str(tmp_path), 1.0, cores=4)
    queued = invoke(ep, "tests.faas.multisite_tasks:slow_square", 1, str(tmp_path), 0.0, cores=4)
    status, out = api(ep, "DELETE", f"/v1/invocations/{queued}")
    assert (status, out["status"], out["error"]) == (200, "cancelled", "cancelled")
    assert api(ep, "GET", f"/v1/results/{first}?wait=30")[1]["value"] == 0
    assert [f.name.split(".")[0] for f in tmp_path.iterdir()] == ["0"]  # the cancelled one never ran
    assert api(ep, "GET", "/v1/resources")[1]["nodes"][0]["free_cores"] == 4  # its resources went back


def test_delete_of_an_unknown_invocation_is_one_json_error(ep: RunningEndpoint) -> None:
    assert api(ep, "DELETE", "/v1/invocations/" + "0" * 32) == (
        404,
        {"error": "unknown invocation (never accepted, or its result was fetched or expired)"},
    )
    assert api(ep, "DELETE", "/v1/invocations/not-an-id")[0] == 404
    assert api(ep, "DELETE", "/v1/invocations/" + "0" * 32, token=None)[0] == 401
    assert api(ep, "DELETE", "/v1/invocations/" + "0" * 32, token="wrong")[0] == 403
    assert "delete" in api(ep, "GET", "/v1/openapi.json")[1]["paths"]["/v1/invocations/{id}"]


def test_future_cancel_reaches_the_endpoint(ep: RunningEndpoint, tmp_path: Path) -> None:
    marker = tmp_path / "pid"
    with ep.client() as client:
        running = client.submit(functions.die_once, str(marker))
        wait_for(lambda: functions.pids_in(str(marker)), what="the call to start")
        (pid,) = functions.pids_in(str(marker))
        blocker = client.submit(tasks.slow_square, 0, str(tmp_path), 1.0, cores=3)
        queued = client.submit(tasks.slow_square, 1, str(tmp_path), 0.0, cores=4)
        assert queued.cancel() and running.cancel()
        wait_for(lambda: not alive(pid), what="the worker under it to go")
        assert blocker.result(timeout=60) == 0
        assert client.submit(functions.die_once, str(marker)).result(timeout=60) != pid
        assert sorted(f.name.split(".")[0] for f in tmp_path.iterdir() if f.name != "pid") == ["0"]


def test_a_sessions_cancel_of_a_running_task_reaches_its_endpoint(ep: RunningEndpoint, tmp_path: Path) -> None:
    marker = tmp_path / "pid"
    with hf.Session(backend="faas", endpoints={"site": ep.url}, token=ep.token) as s:
        running = s.submit(functions.die_once, str(marker))
        wait_for(lambda: functions.pids_in(str(marker)), what="the task to start")
        (pid,) = functions.pids_in(str(marker))
        s.cancel(running.set, running.index)
        wait_for(lambda: not alive(pid), what="the worker under it to go")
        assert running.cancelled()
        assert s.submit(functions.die_once, str(marker)).result(timeout=60) != pid
