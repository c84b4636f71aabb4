"""The --sites and --start options of the commands that account energy and carbon (simulate; report of a journal):
load the sites, build each site's intensity for the run's start, and give results their footprints as JSON, lines
for the terminal and the report's carbon plot."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from hetflow.metrics.result import RunResult
    from hetflow.report.carbon import CarbonPanel
    from hetflow.sites.energy import Footprint
    from hetflow.sites.intensity import Intensity
    from hetflow.spec.site import Sites

F = TypeVar("F", bound=Callable[..., Any])
START_HELP = (
    "When the run begins, an ISO datetime such as 2022-06-01T00:00Z (default: the start of the first CSV's year)."
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
    """The sites of a run, when it began (seconds since the epoch) and each site's intensity from then."""

    def __init__(self, sites_file: str, start: str | None) -> None:
        from hetflow.sites.intensity import default_start, intensities, parse_start
        from hetflow.spec.sites import load_sites

        self.sites: Sites = load_sites(sites_file)
        self.start = parse_start(start) if start is not None else default_start(self.sites)
        self.series: dict[str, Intensity] = dict(intensities(self.sites, self.start))

    def footprint(self, result: RunResult, measured: dict[str, tuple[float, str]] | None = None) -> Footprint:
        from hetflow.sites.energy import account

        return account(
            result.intervals, self.sites, self.series, origin=result.origin, start=self.start, measured=measured
        )

    def panel(self, result: RunResult, footprint: Footprint) -> CarbonPanel:
        """What the report's carbon plot draws of one run."""
        from hetflow.report.carbon import CarbonPanel

        end = max(result.makespan_s, 1e-9)
        steps = {name: s.steps(0.0, end) for name, s in self.series.items()}
        site_of = {n.name: n.site or "" for n in self.sites.platform().nodes()}
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
