"""Plots of runs, one panel per result on a shared time axis: busy cores and GPUs over time, and task sets (Gantt).

Figures are plain `matplotlib.figure.Figure` objects rendered by Agg; pyplot and its global state are never touched.
Every panel holds a fixed number of artists whatever the number of tasks (step series are numpy arrays, the Gantt bars
of a panel are one PolyCollection, its failed attempts another), so runs of a million tasks plot in seconds.
Names are drawn through fonts.drawable (any script, no missing-glyph warnings); a run under a second is drawn in ms.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter
from matplotlib.typing import LineStyleType

from hetflow.metrics.outcomes import STATUSES
from hetflow.metrics.result import RunResult, SetSpan
from hetflow.metrics.utilization import StepSeries
from hetflow.report.fonts import drawable, plot_fonts
from hetflow.report.table import title_of
from hetflow.report.transfers import draw_transfers, transfer_patch

CORES_COLOR = "tab:blue"
GPUS_COLOR = "tab:orange"
OTHER_COLOR = "0.6"  # sets without a workload (added while running)
WIDTH_IN = 11.0
MAX_STEPS = 5000  # a longer busy series is averaged over this many bins
MAX_LABELLED_SETS = 40  # above this many sets a Gantt panel drops its per-set labels
MAX_LEGEND_WORKLOADS = 20
FAILED_COLOR = "#d62828"
FAILED_HATCH = "////"
MS_BELOW_S = 1.0  # a time axis that ends before this many seconds is drawn in milliseconds
MARK_COLORS = {
    "trigger": "#7b2cbf",
    "resize": "#e36414",
    "interrupted": FAILED_COLOR,
    "run-end": "0.35",
    "resume": "#2a9d8f",
}
MARK_NAMES = {
    "trigger": "trigger fired",
    "resize": "partitions resized",
    "interrupted": "run interrupted",
    "run-end": "run ended",
    "resume": "run resumed",
}
MARK_STYLES: dict[str, LineStyleType] = {"interrupted": "-", "resume": "--"}
MARK_CLOSE = 0.03  # marks closer than this fraction of the time axis get their numbers staggered


def _plain(text: str) -> str:
    """Text that matplotlib draws as it is: a pair of $ would start math mode, and a character that no installed
    font has becomes a box (fonts.drawable) instead of a warning."""
    return drawable(text).replace("$", r"\$")


def duration(seconds: float) -> str:
    """A makespan as people read it: 312 ms, 3.25 s, 1,800 s."""
    if seconds < MS_BELOW_S:
        return f"{seconds * 1000:,.3g} ms"
    return f"{seconds:,.3g} s" if seconds < 100 else f"{seconds:,.0f} s"


def _time_axis(ax: Axes, end: float) -> None:
    """Label the time axis in seconds, or in milliseconds when it ends before MS_BELOW_S."""
    if end < MS_BELOW_S:
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x * 1000:g}"))
        ax.set_xlabel("time (ms)")
    else:
        ax.set_xlabel("time (s)")


def _horizon(makespans: Sequence[float]) -> float:
    """The common x-axis end: the longest makespan plus a margin."""
    if not makespans:
        raise ValueError("nothing to plot: no results")
    return max(max(makespans), 1e-9) * 1.02


def _panel_title(r: RunResult, makespan: float, extra: str = "", named: bool = False) -> str:
    """The panel's run; named: the results are of several workflows, so the workflow's name comes first (unless the
    run has a label of its own)."""
    who = f"{r.workflow.name}, " if named and not r.label else ""
    return _plain(f"{who}{r.heading}: makespan {duration(makespan)}{extra}")


def _several(results: Sequence[RunResult]) -> bool:
    return len({r.workflow.name for r in results}) > 1


def _bin_means(t: np.ndarray, v: np.ndarray, end: float, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """The step function (t[0] == 0) averaged over `bins` equal bins of [0, end]; areas, hence utilization, are kept."""
    area = np.concatenate(([0.0], np.cumsum(v[:-1] * np.diff(t))))
    edges = np.linspace(0.0, end, bins + 1)
    i = np.searchsorted(t, edges, side="right") - 1
    cumulative = area[i] + v[i] * (edges - t[i])
    return edges[:-1], np.diff(cumulative) / np.diff(edges)


def _steps(series: StepSeries, end: float) -> tuple[np.ndarray, np.ndarray]:
    """The series from time 0 (idle before its first time) to `end`, ready for a steps-post plot.

    A series of more than MAX_STEPS steps is averaged over MAX_STEPS bins, several per pixel, to keep drawing fast.
    """
    t, v = np.concatenate(([0.0], series.times)), np.concatenate(([0.0], series.values))
    if len(t) > MAX_STEPS:
        t, v = _bin_means(t, v, end, MAX_STEPS)
    return np.append(t, end), np.append(v, v[-1])


def _draw_busy(ax: Axes, series: StepSeries, end: float, capacity: float, color: str, fill: bool) -> None:
    t, v = _steps(series, end)
    if fill:
        ax.fill_between(t, v, step="post", color=color, alpha=0.2, linewidth=0)
    ax.plot(t, v, drawstyle="steps-post", color=color, linewidth=1.2 if fill else 1.8)
    ax.set_ylim(0, capacity * 1.08 if capacity else 1.0)


def _mean_use(series: StepSeries, capacity: float, makespan: float) -> float:
    return series.area(makespan) / (capacity * makespan) if capacity and makespan else 0.0


def _utilization_panel(ax: Axes, r: RunResult, makespan: float, end: float, named: bool) -> None:
    cores, gpus = r.cores_busy(), r.gpus_busy()
    _draw_busy(ax, cores, end, r.platform.cores, CORES_COLOR, fill=True)
    ax.set_ylabel("busy cores", color=CORES_COLOR)
    ax.tick_params(axis="y", colors=CORES_COLOR)
    ax.axhline(r.platform.cores, color="0.25", linestyle="--", linewidth=1)
    ax.axvline(makespan, color="0.4", linestyle=":", linewidth=1.2)
    if r.platform.gpu_units:
        gx = ax.twinx()  # same headroom as the cores axis, so both capacities sit on the one dashed line
        _draw_busy(gx, gpus, end, r.platform.gpus, GPUS_COLOR, fill=False)
        gx.set_ylabel("busy GPUs", color=GPUS_COLOR)
        gx.tick_params(axis="y", colors=GPUS_COLOR)
    _draw_marks(ax, r, end)
    ax.set_xlim(0, end)
    use = f", CPU {_mean_use(cores, r.platform.cores, makespan):.0%}"
    if r.platform.gpu_units:
        use += f", GPU {_mean_use(gpus, r.platform.gpus, makespan):.0%}"
    ax.set_title(_panel_title(r, makespan, use, named), loc="left", fontsize="medium")
    ax.grid(axis="x", alpha=0.3)


def mark_levels(times: Sequence[float], end: float) -> list[int]:
    """The row of each mark's number (0: top), staggered so that numbers of marks close in time never overlap: a
    mark goes one row below the previous one while they are within MARK_CLOSE of the axis, else back to the top."""
    levels: list[int] = []
    for k, t in enumerate(times):
        close = k > 0 and t - times[k - 1] < MARK_CLOSE * end
        levels.append(levels[-1] + 1 if close else 0)
    return levels


def _draw_marks(ax: Axes, r: RunResult, end: float) -> int:
    """A vertical line per mark (trigger fired, partitions resized, run interrupted or resumed), numbered as in the
    report's timeline table at the top of the panel, numbers staggered where marks are close; returns how many rows
    of numbers that takes (0: no marks)."""
    marks = r.timeline()
    levels = mark_levels([m.t for m in marks], end)
    for k, (m, level) in enumerate(zip(marks, levels, strict=True), start=1):
        color = MARK_COLORS.get(m.kind, "0.3")
        ax.axvline(m.t, color=color, linestyle=MARK_STYLES.get(m.kind, "-."), linewidth=1.1)
        ax.annotate(
            str(k), (m.t, 1.0), xycoords=("data", "axes fraction"), xytext=(2, -2 - 9 * level),
            textcoords="offset points", ha="left", va="top", fontsize="x-small", color=color,
            bbox={"boxstyle": "round,pad=0.1", "facecolor": "white", "edgecolor": "none", "alpha": 0.8},
        )  # fmt: skip
    return max(levels, default=-1) + 1


def _mark_handles(results: Sequence[RunResult]) -> list[Line2D]:
    kinds = {m.kind for r in results for m in r.marks}
    return [
        Line2D([], [], color=MARK_COLORS.get(k, "0.3"), linestyle=MARK_STYLES.get(k, "-."), label=MARK_NAMES.get(k, k))
        for k in sorted(kinds)
    ]


def _capacity(r: RunResult) -> str:
    gpus = r.platform.gpus
    return f"{r.platform.cores:,} cores" + (f", {gpus:,.4g} GPU{'s' if gpus != 1 else ''}" if gpus else "")


def utilization_figure(results: Sequence[RunResult]) -> Figure:
    """Busy cores (left axis) and busy GPUs (right axis) over time, one panel per result, same time range."""
    makespans = [r.makespan_s for r in results]
    end = _horizon(makespans)
    fig = Figure(figsize=(WIDTH_IN, 0.6 + 2.4 * len(results)), layout="constrained")
    axes = fig.subplots(len(results), 1, sharex=True, squeeze=False)[:, 0]
    for ax, r, makespan in zip(axes, results, makespans, strict=True):
        _utilization_panel(ax, r, makespan, end, _several(results))
    _time_axis(axes[-1], end)
    capacity = ", ".join(sorted({_capacity(r) for r in results}))
    handles = [Line2D([], [], color=CORES_COLOR, linewidth=2, label="busy cores")]
    if any(r.platform.gpu_units for r in results):
        handles.append(Line2D([], [], color=GPUS_COLOR, linewidth=2, label="busy GPUs"))
    handles += [
        Line2D([], [], color="0.25", linestyle="--", label=f"capacity ({capacity})"),
        Line2D([], [], color="0.4", linestyle=":", label="makespan"),
        *_mark_handles(results),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 4), frameon=False)
    fig.suptitle(f"Utilization: {_plain(title_of(results))}", fontweight="bold")
    return fig


def workload_colors(results: Sequence[RunResult]) -> dict[str, str]:
    """One colour per workload name, in order of first appearance across the results: the same name has the same
    colour in every panel (workloads declared by name, e.g. one per pipeline, keep theirs across runs)."""
    names: dict[str, None] = {}
    for r in results:
        for s in r.workflow.sets:
            names.setdefault(r.workflow.analysis.workload_of[s.name])
    cmap = colormaps["tab10" if len(names) <= 10 else "tab20"]
    return {w: to_hex(cmap(i % cmap.N)) for i, w in enumerate(names)}


def _unrun(r: RunResult, spans: Sequence[SetSpan]) -> list[tuple[str, str]]:
    """(set, what became of it) for each set of the run that never ran a task: skipped, cancelled, not ended."""
    ran = {s.set for s in spans}
    out = []
    for o in r.set_outcomes():
        if o.set in ran or not o.tasks:
            continue
        what = ", ".join(f"{n:,} {name}" for name, n in zip(STATUSES, o.counts(), strict=True) if n)
        out.append((o.set, what))
    return out


def _failed_bars(ax: Axes, r: RunResult, rows: dict[str, int]) -> bool:
    """Every failed attempt as a red hatched bar over its set's row; whether there was any."""
    failed = [iv for iv in r.failed_attempts() if iv.set in rows]
    if not failed:
        return False
    y = np.fromiter((rows[iv.set] for iv in failed), float, len(failed))
    x0 = np.fromiter((iv.start for iv in failed), float, len(failed))
    x1 = np.fromiter((iv.end for iv in failed), float, len(failed))
    lo, hi = y - 0.32, y + 0.32
    verts = np.stack([np.column_stack(p) for p in ((x0, lo), (x0, hi), (x1, hi), (x1, lo))], axis=1)
    ax.add_collection(
        PolyCollection(
            list(verts), facecolors="#fde2e2", edgecolors=FAILED_COLOR, hatch=FAILED_HATCH, linewidths=0.8, zorder=3
        )
    )
    return True


