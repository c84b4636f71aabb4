"""SeBS-Flow definitions on the command line: what validate, simulate and run do when the file has root and states.

Not a command of its own: the three commands tell a definition by its shape (spec.load.load_definition) and hand
it here, with --functions MODULE (validate, run), --side FILE (the functions' costs; simulate needs it) and
--input PAYLOAD (run).
"""

from __future__ import annotations

import json
import sys
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from hetflow.cli.group import EXIT_INTERRUPTED, note, output_dir, partition_option
from hetflow.errors import HetflowError, SpecError
from hetflow.terminal import echo_line, plural, styled

if TYPE_CHECKING:
    from hetflow.spec.flowside import FlowSide
    from hetflow.spec.platform import Platform
    from hetflow.spec.sebsflow import Flow
    from hetflow.spec.workflow import Workflow

EXIT_FLOW_FAILED = 1
FUNCTIONS_HELP = "SeBS-Flow definitions: the Python module (a name, or a .py file) whose functions the states name."
SIDE_HELP = "SeBS-Flow definitions: YAML of each function's runtime and resources, assumed array lengths and branches."


def flow_inputs(workflow: str, platform: str | None, side: str | None) -> tuple[Workflow, Platform | None]:
    """What simulate runs: a workflow file as always; a SeBS-Flow definition unrolled with its side file."""
    from hetflow.spec.load import load_definition, load_platform, recorded_platform
    from hetflow.spec.workflow import Workflow

    defn = load_definition(workflow)
    if isinstance(defn, Workflow):
        if side is not None:
            raise SpecError("--side is for SeBS-Flow definitions", source=workflow, place="--side", fix="remove it")
        return defn, load_platform(platform) if platform is not None else recorded_platform(workflow)
    if side is None:
        raise SpecError(
            "a SeBS-Flow definition needs a side file to simulate (run times, array lengths)",
            source=workflow,
            place="--side",
            fix="give --side FILE (docs/usage.md shows its keys)",
        )
    from hetflow.flows.unroll import unrolled
    from hetflow.spec.flowside import load_side

    return unrolled(defn, load_side(side, defn)), load_platform(platform) if platform is not None else None


def state_counts(flow: Flow) -> str:
    """How many states of each type, e.g. "7 states: 4 task, 2 map, 1 switch"."""
    kinds: dict[str, int] = {}
    for _, state in flow.walk():
        kind = type(state).__name__.lower()
        kinds[kind] = kinds.get(kind, 0) + 1
    total = sum(kinds.values())
    return f"{plural(total, 'state')}: " + ", ".join(f"{n} {k}" for k, n in kinds.items())


def validate_flow(flow: Flow, path: str, functions: str | None, side: str | None, platform: str | None) -> None:
    """validate's summary of a definition: states, functions found, and with a side file the unrolled workflow."""
    say = partial(echo_line, styled=styled(sys.stdout))
    if functions is not None:
        from hetflow.flows.functions import flow_functions

        flow_functions(flow, functions)
    costs = None
    if side is not None:
        from hetflow.spec.flowside import load_side

        costs = load_side(side, flow)
    say("flow", f"{flow.name}  ({path}, SeBS-Flow)")
    say("states", state_counts(flow))
    names = sorted(flow.functions())
    found = f", each found in {functions}" if functions is not None else " (not checked: give --functions MODULE)"
    say("functions", f"{plural(len(names), 'function')}{found}")
    if costs is None:
        say("side", "none (give --side FILE to unroll it for simulation and check it fits --platform)")
        return
    from hetflow.flows.unroll import unrolled
    from hetflow.terminal import path_text

    wf = unrolled(flow, costs)
    a = wf.analysis
    say("unrolled", f"{plural(wf.n_tasks, 'task')} in {plural(len(wf), 'set')}, {plural(a.n_levels, 'level')}")
    say("critical path", f"{path_text(a.critical_path)}  ({a.critical_path_s:,.1f} s)")
    if platform is not None:
        from hetflow.spec.load import load_platform

        pf = load_platform(platform)
        pf.check_fits(wf)
        say("lower bound", f"{pf.lower_bound(wf):,.1f} s")
        say("fit", "every function fits on some node")


def read_input(text: str | None) -> Any:
    """The first payload: JSON given inline, or a .json/.yaml file; {} when none."""
    if text is None:
        return {}
    if Path(text).suffix.lower() in (".json", ".yaml", ".yml"):
        from hetflow.spec.load import read_document

        return read_document(text)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(
            f"not JSON: {exc.msg}", place="--input", fix="give JSON such as '{\"n\": 4}', or a .json/.yaml file"
        ) from None


