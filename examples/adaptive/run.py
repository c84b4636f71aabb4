"""The adaptive example (issue #6): UQ by DFT, then ab-initio MD and a DeepDriveMD loop, under three strategies.

    python examples/adaptive/run.py                 # simulated on 256 Summit-like nodes, 10,000+ tasks per strategy
    python examples/adaptive/run.py --real --json   # for real on one such node, declared here: numpy tasks, ~20 s
    python examples/adaptive/run.py --report out/   # also hetflow's HTML report of the three runs

The model and the strategies are in model.py; the real tasks in tasks.py.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the workers of the real run import examples.adaptive.tasks from here

from examples.adaptive.model import REAL, SIM, STRATEGIES, plan, summary  # noqa: E402
from examples.adaptive.tasks import dft_uncertainty  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from hetflow import Session, load_platform, run_simulation  # noqa: E402
from hetflow.metrics.result import RunResult  # noqa: E402
from hetflow.spec.workflow import Workflow  # noqa: E402


def simulate(strategy: str) -> RunResult:
    p = plan(strategy, SIM)
    return run_simulation(
        p.workflow,
        load_platform(SIM.platform()),
        partitions=p.partitions,
        triggers=p.triggers,
        results=lambda name, index: dft_uncertainty(index) if name == "dft" else None,  # what watched tasks return
    )


def run_real(strategy: str, journal: Path | None) -> RunResult:
    """Run the strategy for real on one declared node; its result spans the DFT submission to the last task end."""
    p = plan(strategy, REAL)
    with Session(platform=REAL.platform(), partitions=p.partitions, journal=journal, workers=10) as s:
        run = s.submit_workflow(p.workflow)
        for trigger in p.triggers:
            s.arm(trigger)
    everything = s.result()
    named = Workflow(p.workflow.name, everything.workflow.sets)
    return dataclasses.replace(everything, workflow=named, origin=run.origin)


def table(rows: list[dict[str, Any]]) -> Table:
    base = rows[0]
    t = Table(title=f"adaptive example, {base['source']} on {base['platform']}")
    for name in ("strategy", "makespan s", "time x", "results", "results x", "CPU util", "GPU util"):
        t.add_column(name, justify="left" if name == "strategy" else "right", no_wrap=True)
    for r in rows:
        t.add_row(
            r["strategy"],
            f"{r['makespan_s']:,.1f}",
            f"{r['makespan_s'] / base['makespan_s']:.2f}",
            f"{r['results']:,}",
            f"{r['results'] / base['results']:.2f}",
            f"{r['cpu_utilization']:.1%}",
            f"{r['gpu_utilization']:.1%}",
        )
    return t


def timeline(rows: list[dict[str, Any]]) -> str:
    """The triggers each strategy fired, with their times and what each did (what it submitted, how it resized)."""
    lines = []
    for r in rows:
        lines.append(f"{r['strategy']}:")
        for e in r["events"]:
            if e["kind"] == "trigger":
                name, _, did = e["text"].partition(": ")
                lines.append(f"  {e['t']:,.2f} s  {name}: {did or 'did nothing'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--real", action="store_true", help="run for real on this machine, at small scale")
    ap.add_argument("--json", action="store_true", help="print a JSON list, one object per strategy")
    ap.add_argument("--report", type=Path, metavar="DIR", help="write hetflow's HTML report of the three runs into DIR")
    ap.add_argument("--journal", type=Path, metavar="DIR", help="with --real: one journal per strategy, DIR/NAME.db")
    args = ap.parse_args(argv)
    if args.journal is not None and not args.real:
        ap.error("--journal goes with --real")
    if args.journal is not None:
        args.journal.mkdir(parents=True, exist_ok=True)
    runs = []
    for strategy in STRATEGIES:
        if args.real:
            r = run_real(strategy, args.journal / f"{strategy}.db" if args.journal else None)
        else:
            r = simulate(strategy)
        runs.append(dataclasses.replace(r, label=strategy))  # the strategy names the run in the report
    rows = [summary(s, r) for s, r in zip(STRATEGIES, runs, strict=True)]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        console = Console()
        console.print(table(rows))
        console.print(timeline(rows), highlight=False)
    if args.report is not None:
        from hetflow.report import write_report

        print(f"report: {write_report(runs, args.report)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
