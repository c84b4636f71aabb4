"""Function endpoint benchmark, SeBS-style: what an invocation costs on a hetflow endpoint on loopback, beside the
round trip of one small task through plain Ray and plain Dask on the same machine. Prints JSON.

    PYTHONPATH=src python benchmarks/faas.py [--samples 200] [--keep-warm 1.0] [--no-peer] [--endpoint-backend B]

- latency: for payloads of 1 KB, 100 KB and 5.9 MB (bytes sent to `len`, so the answer is small), `--samples`
  invocations each of:
    cold  a function the endpoint has never seen (a fresh closure, registered by value): a new worker process;
    warm  the same function again: an idle worker of that function;
    hot   Lease.submit: the lease's pinned worker;
    warm_echo, hot_echo  `bytes` on the payload, warm and hot: a result as large as the payload comes back.
  --sizes picks the payloads, --cold-samples the cold calls' count, --latency-only skips the eviction and throughput.
  Each is reported client-side (perf_counter around submit().result()) and server-side from the result's timings:
  endpoint (returned - received) and its parts accept (queued - received), placement (started - queued: the
  endpoint's engine and the hand-over to a worker), execution (ended - started) and return (returned - ended), and
  the client's share (round trip minus the endpoint's), with the client-endpoint clock offset estimated as SeBS
  does: OFFSET_SAMPLES request/response pairs (GET /v1/health, which answers the endpoint's time), the offset of the
  one with the smallest round trip; the one-way request and answer times use it. Each sample's kind (cold, warm,
  hot) as the endpoint reported it is counted.
- eviction: with --keep-warm K, the probability that a call after an idle time t is cold, for t from 0.25 K to 2 K.
- throughput: 8 clients (threads, each its own Endpoint) pipelining small invocations; invocations per second.
- peers (unless --no-peer): ray.get(f.remote(x)) and client.submit(f, x).result() with the 1 KB payload, warm.
- --endpoint-backend dask|ray: the endpoint runs its functions on a Dask or Ray cluster it starts (one worker or node
  of 4 cores); cold is then a function's first call in a worker process, warm a call that finds it cached there.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import select
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hetflow as hf

sys.path.insert(0, str(Path(__file__).resolve().parent))
from faas_peers import dask_round_trip, percentiles, ray_round_trip

PAYLOADS = {"1KB": 1024, "100KB": 100 * 1024, "5.9MB": int(5.9 * 1024 * 1024)}
OFFSET_SAMPLES = 50
CLIENTS = 8
PLATFORM = {"platform": "bench", "nodes": [{"type": "cpu", "count": 1, "cores": 4}]}


def start_endpoint(folder: Path, keep_warm: float, backend: str = "local") -> tuple[subprocess.Popen[str], str, str]:
    """`hetflow endpoint start` as a process; (process, URL, token) once it serves."""
    plat = folder / "platform.json"
    plat.write_text(json.dumps(PLATFORM))
    token_file = folder / "token"
    cmd = [sys.executable, "-c", "from hetflow.cli import main; main()", "endpoint", "start", "--platform", str(plat),
           "--token-file", str(token_file), "--keep-warm", str(keep_warm), "--rate-limit", "0",
           "--backend", backend]  # fmt: skip
    err = open(folder / "endpoint.err", "w")  # noqa: SIM115 (the process keeps it)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True)
    assert proc.stdout is not None
    end = time.monotonic() + 120
    while time.monotonic() < end:
        ready, _, _ = select.select([proc.stdout], [], [], 1.0)
        line = proc.stdout.readline() if ready else ""
        if line.startswith("endpoint: "):
            return proc, line.split(" ", 1)[1].strip(), token_file.read_text().strip()
        if proc.poll() is not None:
            break
    proc.kill()
    raise SystemExit(f"the endpoint did not start: {(folder / 'endpoint.err').read_text()}")


def clock_offset(client: hf.Endpoint) -> dict[str, float]:
    """SeBS: many request/response pairs; the offset (endpoint minus client) of the one with the smallest RTT."""
    samples = [client.health() for _ in range(OFFSET_SAMPLES)]
    best = min(samples, key=lambda h: float(h["rtt"]))
    return {"offset_s": float(best["offset"]), "min_rtt_ms": float(best["rtt"]) * 1e3, "samples": OFFSET_SAMPLES}


def fresh_function(k: int) -> Callable[[bytes], int]:
    """A function the endpoint has not seen (k is part of what is pickled, so its content hash is new)."""

    def measure(x: bytes, k: int = k) -> int:
        return len(x)

    return measure


def one(submit: Callable[[], Any], offset: float) -> dict[str, Any]:
    """One invocation: the client's round trip and the endpoint's timings, on the client's clock."""
    t0 = time.perf_counter()
    fut = submit()
    fut.result(timeout=300)
    rtt = time.perf_counter() - t0
    t = fut.info["timings"]
    return {
        "kind": fut.info.get("kind", ""),
        "client": rtt,
        "endpoint": t["returned"] - t["received"],
        "execution": t["ended"] - t["started"],
        "accept": t["queued"] - t["received"],  # the endpoint took it (checks, journal)
        "placement": t["started"] - t["queued"],  # its engine placed it and a worker began (none for hot calls)
        "return": t["returned"] - t["ended"],  # the value back from the worker, sent
        "request": t["received"] - offset - t["sent"],  # one way, client -> endpoint
        "answer": t["got"] - (t["returned"] - offset),  # one way, endpoint -> client
    }


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    keys = ("client", "endpoint", "execution", "accept", "placement", "return")
    out: dict[str, Any] = {k: percentiles([r[k] for r in rows]) for k in keys}
    out["client_side_overhead"] = percentiles([r["client"] - r["endpoint"] for r in rows])
    out["request_one_way"] = percentiles([r["request"] for r in rows])
    out["answer_one_way"] = percentiles([r["answer"] for r in rows])
    kinds: dict[str, int] = {}
    for r in rows:
        kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
    out["kinds"] = kinds
    return out