def check_costs(flow: Flow, costs: FlowSide | None, pf: Platform) -> None:
    """FitError (exit 2) before the run when a function's resources fit on no node."""
    if costs is None:
        return
    from hetflow.spec.workflow import TaskSet, Workflow

    sets = [TaskSet(n, 1, c.resources, c.runtime) for n in flow.functions() if (c := costs.cost(n)) is not None]
    pf.check_fits(Workflow(flow.name, tuple(sets), costs.source))


def run_flow_command(ctx: click.Context, flow: Flow, params: dict[str, Any]) -> None:
    """`hetflow run DEFINITION --functions MODULE`: the flow on a Session, its output payload on stdout."""
    from hetflow.flows.functions import flow_functions
    from hetflow.flows.interpreter import FlowRun
    from hetflow.runtime import Session
    from hetflow.spec.flowside import load_side
    from hetflow.spec.load import load_platform

    if params["functions"] is None:
        raise SpecError(
            "a SeBS-Flow definition needs its functions",
            source=flow.source,
            place="--functions",
            fix="give --functions MODULE",
        )
    for option, key in (("--resume", "resume"), ("--emulate", "emulate")):
        if params[key]:
            raise SpecError(f"{option} is not for SeBS-Flow definitions", place=option, fix="remove it")
    report_path = output_dir(params["report_dir"], "--report")
    fns = flow_functions(flow, params["functions"])
    costs = load_side(params["side"], flow) if params["side"] is not None else None
    payload = read_input(params["input_payload"])
    options: dict[str, Any] = {
        "partitions": partition_option(params["partitions"]),
        "dashboard": params["dashboard"],
        "history": params["history"],
    }
    if params["address"] is not None:
        options["address"] = params["address"]
    if params["gpu_sharing"] is not None:
        options["gpu_sharing"] = params["gpu_sharing"]
    pf = load_platform(params["platform"]) if params["platform"] is not None else None
    mode, policy, journal = params["mode"], params["policy"], params["journal"]
    session = Session(params["backend"], platform=pf, mode=mode, policy=policy, journal=journal, **options)
    try:
        check_costs(flow, costs, session.platform)
    except HetflowError:
        session.close()
        raise
    run: FlowRun | None = None
    try:
        session.start()
        run = FlowRun(session, flow, fns, costs).start(payload)
        while True:
            try:
                run.result(0.25)
                break
            except TimeoutError:
                continue
            except HetflowError:
                break
        session.close()
    except KeyboardInterrupt:
        note("interrupted: stopping the tasks that run")
        session.interrupt()
        click.echo(f"interrupted: {plural(run.tasks if run else 0, 'task')} submitted", err=True)
        ctx.exit(EXIT_INTERRUPTED)
    except BaseException:
        session.close(cancel=True)
        raise
    report(session, run, params, report_path)
    if run.future.exception() is not None:
        ctx.exit(EXIT_FLOW_FAILED)


def report(session: Any, run: Any, params: dict[str, Any], report_path: Path | None) -> None:
    """What the run did: its output payload, the states it went through, the tasks, how long (and --report)."""
    result = session.result()
    error = run.future.exception()
    if report_path is not None:
        from hetflow.report import write_report

        write_report([result], report_path)
    if params["as_json"]:
        doc = {
            "flow": run.flow.name,
            "ok": error is None,
            "output": None if error is not None else run.result(),
            "error": None if error is None else str(error),
            "states": run.visited,
            "handled": [{"state": s, "error": e} for s, e in run.handled],
            "tasks": run.tasks,
            "makespan_s": result.makespan_s,
            "journal": params["journal"],
        }
        click.echo(json.dumps(doc, indent=2, default=repr))
        return
    say = partial(echo_line, styled=styled(sys.stdout))
    say("flow", f"{run.flow.name}  ({plural(run.tasks, 'task')}, {result.makespan_s:,.2f} s)")
    say("states", " -> ".join(run.visited[:12]) + (f" … ({len(run.visited)} in all)" if len(run.visited) > 12 else ""))
    for state, why in run.handled:
        say("handled", f"{state}: {why}")
    if error is not None:
        say("failed", str(error))
    else:
        text = json.dumps(run.result(), default=repr)
        say("output", text if len(text) <= 400 else text[:397] + "...")
    if params["journal"] is not None:
        say("journal", params["journal"])
    if report_path is not None:
        say("report", str(report_path / "index.html"))
