"""The report's energy and carbon part: per run, the carbon intensity of each site over the run (top) above the
work placed on each site (busy cores, and GPUs dashed, below), in one colour per site; and a table per site of
energy, carbon, unattributed idle, tasks and nodes.

The report does not compute any of it: a CarbonPanel carries what sites/ worked out (intensity steps, the
footprint's summary), so report/ needs nothing of sites/.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from hetflow.metrics.result import RunResult
from hetflow.metrics.utilization import busy_series
from hetflow.report.plots import WIDTH_IN, duration
from hetflow.report.table import title_of

CARBON_PNG = "carbon.png"
HOURS_FROM_S = 3 * 3600.0  # a longer run is drawn in hours
Steps = tuple[np.ndarray, np.ndarray]  # times (s since the run began) and values, each holding until the next


@dataclass(frozen=True)
class CarbonPanel:
    """One run's carbon picture: per site its intensity (gCO2eq/kWh) over the run, which site each node is at, and
    the footprint's summary (sites/energy.py `Footprint.summary()`)."""

    result: RunResult
    steps: Mapping[str, Steps]
    site_of: Mapping[str, str]
    footprint: Mapping[str, Any]


def site_colors(panels: Sequence[CarbonPanel]) -> dict[str, str]:
    names = dict.fromkeys(name for p in panels for name in p.steps)
    cmap = colormaps["tab10"]
    return {n: to_hex(cmap(i % cmap.N)) for i, n in enumerate(names)}


def carbon_figure(panels: Sequence[CarbonPanel]) -> Figure:
    """Two axes per run, on a shared time axis (hours past HOURS_FROM_S): intensity per site, and busy cores per site
    (busy GPUs dashed, on the right axis)."""
    colors = site_colors(panels)
    end = max(p.result.makespan_s for p in panels)
    scale = 3600.0 if end > HOURS_FROM_S else 1.0
    fig = Figure(figsize=(WIDTH_IN, 0.8 + 4.2 * len(panels)), layout="constrained")
    axes = fig.subplots(2 * len(panels), 1, sharex=True, squeeze=False)[:, 0]
    gpus = False
    for k, p in enumerate(panels):
        top, bottom = axes[2 * k], axes[2 * k + 1]
        for site, (times, values) in p.steps.items():
            top.step(times / scale, values, where="post", color=colors[site], linewidth=1.6)
        top.set_ylabel("gCO2eq/kWh")
        top.set_ylim(bottom=0)
        fp = p.footprint
        top.set_title(
            f"{p.result.heading}: makespan {duration(p.result.makespan_s)}, {fp['energy_kwh']:.4g} kWh, "
            f"{fp['carbon_g']:.4g} gCO2eq ({fp['power_source']})",
            loc="left",
            fontsize=10,
        )
        r = p.result
        right = bottom.twinx() if any(iv.gpu_units for iv in r.intervals) else None
        for site in p.steps:
            mine = [iv for iv in r.intervals if p.site_of.get(iv.node) == site]
            if not mine:
                continue
            c = busy_series(mine)
            times, values = _closed(c.times - r.origin, c.values, r.makespan_s)
            bottom.step(times / scale, values, where="post", color=colors[site])
            if right is not None and any(iv.gpu_units for iv in mine):
                g = busy_series(mine, gpus=True)
                times, values = _closed(g.times - r.origin, g.values, r.makespan_s)
                right.step(times / scale, values, where="post", color=colors[site], linestyle="--")
        bottom.set_ylabel("busy cores")
        bottom.set_ylim(bottom=0)
        if right is not None:
            right.set_ylabel("busy GPUs (dashed)")
            right.set_ylim(bottom=0)
            gpus = True
    axes[-1].set_xlabel("time (h)" if scale > 1 else "time (s)")
    handles = [Line2D([], [], color=c, linewidth=2, label=s) for s, c in colors.items()]
    if gpus:
        handles.append(Line2D([], [], color="0.3", linestyle="--", label="busy GPUs"))
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 6), frameon=False)
    fig.suptitle(f"Carbon intensity per site and the work placed there: {title_of([p.result for p in panels])}")
    return fig


def _closed(times: np.ndarray, values: np.ndarray, end: float) -> Steps:
    """A busy series drawn from 0 to the run's end."""
    return np.concatenate(([0.0], times, [end])), np.concatenate(([0.0], values, values[-1:]))


def carbon_section(panels: Sequence[CarbonPanel]) -> str:
    """The HTML of the energy and carbon part: the plot, then per run a table of its sites."""
    header = ("site", "energy kWh", "carbon gCO2eq", "idle kWh (no task)", "tasks", "nodes", "power")
    parts = [
        "<h2>Energy and carbon</h2>",
        f'<img src="{CARBON_PNG}" alt="carbon intensity per site over each run, and the cores busy at each site">',
    ]
    for p in panels:
        fp = p.footprint
        rows = [
            (
                site,
                f"{s['energy_kwh']:.6g}",
                f"{s['carbon_g']:.6g}",
                f"{s['idle_kwh']:.6g}",
                str(s["tasks"]),
                str(s["nodes"]),
                s["power_source"],
            )
            for site, s in fp["sites"].items()
        ]
        rows.append(("total", f"{fp['energy_kwh']:.6g}", f"{fp['carbon_g']:.6g}", "", "", "", fp["power_source"]))
        head = "".join(f"<th>{escape(h)}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
        parts.append(f"<h3>{escape(p.result.heading)} (start {escape(str(fp['start']))})</h3>")
        parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    return "\n".join(parts)
