"""`hetflow run`: run a workflow for real, following it on the terminal, and say how it ended."""

from __future__ import annotations

import json
import os
import shlex
import sys
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from hetflow.cli.flow import FUNCTIONS_HELP, SIDE_HELP
from hetflow.cli.footprint import Accounting, footprint_lines, sites_options
from hetflow.cli.group import EXIT_INTERRUPTED, PARTITION_HELP, is_quiet, main, note, output_dir, partition_option
from hetflow.cli.progress import Ticker, eta_text, every_option, run_eta, warn_long
from hetflow.errors import HetflowError, SpecError
from hetflow.terminal import RegistryOption, backend_names, line, plural

if TYPE_CHECKING:
    from rich.console import Console

    from hetflow.runtime import Progress, Session, WorkflowRun
    from hetflow.spec import Workflow
    from hetflow.spec.platform import Platform
    from hetflow.spec.site import Sites

EXIT_TASKS_FAILED = 1  # a run ended, and some task failed, was skipped or was cancelled
RUN_HELP_PLATFORM = "Platform file (default: this machine, discovered; with --resume, the journal's)."


def progress_line(p: Progress, total: int | None = None) -> str:
    """What runs and how many ended badly, and the cores and GPUs busy (with total: how many are done, first)."""
    gpus = f"  GPUs {p.gpus_busy:g}/{p.gpus:g}" if p.gpus else ""
    done = f"  done {p.done}/{total}" if total is not None else ""
    return f"running {p.running}{done}  failed {p.failed}  skipped {p.skipped}  cores {p.cores_busy}/{p.cores}{gpus}"


def follow(
    session: Session,
    run: WorkflowRun,
    total: int,
    console: Console,
    every: float = 10.0,
    expected: Mapping[str, float] | None = None,
) -> None:
    """Follow the run until it ends. On a terminal, a live progress bar: tasks ended of total, then running, failed,
    skipped, the cores and GPUs busy, and the ETA with its 80% interval (progress.run_eta). Elsewhere (a batch job's
    log), a line every `every` seconds from the first 2 s on, e.g. "12:00:05 running 3  done 40/100  failed 0 ...
    ETA 2.0 min (1.5 min - 2.6 min)"; with --quiet, nothing. expected: predicted run times per set, for the ETA."""
    if not console.is_terminal or is_quiet():
        ticker = Ticker(every)
        while not run.wait(min(0.5, ticker.every)):
            if ticker.due():
                p = session.progress()
                ticker.say(f"{progress_line(p, total)}  {eta_text(run_eta(run, p, expected))}")
        return
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
    )
    with Bar(*columns, console=console, refresh_per_second=8) as bar:
        task = bar.add_task(run.workflow.name, total=total, detail="")
        ticks, eta = 0, ""
        while True:
            ended = run.wait(0.125)
            p = session.progress()
            if ticks % 8 == 0:  # once a second: the ETA reads every interval so far
                eta = f"  {eta_text(run_eta(run, p, expected))}"
            ticks += 1
            detail = progress_line(p) + eta
            bar.update(task, completed=p.done + p.failed + p.skipped + p.cancelled, detail=detail)
            if ended:
                return


def predicted(history: str | None, wf: Workflow) -> dict[str, float] | None:
    """With --history: the run time the store predicts for each set it has seen (p50), for the ETA."""
    if history is None:
        return None
    from hetflow.predict import DECLARED, HistoryStore, set_forecasts

    return {name: f.p50 for name, f in set_forecasts(HistoryStore(history), wf) if f.basis != DECLARED}


