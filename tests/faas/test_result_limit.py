"""A result over the endpoint's --max-result fails its invocation with one clear error, is never held by the
endpoint (the worker is killed as soon as the frame's length is read), and the endpoint keeps serving."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from hetflow.faas.failures import InvocationError
from tests.faas import functions
from tests.faas.endpoints import CLI, RunningEndpoint, api, running_endpoint

LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def ep(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEndpoint]:
    with running_endpoint(tmp_path_factory.mktemp("limit"), "--max-result", str(LIMIT), "--rate-limit", "0") as e:
        yield e


def test_a_result_over_the_limit_fails_and_the_endpoint_goes_on(ep: RunningEndpoint) -> None:
    with ep.client() as client:
        assert len(client.submit(bytes, LIMIT // 2).result(timeout=60)) == LIMIT // 2  # under it: whole
        with pytest.raises(InvocationError, match=r"result of \d+ bytes is over the endpoint's limit of 65536") as info:
            client.submit(bytes, 4 * LIMIT).result(timeout=60)
        assert info.value.status == "failed"
        assert client.submit(functions.square, 7).result(timeout=60) == 49  # still serving
        assert len(client.submit(bytes, 100).result(timeout=60)) == 100


def test_the_http_api_says_so_as_text(ep: RunningEndpoint) -> None:
    fid = api(ep, "POST", "/v1/functions", {"ref": "tests.faas.functions:text"})[1]["function"]
    status, got = api(ep, "POST", "/v1/invocations", {"function": fid, "args": [4 * LIMIT]})
    assert status == 202
    status, res = api(ep, "GET", f"/v1/results/{got['id']}?wait=30")
    assert status == 200 and res["status"] == "failed", res
    assert "over the endpoint's limit of 65536 (--max-result)" in res["error"] and "value" not in res
    status, got = api(ep, "POST", "/v1/invocations", {"function": fid, "args": [10]})
    assert api(ep, "GET", f"/v1/results/{got['id']}?wait=30")[1]["value"] == "x" * 10


def test_a_bad_limit_is_one_line(tmp_path: Path) -> None:
    done = subprocess.run([*CLI, "endpoint", "start", "--max-result", "0"], capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip
    assert done.returncode == 2 and "--max-result" in done.stderr and len(done.stderr.strip().splitlines()) == 1
