"""What runs on a Dask worker or a Ray node for an invocation of an endpoint whose site is a cluster (faas/cluster.py).

Warm means what it means on the local backend, in the process that runs the call: the function is already resolved
(imported or unpickled) and cached in this process, keyed by its content hash (the function id). A call that finds
it there is warm; one that resolves it first is cold, and says so. A function not called for keep_warm seconds leaves
the cache (the next call is cold again), as an idle local worker is evicted. The process is the Dask worker itself
(a call runs in one of its threads) or the child it keeps for a GPU environment, and for Ray the worker process Ray
gave the task. Only the standard library and faas/worker.py: it is imported where the cluster runs it.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

from hetflow.faas.worker import execute, resolve

COLD, WARM = "cold", "warm"
_cache: dict[str, tuple[Callable[..., Any] | BaseException, float]] = {}  # fid -> (function, last call, monotonic)
_lock = threading.Lock()  # a Dask worker runs calls in several threads


def invoke(
    fid: str, kind: bytes, data: bytes, fmt: bytes, payload: bytes, keep_warm: float
) -> tuple[int, str, float, float, bytes, int]:
    """Run an invocation here: (ok, cold | warm, started, ended, the value or failure record, this process's id).
    started is taken once the function is resolved (a cold call's resolution shows as the time before it)."""
    now = time.monotonic()
    with _lock:
        for stale in [f for f, (_, last) in _cache.items() if now - last > keep_warm]:
            del _cache[stale]
        cached = _cache.get(fid)
    if cached is None:
        try:
            fn: Callable[..., Any] | BaseException = resolve(kind, data)
        except BaseException as exc:  # reported by the call, and by every later one until it leaves the cache
            fn = exc
        warmth = COLD
    else:
        fn, warmth = cached[0], WARM
    with _lock:
        _cache[fid] = (fn, now)
    started = time.time()
    ok, body = execute(fn, fmt, memoryview(bytearray(payload)) if fmt == b"b" else payload)  # arrays: writable
    ended = time.time()
    with _lock:
        _cache[fid] = (fn, time.monotonic())  # idle from the end of its last call
    return ok, warmth, started, ended, body, os.getpid()
