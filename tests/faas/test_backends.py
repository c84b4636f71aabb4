"""Endpoints whose site is a Dask or a Ray cluster (`hetflow endpoint start --backend dask|ray`): real endpoints as
subprocesses, the cluster started by the endpoint (or one already running, at --address)."""

from __future__ import annotations

import json
import os
import pickle
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hetflow.faas import InvocationError
from tests.faas import functions
from tests.faas.endpoints import CLI, RunningEndpoint, api, running_endpoint, start_endpoint
from tests.procs import alive, descendants, wait_for

TWO_NODES: dict[str, Any] = {"platform": "pair", "nodes": [{"type": "cpu", "count": 2, "cores": 2, "memory": "2GiB"}]}


def warm_where_seen(ep: RunningEndpoint, n: int = 4) -> list[tuple[str, int]]:
    """n calls of a function new to the endpoint, one after another: (kind, pid of the process that ran it) each."""
    stamp = time.time_ns()

    def where() -> tuple[int, int]:  # by value: a function (and an id) of its own
        return os.getpid(), stamp

    out = []
    with ep.client() as client:
        for _ in range(n):
            fut = client.submit(where)
            pid, seen = fut.result(timeout=60)
            assert seen == stamp
            out.append((fut.info["kind"], pid))
    return out


def check_cold_then_warm(calls: list[tuple[str, int]]) -> None:
    """Cold exactly when the process that ran it had not run the function before; warm ones there are."""
    seen: set[int] = set()
    for kind, pid in calls:
        assert kind == ("warm" if pid in seen else "cold"), calls
        seen.add(pid)
    assert calls[0][0] == "cold" and any(kind == "warm" for kind, _ in calls), calls


def check_basics(ep: RunningEndpoint, backend: str) -> None:
    """Nodes from the cluster, register/invoke/map, a function's error, a lease's hot calls."""
    with ep.client() as client:
        nodes = client.resources()["nodes"]
        assert [n["name"] for n in nodes] == ["cpu-0", "cpu-1"] and all(n["features"] for n in nodes)
        assert client.submit(functions.square, 7).result(timeout=60) == 49
        assert [f.result(timeout=60) for f in client.map(functions.square, range(6))] == [0, 1, 4, 9, 16, 25]
        with pytest.raises(ValueError, match="no good"):
            client.submit(functions.boom, "no good").result(timeout=60)
        status, body = api(ep, "POST", "/v1/functions", {"ref": "tests.faas.functions:square"})
        status, sent = api(ep, "POST", "/v1/invocations", {"function": body["function"], "args": [5]})
        status, got = api(ep, "GET", f"/v1/results/{sent['id']}?wait=30")
        assert (status, got.get("status"), got.get("value")) == (200, "done", 25), (sent, got)
        with client.lease(cores=2, seconds=60) as lease:
            held = next(n for n in client.resources()["nodes"] if n["name"] == lease.info["node"])
            assert held["free_cores"] == 0  # the engine holds the lease's cores
            hot = [lease.submit(functions.pid) for _ in range(3)]
            pids = {f.result(timeout=60) for f in hot}
            assert {f.info["kind"] for f in hot} == {"hot"}
            assert len(pids) == 1 or backend == "ray"  # a Ray node runs tasks in worker processes of its own choice
        free = next(n for n in client.resources()["nodes"] if n["name"] == lease.info["node"])
        assert free["free_cores"] == 2
    check_cold_then_warm(warm_where_seen(ep))


def check_drain(ep: RunningEndpoint, started_cluster: bool) -> None:
    """SIGTERM: exit 0, and the cluster it started is gone with it (every process it had below it)."""
    below = descendants(ep.proc.pid)
    assert below or not started_cluster
    assert ep.stop() == 0
    wait_for(lambda: not any(alive(p) for p in below), timeout=30, what="the endpoint's cluster to stop")


