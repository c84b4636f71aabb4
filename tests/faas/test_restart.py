"""Reliability: kill -9 of the endpoint and a restart on the same journal loses nothing (the client reconnects and
gets every result); SIGTERM drains (what was accepted ends and is delivered) and exits 0."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from hetflow.faas import EndpointError, InvocationError
from tests.faas import functions
from tests.faas.endpoints import PLATFORM, running_endpoint, start_endpoint
from tests.procs import wait_for

TWO_CORES = {**PLATFORM, "nodes": [{"type": "cpu", "count": 1, "cores": 2}]}


@pytest.mark.slow
def test_endpoint_kill_and_restart_on_its_journal_loses_nothing(tmp_path: Path) -> None:
    journal = str(tmp_path / "endpoint.db")
    with running_endpoint(tmp_path / "a", "--journal", journal, platform=TWO_CORES) as ep:
        client = ep.client(patience=120)
        done = client.submit(functions.square, 3)
        assert done.result(timeout=60) == 9
        futures = [client.submit(functions.sleepy, 0.5 + i / 100) for i in range(6)]  # 2 run, 4 wait
        hot = client.lease(cores=0, seconds=600).submit(functions.sleepy, 30)
        wait_for(lambda: client.resources()["load"]["running"] == 3, what="two invocations and a hot one running")
        ep.kill()
        with pytest.raises(EndpointError, match="cannot be reached"):
            client.health()  # a clear error while it is down
        assert not any(f.done() for f in futures)
        again = start_endpoint(tmp_path / "b", "--journal", journal, platform=TWO_CORES, port=ep.port,
                               token_file=ep.token_file)  # fmt: skip
        try:
            assert [f.result(timeout=120) for f in futures] == [0.5 + i / 100 for i in range(6)]
            with pytest.raises(InvocationError, match="its lease ended when the endpoint stopped") as lost:
                hot.result(timeout=60)  # a lease's call cannot run again without its lease: reported lost
            assert lost.value.status == "lost"
            assert client.submit(functions.square, 4).result(timeout=60) == 16  # and it carries on
            client.close()
        finally:
            again.kill()
        assert "Traceback" not in again.stderr()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_drains_and_exits_0(tmp_path: Path, sig: signal.Signals) -> None:
    with running_endpoint(tmp_path) as ep, ep.client() as client:
        client.submit(functions.square, 2).result(timeout=60)
        slow = client.submit(functions.sleepy, 1.0)
        wait_for(lambda: client.resources()["load"]["running"] == 1, what="the call running")
        assert ep.stop(sig) == 0
        assert slow.result(timeout=10) == 1.0  # delivered before it stopped


def test_a_client_gives_up_after_its_patience(tmp_path: Path) -> None:
    with running_endpoint(tmp_path) as ep:
        client = ep.client(patience=0.5)
        waiting = client.submit(functions.sleepy, 30)
        wait_for(lambda: client.resources()["load"]["running"] == 1, what="the call running")
        ep.kill()
        with pytest.raises(EndpointError, match="unreachable"):
            waiting.result(timeout=60)
        with pytest.raises(EndpointError, match="unreachable"):
            client.submit(functions.square, 1)
        client.close()
