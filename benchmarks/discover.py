"""How long describing this machine takes: hetflow's discover() (what `hetflow discover` and every local, Dask or Ray
node pays once at start-up) and its parts, beside the peer `lscpu --json` (util-linux, the usual way to read the same
CPU facts) in the same run. Each figure is the best and the median of --repeat runs, in seconds. Prints one JSON object.

    python benchmarks/discover.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import json
import platform as pyplatform
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable

from hetflow.discover.cpu import cpu
from hetflow.discover.machine import discover
from hetflow.discover.tools import compilers_and_mpi, libraries, library_files
from hetflow.spec.local import gpu_features


def timed(fn: Callable[[], object], repeat: int) -> dict[str, float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return {"best_s": round(min(times), 4), "median_s": round(statistics.median(times), 4)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    found = discover()
    out: dict[str, object] = {
        "benchmark": "discover",
        "machine": f"{pyplatform.machine()}, {pyplatform.python_implementation()} {pyplatform.python_version()}",
        "found": {"isa": len(found.isa), "gpus": len(found.gpus), "libs": sorted(found.libs)},
        "discover": timed(discover, args.repeat),
        "parts": {
            "cpu": timed(cpu, args.repeat),
            "gpus_nvml": timed(gpu_features, args.repeat),
            "libraries": timed(lambda: libraries(library_files()), args.repeat),
            "compilers_and_mpi": timed(compilers_and_mpi, args.repeat),
        },
    }
    lscpu = shutil.which("lscpu")
    if lscpu is not None:
        out["peer_lscpu_json"] = timed(
            lambda: subprocess.run([lscpu, "--json"], capture_output=True, check=True), args.repeat
        )
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