# ---- Dask -----------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def dask_ep(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEndpoint]:
    with running_endpoint(tmp_path_factory.mktemp("dask"), "--backend", "dask", platform=TWO_NODES) as ep:
        yield ep


def test_dask_endpoint_serves_from_its_cluster(dask_ep: RunningEndpoint) -> None:
    check_basics(dask_ep, "dask")
    with dask_ep.client() as client:
        assert client.resources()["load"]["workers"] == 2


def test_dask_call_past_its_timeout_is_reported_and_the_endpoint_goes_on(dask_ep: RunningEndpoint) -> None:
    with dask_ep.client() as client:
        slow = client.submit(functions.sleepy, 30, timeout=0.5)
        with pytest.raises(InvocationError, match="timed out") as info:
            slow.result(timeout=60)
        assert info.value.status == "timeout"
        assert client.submit(functions.square, 3).result(timeout=60) == 9


def test_dask_endpoint_drains_and_stops_the_cluster_it_started(dask_ep: RunningEndpoint) -> None:
    with dask_ep.client() as client:
        slow = client.submit(functions.sleepy, 1.0)
        time.sleep(0.3)
        below = descendants(dask_ep.proc.pid)
        dask_ep.proc.send_signal(signal.SIGTERM)
        assert slow.result(timeout=60) == 1.0  # accepted before the drain: ends and is delivered
    assert dask_ep.proc.wait(timeout=60) == 0
    assert len(below) >= 2  # a worker per node
    wait_for(lambda: not any(alive(p) for p in below), timeout=30, what="the endpoint's Dask workers to stop")


def test_dask_worker_killed_under_a_call_runs_it_again_once_elsewhere(tmp_path: Path) -> None:
    marker, twice = str(tmp_path / "once"), str(tmp_path / "twice")
    three = {"platform": "three", "nodes": [{"type": "cpu", "count": 3, "cores": 1}]}
    with running_endpoint(tmp_path, "--backend", "dask", platform=three) as ep, ep.client() as client:
        fut = client.submit(functions.die_once, marker)
        wait_for(lambda: functions.pids_in(marker), timeout=60, what="the first attempt")
        victim = functions.pids_in(marker)[0]
        os.kill(victim, signal.SIGKILL)  # the Dask worker process itself (a call runs in one of its threads)
        again = fut.result(timeout=60)
        assert again != victim and alive(again)
        assert client.resources()["load"]["workers"] == 2
        assert client.submit(functions.square, 4).result(timeout=60) == 16  # the endpoint goes on

        fut = client.submit(functions.die_always, twice)
        for n in (1, 2):
            wait_for(lambda n=n: len(functions.pids_in(twice)) >= n, timeout=60, what=f"attempt {n}")
            os.kill(functions.pids_in(twice)[n - 1], signal.SIGKILL)
        with pytest.raises(InvocationError, match="lost") as info:
            fut.result(timeout=60)
        assert info.value.status == "lost" and len(set(functions.pids_in(twice))) == 2  # on two workers, not three


def test_dask_endpoint_on_a_running_cluster_leaves_it_running(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None, processes=True) as lc:
        workers = set(lc.scheduler.workers)
        with running_endpoint(tmp_path, "--backend", "dask", "--address", lc.scheduler_address) as ep:
            with ep.client() as client:
                nodes = client.resources()["nodes"]
                assert len(nodes) == 2 and all(n["cores"] == 1 for n in nodes)  # the workers, not --platform's node
                assert client.submit(functions.square, 3).result(timeout=60) == 9
            assert ep.stop() == 0
        assert set(lc.scheduler.workers) == workers  # not stopped by the endpoint


def test_bad_cluster_addresses_are_one_line(tmp_path: Path) -> None:
    import subprocess

    for args in (["--backend", "dask", "--address", "tcp://127.0.0.1:1"], ["--address", "tcp://127.0.0.1:1"],
                 ["--backend", "dask", "--address", "nowhere"]):  # fmt: skip
        cmd = [*CLI, "endpoint", "start", "--token-file", str(tmp_path / "t"), *args]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        lines = [line for line in done.stderr.splitlines() if line.startswith("error")]
        assert done.returncode == 2 and len(lines) == 1 and "--address" in lines[0], done.stderr


