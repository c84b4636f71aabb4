"""Leases: granted through the engine (its resources really held), refused at once with the reason, expired on
their own."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator

import pytest

from hetflow.faas import EndpointError, LeaseRefused
from tests.faas import functions
from tests.faas.endpoints import RunningEndpoint, running_endpoint
from tests.procs import wait_for


@pytest.fixture(scope="module")
def ep(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEndpoint]:
    with running_endpoint(tmp_path_factory.mktemp("leases")) as running:  # one node of 4 cores
        yield running


def free_cores(client: object) -> int:
    return int(client.resources()["nodes"][0]["free_cores"])  # type: ignore[attr-defined]


def test_granted_lease_holds_its_resources_until_released(ep: RunningEndpoint) -> None:
    with ep.client() as client:
        lease = client.lease(cores=3, seconds=120)
        assert lease.node == "cpu-0" and free_cores(client) == 1
        with pytest.raises(LeaseRefused, match="no node has 2 cores") as refused:
            client.lease(cores=2, seconds=10)
        assert "cpu-0: 1 cores" in str(refused.value)
        waiting = client.submit(functions.square, 5, cores=2)  # needs what the lease holds: it waits
        with pytest.raises(concurrent.futures.TimeoutError):
            waiting.result(timeout=1.0)
        assert client.submit(functions.square, 4, cores=1).result(timeout=60) == 16  # what is left still serves
        assert lease.submit(functions.square, 6).result(timeout=60) == 36
        lease.release()
        assert waiting.result(timeout=60) == 25
        wait_for(lambda: free_cores(client) == 4, what="the cores back")


def test_lease_beyond_any_node_is_refused(ep: RunningEndpoint) -> None:
    with ep.client() as client, pytest.raises(LeaseRefused, match="more than any node"):
        client.lease(cores=64, seconds=10)


def test_lease_expires_on_its_own(ep: RunningEndpoint) -> None:
    with ep.client() as client:
        lease = client.lease(cores=4, seconds=1)
        assert free_cores(client) == 0
        wait_for(lambda: free_cores(client) == 4, what="the lease's expiry")
        with pytest.raises(EndpointError) as gone:
            lease.submit(functions.square, 2).result(timeout=60)
        assert gone.value.status == 404 and "not held" in str(gone.value)
