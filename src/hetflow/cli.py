"""The command line. Commands join the group `main` (`@main.command()`); the group's error handling covers them all.

Each command imports what it needs when it runs (rich, the loaders, the simulator, the runtime, the report), so
`hetflow --help` and `hetflow validate` print before numpy, matplotlib or the runtime are loaded.

Any HetflowError ends the command with one line on stderr, `error: <file>: <place>: <problem> (fix: ...)`, and exit
status 2; the global `--debug` shows the traceback instead.
"""

from __future__ import annotations

import json
import sys
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from hetflow.errors import HetflowError, SpecError
from hetflow.terminal import (
    RegistryOption,
    backend_names,
    describe_platform,
    echo_line,
    line,
    name_list,
    path_text,
    plural,
    policy_names,
    styled,
)

if TYPE_CHECKING:
    from rich.console import Console

    from hetflow.runtime import Progress, Session, WorkflowRun
    from hetflow.spec import Platform, Workflow

EXIT_BAD_INPUT = 2
LABEL_WIDTH = 15


class HetflowGroup(click.Group):
    """A command group that turns a HetflowError into one line and exit status 2, unless --debug is given."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (HetflowError, OSError) as exc:
            if ctx.params.get("debug"):
                raise
            if isinstance(exc, OSError):  # a file we were told to write could not be
                text = f"{exc.filename}: {exc.strerror} (fix: check the path and its permissions)"
            else:
                text = exc.line() if isinstance(exc, SpecError) else str(exc)
            click.echo("error: " + " ".join(text.split()), err=True)
            ctx.exit(EXIT_BAD_INPUT)


def output_dir(path: str | None, option: str) -> Path | None:
    """A folder to write into (created when missing), checked before any work is done."""
    if path is None:
        return None
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise SpecError(f"{path} exists and is not a folder", place=option, fix="give a folder (created if missing)")
    return p


def output_file(path: str | None, option: str) -> Path | None:
    """A file to write, checked before any work is done."""
    if path is None:
        return None
    p = Path(path)
    if p.is_dir():
        raise SpecError(f"{path} is a folder", place=option, fix="give a file name")
    if not p.parent.is_dir():
        raise SpecError(f"folder {p.parent} does not exist", place=option, fix="create it or give another path")
    return p


@click.group(cls=HetflowGroup)
@click.option("--debug", is_flag=True, help="Show the traceback of an error instead of one line.")
@click.version_option(package_name="hetflow")
def main(debug: bool) -> None:
    """hetflow: run and simulate workflows of heterogeneous tasks."""


def load_inputs(workflow: str, platform: str | None) -> tuple[Workflow, Platform | None]:
    """The workflow, and the platform given, else the machines a WfFormat workflow file records, else None."""
    from hetflow.spec.load import load_platform, load_workflow, recorded_platform

    wf = load_workflow(workflow)
    return wf, load_platform(platform) if platform is not None else recorded_platform(workflow)


_PARTITION_HELP = "A named share of every node, NAME=CORES[,GPUS] as fractions or percents (e.g. uq=0.5, dd=50%,100%)."


def partition_option(values: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """--partition values as the shares Session and run_simulation take (checked there)."""
    out: dict[str, dict[str, str]] = {}
    for v in values:
        name, sep, rest = v.partition("=")
        parts = rest.split(",")
        if not sep or not name.strip() or not 1 <= len(parts) <= 2 or not all(p.strip() for p in parts):
            raise SpecError(f"--partition {v!r}", place="--partition", fix="write NAME=CORES or NAME=CORES,GPUS")
        out[name.strip()] = dict(zip(("cores", "gpus"), (p.strip() for p in parts), strict=False))
    return out


@main.command()
@click.argument("workflow")
@click.option(
    "--platform", "-p", "platform", metavar="P", help="Platform file (default: the machines a WfFormat file records)."
)
def validate(workflow: str, platform: str | None) -> None:
    """Check a workflow and platform, and summarize them.

    Prints the tasks, sets and levels of WORKFLOW, its workloads and shared ancestors, its critical path and its
    work, and with a platform the lower bound on the makespan and whether every task fits on some node.
    """
    wf, pf = load_inputs(workflow, platform)
    a = wf.analysis
    if pf is not None:
        pf.check_fits(wf)
    say = partial(echo_line, styled=styled(sys.stdout))
    say("workflow", f"{wf.name}  ({workflow})")
    say("tasks", f"{plural(wf.n_tasks, 'task')} in {plural(len(wf), 'set')}, {plural(a.n_levels, 'level')}")
    shared = set(a.shared)
    groups = [(k, v) for k, v in a.workloads.items() if not (k in shared and v == (k,))]
    for i, (name, members) in enumerate(groups[:10]):
        say("workloads" if i == 0 else "", f"{name} = {{{name_list(members)}}}")
    if len(groups) > 10:
        say("", f"… and {len(groups) - 10} more workloads")
    say("shared", name_list(a.shared) if a.shared else "none")
    say("critical path", f"{path_text(a.critical_path)}  ({a.critical_path_s:,.1f} s)")
    core_s, gpu_s = wf.work()
    say("work", f"{core_s:,.0f} core-s, {gpu_s:,.0f} GPU-s")
    if pf is None:
        say("platform", "none (give --platform for a lower bound and a fit check)")
        return
    origin = pf.source if platform is not None else "recorded in the workflow file"
    say("platform", f"{describe_platform(pf)}  ({origin})")
    say("lower bound", f"{pf.lower_bound(wf):,.1f} s")
    say("fit", "every task set fits on some node")


@main.command()
@click.argument("workflow")
@click.option(
    "--platform", "-p", "platform", metavar="P", help="Platform file (default: the machines a WfFormat file records)."
)
@click.option("--mode", default="task", show_default=True, help="sync, workload, task, or all three.")
@click.option(
    "--policy", cls=RegistryOption, listing=policy_names, default="fifo", show_default=True, help="{}, or all of them."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per mode and policy instead of a table.")
@click.option("--report", "report_dir", metavar="DIR", help="Write DIR/index.html with utilization and Gantt plots.")
@click.option("--trace", "trace_file", metavar="FILE", help="Write one JSON line per task (id, set, node, start, ...).")
@click.option("--partition", "partitions", multiple=True, metavar="NAME=CORES[,GPUS]", help=_PARTITION_HELP)
def simulate(
    workflow: str,
    platform: str | None,
    mode: str,
    policy: str,
    as_json: bool,
    report_dir: str | None,
    trace_file: str | None,
    partitions: tuple[str, ...],
) -> None:
    """Predict how WORKFLOW runs on a platform: makespan, bound, CPU and GPU utilization per mode and policy."""
    from rich.console import Console

    from hetflow.core.modes import MODES, make_gate
    from hetflow.core.partitions import parse_shares
    from hetflow.policies import POLICIES, make_policy
    from hetflow.report import print_table
    from hetflow.sim.simulator import run_simulation

    modes = list(MODES) if mode == "all" else [mode]
    policies = list(POLICIES) if policy == "all" else [policy]
    for m in modes:
        make_gate(m)  # an unknown name ends here with the valid ones listed
    for p in policies:
        make_policy(p)
    trace_path, report_path = output_file(trace_file, "--trace"), output_dir(report_dir, "--report")
    wf, pf = load_inputs(workflow, platform)
    if pf is None:
        raise SpecError(
            "no platform to simulate on", source=workflow, fix="give --platform P (native workflows record no machines)"
        )
    shares = parse_shares(partition_option(partitions))
    results = [run_simulation(wf, pf, m, p, partitions=shares) for p in policies for m in modes]
    if as_json:
        click.echo(json.dumps([r.summary() for r in results], indent=2))
    else:
        print_table(results, Console(highlight=False, width=None if sys.stdout.isatty() else 140))
    if trace_path is not None:
        with trace_path.open("w") as f:
            for r in results:
                for row in r.task_records():
                    f.write(json.dumps({"mode": r.mode, "policy": r.policy, **row}) + "\n")
    if report_path is not None:
        from hetflow.report import write_report  # matplotlib: a third of a second, only for a report

        index = write_report(results, report_path)
        click.echo(f"report: {index}", err=as_json)


# ---- hetflow run / hetflow report: real execution and what it left in its journal ----------------------------------

EXIT_TASKS_FAILED = 1  # a run ended, and some task failed, was skipped or was cancelled
_RUN_HELP_PLATFORM = "Platform file (default: this machine, discovered; with --resume, the journal's)."


def _progress_line(p: Progress) -> str:
    gpus = f"  GPUs {p.gpus_busy:g}/{p.gpus:g}" if p.gpus else ""
    return f"running {p.running}  failed {p.failed}  skipped {p.skipped}  cores {p.cores_busy}/{p.cores}{gpus}"


def _follow(session: Session, run: WorkflowRun, total: int, console: Console) -> None:
    """A live progress bar on the console until the run ends: tasks ended of total, then running, failed, skipped,
    and the cores and GPUs busy. Without a terminal it only waits (the summary follows)."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    if not console.is_terminal:
        run.wait()
        return
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
    )
    with Bar(*columns, console=console, refresh_per_second=8) as bar:
        task = bar.add_task(run.workflow.name, total=total, detail="")
        while True:
            ended = run.wait(0.125)
            p = session.progress()
            bar.update(task, completed=p.done + p.failed + p.skipped + p.cancelled, detail=_progress_line(p))
            if ended:
                return


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
@click.option("--platform", "-p", "platform", metavar="P", help=_RUN_HELP_PLATFORM)
@click.option(
    "--mode", default=None, help="Asynchrony: sync, workload or task (default; with --resume: the journal's)."
)
@click.option("--policy", default=None, metavar="NAME", help="Placement policy (default fifo).")
@click.option("--journal", metavar="FILE", help="Record every transition and result in this SQLite file.")
@click.option("--resume", is_flag=True, help="Go on with the run the journal records: done tasks are not run again.")
@click.option("--report", "report_dir", metavar="DIR", help="Write the HTML report of the run into DIR.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON instead of a table.")
@click.option("--partition", "partitions", multiple=True, metavar="NAME=CORES[,GPUS]", help=_PARTITION_HELP)
@click.option(
    "--emulate",
    type=float,
    metavar="SCALE",
    help="Replay a trace: tasks with nothing to run sleep their run time x SCALE (e.g. 0.01), by default on the "
    "machines the trace records.",
)
@click.pass_context
def run(
    ctx: click.Context,
    workflow: str,
    backend: str,
    address: str | None,
    platform: str | None,
    mode: str | None,
    policy: str | None,
    journal: str | None,
    resume: bool,
    report_dir: str | None,
    as_json: bool,
    partitions: tuple[str, ...],
    emulate: float | None,
) -> None:
    """Run WORKFLOW for real: each task runs its command or function on this machine (or the backend's).

    Exit status: 0 when every task is done, 1 when some failed or were skipped, 2 on bad input.
    """
    from rich.console import Console

    from hetflow.report import print_table
    from hetflow.runtime import Session
    from hetflow.spec.load import load_platform, load_workflow, recorded_platform

    report_path = output_dir(report_dir, "--report")
    wf = load_workflow(workflow)
    if emulate is not None:
        wf = wf.emulated(emulate)
    pf = load_platform(platform) if platform is not None else None
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
    session = Session(backend, platform=pf, mode=mode, policy=policy, journal=journal, resume=resume, **options)
    try:
        session.check_workflow(wf)  # before the journal records a run
    except HetflowError:
        session.close()
        raise
    with session:
        r = session.submit_workflow(wf)
        _follow(session, r, wf.n_tasks, err)
    result = r.result()
    if report_path is not None:
        from hetflow.report import write_report

        write_report([result], report_path)
    if as_json:
        summary = result.summary()
        summary.update(
            failed=len(r.failed),
            skipped=sum(n for _, n, _ in r.skipped),
            kept=r.kept,
            journal=journal,
        )
        click.echo(json.dumps([summary], indent=2))
    else:
        console = Console(highlight=False, width=None if sys.stdout.isatty() else 140)
        print_table([result], console)
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
