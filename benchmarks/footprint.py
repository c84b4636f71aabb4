"""What energy and carbon accounting costs beside the simulation it follows (sites/energy.py `account`).

Workflows: the seed workflow, the WfCommons instance of most tasks in ../shared/data/wfinstances (when present), and a
synthetic run of N one-task intervals spread over a year. Sites: three, from ../shared/data/carbon (Oregon, Texas,
Midcontinent; constants when the data is absent), each with a third of the nodes. Each figure is the median of
--runs timings, simulation and accounting alternated; the ratio accounting / simulation is what compares across
machines. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from hetflow.sim.simulator import run_simulation
from hetflow.sites.energy import account
from hetflow.sites.intensity import intensities, parse_start
from hetflow.spec.load import load_workflow
from hetflow.spec.sites import load_sites
from hetflow.spec.trace import Interval

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT / ".." / "shared" / "data"
REGIONS = (("oregon", "BPAT", 55.0), ("texas", "ERCO", 347.0), ("midwest", "MISO", 441.0))


def sites_doc(nodes: dict[str, Any]) -> dict[str, Any]:
    def carbon(code: str, mean: float) -> str | float:
        path = SHARED / "carbon" / f"{code}_hourly_2022.csv"
        return str(path) if path.is_file() else mean

    return {
        "sites": [
            {"name": n, "platform": {"nodes": [nodes]}, "carbon": carbon(c, m), "pue": 1.2} for n, c, m in REGIONS
        ],
        "default_link": {"latency": "40ms", "bandwidth": "1GB/s"},
    }


def median_s(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def workflow_case(name: str, path: Path, nodes: dict[str, Any], runs: int) -> dict[str, Any]:
    sites = load_sites(sites_doc(nodes))
    wf, pf = load_workflow(path), sites.platform()
    start = parse_start("2022-06-01T00:00Z")
    series = intensities(sites, start)
    result = run_simulation(wf, pf, "task", "fifo")
    sim = median_s(lambda: run_simulation(wf, pf, "task", "fifo"), runs)
    acc = median_s(lambda: account(result.intervals, sites, series, start=start), runs)
    f = account(result.intervals, sites, series, start=start)
    return {
        "case": name,
        "tasks": wf.n_tasks,
        "intervals": len(result.intervals),
        "simulate_s": round(sim, 4),
        "account_s": round(acc, 4),
        "account_over_simulate": round(acc / sim, 3),
        "energy_kwh": round(f.energy_kwh, 3),
        "carbon_g": round(f.carbon_g, 1),
    }


def synthetic_case(n: int, runs: int) -> dict[str, Any]:
    """n one-task intervals of up to 2 h over a year, on 300 nodes of three sites."""
    sites = load_sites(sites_doc({"type": "cpu", "count": 100, "cores": 64}))
    names = [node.name for node in sites.platform().nodes()]
    rng = np.random.default_rng(7)
    starts = rng.uniform(0, 365 * 86400, n)
    ends = starts + rng.uniform(1, 7200, n)
    where = rng.integers(0, len(names), n)
    intervals = [
        Interval("T", i, i + 1, names[k], float(s), float(e), 1, 0)
        for i, (s, e, k) in enumerate(zip(starts, ends, where, strict=True))
    ]
    series = intensities(sites, parse_start("2022-01-01"))
    acc = median_s(lambda: account(intervals, sites, series), runs)
    return {"case": f"synthetic {n:,} intervals", "intervals": n, "account_s": round(acc, 4),
            "per_interval_us": round(acc / n * 1e6, 3)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--synthetic", type=int, default=200_000, help="intervals of the synthetic case")
    args = parser.parse_args()
    summit = {"type": "summit", "count": 10, "cores": 42, "gpus": 6}
    cases = [workflow_case("seed", ROOT / "examples/seed/arbitrary-workflow.yaml", summit, args.runs)]
    instances = sorted((SHARED / "wfinstances").glob("*.json"))
    if instances:
        largest = max(instances, key=lambda p: load_workflow(p).n_tasks)
        big = {"type": "cpu", "count": 20, "cores": 48}
        cases.append(workflow_case(largest.stem, largest, big, args.runs))
    cases.append(synthetic_case(args.synthetic, args.runs))
    print(json.dumps({"python": platform.python_version(), "runs": args.runs, "cases": cases}, indent=2))


if __name__ == "__main__":
    main()
