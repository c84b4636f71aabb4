"""The peers benchmarks/staging.py compares a site-to-site copy with: the same bytes moved from one worker to another
by Dask distributed and by Ray, and a plain HTTP GET of the same file from Python's http.server. Each returns, per
size in MB, the median seconds of `repeats` moves, timed from submit to result, every move on a fresh key or object
(nothing is cached at the receiver), and checked (length and placement).

- dask: a LocalCluster of two worker processes on loopback (processes=True, one thread each); the bytes are
  scattered to worker A (not timed), then a task pinned to worker B (workers=[B], allow_other_workers=False) takes
  them as argument and returns their length: B fetches them from A over TCP. Beside it, the same task pinned to A
  (the data local, no transfer): Dask's own round trip without the move.
- ray: two Ray nodes on this machine (ray.cluster_utils.Cluster: two raylets, each its own object store); the
  driver's ray.put lands in the head node's store (not timed), a task pinned to the second node by a custom resource
  takes the object and returns its length: the second node's object manager pulls it from the first over loopback.
- ray-1node: the same on one Ray node of two worker processes: they share its object store, so the task reads the
  driver's object from shared memory; no bytes cross a connection (Ray's figure for two workers of one node).
- http: `python -m http.server` serving the file, read with http.client in 1 MB chunks (as staging.py's plain GET).
"""

from __future__ import annotations

import contextlib
import http.client
import importlib.util
import logging
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

MB = 1024 * 1024
PEERS = ("dask", "ray", "ray-1node", "http")


def tasks() -> tuple[Callable[[bytes], int], Callable[[bytes], tuple[int, str]]]:
    """The tasks the peers run, defined here so that Dask and Ray send them by value (their workers cannot import
    this script's module): the length of the bytes, and for Ray also the node it ran on."""

    def size_of(data: bytes) -> int:
        return len(data)

    def size_and_node(data: bytes) -> tuple[int, str]:
        import ray

        return len(data), ray.get_runtime_context().get_node_id()

    return size_of, size_and_node


def median_row(size: int, moves: list[float], **extra: float) -> dict[str, float]:
    s = statistics.median(moves)
    row = {"mb": size, "move_s": round(s, 4), "move_mb_s": round(size / s, 1)}
    row.update({k: round(v, 4) for k, v in extra.items()})
    return row


@contextlib.contextmanager
def dask_cluster(workers: int) -> Iterator[tuple[Any, Any]]:
    """A Dask LocalCluster of `workers` processes of one thread on 127.0.0.1, quiet and without a dashboard, and its
    Client (benchmarks/cancel_peers.py uses it too)."""
    import distributed

    with (
        distributed.LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster) as client,  # type: ignore[no-untyped-call]
    ):  # fmt: skip
        yield cluster, client


def dask_moves(sizes: list[int], repeats: int) -> dict[str, Any]:
    """Worker A to worker B through Dask distributed (see the module's docstring)."""
    if importlib.util.find_spec("distributed") is None:
        return {"error": "dask.distributed is not installed"}
    size_of, _ = tasks()
    rows = []
    t = time.perf_counter()
    with dask_cluster(2) as (_, client):
        start = time.perf_counter() - t
        a, b = sorted(client.scheduler_info()["workers"])
        for size in sizes:
            data = os.urandom(size * MB)
            moves, local = [], []
            for _ in range(repeats):
                [x] = client.scatter([data], workers=[a], hash=False)  # hash=False: a fresh key every time
                assert set(client.who_has([x])[x.key]) == {a}
                t0 = time.perf_counter()
                f = client.submit(size_of, x, workers=[b], allow_other_workers=False, pure=False)
                n = f.result()
                moves.append(time.perf_counter() - t0)
                assert n == len(data) and client.who_has([f])[f.key] == (b,)
                t0 = time.perf_counter()
                g = client.submit(size_of, x, workers=[a], allow_other_workers=False, pure=False)
                assert g.result() == len(data)
                local.append(time.perf_counter() - t0)
                client.cancel([x, f, g])
            rows.append(median_row(size, moves, local_task_s=statistics.median(local)))
    return {"start_s": round(start, 2), "sizes": rows}


@contextlib.contextmanager
def ray_nodes(nodes: int, store: int) -> Iterator[str]:
    """A local Ray of `nodes` nodes (1: one raylet of two worker processes; 2: ray.cluster_utils.Cluster, one worker
    process each), each object store `store` bytes, the last node carrying the custom resource B that pins the
    receiving task, the driver connected to the first; yields the first node's id."""
    import ray

    quiet: dict[str, Any] = {"logging_level": logging.ERROR, "log_to_driver": False}
    if nodes == 1:
        ray.init(address="local", num_cpus=2, resources={"B": 1}, object_store_memory=store, include_dashboard=False,
                 **quiet)  # fmt: skip
        try:
            yield ray.get_runtime_context().get_node_id()
        finally:
            ray.shutdown()
        return
    from ray.cluster_utils import Cluster

    head = {"num_cpus": 1, "object_store_memory": store, "include_dashboard": False}
    cluster = Cluster(initialize_head=True, head_node_args=head)
    try:
        cluster.add_node(num_cpus=1, resources={"B": 1}, object_store_memory=store)
        ray.init(address=cluster.address, **quiet)
        cluster.wait_for_nodes()
        yield ray.get_runtime_context().get_node_id()
    finally:
        ray.shutdown()
        cluster.shutdown()


