"""`hetflow simulate`: predict a run on a platform, per mode and policy, as a table, JSON, a trace or a report; with
--repeat N, the distribution of the makespan over N Monte Carlo runs (run times drawn from their distributions)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from hetflow.cli.flow import SIDE_HELP, flow_inputs
from hetflow.cli.footprint import Accounting, footprint_lines, sites_options
from hetflow.cli.group import PARTITION_HELP, main, note, output_dir, output_file, partition_option
from hetflow.cli.progress import every_option, simulation_ticker, warn_long
from hetflow.cli.siting import placement_options, site_policy
from hetflow.cli.validate import recorded_speeds_of
from hetflow.errors import SpecError
from hetflow.terminal import RegistryOption, policy_names

if TYPE_CHECKING:
    from hetflow.spec.platform import Platform
    from hetflow.spec.workflow import Workflow
    from hetflow.stats import Summary


@main.command()
@click.argument("workflow")
@click.option(
    "--platform", "-p", "platform", metavar="P", help="Platform file (default: the machines a WfFormat file records)."
)
@click.option("--mode", default="task", show_default=True, help="sync, workload, task, or all three.")
@click.option(
    "--policy", cls=RegistryOption, listing=policy_names, default="fifo", show_default=True, help="{}, or all of them."
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print one JSON object per mode and policy instead of a table (--repeat: the samples hetflow compare reads).",
)
@click.option(
    "--report",
    "report_dir",
    metavar="DIR",
    help="Write DIR/index.html with utilization and Gantt plots (--repeat: and a histogram of the makespans).",
)
@click.option("--trace", "trace_file", metavar="FILE", help="Write one JSON line per task (id, set, node, start, ...).")
@click.option("--partition", "partitions", multiple=True, metavar="NAME=CORES[,GPUS]", help=PARTITION_HELP)
@click.option("--repeat", type=int, metavar="N", help="Run N Monte Carlo simulations; report the makespan's spread.")
@click.option("--seed", type=int, metavar="S", help="Seed of the drawn run times (same seed, same schedule).")
@click.option("--workers", type=int, metavar="W", help="Processes for --repeat (default: one per core).")
@click.option(
    "--calibration", "calibration_file", metavar="FILE", help="Add a backend's fitted overheads (hetflow calibrate)."
)
@click.option("--side", metavar="FILE", help=SIDE_HELP)
@click.option(
    "--no-flat",
    "flat",
    flag_value=False,
    default=True,
    help="Simulate with the engine even where the flat kernel of one-task sets would (same schedule; to compare).",
)
@sites_options
@placement_options
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
    repeat: int | None,
    seed: int | None,
    workers: int | None,
    calibration_file: str | None,
    side: str | None,
    flat: bool,
    sites_file: str | None,
    start: str | None,
    deadline: str | None,
    max_slowdown: float,
) -> None:
    """Predict how WORKFLOW runs on a platform: makespan, bound, CPU and GPU utilization per mode and policy (with
    --sites: on every site's nodes, and the energy and carbon of each run)."""
    from hetflow.core.modes import MODES, make_gate
    from hetflow.core.partitions import parse_shares
    from hetflow.policies import POLICIES, SITE_POLICIES, make_policy
    from hetflow.sim.simulator import run_simulation

    modes = list(MODES) if mode == "all" else [mode]
    policies = list(POLICIES) if policy == "all" else [policy]
    for m in modes:
        make_gate(m)  # an unknown name ends here with the valid ones listed
    for p in policies:
        if sites_file is None or p not in SITE_POLICIES:
            make_policy(p)
    trace_path, report_path = output_file(trace_file, "--trace"), output_dir(report_dir, "--report")
    if sites_file is not None and platform is not None:
        raise SpecError("--sites and --platform both given", place="--sites", fix="give one: the sites hold platforms")
    wf, pf = flow_inputs(workflow, platform, side)  # a SeBS-Flow definition: unrolled as --side assumes
    accounting = Accounting(sites_file, start) if sites_file is not None else None
    if accounting is not None:
        pf = accounting.sites.platform()
    elif start is not None:
        raise SpecError("--start without --sites", place="--start", fix="give --sites SITES (their carbon intensity)")
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
    if repeat is not None:
        if accounting is not None:
            raise SpecError("--repeat does not account carbon", place="--sites", fix="simulate once per --seed")
        repeated(wf, pf, modes, policies, (repeat, seed, workers), as_json, report_path, bool(trace_path or shares))
        return
    warn_long(wf, pf)
    seed = drawn_seed(wf, pf, seed)
    knobs = (deadline, max_slowdown)
    results = [
        run_simulation(
            wf,
            pf,
            m,
            p if accounting is None else site_policy(p, wf, accounting, m, knobs),
            links=None if accounting is None else accounting.sites,
            partitions=shares,
            progress=simulation_ticker(every, f"{m}/{p}", wf.n_tasks),
            flat=flat,
            calibration=calibration,
            seed=seed,
        )
        for p in policies
        for m in modes
    ]
    footprints = [accounting.footprint(r) for r in results] if accounting is not None else []
    if as_json:
        rows = [r.summary() for r in results]
        for row, fp in zip(rows, footprints, strict=False):
            row.update(fp.summary())
        click.echo(json.dumps(rows, indent=2))
    else:  # (rich only for a table: a tenth of a --json run's start-up)
        from rich.console import Console

        from hetflow.report import print_table

        print_table(results, Console(highlight=False, width=None if sys.stdout.isatty() else 140))
        for line in footprint_lines(results, footprints) if footprints else ():
            click.echo(line)
    if trace_path is not None:
        with trace_path.open("w") as f:
            for k, r in enumerate(results):
                energy = footprints[k].per_task() if footprints else None
                for i, row in enumerate(r.task_records()):
                    extra = {"energy_kwh": energy[0][i], "carbon_g": energy[1][i]} if energy is not None else {}
                    f.write(json.dumps({"mode": r.mode, "policy": r.policy, **row, **extra}) + "\n")
    if report_path is not None:
        from hetflow.report import write_report  # matplotlib: a third of a second, only for a report

        panels = [accounting.panel(r, f) for r, f in zip(results, footprints, strict=True)] if accounting else None
        index = write_report(results, report_path, carbon=panels)
        if as_json:
            note(f"report: {index}")
        else:
            click.echo(f"report: {index}")


def repeated(
    wf: Workflow,
    pf: Platform,
    modes: list[str],
    policies: list[str],
    runs: tuple[int, int | None, int | None],
    as_json: bool,
    report_path: Path | None,
    other_options: bool,
) -> None:
    """`simulate --repeat N`: N runs, each with a seed spawned from --seed, described by hetflow.stats; --json prints
    the samples document `hetflow compare` reads; --report adds a histogram, beside the run of the median makespan."""
    from hetflow.sim.montecarlo import makespans, run_seeds, simulate_many
    from hetflow.sim.sampling import varies
    from hetflow.stats import describe, samples_document

    repeat, seed, workers = runs
    if len(modes) != 1 or len(policies) != 1:
        raise SpecError(
            "--repeat takes one mode and one policy", place="--repeat", fix="run once per policy and `hetflow compare`"
        )
    if other_options:
        raise SpecError(
            "--repeat does not write traces nor take partitions",
            place="--repeat",
            fix="replay one run with --seed (its seed is in --json) and --trace",
        )
    (mode,), (policy,) = modes, policies
    root = run_seeds(seed, 0)[0]  # a seed of None is drawn here, so that it can be printed and the runs replayed
    if not varies(wf, pf):
        note("nothing varies (no runtime distribution, no speed_jitter): every run gives the same makespan")
    runs_done = simulate_many(wf, pf, mode, policy, repeat, root, workers)
    values = makespans(runs_done)
    summary = describe(values)
    if as_json:
        doc = samples_document(
            {"makespan_s": values},
            source="simulate",
            workflow=wf.name,
            platform=pf.name,
            mode=mode,
            policy=policy,
            repeat=repeat,
            seed=root,
        )
        click.echo(json.dumps(doc, indent=2))
    else:
        print_summary(summary, f"{wf.name} on {pf.name}, {mode}/{policy}, {repeat} runs, seed {root}")
    if report_path is not None:
        from hetflow.report import write_report
        from hetflow.sim.simulator import run_simulation

        typical = min(runs_done, key=lambda r: (abs(r.makespan_s - summary.median), r.seed))
        marks = {"p10": summary.percentiles["p10"], "median": summary.median, "p90": summary.percentiles["p90"]}
        result = run_simulation(wf, pf, mode, policy, seed=typical.seed)
        index = write_report([result], report_path, (values, marks))
        (note if as_json else click.echo)(f"report: {index} (the run shown: seed {typical.seed}, the median's nearest)")


def drawn_seed(wf: Workflow, pf: Platform, seed: int | None) -> int | None:
    """The seed of one simulation whose run times vary: the one given, else one drawn now and said, to replay it."""
    from hetflow.sim.sampling import varies

    if seed is None and varies(wf, pf):
        from hetflow.sim.montecarlo import run_seeds

        seed = run_seeds(None, 0)[0]
        note(f"run times drawn with --seed {seed} (give it to see this run again)")
    return seed


def print_summary(summary: Summary, title: str) -> None:
    """The description of a sample of makespans as a table: mean and median with their intervals, percentiles, and
    whether normality holds, in words (which of the two intervals to trust)."""
    from rich.console import Console
    from rich.table import Table

    pct = round(summary.confidence * 100)

    def interval(ci: tuple[float, float] | None) -> str:
        return f"[{ci[0]:.6g}, {ci[1]:.6g}]" if ci is not None else "(too few runs)"

    p = summary.percentiles
    table = Table(title=title, title_justify="left")
    table.add_column("makespan (s)")
    table.add_column("value", justify="right")
    table.add_column(f"{pct}% interval")
    table.add_row("mean", f"{summary.mean:.6g}", interval(summary.mean_ci) + " Student t")
    table.add_row("median", f"{summary.median:.6g}", interval(summary.median_ci) + " order statistics")
    table.add_row("p10 / p50 / p90", f"{p['p10']:.6g} / {p['p50']:.6g} / {p['p90']:.6g}", "")
    table.add_row("std (cv)", f"{summary.std:.6g} ({summary.cv:.3g})", "")
    table.add_row("min / max", f"{summary.min:.6g} / {summary.max:.6g}", "")
    p_value = "-" if summary.normality_p is None else f"p = {summary.normality_p:.3g}"
    table.add_row("normality", p_value, normality_words(summary))
    Console(highlight=False, width=None if sys.stdout.isatty() else 140).print(table)


def normality_words(summary: Summary) -> str:
    """Whether the makespans look normal, and so which interval to read, in plain words."""
    test = summary.normality_test
    if summary.normality_p is None:
        return "not testable (fewer than 3 runs, or all equal)"
    if summary.normal:
        return f"looks normal ({test}): the mean's interval holds"
    return f"not normal ({test}): read the median and its interval"
