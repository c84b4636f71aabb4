"""`hetflow calibrate`: fit the overheads a real backend adds, from the journals of its runs."""

from __future__ import annotations

import json

import click

from hetflow.cli.group import main, output_file


@main.command()
@click.argument("journals", nargs=-1, required=True, metavar="JOURNAL...")
@click.option("--backend", default="local", show_default=True, help="The backend the journals' runs used (a label).")
@click.option("--out", "out_file", metavar="FILE", help="Write the calibration to FILE (.yaml/.yml: YAML, else JSON).")
@click.option("--json", "as_json", is_flag=True, help="Print the calibration as JSON instead of a line.")
def calibrate(journals: tuple[str, ...], backend: str, out_file: str | None, as_json: bool) -> None:
    """Fit a backend's startup, per-launch latency and per-task overhead from the journals of real runs (means over
    their tasks); `hetflow simulate --calibration FILE` then adds them to every simulated launch."""
    from hetflow.predict.calibration import fit_calibration, save_calibration

    out = output_file(out_file, "--out")
    cal = fit_calibration(journals, backend)
    if out is not None:
        save_calibration(cal, out)
    if as_json:
        click.echo(json.dumps(cal.as_dict(), indent=2))
    else:
        click.echo(cal.line())
        if out is not None:
            click.echo(f"written to {out}")
