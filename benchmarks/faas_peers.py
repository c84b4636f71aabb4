"""The peers benchmarks/faas.py compares function endpoints with: the round trip of one small task through plain Ray
(ray.get(f.remote(x))) and plain Dask (client.submit(f, x).result()) on this machine, measured the same way (warm:
after a few warm-up calls; perf_counter around each call). Also the statistics every part of it uses.
"""

from __future__ import annotations

import contextlib
import logging
import statistics
import time
from collections.abc import Callable
from typing import Any


def local_echo() -> Callable[[Any], Any]:
    """An identity function defined here, so that Ray and Dask send it by value (their workers cannot import this
    script's module)."""

    def echo(x: Any) -> Any:
        return x

    return echo


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50 and p99 (nearest rank on the sorted samples) and the mean, in milliseconds."""
    s = sorted(samples)
    if not s:
        return {}

    def rank(q: float) -> float:
        return s[min(len(s) - 1, max(0, round(q * len(s)) - 1))]

    return {"p50_ms": rank(0.5) * 1e3, "p99_ms": rank(0.99) * 1e3, "mean_ms": statistics.fmean(s) * 1e3, "n": len(s)}


def timed(call: Callable[[], Any], samples: int, warmup: int = 10) -> list[float]:
    """Wall time of each of `samples` calls (perf_counter), after `warmup` calls not counted."""
    for _ in range(warmup):
        call()
    out = []
    for _ in range(samples):
        t0 = time.perf_counter()
        call()
        out.append(time.perf_counter() - t0)
    return out


def ray_round_trip(payload: bytes, samples: int) -> dict[str, Any]:
    """ray.get(f.remote(payload)) on a local Ray started for it."""
    try:
        import ray
    except ImportError as exc:
        return {"error": f"ray is not installed: {exc}"}
    # address="local": a Ray of its own, even when another Ray runs on this machine (ray.init() would join it)
    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
    try:
        f = ray.remote(local_echo())
        return percentiles(timed(lambda: ray.get(f.remote(payload)), samples))
    finally:
        ray.shutdown()


def dask_round_trip(payload: bytes, samples: int) -> dict[str, Any]:
    """client.submit(f, payload, pure=False).result() on a local Dask cluster (one worker process, one thread)."""
    try:
        import distributed
    except ImportError as exc:
        return {"error": f"dask.distributed is not installed: {exc}"}
    with contextlib.ExitStack() as stack:
        cluster = stack.enter_context(
            distributed.LocalCluster(  # type: ignore[no-untyped-call]
                n_workers=1,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
        )
        client = stack.enter_context(distributed.Client(cluster))  # type: ignore[no-untyped-call]
        echo = local_echo()
        return percentiles(timed(lambda: client.submit(echo, payload, pure=False).result(), samples))
    return {}
