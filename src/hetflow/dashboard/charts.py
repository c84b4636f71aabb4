"""The dashboard's figures as Plotly JSON (data and layout), built here so the browser only draws them: cores and
GPUs busy over time per node type, and the Gantt timeline with the run's marks (triggers fired, resizes)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from hetflow.dashboard.data import Snapshot, attempts, node_types
from hetflow.metrics.utilization import busy_series
from hetflow.spec.trace import Interval, Mark

MAX_BARS = 3000  # Gantt bars drawn: the latest attempts of a larger run
FAILED_COLOUR = "#d62728"


def _marks(snap: Snapshot) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Vertical lines and numbered labels for the run's marks. Marks closer than 1% of the run's span share one line
    and one label ("1,2"), so that labels never overlap; hovering a label says what each mark was."""
    v = snap.require()
    marks = sorted(v.marks, key=lambda m: m.t)
    span = max((r.end for r in v.records if r.end is not None), default=snap.now) - v.origin
    groups: list[list[tuple[int, Mark]]] = []
    for i, m in enumerate(marks, start=1):
        if groups and m.t - groups[-1][0][1].t <= 0.01 * max(span, 1e-9):
            groups[-1].append((i, m))
        else:
            groups.append([(i, m)])
    shapes, notes = [], []
    for group in groups:
        x = round(group[0][1].t - v.origin, 3)
        colour = "#9467bd" if all(m.kind == "trigger" for _, m in group) else "#8c564b"
        line = {"color": colour, "dash": "dot"}
        shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": x, "x1": x, "y0": 0, "y1": 1, "line": line})
        notes.append(
            {
                "x": x,
                "y": 1,
                "xref": "x",
                "yref": "paper",
                "text": ",".join(str(i) for i, _ in group),
                "hovertext": "<br>".join(f"{i}. {m.kind}: {m.text}" for i, m in group),
                "showarrow": False,
                "yanchor": "bottom",
                "font": {"color": colour},
            }
        )
    return shapes, notes


def busy(snap: Snapshot) -> dict[str, Any]:
    """Cores (top) and GPUs (bottom, when the platform has any) busy over time, one step line per node type."""
    v = snap.require()
    types = node_types(snap)
    by_type: dict[str, list[Interval]] = defaultdict(list)
    for _, iv in attempts(snap):
        by_type[types.get(iv.node, iv.node or "?")].append(iv)
    gpus = v.platform.gpus > 0
    with_gpus = {n.type for n in v.platform.nodes() if n.gpu_units > 0}
    data: list[dict[str, Any]] = []
    for kind in sorted(by_type):
        ivs = by_type[kind]
        for use_gpus, axis in ((False, "y"), (True, "y2")) if kind in with_gpus else ((False, "y"),):
            s = busy_series(ivs, gpus=use_gpus)
            data.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "line": {"shape": "hv"},
                    "name": f"{kind} {'GPUs' if use_gpus else 'cores'}",
                    "x": [round(float(t) - v.origin, 3) for t in s.times],
                    "y": [float(y) for y in s.values],
                    "yaxis": axis,
                }
            )
    shapes, notes = _marks(snap)
    layout: dict[str, Any] = {
        "xaxis": {"title": {"text": "seconds since the run started"}, "rangemode": "tozero"},
        "yaxis": {"title": {"text": "cores busy"}, "rangemode": "tozero"},
        "margin": {"t": 24, "r": 16, "b": 48, "l": 56},
        "height": 320,
        "shapes": shapes,
        "annotations": notes,
        "legend": {"orientation": "h"},
    }
    if gpus:
        layout["yaxis"]["domain"] = [0.55, 1]
        layout["yaxis2"] = {"title": {"text": "GPUs busy"}, "domain": [0, 0.45], "rangemode": "tozero"}
    return {"data": data, "layout": layout}


def gantt(snap: Snapshot) -> dict[str, Any]:
    """One bar per attempt on its node, coloured by task set; failed attempts red, running ones striped."""
    v = snap.require()
    every = sorted(attempts(snap), key=lambda a: a[1].start)
    shown = every[-MAX_BARS:]
    traces: dict[str, dict[str, Any]] = {}
    order = [s.name for s in v.workflow.sets]
    rows = lanes([iv for _, iv in shown])
    for (r, iv), row in zip(shown, rows, strict=True):
        key = "failed" if iv.status == "failed" else iv.set
        t = traces.get(key)
        if t is None:
            t = traces[key] = {
                "type": "bar",
                "orientation": "h",
                "name": key,
                "x": [],
                "base": [],
                "y": [],
                "text": [],
                "hoverinfo": "text",
                "textposition": "none",
                "marker": {"pattern": {"shape": []}, "line": {"width": 1, "color": "#fff"}},
            }
            if key == "failed":
                t["marker"]["color"] = FAILED_COLOUR
        start = iv.start - v.origin
        t["base"].append(round(start, 3))
        t["x"].append(round(max(iv.end - iv.start, 1e-3), 3))
        t["y"].append(row)
        t["text"].append(f"{r.task_id} #{iv.attempts} {iv.status} {start:.2f}–{iv.end - v.origin:.2f} s")
        t["marker"]["pattern"]["shape"].append("/" if iv.status == "running" else "")
    data = [traces[k] for k in order if k in traces] + ([traces["failed"]] if "failed" in traces else [])
    nodes = sorted(set(rows), key=_row_order)
    shapes, notes = _marks(snap)
    title = f"latest {MAX_BARS} of {len(every)} attempts" if len(every) > MAX_BARS else ""
    layout = {
        "barmode": "overlay",
        "title": {"text": title},
        "xaxis": {"title": {"text": "seconds since the run started"}, "rangemode": "tozero"},
        "yaxis": {
            "type": "category",
            "categoryorder": "array",
            "categoryarray": nodes,
            "autorange": "reversed",
            "automargin": True,
        },
        "margin": {"t": 24, "r": 16, "b": 48, "l": 56},
        "height": min(900, max(240, 60 + 22 * len(nodes))),
        "shapes": shapes,
        "annotations": notes,
        "legend": {"orientation": "h"},
    }
    return {"data": data, "layout": layout}


def lanes(intervals: list[Interval]) -> list[str]:
    """A Gantt row per attempt, intervals sorted by start: its node, and a lane of that node when attempts overlap
    there ("node-0 · 2"), so that tasks running side by side on one node are side by side on the chart."""
    ends: dict[str, list[float]] = defaultdict(list)  # per node: when each lane is free again
    picked: list[tuple[str, int]] = []
    for iv in intervals:
        node = iv.node or "?"
        free = ends[node]
        lane = next((i for i, end in enumerate(free) if end <= iv.start), len(free))
        if lane == len(free):
            free.append(iv.end)
        else:
            free[lane] = iv.end
        picked.append((node, lane))
    return [node if len(ends[node]) == 1 else f"{node} · {lane + 1}" for node, lane in picked]


def _row_order(row: str) -> tuple[str, int]:
    node, _, lane = row.partition(" · ")
    return node, int(lane or 0)
