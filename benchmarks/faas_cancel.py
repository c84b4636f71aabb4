"""Remote cancel on a hetflow endpoint, on loopback: how long DELETE /v1/invocations/{id} takes until its answer
says cancelled, for an invocation that waits in the endpoint's queue and for one that runs (its worker is killed),
and what the next call then costs (a cold start: the pool starts a fresh worker). Prints JSON.

    PYTHONPATH=src python benchmarks/faas_cancel.py [--samples 30]
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from faas import start_endpoint  # the endpoint process as benchmarks/faas.py starts it


def ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50_ms": round(statistics.median(ordered) * 1e3, 3),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1e3, 3),
        "n": len(ordered),
    }


class Api:
    """The HTTP API on one kept-alive connection."""

    def __init__(self, url: str, token: str) -> None:
        host, port = url.rsplit("/", 1)[-1].rsplit(":", 1)
        self.conn = http.client.HTTPConnection(host, int(port), timeout=60)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def __call__(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        self.conn.request(method, path, json.dumps(body).encode() if body is not None else None, self.headers)
        resp = self.conn.getresponse()
        raw = resp.read()
        return resp.status, json.loads(raw) if raw else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proc, url, token = start_endpoint(Path(tmp), keep_warm=600.0)
        try:
            api = Api(url, token)
            sleep = api("POST", "/v1/functions", {"ref": "time:sleep"})[1]["function"]
            running: list[float] = []
            queued: list[float] = []
            after: list[float] = []
            for _ in range(args.samples):
                call = {"function": sleep, "args": [60], "cores": 4}
                blocker = api("POST", "/v1/invocations", call)[1]["id"]
                waiting = api("POST", "/v1/invocations", call)[1]["id"]
                while api("GET", "/v1/resources")[1]["load"]["running"] < 1:
                    time.sleep(0.005)
                t0 = time.perf_counter()
                status, out = api("DELETE", f"/v1/invocations/{waiting}")
                queued.append(time.perf_counter() - t0)
                assert (status, out["status"]) == (200, "cancelled"), out
                t0 = time.perf_counter()
                status, out = api("DELETE", f"/v1/invocations/{blocker}")
                running.append(time.perf_counter() - t0)
                assert (status, out["status"]) == (200, "cancelled"), out
                t0 = time.perf_counter()
                ident = api("POST", "/v1/invocations", {"function": sleep, "args": [0]})[1]["id"]
                assert api("GET", f"/v1/results/{ident}?wait=30")[1]["status"] == "done"
                after.append(time.perf_counter() - t0)
                for done in (blocker, waiting, ident):
                    api("DELETE", f"/v1/results/{done}")
            print(json.dumps({
                "cancel_queued": ms(queued),
                "cancel_running": ms(running),
                "next_call_after_a_kill": ms(after),
            }, indent=2))  # fmt: skip
        finally:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    main()
