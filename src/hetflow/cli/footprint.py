"""The --sites and --start options of the commands that account energy and carbon (simulate, run, report): load the
sites, build each site's intensity from the run's start, and give results their footprints as JSON, lines for the
terminal and the report's carbon plot. A real run starts when it really did (unless --start says otherwise) and is
metered by RAPL (CPUs) and NVML (GPUs) where this machine offers them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import click

from hetflow.cli.group import note

if TYPE_CHECKING:
    from hetflow.metrics.result import RunResult
    from hetflow.report.carbon import CarbonPanel
    from hetflow.sites.energy import Footprint
    from hetflow.sites.intensity import Intensity
    from hetflow.sites.nvml import NvmlMeter
    from hetflow.sites.rapl import RaplMeter
    from hetflow.spec.site import Sites

F = TypeVar("F", bound=Callable[..., Any])
START_HELP = (
    "When the run begins, an ISO datetime such as 2022-06-01T00:00Z, for the carbon intensity (default: a real "
    "run's own start; a simulation's, the start of the first CSV's year)."
)


def sites_options(f: F) -> F:
    """--sites SITES and --start ISO."""
    f = click.option("--start", metavar="ISO", help=START_HELP)(f)
    return click.option(
        "--sites",
        "sites_file",
        metavar="SITES",
        help="Sites file: run on every site's nodes and account energy and carbon (replaces --platform).",
    )(f)


class Accounting:
    """The sites of runs and, per run, when it began (seconds since the epoch) and each site's intensity from then."""

    def __init__(self, sites_file: str, start: str | None) -> None:
        from hetflow.sites.intensity import parse_start
        from hetflow.spec.sites import load_sites

        self.sites: Sites = load_sites(sites_file)
        self.start = parse_start(start) if start is not None else None
        self.meter: RaplMeter | None = None
        self.gpu_meter: NvmlMeter | None = None

    def start_of(self, result: RunResult) -> float:
        """--start, else a real run's own start (its origin is wall-clock time), else the first CSV's year."""
        from hetflow.sites.intensity import default_start

        if self.start is not None:
            return self.start
        return result.origin if result.source == "real" else default_start(self.sites)

    def series(self, start: float) -> dict[str, Intensity]:
        from hetflow.sites.intensity import intensities

        return dict(intensities(self.sites, start))

    def metered(self) -> None:
        """Read this machine's CPU energy from now on, where RAPL is there (a real run on this machine)."""
        from hetflow.sites.rapl import RaplMeter

        meter = RaplMeter()
        if meter.available:
            meter.start()
            self.meter = meter
        else:
            note(f"energy: model (RAPL: {meter.why})")
        if self.sites.platform().gpus:  # GPUs to meter
            from hetflow.sites.nvml import NvmlMeter

            gpus = NvmlMeter()
            if gpus.available:
                gpus.start()
                self.gpu_meter = gpus
            else:
                note(f"energy: GPUs modelled (NVML: {gpus.why})")

    def footprint(self, result: RunResult) -> Footprint:
        """The run's footprint: the model's, or with a meter running, its CPU energy rescaled to what it read."""
        from hetflow.sites.energy import account, share_measured

        start = self.start_of(result)
        measured = measured_gpu = None
        if self.meter is not None:
            measured = share_measured(self.meter.stop(), "rapl", result.intervals, self.sites)
        if self.gpu_meter is not None:
            joules = self.gpu_meter.stop()
            if joules is None:
                note(f"energy: GPUs modelled (NVML: {self.gpu_meter.why})")
            else:
                measured_gpu = share_measured(joules, "nvml", result.intervals, self.sites, gpus=True)
        series = self.series(start)
        return account(result.intervals, self.sites, series, origin=result.origin, start=start, measured=measured,
                       measured_gpu=measured_gpu)  # fmt: skip

    def panel(self, result: RunResult, footprint: Footprint) -> CarbonPanel:
        """What the report's carbon plot draws of one run."""
        from hetflow.report.carbon import CarbonPanel
        from hetflow.sites.energy import nodes_of

        end = max(result.makespan_s, 1e-9)
        steps = {name: s.steps(0.0, end) for name, s in self.series(footprint.start).items()}
        site_of = {name: n.site or "" for name, n in nodes_of(self.sites).items()}
        return CarbonPanel(result, steps, site_of, footprint.summary())


def footprint_lines(results: Sequence[RunResult], footprints: Sequence[Footprint]) -> list[str]:
    """Energy and carbon beside each run's makespan, then per site."""
    out = []
    for r, f in zip(results, footprints, strict=True):
        out.append(
            f"{r.mode}/{r.policy}: makespan {r.makespan_s:,.6g} s, energy {f.energy_kwh:,.6g} kWh, "
            f"carbon {f.carbon_g:,.6g} gCO2eq ({f.power_source})"
        )
        out += [
            f"  {s.site}: {s.energy_kwh:,.6g} kWh, {s.carbon_g:,.6g} gCO2eq, {s.tasks:,} tasks on {s.nodes} nodes"
            for s in f.sites
        ]
    return out