def latency(client: hf.Endpoint, samples: int, offset: float, sizes: list[str], cold_samples: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    k = 0
    for name in sizes:
        payload = os.urandom(PAYLOADS[name])
        cold = []
        for _ in range(cold_samples):
            k += 1
            fn = fresh_function(k)
            client.register(fn)  # registration is not the invocation's cost
            cold.append(one(lambda fn=fn, p=payload: client.submit(fn, p), offset))
        client.submit(len, payload).result(timeout=300)  # its first call is cold
        warm = [one(lambda p=payload: client.submit(len, p), offset) for _ in range(samples)]
        client.submit(bytes, payload).result(timeout=300)
        echo = [one(lambda p=payload: client.submit(bytes, p), offset) for _ in range(samples)]
        with client.lease(cores=1, seconds=3600) as lease:
            lease.submit(len, payload).result(timeout=300)  # the lease's worker takes the function
            hot = [one(lambda lease=lease, p=payload: lease.submit(len, p), offset) for _ in range(samples)]
            lease.submit(bytes, payload).result(timeout=300)
            hot_echo = [one(lambda lease=lease, p=payload: lease.submit(bytes, p), offset) for _ in range(samples)]
        out[name] = {"cold": summarize(cold), "warm": summarize(warm), "hot": summarize(hot),
                     "warm_echo": summarize(echo), "hot_echo": summarize(hot_echo)}  # fmt: skip
    return out


def eviction(client: hf.Endpoint, keep_warm: float, repeats: int) -> list[dict[str, float]]:
    """P(cold) after an idle time t, for t around --keep-warm."""
    curve = []
    for factor in (0.25, 0.5, 0.9, 1.1, 1.5, 2.0):
        idle = factor * keep_warm
        colds = 0
        for r in range(repeats):
            fn = fresh_function(10_000_000 + int(factor * 100) * 1000 + r)
            client.submit(fn, b"x").result(timeout=300)  # cold: its worker is now idle
            time.sleep(idle)
            again = client.submit(fn, b"x")
            again.result(timeout=300)
            colds += again.info.get("kind") == "cold"
        curve.append({"idle_s": idle, "cold_probability": colds / repeats, "n": repeats})
    return curve


def throughput(url: str, token: str, per_client: int, setup_s: float = 300.0) -> dict[str, Any]:
    """CLIENTS threads, each its own Endpoint, each pipelining per_client small invocations, started together once
    every client is connected and warm. A client that fails (at its setup or later) makes the figure an error that
    says why, never an exception: the start line is a Barrier, and one client failing before it aborted it, so the
    main thread's wait raised BrokenBarrierError and hid that client's own error (and everything measured before)."""
    payload = b"x" * 64
    barrier = threading.Barrier(CLIENTS + 1)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with hf.Endpoint(url, token=token) as client:
                client.submit(len, payload).result(timeout=setup_s)
                barrier.wait(timeout=setup_s)
                futures = [client.submit(len, payload) for _ in range(per_client)]
                got = [f.result(timeout=300) for f in futures]
                if got != [len(payload)] * per_client:
                    raise AssertionError(f"wrong results: {sorted(set(got))[:5]}")
        except threading.BrokenBarrierError:
            pass  # another client failed first: its error is the one reported
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=run, daemon=True) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    try:
        barrier.wait(timeout=setup_s)
        started = True
    except threading.BrokenBarrierError:
        started = False
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    if errors or not started:
        why = f"{type(errors[0]).__name__}: {errors[0]}" if errors else f"the clients were not ready in {setup_s:g} s"
        return {"error": why, "failed_clients": len(errors)}
    total = CLIENTS * per_client
    return {"clients": CLIENTS, "invocations": total, "seconds": elapsed, "per_second": total / elapsed}