def stop(session: Session, workflow: str, total: int, journal: str | None) -> str:
    """Ctrl-C: stop the run cleanly (its tasks cancelled, their processes killed, the journal's run marked
    interrupted); the line that says how far it got and how to go on. A second Ctrl-C while it stops gives up on
    a clean stop: the process exits at once, and its workers, which die with it, take their commands along."""
    note("interrupted: stopping the tasks that run (Ctrl-C again to force)")
    try:
        session.interrupt()
    except KeyboardInterrupt:
        click.echo("interrupted again: forced stop, the journal may miss its last rows", err=True)
        sys.stderr.flush()
        os._exit(EXIT_INTERRUPTED)
    done = session.progress().done
    if journal is not None:
        again = f"resume with hetflow run {shlex.quote(workflow)} --journal {shlex.quote(journal)} --resume"
    else:
        again = f"to resume next time, keep a journal: hetflow run {shlex.quote(workflow)} --journal FILE"
    return f"interrupted: {done} of {total} tasks done; {again}"


def endpoints_backend(backend: str, address: str | None, platform: object) -> str:
    """The backend of a run across endpoints (faas); SpecError when another backend, an address or a platform was
    given too (the endpoints' nodes are the platform)."""
    clash = (
        ("--backend", f"--backend {backend}") if backend not in ("local", "faas") else
        ("--address", "--address") if address is not None else
        ("--platform", "--platform") if platform is not None else None
    )  # fmt: skip
    if clash is not None:
        raise SpecError(
            f"--endpoints runs on the endpoints' nodes: {clash[1]} cannot be given with it",
            place=clash[0],
            fix=f"leave {clash[0]} out",
        )
    return "faas"


def check_site_nodes(platform: Platform, sites: Sites) -> None:
    """SpecError unless every node the endpoints serve is a node of its site in the sites file (SITE/TYPE-i), so that
    the run's energy and carbon are accounted with the power of the right site and node type."""
    declared = {n.name for n in sites.platform().nodes()}
    for node in platform.nodes():
        if node.name not in declared:
            site = node.name.split("/", 1)[0]
            raise SpecError(
                f"the endpoint of site {site!r} serves node {node.name!r}, which the sites file does not declare",
                source=sites.source,
                place=f"sites.{site}.platform",
                fix="start each endpoint with its site's platform (hetflow endpoint start --platform ...)",
            )


