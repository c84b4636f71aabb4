"""`hetflow report`: what a real run recorded in its journal, as a table, JSON, HTML, or beside a simulation."""

from __future__ import annotations

import json
import sys

import click

from hetflow.cli.group import main, output_dir
from hetflow.terminal import line


@main.command()
@click.argument("journal")
@click.option("--out", "out_dir", metavar="DIR", help="Write the HTML report (utilization, Gantt) into DIR.")
@click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON record per task (with --compare-sim: both makespans)."
)
@click.option(
    "--compare-sim", is_flag=True, help="Simulate the journal's workflow on its platform and compare makespans."
)
def report(journal: str, out_dir: str | None, as_json: bool, compare_sim: bool) -> None:
    """Report what a real run recorded in JOURNAL: the same HTML report as simulate, per-task records, or the
    simulated makespan next to the real one."""
    from rich.console import Console

    from hetflow.journal import read_journal
    from hetflow.metrics.result import RunResult
    from hetflow.report import print_table
    from hetflow.sim.simulator import run_simulation

    out_path = output_dir(out_dir, "--out")
    view = read_journal(journal)
    real = RunResult(
        view.workflow,
        view.platform,
        view.mode,
        view.policy,
        view.intervals(),
        source="real",
        origin=view.origin,
        marks=view.marks,
    )
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 140)
    if out_path is not None:
        from hetflow.report import write_report

        index = write_report([real], out_path)
        if not as_json:
            line(console, "report", str(index))
    if compare_sim:
        sim = run_simulation(view.workflow, view.platform, view.mode, view.policy)
        diff = (real.makespan_s / sim.makespan_s - 1) * 100 if sim.makespan_s > 0 else None
        if as_json:
            click.echo(
                json.dumps({"simulated": sim.summary(), "real": real.summary(), "difference_pct": diff}, indent=2)
            )
        else:
            line(console, "workflow", f"{view.workflow.name} on {view.platform.name} ({view.mode}, {view.policy})")
            line(console, "simulated", f"{sim.makespan_s:,.2f} s makespan")
            line(
                console, "real", f"{real.makespan_s:,.2f} s makespan" + (f" ({diff:+.1f}%)" if diff is not None else "")
            )
            if len(view.runs) > 1:
                line(console, "note", f"{len(view.runs)} runs (resumed): the real makespan spans them all")
        return
    if as_json:
        click.echo(json.dumps(list(view.task_rows()), indent=1))
        return
    if out_dir is None:
        print_table([real], console)
        counts = view.counts()
        line(console, "tasks", ", ".join(f"{n:,} {status}" for status, n in sorted(counts.items())))
        line(console, "runs", f"{len(view.runs)}" + (f" ({view.kept:,} tasks kept on resume)" if view.kept else ""))