def _bar_label(s: SetSpan) -> str:
    return f"{s.tasks:,}" + (f" ({s.failed:,} failed)" if s.failed else "")


def _gantt_panel(
    ax: Axes, r: RunResult, spans: Sequence[SetSpan], colors: dict[str, str], end: float, named: bool
) -> None:
    n = len(spans)
    unrun = _unrun(r, spans) if n <= MAX_LABELLED_SETS else []
    rows = n + len(unrun)
    labelled = rows <= MAX_LABELLED_SETS
    y = np.arange(n, dtype=float)
    x0 = np.fromiter((s.start for s in spans), float, n)
    x1 = np.fromiter((s.end for s in spans), float, n)
    lo, hi = y - 0.4, y + 0.4
    verts = np.stack([np.column_stack(p) for p in ((x0, lo), (x0, hi), (x1, hi), (x1, lo))], axis=1)
    workload_of = r.workflow.analysis.workload_of
    faces = [colors.get(workload_of.get(s.set, ""), OTHER_COLOR) for s in spans]
    ax.add_collection(
        PolyCollection(list(verts), facecolors=faces, edgecolors="0.2", linewidths=0.4 if labelled else 0)
    )
    _failed_bars(ax, r, {s.set: k for k, s in enumerate(spans)})
    draw_transfers(ax, r, {s.set: k for k, s in enumerate(spans)})
    ax.set_xlim(0, end)
    ax.set_ylim(max(rows, 1) - 0.5, -0.5)
    ax.set_axisbelow(True)
    if labelled:
        ax.set_yticks(
            np.arange(rows, dtype=float), [_plain(name) for name in [s.set for s in spans] + [u[0] for u in unrun]]
        )
        for s, yi in zip(spans, y, strict=True):
            inside = s.end > 0.9 * end  # no room right of the bar: write inside its end
            ax.annotate(
                _bar_label(s),
                (s.end, yi),
                xytext=(-3 if inside else 3, 0),
                textcoords="offset points",
                ha="right" if inside else "left",
                va="center",
                fontsize="x-small",
                color="white" if inside and not s.failed else "black",
                bbox={"boxstyle": "round,pad=0.1", "facecolor": "white", "edgecolor": "none"}
                if inside and s.failed
                else None,  # over a hatched failed attempt: black on white
                zorder=4,
            )
        for k, (_, what) in enumerate(unrun, start=n):  # sets that never ran: say why, where their bar would be
            ax.annotate(
                f"never ran: {what}", (0, k), xytext=(3, 0), textcoords="offset points", ha="left", va="center",
                fontsize="x-small", color=FAILED_COLOR, fontstyle="italic",
            )  # fmt: skip
        ax.set_ylabel("task set")
    else:
        ax.set_yticks([])
        ax.set_ylabel(f"{n:,} task sets")
    makespan = float(x1.max(initial=0.0))
    ax.axvline(makespan, color="0.4", linestyle=":", linewidth=1.2)
    levels = _draw_marks(ax, r, end)
    if levels and labelled:  # a band above the first bar for the marks' numbers (a row is about twice their height)
        ax.set_ylim(max(rows, 1) - 0.5, -0.5 - 0.55 * levels)
    ax.set_title(_panel_title(r, makespan, _ended_badly(r), named=named), loc="left", fontsize="medium")
    ax.grid(axis="x", alpha=0.3)