@main.command()
@click.argument("workflow")
@click.option(
    "--backend",
    cls=RegistryOption,
    listing=backend_names,
    default="local",
    show_default=True,
    help="Where tasks run: {}.",
)
@click.option(
    "--address",
    metavar="ADDR",
    help="The cluster to run on (dask: the scheduler's address; ray: the head's HOST:PORT); its workers or nodes are "
    "the platform. Without it, dask and ray start a local cluster shaped like --platform.",
)
@click.option("--platform", "-p", "platform", metavar="P", help=RUN_HELP_PLATFORM)
@click.option(
    "--endpoints",
    metavar="FILE",
    help="Run across function endpoints (backend faas): FILE maps site names to an endpoint's URL and token file; "
    "their nodes are the platform.",
)
@click.option(
    "--token-file",
    metavar="FILE",
    help="The token of the endpoints of --sites whose sites have an `endpoint:` (one for them all).",
)
@click.option(
    "--outputs",
    "outputs_dir",
    metavar="DIR",
    help="A run across endpoints: where the workflow's final outputs (files no task reads) are brought back to "
    "(default: the working directory, as a run on this machine leaves them).",
)
@click.option(
    "--mode", default=None, help="Asynchrony: sync, workload or task (default; with --resume: the journal's)."
)
@click.option("--policy", default=None, metavar="NAME", help="Placement policy (default fifo).")
@click.option("--journal", metavar="FILE", help="Record every transition and result in this SQLite file.")
@click.option("--resume", is_flag=True, help="Go on with the run the journal records: done tasks are not run again.")
@click.option("--report", "report_dir", metavar="DIR", help="Write the HTML report of the run into DIR.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON instead of a table.")
@click.option("--partition", "partitions", multiple=True, metavar="NAME=CORES[,GPUS]", help=PARTITION_HELP)
@click.option(
    "--emulate",
    type=float,
    metavar="SCALE",
    help="Replay a trace: tasks with nothing to run sleep their run time x SCALE (e.g. 0.01), by default on the "
    "machines the trace records.",
)
@every_option
@click.option("--dashboard", is_flag=True, help="Serve the live web dashboard of the run (its URL is printed).")
@click.option(
    "--gpu-sharing",
    type=click.Choice(["mps"]),
    help="mps: start an NVIDIA MPS control daemon for the run (local backend; needs nvidia-cuda-mps-control).",
)
@click.option(
    "--history", metavar="DIR", help="Add the run's done tasks to the history store in DIR (hetflow predict)."
)
@click.option("--functions", metavar="MODULE", help=FUNCTIONS_HELP)
@click.option("--side", metavar="FILE", help=SIDE_HELP)
@click.option("--input", "input_payload", metavar="JSON|FILE", help="SeBS-Flow definitions: the first payload.")
@sites_options
@click.pass_context
def run(
    ctx: click.Context,
    workflow: str,
    backend: str,
    address: str | None,
    platform: str | None,
    endpoints: str | None,
    token_file: str | None,
    outputs_dir: str | None,
    mode: str | None,
    policy: str | None,
    journal: str | None,
    resume: bool,
    report_dir: str | None,
    as_json: bool,
    partitions: tuple[str, ...],
    emulate: float | None,
    every: float,
    dashboard: bool,
    history: str | None,
    gpu_sharing: str | None,
    functions: str | None,
    side: str | None,
    input_payload: str | None,
    sites_file: str | None,
    start: str | None,
) -> None:
    """Run WORKFLOW for real: each task runs its command or function on this machine (or the backend's).

    Exit status: 0 when every task is done, 1 when some failed or were skipped, 2 on bad input, 130 when
    interrupted (Ctrl-C: the tasks are stopped, the journal kept; a second Ctrl-C forces the stop).
    """
    from rich.console import Console

    from hetflow.report import print_table
    from hetflow.runtime import Session
    from hetflow.spec.functions import check_functions
    from hetflow.spec.load import load_definition, load_platform, recorded_platform
    from hetflow.spec.workflow import Workflow

    defn = load_definition(workflow)
    if not isinstance(defn, Workflow):  # a SeBS-Flow definition: run by its interpreter on a Session
        from hetflow.cli.flow import run_flow_command

        run_flow_command(ctx, defn, ctx.params)
        return
    if functions is not None or side is not None or input_payload is not None:
        raise SpecError("--functions, --side and --input are for SeBS-Flow definitions", source=workflow, fix="remove")
    report_path = output_dir(report_dir, "--report")
    wf = defn
    check_functions(wf)
    if emulate is not None:
        wf = wf.emulated(emulate)
    pf = load_platform(platform) if platform is not None else None
    accounting = Accounting(sites_file, start) if sites_file is not None else None
    if accounting is not None:  # every site's nodes, on this machine
        if platform is not None:
            raise SpecError("--sites and --platform both given", place="--sites", fix="give one: sites hold platforms")
        pf = accounting.sites.platform()
    if pf is None and emulate is not None:  # a replayed trace runs on the machines it records, declared here
        pf = recorded_platform(workflow)
    err = Console(stderr=True, soft_wrap=True, highlight=False)
    options: dict[str, Any] = {}
    if address is not None:
        if backend == "local":
            raise SpecError(
                "--address needs a cluster backend", place="--address", fix="add --backend dask or --backend ray"
            )
        options["address"] = address
    options["partitions"] = partition_option(partitions)
    options["dashboard"] = dashboard
    options["history"] = history
    if gpu_sharing is not None:
        options["gpu_sharing"] = gpu_sharing
    if endpoints is not None:
        from hetflow.faas.sitefile import load_endpoints

        backend = endpoints_backend(backend, address, platform)
        options["endpoints"] = load_endpoints(endpoints)
        if accounting is not None:
            raise SpecError("--sites and --endpoints both given", place="--endpoints", fix="give the sites endpoints")
    elif accounting is not None and any(s.endpoint for s in accounting.sites.sites):
        from hetflow.faas.sitefile import endpoints_of_sites

        backend = endpoints_backend(backend, address, platform)
        options["endpoints"] = endpoints_of_sites(accounting.sites, token_file)
        pf = None  # the endpoints' nodes, named as the sites' platform names them (SITE/TYPE-i)
    if accounting is not None:  # the engine sees transfer times between the sites, as in simulation
        options["links"] = accounting.sites
    if backend == "faas":  # inputs from here (all present, or exit 2 now), final outputs back here
        from hetflow.faas.origin import origin_of

        origin = accounting.sites.origin if accounting is not None else ""
        options["origin"] = origin_of(wf, origin, into=output_dir(outputs_dir, "--outputs"))
    elif outputs_dir is not None:
        raise SpecError("--outputs is for runs across endpoints", place="--outputs", fix="leave it out")
    session = Session(backend, platform=pf, mode=mode, policy=policy, journal=journal, resume=resume, **options)
    try:
        session.check_workflow(wf)  # before the journal records a run
        if accounting is not None and backend == "faas":
            check_site_nodes(session.platform, accounting.sites)
    except HetflowError:
        session.close()
        raise
    warn_long(wf, session.platform)
    interrupted = ""
    r: WorkflowRun | None = None
    if accounting is not None and backend != "faas":
        accounting.metered()
    elif accounting is not None:  # RAPL would measure this machine, not the endpoints' sites
        note("energy: model (the sites run on their endpoints)")
    try:
        session.start()
        r = session.submit_workflow(wf)
        follow(session, r, wf.n_tasks, err, every, predicted(history, wf))
        session.close()
    except KeyboardInterrupt:
        interrupted = stop(session, workflow, wf.n_tasks, journal)
    except BaseException:
        session.close(cancel=True)
        raise
    if r is None:  # interrupted before the workflow was submitted
        click.echo(interrupted, err=True)
        ctx.exit(EXIT_INTERRUPTED)
    from hetflow.report import with_skipped  # the table and report tell skipped tasks from unended ones

    result = with_skipped(r.result(), r.skipped)
    if session.transfers:  # the files moved between endpoints, in the journal too
        result = replace(result, transfers=[*result.transfers, *session.transfers])
        if journal is not None:
            from hetflow.journal import record_transfers

            record_transfers(journal, session.transfers)
    footprint = accounting.footprint(result) if accounting is not None else None
    if report_path is not None:
        from hetflow.report import write_report

        panels = [accounting.panel(result, footprint)] if accounting is not None and footprint is not None else None
        write_report([result], report_path, carbon=panels)
    if interrupted:
        if report_dir is not None:
            note(f"report: {Path(report_dir) / 'index.html'}")
        click.echo(interrupted, err=True)
        ctx.exit(EXIT_INTERRUPTED)
    if as_json:
        summary = result.summary()
        summary.update(
            failed=len(r.failed),
            skipped=sum(n for _, n, _ in r.skipped),
            kept=r.kept,
            journal=journal,
        )
        summary.update(footprint.summary() if footprint is not None else {})
        click.echo(json.dumps([summary], indent=2))
    else:
        console = Console(highlight=False, width=None if sys.stdout.isatty() else 140)
        print_table([result], console)
        for text in footprint_lines([result], [footprint]) if footprint is not None else ():
            click.echo(text)
        for task_id, error in r.failed[:10]:
            line(console, "failed", f"{task_id}: {error}")
        if len(r.failed) > 10:
            line(console, "", f"… and {len(r.failed) - 10} more failed tasks")
        for name, n, why in r.skipped[:10]:
            line(console, "skipped", f"{name} ({plural(n, 'task')}): {why}")
        if resume:
            line(console, "resumed", f"{plural(r.kept, 'task')} done in an earlier run, not run again")
        if journal is not None:
            line(console, "journal", journal)
        if report_dir is not None:
            line(console, "report", str(Path(report_dir) / "index.html"))
    if not r.ok:
        ctx.exit(EXIT_TASKS_FAILED)
