"""An endpoint as users meet it: register, invoke, map; cold then warm; curl-style HTTP with JSON."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest

import hetflow as hf
from tests.faas import functions
from tests.faas.endpoints import RunningEndpoint, api, running_endpoint


@pytest.fixture(scope="module")
def ep(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEndpoint]:
    with running_endpoint(tmp_path_factory.mktemp("ep")) as running:
        yield running


def test_submit_map_and_resources(ep: RunningEndpoint) -> None:
    with ep.client() as client:
        first = client.submit(functions.square, 7)
        assert first.result(timeout=60) == 49
        assert first.info["kind"] == "cold"
        again = client.submit(functions.square, 8)
        assert again.result(timeout=60) == 64
        assert again.info["kind"] == "warm"
        t = again.info["timings"]
        assert t["sent"] <= t["got"] and t["received"] <= t["queued"] <= t["returned"] and t["started"] <= t["ended"]
        assert [f.result(timeout=60) for f in client.map(functions.square, range(20))] == [i * i for i in range(20)]
        local = 3  # a closure goes by value

        def add(x: int) -> int:
            return x + local

        assert client.submit(add, 1).result(timeout=60) == 4
        health = client.health()
        assert health["status"] == "ok" and 0 < health["rtt"] < 60 and abs(health["offset"]) < 5  # one machine
        nodes = client.resources()["nodes"]
        assert nodes[0]["cores"] == 4 and nodes[0]["free_cores"] == 4


def test_builtin_shell_by_reference(ep: RunningEndpoint, tmp_path: Path) -> None:
    with ep.client() as client:
        out = client.submit("hetflow.faas.builtins:shell", f"echo made > {tmp_path}/x; cat {tmp_path}/x").result(60)
        assert out["returncode"] == 0 and out["stdout"] == "made\n"
        failed = client.submit("hetflow.faas.builtins:shell", "exit 3").result(timeout=60)
        assert failed["returncode"] == 3


def test_a_future_cancelled_here_leaves_the_client_working(ep: RunningEndpoint) -> None:
    with ep.client() as client:
        gone = client.submit(functions.sleepy, 0.2)
        assert gone.cancel()
        assert client.submit(functions.sleepy, 0.3).result(timeout=60) == 0.3  # after the cancelled one's result
        assert client.submit(functions.square, 5).result(timeout=60) == 25


def test_exceptions_come_back_as_themselves(ep: RunningEndpoint) -> None:
    with ep.client() as client:
        with pytest.raises(ValueError, match="no good") as info:
            client.submit(functions.boom, "no good").result(timeout=60)
        assert "boom" in info.value.remote_traceback  # type: ignore[attr-defined]


def test_awaitable(ep: RunningEndpoint) -> None:
    import asyncio

    async def main(client: hf.Endpoint) -> list[int]:
        return list(await asyncio.gather(*(client.submit(functions.square, i) for i in range(5))))

    with ep.client() as client:
        assert asyncio.run(main(client)) == [0, 1, 4, 9, 16]


def test_curl_style_json_and_shell_builtin(ep: RunningEndpoint, tmp_path: Path) -> None:
    status, fn = api(ep, "POST", "/v1/functions", {"ref": "hetflow.faas.builtins:shell"})
    assert status == 201
    status, got = api(ep, "POST", "/v1/invocations", {"function": fn["function"], "args": ["echo hi; echo err >&2"]})
    assert status == 202
    status, res = api(ep, "GET", f"/v1/results/{got['id']}?wait=30")
    assert status == 200 and res["status"] == "done", res
    assert res["value"]["stdout"] == "hi\n" and res["value"]["stderr"] == "err\n" and res["value"]["returncode"] == 0
    assert set(res["timings"]) == {"received", "queued", "started", "ended", "returned"}
    assert api(ep, "DELETE", f"/v1/results/{got['id']}")[0] == 204
    assert api(ep, "GET", f"/v1/results/{got['id']}")[0] == 404
    # pickled payloads through HTTP: base64 of pickle((args, kwargs))
    import pickle

    status, fn = api(ep, "POST", "/v1/functions", {"ref": "tests.faas.functions:square"})
    payload = base64.b64encode(pickle.dumps(((9,), {}))).decode()
    status, got = api(ep, "POST", "/v1/invocations/batch", {"invocations": [{"function": fn["function"],
                                                                              "payload": payload}] * 3})  # fmt: skip
    assert status == 202 and len(got["ids"]) == 3
    for ident in got["ids"]:
        status, res = api(ep, "GET", f"/v1/results/{ident}?wait=30")
        assert pickle.loads(base64.b64decode(res["value"])) == 81
    status, schema = api(ep, "GET", "/v1/openapi.json")
    assert status == 200 and "/v1/leases/{id}" in schema["paths"]