def _ended_badly(r: RunResult) -> str:
    """ ", 2 failed, 3 skipped" for a run whose tasks did not all end well ("" when they did)."""
    totals: dict[str, int] = dict.fromkeys(STATUSES[1:], 0)
    for o in r.set_outcomes():
        for name, k in zip(STATUSES[1:], o.counts()[1:], strict=True):
            totals[name] += k
    return "".join(f", {k:,} {name}" for name, k in totals.items() if k)


def gantt_figure(results: Sequence[RunResult]) -> Figure:
    """Each task set as one bar from its first start to its last end, coloured by workload, its failed attempts as
    red hatched bars over it, the sets that never ran listed below; one panel per result."""
    spans = [r.spans() for r in results]
    end = _horizon([max((s.end for s in ss), default=0.0) for ss in spans])
    counts = [
        len(s) + (len(_unrun(r, s)) if len(s) <= MAX_LABELLED_SETS else 0) for r, s in zip(results, spans, strict=True)
    ]
    heights = [1.0 + 0.26 * (max(k, 4) if k <= MAX_LABELLED_SETS else 16) for k in counts]
    fig = Figure(figsize=(WIDTH_IN, 0.8 + sum(heights)), layout="constrained")
    axes = fig.subplots(len(results), 1, sharex=True, squeeze=False, height_ratios=heights)[:, 0]
    colors = workload_colors(results)
    for ax, r, s in zip(axes, results, spans, strict=True):
        _gantt_panel(ax, r, s, colors, end, _several(results))
    _time_axis(axes[-1], end)
    handles: list[Artist] = []
    if len(colors) <= MAX_LEGEND_WORKLOADS:
        handles += [Patch(facecolor=c, edgecolor="0.2", label=_plain(w)) for w, c in colors.items()]
    if any(r.failed_attempts() for r in results):
        handles.append(Patch(facecolor="#fde2e2", edgecolor=FAILED_COLOR, hatch=FAILED_HATCH, label="failed attempt"))
    if any(r.transfers for r in results):
        handles.append(transfer_patch())
    handles += _mark_handles(results)
    if handles:
        fig.legend(handles=handles, title="workload", loc="outside right upper", frameon=False)
    note = " (bar labels: tasks run)" if any(k <= MAX_LABELLED_SETS for k in counts) else ""
    fig.suptitle(f"Task sets over time: {_plain(title_of(results))}{note}", fontweight="bold")
    return fig