def peer(measure: Callable[[bytes, int], dict[str, Any]], payload: bytes, samples: int) -> dict[str, Any]:
    """A peer's round trip, or why it could not be measured (the endpoint's figures are kept either way)."""
    try:
        return measure(payload, samples)
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}


def ratios(lat: dict[str, Any], peers: dict[str, Any]) -> dict[str, float]:
    out = {}
    for kind in ("warm", "hot"):
        ours = lat["1KB"][kind]["client"]["p50_ms"]
        for peer, got in peers.items():
            if "p50_ms" in got:
                out[f"{peer}_p50_over_{kind}_p50"] = got["p50_ms"] / ours
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=200, help="invocations per payload and kind (default 200)")
    parser.add_argument("--keep-warm", type=float, default=1.0, help="the endpoint's --keep-warm for the eviction")
    parser.add_argument("--eviction-repeats", type=int, default=5, help="calls per idle time of the eviction curve")
    parser.add_argument("--per-client", type=int, default=2000, help="invocations per client in the throughput run")
    parser.add_argument("--no-peer", action="store_true", help="skip the Ray and Dask round trips")
    parser.add_argument("--endpoint-backend", choices=("local", "dask", "ray"), default="local",
                        help="where the endpoint runs functions (default local)")  # fmt: skip
    parser.add_argument("--sizes", default=",".join(PAYLOADS), help="payloads measured (default 1KB,100KB,5.9MB)")
    parser.add_argument("--cold-samples", type=int, default=None, help="cold invocations per payload (--samples)")
    parser.add_argument("--latency-only", action="store_true", help="skip the eviction curve and the throughput")
    args = parser.parse_args()
    sizes = [s for s in args.sizes.split(",") if s]
    if any(s not in PAYLOADS for s in sizes):
        parser.error(f"--sizes: choose among {', '.join(PAYLOADS)}")
    cold_samples = args.samples if args.cold_samples is None else args.cold_samples
    out: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "system": platform.platform()},
        "samples": args.samples,
        "keep_warm_s": args.keep_warm,
        "endpoint_backend": args.endpoint_backend,
    }
    with tempfile.TemporaryDirectory(prefix="hetflow-faas-bench-") as tmp:
        proc, url, token = start_endpoint(Path(tmp), args.keep_warm, args.endpoint_backend)
        try:
            with hf.Endpoint(url, token=token) as client:
                out["clock"] = offset = clock_offset(client)
                out["latency"] = latency(client, args.samples, offset["offset_s"], sizes, cold_samples)
                if not args.latency_only:
                    out["eviction"] = eviction(client, args.keep_warm, args.eviction_repeats)
            if not args.latency_only:
                out["throughput"] = throughput(url, token, args.per_client)
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    if not args.no_peer and "1KB" in sizes:
        payload = os.urandom(PAYLOADS["1KB"])
        out["peers"] = {"ray": peer(ray_round_trip, payload, args.samples),
                        "dask": peer(dask_round_trip, payload, args.samples)}  # fmt: skip
        out["ratios"] = ratios(out["latency"], out["peers"])
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