def ray_moves(sizes: list[int], repeats: int, nodes: int) -> dict[str, Any]:
    """The driver's object to a task on the node holding resource B (see the module's docstring)."""
    try:
        import ray
    except ImportError as exc:
        return {"error": f"ray is not installed: {exc}"}
    _, size_and_node = tasks()
    rows = []
    t = time.perf_counter()
    with ray_nodes(nodes, max(256, 4 * max(sizes)) * MB) as origin:
        start = time.perf_counter() - t
        receive = ray.remote(size_and_node).options(num_cpus=1, resources={"B": 1})
        ray.get(receive.remote(b"warm-up"))  # the receiving worker process is started, not timed
        for size in sizes:
            data = os.urandom(size * MB)
            moves = []
            for _ in range(repeats):
                x = ray.put(data)  # a new object every time
                t0 = time.perf_counter()
                n, node = ray.get(receive.remote(x))
                moves.append(time.perf_counter() - t0)
                assert n == len(data) and (node != origin) == (nodes == 2), (node, origin)
                del x
            rows.append(median_row(size, moves))
    return {"nodes": nodes, "start_s": round(start, 2), "sizes": rows}


@contextlib.contextmanager
def http_server(folder: Path) -> Iterator[int]:
    """`python -m http.server` on 127.0.0.1 serving folder, as a process of its own (as the endpoints are); its port."""
    cmd = [sys.executable, "-u", "-m", "http.server", "--bind", "127.0.0.1", "--directory", str(folder), "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # "Serving HTTP on 127.0.0.1 port N (http://127.0.0.1:N/) ..."
        if " port " not in line:
            raise RuntimeError(f"http.server did not start: {line!r}")
        yield int(line.split(" port ", 1)[1].split()[0])
    finally:
        proc.kill()
        proc.wait()


def http_gets(folder: Path, sizes: list[int], repeats: int) -> dict[str, Any]:
    """GET of a file of each size from http.server, read in 1 MB chunks and dropped (the files are written here)."""
    rows = []
    with http_server(folder) as port:
        for size in sizes:
            name = f"peer-{size}.bin"
            (folder / name).write_bytes(os.urandom(size * MB))
            moves = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                conn.request("GET", f"/{name}")
                got = conn.getresponse()
                n = 0
                while chunk := got.read(MB):
                    n += len(chunk)
                conn.close()
                moves.append(time.perf_counter() - t0)
                assert got.status == 200 and n == size * MB, (got.status, n)
            rows.append(median_row(size, moves))
    return {"sizes": rows}


def run_peers(peers: list[str], folder: Path, sizes: list[int], repeats: int) -> dict[str, Any]:
    """Each peer asked for, in turn; a peer that fails is an error line in its place, not a lost run."""
    runs: dict[str, Callable[[], dict[str, Any]]] = {
        "dask": lambda: dask_moves(sizes, repeats),
        "ray": lambda: ray_moves(sizes, repeats, nodes=2),
        "ray-1node": lambda: ray_moves(sizes, repeats, nodes=1),
        "http": lambda: http_gets(folder, sizes, repeats),
    }
    return each_peer(runs, peers)


def each_peer(runs: dict[str, Callable[[], dict[str, Any]]], peers: list[str]) -> dict[str, Any]:
    """runs[name]() for each peer asked for, in turn; a peer that fails is an error line in its place, not a lost
    run (benchmarks/cancel_peers.py uses it too)."""
    out: dict[str, Any] = {}
    for name in peers:
        try:
            out[name] = runs[name]()
        except Exception as exc:  # a peer's failure is reported, the run goes on
            out[name] = {"error": f"{type(exc).__name__}: {exc}"}
    return out


def ratios(row: dict[str, Any], peers: dict[str, Any]) -> dict[str, float]:
    """hetflow / peer for one size: the site-to-site copy against each peer's worker-to-worker move, the plain GET
    against http.server's GET (above 1: hetflow is slower)."""
    out = {}
    for name, mine in (("dask", "copy_s"), ("ray", "copy_s"), ("ray-1node", "copy_s"), ("http", "get_s")):
        theirs = [r for r in peers.get(name, {}).get("sizes", []) if r["mb"] == row["mb"]]
        if theirs:
            out[f"{mine.removesuffix('_s')}/{name}"] = round(row[mine] / theirs[0]["move_s"], 2)
    return out
