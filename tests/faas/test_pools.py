"""Warm pools: cold, warm and hot calls; eviction after --keep-warm; time limits; a worker killed under a call."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hetflow.faas import InvocationError
from tests.faas import functions
from tests.faas.endpoints import RunningEndpoint, api, running_endpoint
from tests.procs import alive, wait_for


@pytest.fixture(scope="module")
def ep(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEndpoint]:
    with running_endpoint(tmp_path_factory.mktemp("pools")) as running:
        yield running


def test_cold_then_warm_then_hot(ep: RunningEndpoint) -> None:
    with ep.client() as client:
        cold = client.submit(functions.pid)
        first = cold.result(timeout=60)
        warm = client.submit(functions.pid)
        assert warm.result(timeout=60) == first
        assert (cold.info["kind"], warm.info["kind"]) == ("cold", "warm")
        with client.lease(cores=1, seconds=60) as lease:
            hot = [lease.submit(functions.pid) for _ in range(3)]
            pids = {f.result(timeout=60) for f in hot}
            assert pids == {lease.info["worker"]} and first not in pids
            assert {f.info["kind"] for f in hot} == {"hot"}
        wait_for(lambda: not alive(lease.info["worker"]), what="the released lease's worker to go")


def test_idle_workers_are_evicted_after_keep_warm_and_results_expire(tmp_path: Path) -> None:
    with running_endpoint(tmp_path, "--keep-warm", "0.5", "--result-ttl", "1") as short, short.client() as client:
        fid = api(short, "POST", "/v1/functions", {"ref": "tests.faas.functions:square"})[1]["function"]
        unfetched = api(short, "POST", "/v1/invocations", {"function": fid, "args": [2]})[1]["id"]
        first = client.submit(functions.pid).result(timeout=60)
        wait_for(lambda: not alive(first), what="the idle worker's eviction")
        again = client.submit(functions.pid)
        assert again.result(timeout=60) != first and again.info["kind"] == "cold"
        assert client.resources()["load"]["cold_starts"] == 3  # square, then pid twice
        wait_for(lambda: api(short, "GET", f"/v1/results/{unfetched}")[0] == 404, what="the result's expiry")


def test_a_call_past_its_timeout_is_stopped(ep: RunningEndpoint) -> None:
    with ep.client() as client:
        slow = client.submit(functions.sleepy, 60, timeout=0.5)
        with pytest.raises(InvocationError, match="timed out") as info:
            slow.result(timeout=60)
        assert info.value.status == "timeout"
        assert client.submit(functions.square, 3).result(timeout=60) == 9  # the endpoint goes on


def test_worker_killed_under_a_call_runs_it_again_once(ep: RunningEndpoint, tmp_path: Path) -> None:
    marker = str(tmp_path / "once")
    with ep.client() as client:
        fut = client.submit(functions.die_once, marker)
        wait_for(lambda: functions.pids_in(marker), what="the first attempt")
        victim = functions.pids_in(marker)[0]
        os.kill(victim, signal.SIGKILL)
        assert fut.result(timeout=60) != victim
        assert fut.info["kind"] == "cold"  # a fresh worker

        twice = str(tmp_path / "twice")
        fut = client.submit(functions.die_always, twice)
        for n in (1, 2):
            wait_for(lambda n=n: len(functions.pids_in(twice)) >= n, what=f"attempt {n}")
            os.kill(functions.pids_in(twice)[n - 1], signal.SIGKILL)
        with pytest.raises(InvocationError, match="died") as info:
            fut.result(timeout=60)
        assert info.value.status == "lost"
        time.sleep(0.2)
        assert len(functions.pids_in(twice)) == 2  # not a third time


def test_a_lease_whose_worker_dies_pins_a_fresh_one(ep: RunningEndpoint, tmp_path: Path) -> None:
    marker = str(tmp_path / "hot")
    with ep.client() as client, client.lease(cores=1, seconds=60) as lease:
        first = lease.info["worker"]
        fut = lease.submit(functions.die_once, marker)
        wait_for(lambda: functions.pids_in(marker), what="the hot call")
        assert functions.pids_in(marker) == [first]
        os.kill(first, signal.SIGKILL)
        fresh = fut.result(timeout=60)  # run again, once, on the lease's fresh worker
        assert fresh != first and fut.info["kind"] == "hot"
        assert lease.submit(functions.pid).result(timeout=60) == fresh