def save_png(fig: Figure, path: Path, dpi: int = 110) -> Path:
    """Render the figure to a PNG file (with fonts.plot_fonts) and return its path."""
    with plot_fonts():
        fig.savefig(path, dpi=dpi, format="png")
    return path


def makespan_histogram(makespans: Sequence[float], marks: dict[str, float], title: str) -> Figure:
    """The makespans of repeated (Monte Carlo) runs as a histogram, with vertical lines at marks (label -> seconds,
    e.g. the median and the p10 and p90), so the spread is seen and not only summarised."""
    fig = Figure(figsize=(WIDTH_IN, 3.6), layout="constrained")
    ax = fig.subplots()
    values = np.asarray(makespans, dtype=float)
    ax.hist(values, bins=min(50, max(5, int(np.sqrt(values.size)))), color=CORES_COLOR, alpha=0.75, edgecolor="white")
    for (label, x), style in zip(marks.items(), ("-", "--", ":", "-."), strict=False):
        ax.axvline(x, color="0.2", linestyle=style, label=f"{label} {duration(x)}")
    ax.set_xlabel("makespan (s)")
    ax.set_ylabel("runs")
    if marks:
        ax.legend(frameon=False)
    fig.suptitle(f"Makespan of {values.size} runs: {_plain(title)}", fontweight="bold")
    return fig


