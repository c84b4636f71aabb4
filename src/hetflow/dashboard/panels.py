"""The dashboard's panels: a small registry by name. A panel is a title, a kind the page knows how to draw ("table":
columns and rows, "plot": a Plotly figure, "tasks": the task table, which fetches its own rows) and a function from a
Snapshot of a journal to its JSON. A later layer adds a panel with one `register(Panel(...))`; the page asks
/api/runs/N/panels for the list and draws each panel in order, again every `every` seconds while the run goes on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hetflow.dashboard import charts, data
from hetflow.dashboard.compare import compare

KINDS = ("table", "plot", "tasks")


@dataclass(frozen=True)
class Panel:
    name: str
    title: str
    kind: str
    build: Callable[[data.Snapshot], dict[str, Any]]
    every: float = 1.0  # seconds between refreshes while the run goes on

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "kind": self.kind, "every": self.every}


PANELS: dict[str, Panel] = {}


def register(panel: Panel) -> Panel:
    """Add a panel (after the others); ValueError for a name taken or a kind the page cannot draw."""
    if panel.name in PANELS:
        raise ValueError(f"a dashboard panel named {panel.name!r} exists already")
    if panel.kind not in KINDS:
        raise ValueError(f"panel kind {panel.kind!r}: use one of {', '.join(KINDS)}")
    PANELS[panel.name] = panel
    return panel


def _task_facets(snap: data.Snapshot) -> dict[str, Any]:
    v = snap.require()
    return {"sets": [s.name for s in v.workflow.sets], "states": list(data.STATES)}


register(Panel("progress", "Progress per task set", "table", data.progress))
register(Panel("busy", "Cores and GPUs busy, per node type", "plot", charts.busy))
register(Panel("gantt", "Timeline (numbered lines: triggers and resizes)", "plot", charts.gantt))
register(Panel("tasks", "Tasks", "tasks", _task_facets, every=2.0))
register(Panel("compare", "Simulated vs real", "table", compare, every=5.0))
