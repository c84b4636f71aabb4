"""The command line. Commands join the group `main` (`@main.command()`); the group's error handling covers them all.

Any HetflowError ends the command with one line on stderr, `error: <file>: <place>: <problem> (fix: ...)`, and exit
status 2; the global `--debug` shows the traceback instead.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.text import Text

from hetflow.core.modes import MODES, make_gate
from hetflow.errors import HetflowError, SpecError
from hetflow.policies import POLICIES, make_policy
from hetflow.report import print_table, write_report
from hetflow.sim.simulator import run_simulation
from hetflow.spec import Platform, Workflow, load_platform, load_workflow, recorded_platform
from hetflow.spec.resources import format_memory

EXIT_BAD_INPUT = 2
_LABEL = 15


class HetflowGroup(click.Group):
    """A command group that turns a HetflowError into one line and exit status 2, unless --debug is given."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except HetflowError as exc:
            if ctx.params.get("debug"):
                raise
            text = exc.line() if isinstance(exc, SpecError) else str(exc)
            click.echo("error: " + " ".join(text.split()), err=True)
            ctx.exit(EXIT_BAD_INPUT)


@click.group(cls=HetflowGroup)
@click.option("--debug", is_flag=True, help="Show the traceback of an error instead of one line.")
@click.version_option(package_name="hetflow")
def main(debug: bool) -> None:
    """hetflow: run and simulate workflows of heterogeneous tasks."""


def load_inputs(workflow: str, platform: str | None) -> tuple[Workflow, Platform | None]:
    """The workflow, and the platform given, else the machines a WfFormat workflow file records, else None."""
    wf = load_workflow(workflow)
    return wf, load_platform(platform) if platform is not None else recorded_platform(workflow)


def _names(names: Sequence[str], limit: int = 8) -> str:
    more = len(names) - limit
    return ", ".join(names[:limit]) + (f", … (+{more})" if more > 0 else "")


def _path(names: Sequence[str], limit: int = 8) -> str:
    if len(names) > limit:
        names = [*names[:4], f"… ({len(names) - 7} more)", *names[-3:]]
    return " -> ".join(names)


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _line(console: Console, label: str, value: str) -> None:
    console.print(Text.assemble((f"{label:<{_LABEL}}", "bold"), value))


def _describe(p: Platform) -> str:
    memory = sum(t.count * t.memory for t in p.node_types)
    parts = [_count(p.n_nodes, "node"), _count(p.cores, "core"), f"{p.gpus:,g} GPUs"]
    if memory:
        parts.append(format_memory(memory))
    return f"{p.name}: " + ", ".join(parts)


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
    console = Console(soft_wrap=True, highlight=False)
    _line(console, "workflow", f"{wf.name}  ({workflow})")
    _line(console, "tasks", f"{_count(wf.n_tasks, 'task')} in {_count(len(wf), 'set')}, {_count(a.n_levels, 'level')}")
    shared = set(a.shared)
    groups = [(k, v) for k, v in a.workloads.items() if not (k in shared and v == (k,))]
    for i, (name, members) in enumerate(groups[:10]):
        _line(console, "workloads" if i == 0 else "", f"{name} = {{{_names(members)}}}")
    if len(groups) > 10:
        _line(console, "", f"… and {len(groups) - 10} more workloads")
    _line(console, "shared", _names(a.shared) if a.shared else "none")
    _line(console, "critical path", f"{_path(a.critical_path)}  ({a.critical_path_s:,.1f} s)")
    core_s, gpu_s = wf.work()
    _line(console, "work", f"{core_s:,.0f} core-s, {gpu_s:,.0f} GPU-s")
    if pf is None:
        _line(console, "platform", "none (give --platform for a lower bound and a fit check)")
        return
    origin = pf.source if platform is not None else "recorded in the workflow file"
    _line(console, "platform", f"{_describe(pf)}  ({origin})")
    _line(console, "lower bound", f"{pf.lower_bound(wf):,.1f} s")
    _line(console, "fit", "every task set fits on some node")


@main.command()
@click.argument("workflow")
@click.option(
    "--platform", "-p", "platform", metavar="P", help="Platform file (default: the machines a WfFormat file records)."
)
@click.option("--mode", default="task", show_default=True, help="sync, workload, task, or all three.")
@click.option("--policy", default="fifo", show_default=True, help=f"{', '.join(POLICIES)}, or all of them.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per mode and policy instead of a table.")
@click.option("--report", "report_dir", metavar="DIR", help="Write DIR/index.html with utilization and Gantt plots.")
@click.option("--trace", "trace_file", metavar="FILE", help="Write one JSON line per task (id, set, node, start, ...).")
def simulate(
    workflow: str,
    platform: str | None,
    mode: str,
    policy: str,
    as_json: bool,
    report_dir: str | None,
    trace_file: str | None,
) -> None:
    """Predict how WORKFLOW runs on a platform: makespan, bound, CPU and GPU utilization per mode and policy."""
    modes = list(MODES) if mode == "all" else [mode]
    policies = list(POLICIES) if policy == "all" else [policy]
    for m in modes:
        make_gate(m)  # an unknown name ends here with the valid ones listed
    for p in policies:
        make_policy(p)
    wf, pf = load_inputs(workflow, platform)
    if pf is None:
        raise SpecError(
            "no platform to simulate on", source=workflow, fix="give --platform P (native workflows record no machines)"
        )
    results = [run_simulation(wf, pf, m, p) for p in policies for m in modes]
    if as_json:
        click.echo(json.dumps([r.summary() for r in results], indent=2))
    else:
        print_table(results, Console(highlight=False, width=None if sys.stdout.isatty() else 140))
    if trace_file is not None:
        with Path(trace_file).open("w") as f:
            for r in results:
                for row in r.task_records():
                    f.write(json.dumps({"mode": r.mode, "policy": r.policy, **row}) + "\n")
    if report_dir is not None:
        index = write_report(results, Path(report_dir))
        click.echo(f"report: {index}", err=as_json)
