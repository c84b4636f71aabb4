"""`hetflow predict`: forecast each task set's run time from the history store, and the makespan with an interval by
simulating the workflow over the forecast distributions."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING

import click

from hetflow.cli.group import load_inputs, main
from hetflow.errors import SpecError

if TYPE_CHECKING:
    from hetflow.predict import Forecast
    from hetflow.spec import Workflow

HISTORY_HELP = "Folder of the history store (history.db; default ~/.hetflow)."


def with_forecasts(wf: Workflow, forecasts: dict[str, Forecast]) -> Workflow:
    """The workflow with each set's run time the forecast law (its median the estimate; variants scaled alike); a
    set forecast from what it declares keeps its own law."""
    sets = []
    for s in wf.sets:
        if forecasts[s.name].basis == "declared":
            sets.append(s)
            continue
        dist = forecasts[s.name].distribution()
        factor = dist.median / s.runtime if s.runtime > 0 else 1.0
        variants = tuple(replace(v, runtime=v.runtime * factor) for v in s.variants)
        sets.append(replace(s, runtime=dist.median, runtime_dist=dist, variants=variants))
    return type(wf)(wf.name, tuple(sets), wf.source, wf.outside)


@main.command()
@click.argument("workflow")
@click.option("--platform", "-p", "platform", metavar="P", help="Platform file (default: a WfFormat file's machines).")
@click.option("--history", "history", metavar="DIR", help=HISTORY_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the forecast as JSON.")
@click.option("--repeat", type=click.IntRange(min=1), default=200, show_default=True, help="Simulations to run.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the run-time draws.")
def predict(workflow: str, platform: str | None, history: str | None, as_json: bool, repeat: int, seed: int) -> None:
    """Forecast WORKFLOW from the runs it has seen: each set's run time (p10, p50, p90) and its basis (model: a
    regression on the history; history: the key's own percentiles; declared: no history), and the makespan."""
    import numpy as np

    from hetflow.predict import HistoryStore, set_forecasts, wfformat_keys
    from hetflow.spec.load import is_wfformat, read_document

    wf, pf = load_inputs(workflow, platform)
    if pf is None:
        raise SpecError(
            "no platform to simulate on", source=workflow, fix="give --platform P (native workflows record no machines)"
        )
    data = read_document(workflow)
    keys = wfformat_keys(data) if is_wfformat(data) else {}
    forecasts = dict(set_forecasts(HistoryStore(history), wf, keys))
    from hetflow.sim.montecarlo import makespans, simulate_many

    spans = np.array(makespans(simulate_many(with_forecasts(wf, forecasts), pf, repeat=repeat, seed=seed)))
    p10, p50, p90 = (round(float(v), 6) for v in np.quantile(spans, (0.1, 0.5, 0.9)))
    out = {
        "makespan_s": {"p10": p10, "p50": p50, "p90": p90},
        "sets": [
            {"set": name, "key": f.key, "runtime_s": f.as_dict(), "basis": f.basis} for name, f in forecasts.items()
        ],
    }
    if as_json:
        click.echo(json.dumps(out, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    from hetflow.terminal import human_duration

    table = Table("set", "key", "p10", "p50", "p90", "basis", "runs seen")
    for name, f in forecasts.items():
        times = (human_duration(v) for v in (f.p10, f.p50, f.p90))
        table.add_row(name, f.key, *times, f.basis, str(f.n))
    console = Console(highlight=False)
    console.print(table)
    console.print(
        f"makespan on {pf.name}: {human_duration(p50)} (80%: {human_duration(p10)} - {human_duration(p90)}, "
        f"{repeat} simulations, seed {seed})"
    )
