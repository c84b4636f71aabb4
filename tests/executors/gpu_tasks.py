"""GPU tasks run at once on a cluster backend, each of which must see exactly its own grant all along: the task reads
its GPU environment, sleeps, reads it again, and returns both readings with the environment its process first ran a
task with (what CUDA would keep for the life of the process). In a module of its own so that workers import it."""

from __future__ import annotations

import os
import pickle
import time
from pathlib import Path
from typing import Any

from hetflow.executors import DONE, Outcome, TaskRun
from hetflow.spec.resources import GPU_UNIT, GpuGrant

KEYS = ("CUDA_VISIBLE_DEVICES", "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE", "HETFLOW_GPUS")
Reading = dict[str, str | None]
_first: Reading | None = None  # the environment of the first task this process ran


def gpu_env_now() -> Reading:
    return {k: os.environ.get(k) for k in KEYS}


def readings(marks: str, n: int, seconds: float) -> tuple[Reading, Reading, Reading, float, float]:
    """(before, after, first in this process, start, end); in between, it waits for the n tasks of its wave to have
    started (each leaves a file in marks), then sleeps."""
    global _first
    start = time.time()
    before = gpu_env_now()
    if _first is None:
        _first = before
    Path(marks, f"{os.getpid()}-{time.monotonic_ns()}").touch()
    deadline = time.monotonic() + 120
    while len(os.listdir(marks)) < n and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(seconds)
    return before, gpu_env_now(), _first, start, time.time()


def expected(grant: GpuGrant) -> Reading:
    """What a task given this grant on a node with GPUs (and no CUDA_VISIBLE_DEVICES of its own) must see."""
    if not grant:
        return {"CUDA_VISIBLE_DEVICES": "", "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE": None, "HETFLOW_GPUS": ""}
    part = [u for _, u in grant if u < GPU_UNIT]
    return {
        "CUDA_VISIBLE_DEVICES": ",".join(str(j) for j, _ in grant),
        "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE": str(part[0] * 100 // GPU_UNIT) if part else None,
        "HETFLOW_GPUS": ",".join(f"{j}:{u / GPU_UNIT:g}" for j, u in grant),
    }


# two waves on a node with two GPUs: four half GPUs at once, then two whole GPUs beside two tasks given none
WAVES: list[list[GpuGrant]] = [
    [((0, 5_000),), ((0, 5_000),), ((1, 5_000),), ((1, 5_000),)],
    [((0, GPU_UNIT),), ((1, GPU_UNIT),), (), ()],
]


def runs(node: str, wave: int, marks: Path, seconds: float = 0.5) -> list[TaskRun]:
    folder = marks / str(wave)
    folder.mkdir(parents=True)
    n = len(WAVES[wave])
    return [
        TaskRun(100 * wave + k, f"g{wave}[{k}]", node, 0, grant, fn=readings, args=(str(folder), n, seconds))
        for k, grant in enumerate(WAVES[wave])
    ]


def check_wave(got: dict[int, Outcome], wave: int) -> None:
    """Every task of the wave ran at the same time as the others and saw exactly its grant, before and after its
    sleep, in a process that never ran a task of another grant."""
    seen: dict[int, Any] = {}
    for k, grant in enumerate(WAVES[wave]):
        o = got[100 * wave + k]
        assert o.status == DONE, o.error
        before, after, first, start, end = pickle.loads(o.value or b"")
        want = expected(grant)
        assert (before, after, first) == (want, want, want), f"task {k} given {grant}"
        seen[k] = (start, end)
    assert max(s for s, _ in seen.values()) < min(e for _, e in seen.values()), "the tasks did not run at once"
