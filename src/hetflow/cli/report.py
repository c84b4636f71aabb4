"""`hetflow report`: what a real run recorded in its journal, as a table, JSON, HTML, or beside a simulation."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click

from hetflow.cli.footprint import Accounting, footprint_lines, sites_options
from hetflow.cli.group import main, output_dir
from hetflow.terminal import echo_line, line

if TYPE_CHECKING:
    from rich.console import Console

    from hetflow.journal import JournalView


@main.command()
@click.argument("journal")
@click.option("--out", "out_dir", metavar="DIR", help="Write the HTML report (utilization, Gantt) into DIR.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print one JSON record per task, with the log files of each attempt (with --compare-sim: both makespans; "
    "with --sites: the run with its energy and carbon).",
)
@click.option(
    "--compare-sim",
    is_flag=True,
    help="Simulate the journal's workflow on its platform and compare makespans (a finished run only: an incomplete "
    "journal is said to be so).",
)
@sites_options
def report(
    journal: str, out_dir: str | None, as_json: bool, compare_sim: bool, sites_file: str | None, start: str | None
) -> None:
    """Report what a real run recorded in JOURNAL: the same HTML report as simulate, per-task records, or the
    simulated makespan next to the real one; with --sites, its energy and carbon (the power model's)."""
    from rich.console import Console

    from hetflow.journal import read_journal
    from hetflow.metrics.journaled import journal_result
    from hetflow.report import print_table
    from hetflow.sim.simulator import run_simulation

    out_path = output_dir(out_dir, "--out")
    view = read_journal(journal)
    real = journal_result(view)
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 140)
    accounting = Accounting(sites_file, start) if sites_file is not None else None
    footprint = accounting.footprint(real) if accounting is not None else None
    if out_path is not None:
        from hetflow.report import write_report

        panels = [accounting.panel(real, footprint)] if accounting is not None and footprint is not None else None
        index = write_report([real], out_path, carbon=panels)
        if not as_json:
            line(console, "report", str(index))
    if compare_sim:
        if not view.complete():
            _incomplete(view, journal, console, as_json)
            return
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
    if as_json and footprint is not None:
        click.echo(json.dumps([{**real.summary(), **footprint.summary()}], indent=2))
        return
    if as_json:
        click.echo(json.dumps(list(view.task_rows()), indent=1))
        return
    if out_dir is None:
        print_table([real], console)
        for text in footprint_lines([real], [footprint]) if footprint is not None else ():
            click.echo(text)
        counts = view.counts()
        line(console, "tasks", ", ".join(f"{n:,} {status}" for status, n in sorted(counts.items())))
        line(console, "runs", f"{len(view.runs)}" + (f" ({view.kept:,} tasks kept on resume)" if view.kept else ""))
        for p in real.problems[:MAX_ERROR_LINES]:
            logs = f" (logs: {', '.join(p.logs)})" if p.logs else ""
            line(console, p.status, f"{p.task_id}: {p.error}{logs}")
        if len(real.problems) > MAX_ERROR_LINES:
            line(console, "", f"… and {len(real.problems) - MAX_ERROR_LINES:,} more")
        for m in view.run_marks():
            if m.kind == "interrupted":
                line(console, "interrupted", m.text)


MAX_ERROR_LINES = 10


def _incomplete(view: JournalView, journal: str, console: Console, as_json: bool) -> None:
    """Say that the journal holds no finished run (tasks not ended, or a last run that never recorded its end), so a
    makespan to compare with a full prediction does not exist yet; exit status 0: nothing went wrong here. One line,
    never wrapped."""
    total = len(view.records)
    ended = total - view.unended()
    running = bool(view.runs) and view.runs[-1].ended is None
    why = f"{ended:,} of {total:,} tasks ended" + ("; the last run never recorded its end" if running else "")
    resume = f"hetflow run WORKFLOW --journal {journal} --resume"
    if as_json:
        click.echo(
            json.dumps(
                {"incomplete": True, "tasks": total, "ended": ended, "last_run_ended": not running, "resume": resume},
                indent=2,
            )
        )
        return
    echo_line("incomplete", f"{why}: the comparison needs a finished run; resume with {resume}", console.is_terminal)
