"""`hetflow validate`: check a workflow and platform and summarize them, before numpy or the runtime load."""

from __future__ import annotations

import sys
from functools import partial

import click

from hetflow.cli.flow import FUNCTIONS_HELP, SIDE_HELP
from hetflow.cli.group import main
from hetflow.errors import SpecError
from hetflow.terminal import describe_platform, echo_line, human_duration, name_list, path_text, plural, styled


@main.command()
@click.argument("workflow")
@click.option(
    "--platform", "-p", "platform", metavar="P", help="Platform file (default: the machines a WfFormat file records)."
)
@click.option("--functions", "functions_module", metavar="MODULE", help=FUNCTIONS_HELP)
@click.option("--side", metavar="FILE", help=SIDE_HELP)
def validate(workflow: str, platform: str | None, functions_module: str | None, side: str | None) -> None:
    """Check a workflow and platform, and summarize them.

    Prints the tasks, sets and levels of WORKFLOW, its workloads and shared ancestors, its critical path and its
    work, and with a platform the lower bound on the makespan and whether every task fits on some node. Every
    `function:` is imported (its module's code runs) to check that it names a callable.

    A SeBS-Flow definition (root and states) is checked with its functions (--functions) and side file (--side).
    """
    from hetflow.spec.functions import check_functions
    from hetflow.spec.load import load_definition, load_platform, recorded_platform
    from hetflow.spec.workflow import Workflow

    defn = load_definition(workflow)
    if not isinstance(defn, Workflow):
        from hetflow.cli.flow import validate_flow

        validate_flow(defn, workflow, functions_module, side, platform)
        return
    if functions_module is not None or side is not None:
        raise SpecError("--functions and --side are for SeBS-Flow definitions", source=workflow, fix="remove them")
    wf = defn
    pf = load_platform(platform) if platform is not None else recorded_platform(workflow)
    a = wf.analysis
    if pf is not None:
        pf.check_fits(wf)
    check_functions(wf)
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
    functions = sorted({s.function for s in wf.sets if s.function is not None})
    if functions:
        say("functions", f"{plural(len(functions), 'function')}, each importable and callable")
    if pf is None:
        say("platform", "none (give --platform for a lower bound and a fit check)")
        return
    origin = pf.source if platform is not None else "recorded in the workflow file"
    say("platform", f"{describe_platform(pf)}  ({origin})")
    speeds = recorded_speeds_of(workflow) if platform is None else None
    if speeds is not None:
        say("speeds", speeds)
    bound = pf.lower_bound(wf)
    say("lower bound", f"{bound:,.1f} s" + (f" ({human_duration(bound)})" if bound >= 60 else ""))
    say("fit", "every task set fits on some node")


def recorded_speeds_of(workflow: str) -> str | None:
    """The speeds a WfFormat file's recorded machines get (None for a native workflow or no machines)."""
    from hetflow.spec.load import is_wfformat, read_document
    from hetflow.spec.wfformat import recorded_speeds

    data = read_document(workflow)
    return recorded_speeds(data, workflow) if is_wfformat(data) else None
