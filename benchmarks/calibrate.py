"""Simulated/real makespan before and after calibration, on the local, Dask and Ray backends. Prints one JSON object.

For each backend and each workflow of many short tasks on a platform of W cores (one node) -- `sleep 0.02` commands,
and Python no-op functions (operator:pos) -- real runs with `hetflow run --journal`, R of N/2 tasks to fit the
calibration (`hetflow calibrate` on their R journals) and R of N tasks to check it, taken in turns (fit, check, fit,
...) so that both see the same machine. The check workflow is then simulated without and with the calibration; each
figure is the simulated makespan over the median real one (1.0: exact; the target after calibration is within 5%),
with the real makespans' spread (min, max) beside it. Dask and Ray start a local cluster shaped like the platform for
each run.

    python benchmarks/calibrate.py [--tasks 200] [--workers 2] [--repeat 3] [--backends local,dask,ray]
"""

from __future__ import annotations

import argparse
import json
import os
import platform as pyplatform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from hetflow.journal import read_journal
from hetflow.metrics.journaled import journal_result
from hetflow.predict.calibration import fit_calibration
from hetflow.sim import run_simulation
from hetflow.spec.load import load_platform, load_workflow

KINDS = {
    "sleep": "{name: s, count: %d, runtime: 0.02, command: 'sleep 0.02'}",
    "noop": "{name: f, count: %d, runtime: 0, function: 'operator:pos'}",
}


def real_run(folder: Path, kind: str, n: int, backend: str, platform: Path, tag: str) -> Path:
    """Run n tasks of the kind for real; the journal's path."""
    wf = folder / f"{kind}-{n}.yaml"
    wf.write_text(f"workflow: {kind}\ntasks:\n  - {KINDS[kind] % n}\n")
    journal = folder / f"{backend}-{kind}-{tag}.db"
    hetflow = [sys.executable, "-c", "from hetflow.cli import main; main()"]
    cmd = [*hetflow, "-q", "run", str(wf), "-p", str(platform), "--backend", backend]
    subprocess.run([*cmd, "--journal", str(journal), "--json"], check=True, capture_output=True, timeout=600)
    return journal


def measure(folder: Path, kind: str, n: int, backend: str, platform: Path, repeat: int) -> dict[str, Any]:
    fits, reals = [], []
    for i in range(repeat):
        fits.append(real_run(folder, kind, max(1, n // 2), backend, platform, f"fit{i}"))
        reals.append(journal_result(read_journal(real_run(folder, kind, n, backend, platform, f"check{i}"))).makespan_s)
    cal = fit_calibration(fits, backend)
    real = statistics.median(reals)
    wf, pf = load_workflow(folder / f"{kind}-{n}.yaml"), load_platform(platform)
    before = run_simulation(wf, pf).makespan_s
    after = run_simulation(wf, pf, calibration=cal).makespan_s
    return {
        "backend": backend,
        "workflow": kind,
        "tasks": n,
        "real_s": round(real, 4),
        "real_min_max_s": [round(min(reals), 4), round(max(reals), 4)],
        "simulated_before_s": round(before, 4),
        "simulated_after_s": round(after, 4),
        "ratio_before": round(before / real, 4),
        "ratio_after": round(after / real, 4),
        "calibration": {k: v for k, v in cal.as_dict().items() if k not in ("journals", "fitted")},
        "fit_tasks": max(1, n // 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--backends", default="local,dask,ray")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        platform = folder / "platform.yaml"
        platform.write_text(f"platform: local-{args.workers}\nnodes:\n  - {{type: local, cores: {args.workers}}}\n")
        for backend in args.backends.split(","):
            for kind in KINDS:
                rows.append(measure(folder, kind, args.tasks, backend, platform, args.repeat))
    out = {
        "machine": {"cpus": os.cpu_count(), "python": pyplatform.python_version()},
        "workers": args.workers,
        "repeat": args.repeat,
        "load_average": os.getloadavg(),
        "results": rows,
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
