"""Remote cancel on a hetflow endpoint, on loopback: how long DELETE /v1/invocations/{id} takes until its answer
says cancelled, for an invocation that waits in the endpoint's queue and for one that runs (its worker is killed),
and what the next call then costs (a cold start: the pool starts a fresh worker). Prints JSON.

    PYTHONPATH=src python benchmarks/faas_cancel.py [--samples 30] [--peers dask,ray] [--dask-hold 0.5]

In the same run, with the same number of samples (after the endpoint stops; --no-peer or --peers to choose): Dask's
future.cancel() and Ray's ray.cancel() of a queued and of a running task (benchmarks/cancel_peers.py says how each is
measured and what it means), and `ratios`: hetflow p50 / peer p50.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cancel_peers import PEERS, ms, ratios, run_peers
from faas import start_endpoint  # the endpoint process as benchmarks/faas.py starts it


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
    parser.add_argument("--peers", default=",".join(PEERS), help=f"peers to run, of {','.join(PEERS)}")
    parser.add_argument("--no-peer", action="store_true", help="run no peer")
    parser.add_argument("--dask-hold", type=float, default=0.5, help="seconds Dask's running task holds its thread")
    args = parser.parse_args()
    peers = [] if args.no_peer else [p for p in args.peers.split(",") if p]
    if unknown := set(peers) - set(PEERS):
        parser.error(f"unknown peers {sorted(unknown)}: choose among {','.join(PEERS)}")
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
            mine = {
                "cancel_queued": ms(queued),
                "cancel_running": ms(running),
                "next_call_after_a_kill": ms(after),
            }
        finally:
            proc.kill()
            proc.wait()
        found = run_peers(peers, Path(tmp), args.samples, args.dask_hold)
    extra = {"peers": found, "ratios": ratios(mine, found)} if found else {}
    print(json.dumps({**mine, **extra}, indent=2))


if __name__ == "__main__":
    main()
