"""Carbon-aware placement across sites: fastest, greenest-now, carbon and carbon-wait over a year of start times.

Workflows: the seed workflow (examples/seed, on summit-30), examples/adaptive's workflow (the DFT campaign, then one
DDMD set after it, as the baseline strategy submits them; statically, without partitions or triggers; 16 Summit-like
nodes) and the WfCommons instances in ../shared/data/wfinstances (on the machines they record; --limit N: the N
smallest). Sites: one per region CSV of ../shared/data/carbon (--regions), each a copy of the workflow's own platform
(the same platform at every site), PUE 1.2, the default power model (spec/site.py: idle 100 W, 5 W per core,
300 W per GPU), links 50 ms and 1 GB/s between every pair; the origin (where the data lives and `fastest` prefers on
a tie) is the first region. Data: WfCommons file sizes; the seed and adaptive sets write --bytes-per-task each.
Intensity: the files' avg_CI, an average (not marginal) grid intensity, hourly. A run starts at every --every'th
hour of 2022; carbon-wait has --deadline (24 h) from its start. Transfers take time but no energy.

Prints one JSON object: per workflow and policy the median and 10th/90th percentiles over start times of carbon_g
and makespan_s, and against `fastest` (per start time, then the median): carbon cut, makespan penalty, and the
carbon cut per unit of makespan penalty.

    python benchmarks/carbon.py [--every 6] [--limit N] [--workers W] [--regions ERCO,NYIS,BPAT] [--deadline 24h]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from hetflow.sim.simulator import SimResult  # noqa: E402
from hetflow.sim.sites import simulate_sites  # noqa: E402
from hetflow.sites.energy import account  # noqa: E402
from hetflow.sites.intensity import intensities  # noqa: E402
from hetflow.spec.load import load_platform, load_workflow, recorded_platform  # noqa: E402
from hetflow.spec.platform import Platform  # noqa: E402
from hetflow.spec.site import Link, Site, Sites  # noqa: E402
from hetflow.spec.workflow import Workflow  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
POLICIES = ("fastest", "greenest-now", "carbon", "carbon-wait")
HOUR = 3600.0


@cache
def workflows(limit: int | None, per_task: int) -> dict[str, tuple[Workflow, Platform]]:
    """name -> (workflow, platform of each site)."""
    from examples.adaptive.model import Setup

    out: dict[str, tuple[Workflow, Platform]] = {}
    seed = load_workflow(ROOT / "examples" / "seed" / "arbitrary-workflow.yaml")
    out["seed"] = (_writing(seed, per_task), load_platform(ROOT / "examples" / "seed" / "summit-30.yaml"))
    setup = Setup(nodes=16)
    dft, (pretrain, *rest) = setup.dft(), setup.ddmd("A", "ddmd")
    sets = (dft, dataclasses.replace(pretrain, after=(dft.name,)), *rest)
    adaptive = Workflow("adaptive", tuple(dataclasses.replace(s, partition=None) for s in sets))
    out["adaptive"] = (_writing(adaptive, per_task), load_platform(setup.platform()))
    files = sorted((DATA / "wfinstances").glob("*.json"), key=lambda p: p.stat().st_size)
    for path in files[:limit]:
        wf, pf = load_workflow(path), recorded_platform(path)
        assert pf is not None
        out[path.stem] = (wf, pf)
    return out


def _writing(wf: Workflow, per_task: int) -> Workflow:
    return Workflow(wf.name, tuple(dataclasses.replace(s, outputs=per_task) for s in wf.sets))


def sites_for(platform: Platform, regions: tuple[str, ...]) -> Sites:
    sites = tuple(Site(r, platform, str(DATA / "carbon" / f"{r}_hourly_2022.csv"), pue=1.2) for r in regions)
    return Sites(sites, (), regions[0], default_link=Link("*", "*", 0.05, 1e9))


def one(job: tuple[str, float, dict[str, Any]]) -> dict[str, Any]:
    """Every policy on one workflow from one start: {policy: (carbon_g, makespan_s)}. carbon-wait simulates
    fastest first to plan its wait (hetflow.sim.sites)."""
    name, start, opts = job
    wf, pf = workflows(opts["limit"], opts["per_task"])[name]
    sites = sites_for(pf, opts["regions"])
    series = intensities(sites, start)
    out: dict[str, Any] = {"workflow": name, "start": start}
    fastest = fastest_run(name, opts)
    for policy in POLICIES:
        deadline = opts["deadline"] if policy == "carbon-wait" else None
        r = fastest
        if policy != "fastest":
            r = simulate_sites(
                wf, sites, policy, series, deadline=deadline, max_slowdown=opts["max_slowdown"], plan=fastest
            )
        fp = account(r.intervals, sites, series, start=start)
        out[policy] = (fp.carbon_g, r.makespan_s)
    return out


_FASTEST: dict[str, SimResult] = {}


def fastest_run(name: str, opts: dict[str, Any]) -> SimResult:
    """fastest reads no intensity: its schedule is the same from every start, so each worker simulates it once per
    workflow (carbon-wait plans from it too)."""
    if name not in _FASTEST:
        wf, pf = workflows(opts["limit"], opts["per_task"])[name]
        sites = sites_for(pf, opts["regions"])
        _FASTEST[name] = simulate_sites(wf, sites, "fastest", intensities(sites, 0.0))
    return _FASTEST[name]


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    k = (len(s) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def summarize(rows: list[dict[str, Any]], deadline: float) -> dict[str, Any]:
    by_wf: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_wf.setdefault(row["workflow"], []).append(row)
    out: dict[str, Any] = {}
    for name, rs in by_wf.items():
        per: dict[str, Any] = {}
        for policy in POLICIES:
            carbon = [r[policy][0] for r in rs]
            span = [r[policy][1] for r in rs]
            cut = [1 - r[policy][0] / r["fastest"][0] for r in rs if r["fastest"][0] > 0]
            penalty = [r[policy][1] / r["fastest"][1] - 1 for r in rs]
            entry = {
                "carbon_g": {"p10": pct(carbon, 0.1), "median": pct(carbon, 0.5), "p90": pct(carbon, 0.9)},
                "makespan_s": {"p10": pct(span, 0.1), "median": pct(span, 0.5), "p90": pct(span, 0.9)},
            }
            if policy != "fastest":
                c, p = statistics.median(cut), statistics.median(penalty)
                entry["vs_fastest"] = {
                    "carbon_cut_median": round(c, 4),
                    "carbon_cut_p10": round(pct(cut, 0.1), 4),
                    "carbon_cut_p90": round(pct(cut, 0.9), 4),
                    "makespan_penalty_median": round(p, 4),
                    "makespan_penalty_p90": round(pct(penalty, 0.9), 4),
                    "cut_per_penalty": round(c / p, 3) if p > 1e-9 else "inf",  # inf: no penalty at all
                }
            if policy == "carbon-wait":
                entry["deadline_met"] = sum(s <= deadline + 1e-6 for s in span) / len(span)
            per[policy] = entry
        out[name] = per
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--every", type=int, default=6, help="hours between two start times (default 6)")
    ap.add_argument("--limit", type=int, help="only the N smallest WfCommons instances")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--regions", default="ERCO,NYIS,BPAT", help="region CSVs, the origin first")
    ap.add_argument("--deadline", type=float, default=24.0, help="carbon-wait's deadline in hours (default 24)")
    ap.add_argument("--max-slowdown", type=float, default=0.05)
    ap.add_argument("--bytes-per-task", type=int, default=100 * 10**6, help="what a seed/adaptive task writes")
    args = ap.parse_args()
    opts = {
        "limit": args.limit,
        "per_task": args.bytes_per_task,
        "regions": tuple(args.regions.split(",")),
        "deadline": args.deadline * HOUR,
        "max_slowdown": args.max_slowdown,
    }
    year = datetime(2022, 1, 1, tzinfo=UTC).timestamp()
    starts = [year + h * HOUR for h in range(0, 8760, args.every)]
    names = list(workflows(args.limit, args.bytes_per_task))
    jobs = [(n, s, opts) for n in names for s in starts]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        rows = list(pool.map(one, jobs, chunksize=max(1, len(jobs) // (8 * args.workers))))
    doc = {
        "command": " ".join(["python", "benchmarks/carbon.py", *sys.argv[1:]]),
        "starts": len(starts),
        "every_h": args.every,
        "regions": list(opts["regions"]),
        "origin": opts["regions"][0],
        "deadline_h": args.deadline,
        "max_slowdown": args.max_slowdown,
        "simulations": len(jobs) * (len(POLICIES) - 1),
        "wall_s": round(time.perf_counter() - t0, 1),
        "workflows": summarize(rows, opts["deadline"]),
    }
    print(json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()
