"""The functions of the redeploy example's real run, called with each task's index in its set.

Each stands for a GROMACS function: it waits out its modelled run time scaled to real seconds (waiting, not
computing, so that the declared nodes do not overload this machine's few CPUs), on its GPU build when its task was
given a GPU (CUDA_VISIBLE_DEVICES names one: the platform declares the GPU node, this machine needs none). The first
call of an image in a worker process pays its cold start: the function imports its build (a fresh module, really
loaded) and waits out the rest of the modelled container start; later calls in that process are warm. Each call
appends what it measured (cold seconds, run seconds, GPU or not, process) to REDEPLOY_MEASURE/PID.jsonl when that
variable names a folder: the real run's cold starts are measured, not modelled.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
from pathlib import Path

from examples.redeploy.model import CHAIN, CPU_COLD_S, GPU_COLD_S, MONOLITH_COLD_S

SCALE = float(os.environ.get("REDEPLOY_TIME_SCALE", "1e-3"))  # real seconds per model second
_warm: set[str] = set()  # images this process has started


def _deploy(image: str, cold_s: float) -> float:
    """Start the image in this process if it is not warm: import a build (standing for the container's start and
    imports) and wait out the modelled cold start; the seconds it took."""
    if image in _warm:
        return 0.0
    start = time.perf_counter()
    sys.modules.pop("examples.redeploy.build", None)
    importlib.import_module("examples.redeploy.build")  # a real first-run cost, however small
    time.sleep(max(0.0, cold_s * SCALE - (time.perf_counter() - start)))
    _warm.add(image)
    return time.perf_counter() - start


def _record(name: str, index: int, cold: float, run: float, gpu: bool) -> None:
    folder = os.environ.get("REDEPLOY_MEASURE")
    if folder:
        row = {"function": name, "index": index, "cold_s": cold, "run_s": run, "gpu": gpu, "pid": os.getpid()}
        with open(Path(folder) / f"{os.getpid()}.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")


def _call(name: str, index: int) -> float:
    f = next(f for f in CHAIN if f.name == name)
    gpu = f.gpu_s is not None and bool(os.environ.get("CUDA_VISIBLE_DEVICES"))
    cold = _deploy(f"{name}-cuda" if gpu else name, GPU_COLD_S if gpu else CPU_COLD_S)
    start = time.perf_counter()
    time.sleep((f.gpu_s if gpu and f.gpu_s is not None else f.cpu_s) * SCALE)
    run = time.perf_counter() - start
    _record(name, index, cold, run, gpu)
    return cold + run


def prep(index: int) -> float:
    return _call("prep", index)


def em(index: int) -> float:
    return _call("em", index)


def nvt(index: int) -> float:
    return _call("nvt", index)


def npt(index: int) -> float:
    return _call("npt", index)


def prod(index: int) -> float:
    return _call("prod", index)


def analysis(index: int) -> float:
    return _call("analysis", index)


def monolith(index: int) -> float:
    """Every step in turn, in one image."""
    cold = _deploy("monolith", MONOLITH_COLD_S)
    start = time.perf_counter()
    for f in CHAIN:
        time.sleep(f.cpu_s * SCALE)
    run = time.perf_counter() - start
    _record("monolith", index, cold, run, False)
    return cold + run
