"""Tasks the runtime tests submit. They live in a module of their own so that worker processes import them."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import hetflow as hf
from tests.procs import write_pid


@hf.task
def inc(x: int) -> int:
    return x + 1


@hf.task(cores=1)
def add(a: int, b: int) -> int:
    return a + b


@hf.task
def total(values: list[int], scale: int = 1) -> int:
    return sum(values) * scale


@hf.task
def noop(_: object = None) -> None:
    return None


@hf.task
def pid() -> int:
    return os.getpid()


@hf.task
def nap(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@hf.task(retries=2)
def always_fails(x: int) -> int:
    raise ValueError(f"bad input {x}")


@hf.task(retries=3)
def flaky(counter: str, failures: int) -> int:
    """Fails the first `failures` times it is called (counted in a file), then returns the number of calls."""
    path = Path(counter)
    calls = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(calls))
    if calls <= failures:
        raise RuntimeError(f"failure {calls}")
    return calls


@hf.task(timeout=0.5)
def too_slow() -> None:
    time.sleep(60)


@hf.task
def write_pid_then_sleep(path: str, seconds: float) -> int:
    write_pid(path)
    time.sleep(seconds)
    return os.getpid()


@hf.task(cores=0, gpus=0.5)
def half_gpu() -> dict[str, Any]:
    return {k: os.environ.get(k) for k in ("CUDA_VISIBLE_DEVICES", "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE", "HETFLOW_GPUS")}


@hf.task(cores=0, gpus=1)
def one_gpu(seconds: float) -> str | None:
    time.sleep(seconds)
    return os.environ.get("CUDA_VISIBLE_DEVICES")


@hf.task(cores=64)
def too_big() -> None:
    return None


def square(index: int) -> int:
    """A plain function a declarative workflow names as "tests.runtime.tasks:square"."""
    return index * index


def record(index: int) -> None:
    """Appends its index to the file HETFLOW_TEST_OUT names."""
    with open(os.environ["HETFLOW_TEST_OUT"], "a") as f:
        f.write(f"{index}\n")


def large(index: int) -> bytes:
    return bytes([index % 256]) * 200_000


def blob(n: int) -> bytes:
    return b"x" * n


@hf.task(cores=1)
def one_core(x: int) -> int:
    time.sleep(0.05)
    return x * 3


@hf.task(cores=2)
def two_cores(x: int) -> int:
    time.sleep(0.05)
    return x + 100


@hf.task(cores=1, gpus=0.5)
def half_gpu_sum(values: list[int]) -> tuple[int, str | None, str | None]:
    """What a fractional-GPU task sees: its GPU and its share of it."""
    time.sleep(0.05)
    return sum(values), os.environ.get("HETFLOW_GPUS"), os.environ.get("CUDA_MPS_ACTIVE_THREAD_PERCENTAGE")


@hf.task
def mark_and_nap(folder: str, i: int, seconds: float) -> int:
    """Write this process's id to FOLDER/I (where task i runs now), then sleep."""
    write_pid(Path(folder) / str(i))
    time.sleep(seconds)
    return i


@hf.task
def sum_first(pairs: list[tuple[int, Any, Any]]) -> int:
    return sum(p[0] for p in pairs)


@hf.task(cores=1, partition="a")
def nap_a(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@hf.task(cores=1, partition="b")
def nap_b(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@hf.task
def mark_and_wait(folder: str, i: int) -> int:
    """Write this process's id to FOLDER/I (task i has started), then wait until the file FOLDER/open exists."""
    write_pid(Path(folder) / str(i))
    while not (Path(folder) / "open").exists():
        time.sleep(0.02)
    return i
