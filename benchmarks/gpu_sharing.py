"""GPU sharing benchmark: N copies of a small GPU kernel workload at once in 1/N bins under MPS, against the same N
copies run exclusively one after another, both as real hetflow runs on this machine's first GPU.

The workload (one task, a process of its own) multiplies two SIZE x SIZE float32 matrices ITERS times, with PyTorch
when it is importable with CUDA, else CuPy. Shared: a Session with gpu_sharing="mps" (its own MPS control daemon)
and N tasks of gpus 1/N, which the ledger places together on the GPU. Exclusive: a Session without MPS and N tasks of
gpus 1, which the ledger runs in turn. Both include each process's CUDA start, as a real task pays it. A small
kernel leaves most SMs idle, so MPS (kernels of several processes at once) should beat time-slicing.
Prints JSON: both wall times, the ratio exclusive / mps (above 1: MPS faster) and each task's own kernel time; on a
machine without a GPU, torch/CuPy or nvidia-cuda-mps-control, {"skipped": reason}, exit status 0.
Run it with PYTHONPATH=src to measure a checkout: `python benchmarks/gpu_sharing.py --json`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from hetflow.executors.mps import CONTROL
from hetflow.spec.resources import GPU_UNIT

HERE = Path(__file__).resolve()


def gpu_library() -> tuple[str, str] | str:
    """(library, device name) of the first GPU, or why there is none to use."""
    try:
        import torch

        if torch.cuda.is_available():
            return "torch", str(torch.cuda.get_device_name(0))
    except ImportError:
        pass
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() > 0:
            name = cupy.cuda.runtime.getDeviceProperties(0)["name"]
            return "cupy", name.decode() if isinstance(name, bytes) else str(name)
    except Exception:  # no CuPy, or no driver / device: CuPy raises its own CUDA errors
        pass
    return "no GPU usable from PyTorch (with CUDA) or CuPy"


def workload(library: str, size: int, iters: int) -> float:
    """The kernel loop of one task; its own seconds, synchronised, without the CUDA start."""
    if library == "torch":
        import torch

        a = torch.rand(size, size, device="cuda")
        b = torch.rand(size, size, device="cuda")
        torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(iters):
            a = torch.tanh(a @ b)
        torch.cuda.synchronize()
    else:
        import cupy

        a = cupy.random.rand(size, size, dtype=cupy.float32)
        b = cupy.random.rand(size, size, dtype=cupy.float32)
        cupy.cuda.Device().synchronize()
        start = time.perf_counter()
        for _ in range(iters):
            a = cupy.tanh(a @ b)
        cupy.cuda.Device().synchronize()
    return time.perf_counter() - start


def run(n: int, library: str, size: int, iters: int, mps: bool) -> dict[str, Any]:
    """One hetflow run of n copies; its wall time and each task's kernel seconds."""
    from hetflow.runtime import Session

    share = (GPU_UNIT // n) / GPU_UNIT if mps else 1.0
    platform = {"platform": "gpu", "nodes": [{"type": "g", "cores": n, "gpus": 1}]}
    command = f"{sys.executable} {HERE} --task {library} --size {size} --iters {iters}"
    start = time.perf_counter()
    with Session(platform=platform, **({"gpu_sharing": "mps"} if mps else {})) as s:
        futures = [s.shell(command, gpus=share, name=f"copy{i}") for i in range(n)]
        results = [f.result() for f in futures]
        wall = time.perf_counter() - start
        bad = [r for r in results if r.returncode != 0]  # read before the session ends: its logs go with it
        if bad:
            raise SystemExit(f"a task failed (exit status {bad[0].returncode}): {bad[0].stderr.strip()[-400:]}")
        kernels = [round(float(r.stdout.strip()), 3) for r in results]
    return {"wall_s": round(wall, 3), "kernel_s": kernels}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", "-n", type=int, default=5, help="copies of the workload (default 5)")
    parser.add_argument("--size", type=int, default=1024, help="matrix side (default 1024: fewer tiles than SMs)")
    parser.add_argument("--iters", type=int, default=20000, help="matrix products per task (default 20000)")
    parser.add_argument("--json", action="store_true", help="print JSON (the only output there is; for scripts)")
    parser.add_argument("--task", metavar="LIB", help=argparse.SUPPRESS)  # one copy of the workload: the tasks
    args = parser.parse_args()
    if args.task:
        print(workload(args.task, args.size, args.iters))
        return
    found = gpu_library()
    if isinstance(found, str) or shutil.which(CONTROL) is None:
        print(json.dumps({"skipped": found if isinstance(found, str) else f"no {CONTROL} on PATH (MPS)"}))
        return
    library, device = found
    exclusive = run(args.copies, library, args.size, args.iters, mps=False)
    shared = run(args.copies, library, args.size, args.iters, mps=True)
    result = {
        "device": device,
        "library": library,
        "copies": args.copies,
        "size": args.size,
        "iters": args.iters,
        "exclusive_in_turn": exclusive,
        "mps_1_over_n": shared,
        "exclusive_over_mps": round(exclusive["wall_s"] / shared["wall_s"], 3),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
