"""Trace replay of a production GPU cluster (hetflow pack) with every packing policy, beside the FGD repository's
expected results for the same workload; prints one JSON object.

The data: the Alibaba cluster-trace-gpu-v2023 node list and its multigpu50 workload, read from
../shared/data/gpu-cluster (or --data). The reference: hkust-adsl/kubernetes-scheduler-simulator,
experiments/analysis/expected_results/analysis_allo_discrete.csv, openb_pod_list_multigpu50, tune 1.3, seeds 42-51:
100 minus the allocated GPU % at 100% arrived, median (min, max) over the seeds.

    python benchmarks/pack.py [--seeds 42-51] [--policy all] [--workers 0] [--data DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform as pyplatform
import sys
import time
from pathlib import Path

from hetflow.cli.pack import parse_seeds, policy_names
from hetflow.sim.openb import read_nodes, read_pods
from hetflow.sim.pack import pack

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "gpu-cluster"
FGD_REPO = {  # policy -> unallocated GPU % at 100% arrived: median, min, max over seeds 42-51
    "random": (18.61, 17.44, 20.05),
    "dot-product": (5.24, 4.94, 5.60),
    "gpu-clustering": (4.36, 3.92, 4.69),
    "gpu-packing": (3.93, 3.59, 4.52),
    "best-fit": (4.42, 4.10, 4.59),
    "fgd": (2.91, 2.73, 3.13),
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="42-51")
    ap.add_argument("--policy", default="all")
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--inflate", type=float, default=1.3)
    ap.add_argument("--data", type=Path, default=DATA)
    args = ap.parse_args()
    if not args.data.is_dir():
        print(json.dumps({"skipped": f"no trace at {args.data}"}))
        return 0
    nodes = read_nodes(args.data / "openb_node_list_all_node.csv")
    pods = read_pods(args.data / "openb_pod_list_multigpu50.csv")
    names, seeds = policy_names(args.policy), parse_seeds(args.seeds)
    workers = args.workers or os.cpu_count() or 1
    t0 = time.perf_counter()
    results = pack(nodes, pods, names, seeds, args.inflate, workers)
    wall = time.perf_counter() - t0
    rows = []
    for r in results:
        row = r.to_json()
        ref = FGD_REPO.get(r.policy)
        rows.append(
            {
                "policy": r.policy,
                "unallocated_gpu_pct_at_100": row["unallocated_gpu_pct_at_100"],
                "min": row["unallocated_gpu_pct_at_100_min"],
                "max": row["unallocated_gpu_pct_at_100_max"],
                "failed_pods": row["failed_pods"],
                "fgd_repo": None if ref is None else {"median": ref[0], "min": ref[1], "max": ref[2]},
                "cpu_seconds": row["cpu_seconds"],
            }
        )
    out = {
        "benchmark": "pack",
        "workload": "openb_pod_list_multigpu50",
        "nodes": len(nodes),
        "gpus": sum(n.gpu_units for n in nodes) // 10_000,
        "seeds": seeds,
        "inflate": args.inflate,
        "workers": workers,
        "wall_seconds": round(wall, 1),
        "machine": f"{pyplatform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}",
        "policies": rows,
    }
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
