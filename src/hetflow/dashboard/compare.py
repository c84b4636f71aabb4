"""The simulated-vs-real panel: the simulator run on the journal's workflow, platform, mode and policy (as
`hetflow report --compare-sim` does), beside what really happened, per task set. A run still going on, or one that
stopped before every task ended, is said to be incomplete rather than compared as if it were whole."""

from __future__ import annotations

from typing import Any

from hetflow.dashboard.data import Snapshot
from hetflow.journal.read import PENDING, UNFINISHED
from hetflow.metrics.result import RunResult
from hetflow.sim.simulator import run_simulation


def compare(snap: Snapshot) -> dict[str, Any]:
    """A table of per-set end times, simulated and real, under a note with both makespans."""
    v = snap.require()
    key = (len(v.workflow.sets), v.mode, v.policy)
    cached = snap.source.simulated
    if cached is None or cached[0] != key:  # the simulation depends only on what was submitted
        cached = snap.source.simulated = (key, run_simulation(v.workflow, v.platform, v.mode, v.policy))
    sim = cached[1]
    real = RunResult(v.workflow, v.platform, v.mode, v.policy, v.intervals(), "real", v.origin, v.marks)
    unended = sum(1 for r in v.records if r.status in (PENDING, UNFINISHED))
    sim_ends = {s.set: s.end for s in sim.spans()}
    rows = []
    for s in real.spans():
        predicted = sim_ends.get(s.set)
        rows.append([s.set, s.tasks, _round(predicted), round(s.end, 3), _pct(s.end, predicted)])
    complete = unended == 0 and not snap.live
    if complete:
        note = (
            f"makespan: simulated {sim.makespan_s:,.2f} s, real {real.makespan_s:,.2f} s "
            f"({_pct(real.makespan_s, sim.makespan_s) or 'n/a'})"
        )
    else:
        note = (
            f"incomplete run ({unended} of {len(v.records)} tasks not ended): simulated makespan "
            f"{sim.makespan_s:,.2f} s, real so far {real.makespan_s:,.2f} s; not compared"
        )
    if len(v.runs) > 1:
        note += f"; {len(v.runs)} runs (resumed): the real times span them all"
    return {
        "note": note,
        "columns": ["set", "tasks ended", "simulated end (s)", "real end (s)", "difference"],
        "rows": rows,
    }


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 3)


def _pct(real: float, sim: float | None) -> str | None:
    if sim is None or sim <= 0:
        return None
    return f"{(real / sim - 1) * 100:+.1f}%"
