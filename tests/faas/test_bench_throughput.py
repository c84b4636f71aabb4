"""benchmarks/faas.py's throughput run against a real endpoint: every client's results are checked, and a client
that fails makes the figure an error saying why (it raised BrokenBarrierError, losing the whole run's figures)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from types import ModuleType

import pytest

from tests.faas.endpoints import REPO, RunningEndpoint, running_endpoint


def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("faas_bench", REPO / "benchmarks" / "faas.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def ep(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEndpoint]:
    with running_endpoint(tmp_path_factory.mktemp("ep"), "--rate-limit", "0") as running:
        yield running


def test_throughput_counts_every_invocation(ep: RunningEndpoint) -> None:
    out = bench().throughput(ep.url, ep.token, 25)
    assert "error" not in out
    assert out["invocations"] == 8 * 25 and out["per_second"] > 0


def test_a_client_that_fails_is_an_error_not_a_crash(ep: RunningEndpoint) -> None:
    out = bench().throughput(ep.url, "not-the-token", 25)
    assert out["failed_clients"] == 8
    assert "wrong token" in out["error"]
