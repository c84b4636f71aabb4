"""Transfers in the Gantt chart: the data a set waited for, as a hatched bar on its row from when the data left
its site to when it arrived (one bar per source and destination site; metrics' RunResult.transfers)."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.patches import Patch

from hetflow.metrics.result import RunResult

TRANSFER_COLOR = "#1d6fa5"
TRANSFER_FACE = "#dcecf7"
TRANSFER_HATCH = "...."


def draw_transfers(ax: Axes, r: RunResult, rows: dict[str, int]) -> bool:
    """Every transfer to a set on the chart as a dotted bar, thinner than a set's, on the set's row; whether any."""
    moved = [t for t in r.transfers if t.dst_set in rows and t.end > t.start]
    if not moved:
        return False
    o = r.origin
    y = np.fromiter((rows[t.dst_set] for t in moved), float, len(moved))
    x0 = np.fromiter((t.start - o for t in moved), float, len(moved))
    x1 = np.fromiter((t.end - o for t in moved), float, len(moved))
    lo, hi = y - 0.22, y + 0.22
    verts = np.stack([np.column_stack(p) for p in ((x0, lo), (x0, hi), (x1, hi), (x1, lo))], axis=1)
    bars = PolyCollection(
        list(verts), facecolors=TRANSFER_FACE, edgecolors=TRANSFER_COLOR, hatch=TRANSFER_HATCH, linewidths=0.8
    )
    bars.set_label("transfers")
    bars.set_zorder(2.5)
    ax.add_collection(bars)
    return True


def transfer_patch() -> Patch:
    """The legend entry of the transfer bars."""
    return Patch(facecolor=TRANSFER_FACE, edgecolor=TRANSFER_COLOR, hatch=TRANSFER_HATCH, label="data transfer")
