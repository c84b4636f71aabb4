"""The plots draw the results' own series and spans, one panel per result, with a bounded number of artists."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_hex

from hetflow.report import gantt_figure, utilization_figure
from hetflow.report.plots import MAX_LABELLED_SETS, MAX_STEPS
from hetflow.sim.simulator import SimResult


def test_utilization_has_one_panel_per_result_on_one_time_axis(seed_results: list[SimResult]) -> None:
    fig = utilization_figure(seed_results)
    panels = [ax for ax in fig.axes if ax.get_ylabel() == "busy cores"]
    gpu_axes = [ax for ax in fig.axes if ax.get_ylabel() == "busy GPUs"]
    assert len(panels) == len(gpu_axes) == 3
    assert [ax.get_xlim() for ax in panels] == [(0.0, pytest.approx(2000 * 1.02))] * 3
    assert panels[-1].get_xlabel() == "time (s)"
    for ax, r in zip(panels, seed_results, strict=True):
        assert ax.get_title(loc="left").startswith(f"{r.mode} mode, fifo policy: makespan {r.makespan_s:,.0f} s")
    assert "Utilization: arbitrary on summit-30" in fig.get_suptitle()


def test_utilization_lines_are_the_busy_series(seed_results: list[SimResult]) -> None:
    fig = utilization_figure(seed_results)
    cores_axes = [ax for ax in fig.axes if ax.get_ylabel() == "busy cores"]
    gpus_axes = [ax for ax in fig.axes if ax.get_ylabel() == "busy GPUs"]
    for r, cax, gax in zip(seed_results, cores_axes, gpus_axes, strict=True):
        steps = [ln for ln in cax.get_lines() if ln.get_drawstyle() == "steps-post"]
        assert len(steps) == 1
        cores = r.cores_busy()
        np.testing.assert_allclose(steps[0].get_xdata()[1:-1], cores.times)
        np.testing.assert_allclose(steps[0].get_ydata()[1:-1], cores.values)
        (gpu_line,) = gax.get_lines()
        np.testing.assert_allclose(gpu_line.get_ydata()[1:-1], r.gpus_busy().values)
        assert max(gpu_line.get_ydata()) <= r.platform.gpus
        capacity = [ln for ln in cax.get_lines() if ln.get_linestyle() == "--"]
        assert [ln.get_ydata()[0] for ln in capacity] == [r.platform.cores]
        # both axes leave the same headroom, so the one dashed line marks both capacities
        assert cax.get_ylim()[1] / r.platform.cores == pytest.approx(gax.get_ylim()[1] / r.platform.gpus)


def test_long_series_are_averaged_but_keep_their_area(many_sets_result: SimResult) -> None:
    r = many_sets_result
    assert len(r.cores_busy().times) > MAX_STEPS
    fig = utilization_figure([r])
    (line,) = [ln for ln in fig.axes[0].get_lines() if ln.get_drawstyle() == "steps-post"]
    t, v = np.asarray(line.get_xdata()), np.asarray(line.get_ydata())
    assert len(t) <= MAX_STEPS + 1
    core_seconds = sum(iv.cores * iv.n * (iv.end - iv.start) for iv in r.intervals)
    assert float(np.sum(v[:-1] * np.diff(t))) == pytest.approx(core_seconds, rel=1e-9)
    assert max(v) <= r.platform.cores
    assert len(fig.axes) == 1  # a CPU-only platform gets no GPU axis


def test_gantt_has_one_bar_per_set_coloured_by_workload(seed_results: list[SimResult]) -> None:
    fig = gantt_figure(seed_results)
    panels = [ax for ax in fig.axes if ax.collections]
    assert len(panels) == 3
    workload_of = seed_results[0].workflow.analysis.workload_of
    for ax, r in zip(panels, seed_results, strict=True):
        (bars,) = ax.collections
        assert isinstance(bars, PolyCollection)
        spans = r.spans()
        paths = bars.get_paths()
        assert len(paths) == len(spans) == 12
        for path, span in zip(paths, spans, strict=True):
            xs = path.vertices[:, 0]
            assert (xs.min(), xs.max()) == (pytest.approx(span.start), pytest.approx(span.end))
        assert [t.get_text() for t in ax.get_yticklabels()] == [s.set for s in spans]
        colour = {s.set: to_hex(c) for s, c in zip(spans, bars.get_facecolors(), strict=True)}
        for a in colour:
            for b in colour:
                assert (colour[a] == colour[b]) == (workload_of[a] == workload_of[b])
        assert ax.get_title(loc="left").startswith(f"{r.mode} mode, fifo policy")
    assert [ax.get_xlim() for ax in panels] == [(0.0, pytest.approx(2000 * 1.02))] * 3
    legend = fig.legends[0]
    assert [t.get_text() for t in legend.get_texts()] == ["T0", "A", "B"]  # first appearance


def test_gantt_of_many_sets_is_one_collection_without_labels(many_sets_result: SimResult) -> None:
    fig = gantt_figure([many_sets_result])
    (ax,) = fig.axes
    assert len(ax.collections) == 1
    assert len(ax.collections[0].get_paths()) == 6000 > MAX_LABELLED_SETS
    assert len(ax.texts) == 0 and len(ax.get_yticks()) == 0
    assert ax.get_ylabel() == "6,000 task sets"


def test_no_results_is_refused() -> None:
    with pytest.raises(ValueError, match="no results"):
        utilization_figure([])
    with pytest.raises(ValueError, match="no results"):
        gantt_figure([])


def test_plotting_leaves_pyplot_alone(tmp_path: Path) -> None:
    """pyplot is never imported, so a configured interactive backend (no display here) does not matter."""
    script = """
import sys
from pathlib import Path
from hetflow.report import write_report
from hetflow.sim.simulator import run_simulation
from hetflow.spec.platform import NodeType, Platform
from hetflow.spec.resources import Resources
from hetflow.spec.workflow import TaskSet, Workflow
wf = Workflow("w", (TaskSet("a", 4, Resources.of(1, 0.25), 2.0),))
write_report([run_simulation(wf, Platform("p", (NodeType("n", 1, 2, 10_000),)))], Path(sys.argv[1]))
assert "matplotlib.pyplot" not in sys.modules
"""
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True, env={**os.environ, "MPLBACKEND": "TkAgg"})
    assert (tmp_path / "index.html").is_file()
