"""`hetflow simulate`: predict a run on a platform, per mode and policy, as a table, JSON, a trace or a report."""

from __future__ import annotations

import json
import sys

import click

from hetflow.cli.group import PARTITION_HELP, load_inputs, main, note, output_dir, output_file, partition_option
from hetflow.cli.progress import every_option, simulation_ticker, warn_long
from hetflow.cli.validate import recorded_speeds_of
from hetflow.errors import SpecError
from hetflow.terminal import RegistryOption, policy_names


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
@click.option("--partition", "partitions", multiple=True, metavar="NAME=CORES[,GPUS]", help=PARTITION_HELP)
@click.option(
    "--calibration", "calibration_file", metavar="FILE", help="Add a backend's fitted overheads (hetflow calibrate)."
)
@every_option
def simulate(
    workflow: str,
    platform: str | None,
    mode: str,
    policy: str,
    as_json: bool,
    report_dir: str | None,
    trace_file: str | None,
    partitions: tuple[str, ...],
    every: float,
    calibration_file: str | None,
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
    speeds = recorded_speeds_of(workflow) if platform is None else None
    if speeds is not None:
        note(f"speeds: {speeds} (--platform P sets others)")
    calibration = None
    if calibration_file is not None:
        from hetflow.predict.calibration import load_calibration

        calibration = load_calibration(calibration_file)
        note(calibration.line())
    warn_long(wf, pf)
    results = [
        run_simulation(
            wf,
            pf,
            m,
            p,
            partitions=shares,
            check=simulation_ticker(every, f"{m}/{p}", wf.n_tasks),
            calibration=calibration,
        )
        for p in policies
        for m in modes
    ]
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
        if as_json:
            note(f"report: {index}")
        else:
            click.echo(f"report: {index}")
