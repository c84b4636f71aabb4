"""close() waits for the cancels on their way (at most CANCEL_WAIT_S), so a program that cancels and exits has them
reach the endpoint: they used to go in daemon threads that died with the process."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

import hetflow as hf
from tests.faas import functions
from tests.faas.endpoints import api, running_endpoint


def test_close_waits_for_a_cancel_on_its_way(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[str] = []
    request = hf.Endpoint.request

    def slow_delete(self: hf.Endpoint, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        if method == "DELETE":
            time.sleep(0.5)  # a slow network: the cancel is still on its way when the program closes
            sent.append(path)
        return request(self, method, path, body)

    monkeypatch.setattr(hf.Endpoint, "request", slow_delete)
    with running_endpoint(tmp_path / "ep") as ep:
        client = ep.client()
        fut = client.submit(functions.sleepy, 120.0)
        while api(ep, "GET", "/v1/resources")[1]["load"]["running"] == 0:  # it runs at the endpoint
            time.sleep(0.05)
        assert fut.cancel()
        client.close()  # as at the end of a program's `with` block, just before it exits
        assert sent == [f"/v1/invocations/{fut.id}"]
        load: dict[str, int] = {}
        for _ in range(200):  # the 120 s call was stopped: nothing is left running there
            load = api(ep, "GET", "/v1/resources")[1]["load"]
            if load["invocations"] == 0 and load["running"] == 0:
                break
            time.sleep(0.05)
        assert load["invocations"] == 0 and load["running"] == 0, load
