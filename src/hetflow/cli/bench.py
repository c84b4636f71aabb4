"""`hetflow bench`: run a workflow N times for real, each a fresh session with its own journal, and describe the
makespans as a distribution (Hoefler & Belli, SC'15): mean with a Student-t interval, median with the non-parametric
one, percentiles, and whether normality holds. `--json` prints the result file `hetflow compare` reads."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from hetflow.cli.group import main, note, output_dir
from hetflow.errors import SpecError
from hetflow.terminal import RegistryOption, backend_names

if TYPE_CHECKING:
    from rich.table import Table

    from hetflow.spec import Platform, Workflow
    from hetflow.stats import Summary

EXIT_TASKS_FAILED = 1  # as `hetflow run`: a run ended and some task failed, was skipped or was cancelled


def summary_table(rows: list[tuple[str, Summary]], unit: str = "s") -> Table:
    """One row per sample: n, median with its interval, mean with its interval, p10/p50/p90, cv, normality."""
    from rich.table import Table
    from rich.text import Text

    first = rows[0][1]
    level = f"{first.confidence * 100:g}%"
    table = Table(box=None, pad_edge=False)
    for name in ("", "n", f"median [{level} CI]", f"mean [{level} CI]", "p10 / p50 / p90", "cv", "normal (p)"):
        table.add_column(name, justify="left" if name in ("", "normal (p)") else "right")
    for label, s in rows:
        median_ci = f" [{s.median_ci[0]:.4g}, {s.median_ci[1]:.4g}]" if s.median_ci else " [none: too few runs]"
        mean_ci = f" [{s.mean_ci[0]:.4g}, {s.mean_ci[1]:.4g}]" if s.mean_ci else ""
        pct = " / ".join(f"{s.percentiles[p]:.4g}" for p in ("p10", "p50", "p90"))
        normal = "untested" if s.normality_p is None else f"{'yes' if s.normal else 'no'} ({s.normality_p:.2g})"
        cells = (label, str(s.n), f"{s.median:.4g}{median_ci} {unit}", f"{s.mean:.4g}{mean_ci} {unit}", pct)
        table.add_row(*(Text(c) for c in (*cells, f"{s.cv:.1%}", normal)))  # Text: brackets are not markup
    return table


@main.command()
@click.argument("workflow")
@click.option("--repeat", "-n", type=click.IntRange(min=1), default=10, show_default=True, help="Runs to make.")
@click.option("--platform", "-p", "platform", metavar="P", help="Platform file (default: this machine, discovered).")
@click.option(
    "--backend", cls=RegistryOption, listing=backend_names, default="local", show_default=True, help="Where: {}."
)
@click.option("--mode", default=None, help="Asynchrony: sync, workload or task (default).")
@click.option("--policy", default=None, metavar="NAME", help="Placement policy (default fifo).")
@click.option("--journals", "journal_dir", metavar="DIR", help="Keep each run's journal as DIR/run-1.db, ...")
@click.option("--confidence", type=click.FloatRange(0.5, 1, max_open=True), default=0.95, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the result file (samples and summary) as JSON.")
def bench(
    workflow: str,
    repeat: int,
    platform: str | None,
    backend: str,
    mode: str | None,
    policy: str | None,
    journal_dir: str | None,
    confidence: float,
    as_json: bool,
) -> None:
    """Run WORKFLOW --repeat times for real, each run a fresh session, and describe its makespans: mean and median
    with their intervals, percentiles, normality. Journals go to --journals DIR (default: WORKFLOW-bench-TIME).

    Exit status: 0 when every run ended with every task done, 1 when a task of some run did not (the runs stop
    there), 2 on bad input."""
    from hetflow.spec.functions import check_functions
    from hetflow.spec.load import load_platform, load_workflow
    from hetflow.stats import describe, samples_document

    wf = load_workflow(workflow)
    check_functions(wf)
    pf = load_platform(platform) if platform is not None else None
    default = Path(f"{Path(workflow).stem}-bench-{time.strftime('%Y%m%d-%H%M%S')}")
    folder = output_dir(journal_dir, "--journals") or default
    journals = [folder / f"run-{i}.db" for i in range(1, repeat + 1)]
    taken = [j for j in journals if j.exists()]
    if taken:
        raise SpecError(
            f"{taken[0]} exists", place="--journals", fix="give a new folder: bench journals are never added to"
        )
    folder.mkdir(parents=True, exist_ok=True)
    makespans: list[float] = []
    for i, journal in enumerate(journals, 1):
        makespan, problem, context = one_run(wf, pf, backend, mode, policy, journal)
        if problem:
            click.echo(f"error: run {i} of {repeat}: {problem} (journal {journal}); no statistics", err=True)
            click.get_current_context().exit(EXIT_TASKS_FAILED)
        makespans.append(makespan)
        note(f"run {i}/{repeat}: makespan {makespan:.3f} s")
    doc = samples_document(
        {"makespan_s": makespans},
        confidence=confidence,
        source="bench",
        workflow=workflow,
        platform=platform or context[0],
        backend=backend,
        mode=context[1],
        policy=context[2],
        repeat=repeat,
        journals=[str(j) for j in journals],
    )
    if as_json:
        click.echo(json.dumps(doc, indent=2))
        return
    from rich.console import Console

    console = Console(highlight=False, width=None if sys.stdout.isatty() else 140)
    console.print(summary_table([(f"{wf.name} ({backend})", describe(makespans, confidence))]))
    console.print(f"journals: {folder}")


def one_run(
    wf: Workflow, pf: Platform | None, backend: str, mode: str | None, policy: str | None, journal: Path
) -> tuple[float, str, tuple[str, str, str]]:
    """One fresh session runs the workflow to its end: (makespan in seconds, "" or what went wrong, the platform's
    name, the mode and the policy it ran with)."""
    from hetflow.runtime import Session

    session = Session(backend, platform=pf, mode=mode, policy=policy, journal=journal)
    try:
        session.check_workflow(wf)
        session.start()
        run = session.submit_workflow(wf)
        run.wait()
        session.close()
    except BaseException:
        session.close(cancel=True)
        raise
    platform, mode, policy = run.context
    context = (platform.name, str(mode), str(policy))
    if not run.ok:
        return 0.0, f"{len(run.failed)} failed, {sum(n for _, n, _ in run.skipped)} skipped", context
    return run.result().makespan_s, "", context