def test_the_worker_side_cache_is_warm_until_keep_warm_idle() -> None:
    """faas/warmcache.py as a cluster's worker runs it: cold on a process's first call, warm after, cold again once
    idle for keep_warm; a definition that cannot be resolved fails each call with why."""
    from hetflow.faas.warmcache import invoke

    payload = pickle.dumps(((6,), {}))
    fid = f"square-{time.time_ns()}"
    got = [invoke(fid, b"r", b"tests.faas.functions:square", b"p", payload, 0.3) for _ in range(2)]
    assert [(ok, kind, pickle.loads(body)) for ok, kind, _, _, body, _ in got] == [(1, "cold", 36), (1, "warm", 36)]
    assert got[0][5] == os.getpid() and got[1][2] <= got[1][3]
    time.sleep(0.5)
    assert invoke(fid, b"r", b"tests.faas.functions:square", b"p", payload, 0.3)[1] == "cold"
    ok, kind, _, _, body, _ = invoke(f"bad-{fid}", b"r", b"tests.faas.functions:nothing", b"j", b"", 60)
    assert (ok, kind) == (0, "cold") and "nothing" in json.loads(body)["error"]


# ---- Ray ------------------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_ray_endpoint_serves_drains_and_stops_its_cluster(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    with running_endpoint(tmp_path, "--backend", "ray", platform=TWO_NODES, timeout=180) as ep:
        check_basics(ep, "ray")
        check_drain(ep, started_cluster=True)


@pytest.mark.slow
def test_ray_worker_killed_under_a_call_runs_it_again_once(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    marker, twice = str(tmp_path / "once"), str(tmp_path / "twice")
    with running_endpoint(tmp_path, "--backend", "ray", platform=TWO_NODES, timeout=180) as ep, ep.client() as c:
        fut = c.submit(functions.die_once, marker)
        wait_for(lambda: functions.pids_in(marker), timeout=60, what="the first attempt")
        victim = functions.pids_in(marker)[0]
        os.kill(victim, signal.SIGKILL)  # the Ray worker process (Ray itself does not run it again: max_retries=0)
        assert fut.result(timeout=60) != victim

        fut = c.submit(functions.die_always, twice)
        for n in (1, 2):
            wait_for(lambda n=n: len(functions.pids_in(twice)) >= n, timeout=60, what=f"attempt {n}")
            os.kill(functions.pids_in(twice)[n - 1], signal.SIGKILL)
        with pytest.raises(InvocationError) as info:
            fut.result(timeout=60)
        assert info.value.status == "lost"
        time.sleep(0.5)
        assert len(functions.pids_in(twice)) == 2  # not a third time


@pytest.mark.slow
def test_dask_endpoint_kill_and_restart_on_its_journal_loses_nothing(tmp_path: Path) -> None:
    journal = str(tmp_path / "endpoint.db")
    with running_endpoint(tmp_path / "a", "--backend", "dask", "--journal", journal, platform=TWO_NODES) as ep:
        client = ep.client(patience=120)
        futures = [client.submit(functions.sleepy, 0.5 + i / 100) for i in range(3)]
        wait_for(lambda: client.resources()["load"]["running"] >= 1, what="an invocation running")
        below = descendants(ep.proc.pid)
        ep.kill()
        wait_for(lambda: not any(alive(p) for p in below), timeout=30, what="its Dask workers to go with it")
        again = start_endpoint(tmp_path / "b", "--backend", "dask", "--journal", journal, platform=TWO_NODES,
                               port=ep.port, token_file=ep.token_file)  # fmt: skip
        try:
            assert [f.result(timeout=120) for f in futures] == [0.5 + i / 100 for i in range(3)]
            client.close()
        finally:
            again.kill()