def packing_curves(
    curves: Mapping[str, tuple[Sequence[float], Sequence[float], Sequence[float]]], title: str
) -> Figure:
    """Trace replay (`hetflow pack`): unallocated GPU % against arrived GPU % (index = percent), per policy its median
    over seeds as a line and the seeds' min-max as a band, with a zoom on the right around 100% arrived where the
    policies part."""
    fig = Figure(figsize=(WIDTH_IN, 4.2), layout="constrained")
    full, zoom = fig.subplots(1, 2, width_ratios=(3, 2))
    for k, (name, (mid, lo, hi)) in enumerate(curves.items()):
        color = to_hex(colormaps["tab10"](k % 10))
        x = np.arange(len(mid))
        for ax in (full, zoom):
            ax.plot(x, mid, color=color, label=f"{_plain(name)} ({mid[100]:.2f}%)" if len(mid) > 100 else name)
            ax.fill_between(x, lo, hi, color=color, alpha=0.15, linewidth=0)
    full.axvline(100, color="0.5", linestyle=":")
    full.set_xlabel("arrived GPU (% of the cluster's GPUs)")
    full.set_ylabel("unallocated GPU (%)")
    zoom.set_xlim(80, max(len(m) for m, _, _ in curves.values()) - 1)
    zoom.set_ylim(0, 25)
    zoom.axvline(100, color="0.5", linestyle=":")
    zoom.set_xlabel("arrived GPU (%), zoomed")
    zoom.legend(frameon=False, title="policy (at 100% arrived)")
    fig.suptitle(f"Unallocated GPUs as pods arrive: {_plain(title)}", fontweight="bold")
    return fig
