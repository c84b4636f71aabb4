"""Properties of every simulated schedule, over random DAGs, platforms, modes and policies."""

from __future__ import annotations

from collections import defaultdict

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hetflow.core.engine import Engine
from hetflow.policies import POLICIES
from hetflow.sim.simulator import run_simulation
from hetflow.spec.platform import NodeType, Platform
from hetflow.spec.resources import GPU_UNIT, Resources
from hetflow.spec.workflow import TaskSet, Variant, Workflow


@st.composite
def workflows(draw: st.DrawFn) -> Workflow:
    n = draw(st.integers(1, 9))
    sets = []
    for i in range(n):
        after = tuple(sorted(draw(st.sets(st.sampled_from([f"S{j}" for j in range(i)]), max_size=3)))) if i else ()
        cores = draw(st.integers(0, 6))
        gpus = draw(st.sampled_from([0, 0, 0.25, 0.5, 1, 2]))
        runtime = float(draw(st.integers(0, 50)))
        variants: tuple[Variant, ...] = ()
        if draw(st.booleans()):
            variants = (Variant(Resources.of(draw(st.integers(1, 4)), 0), float(draw(st.integers(1, 80)))),)
        count = draw(st.integers(1, 12))
        sets.append(TaskSet(f"S{i}", count, Resources.of(cores, gpus), runtime, after, variants=variants))
    return Workflow("random", tuple(sets))


@st.composite
def platforms(draw: st.DrawFn) -> Platform:
    types = [
        NodeType(
            f"t{k}",
            draw(st.integers(1, 3)),
            draw(st.integers(4, 12)),
            draw(st.integers(0, 4)) * GPU_UNIT,
            0,
            draw(st.sampled_from([0.5, 1.0, 2.0])),
        )
        for k in range(draw(st.integers(1, 3)))
    ]
    types.append(NodeType("big", 1, 12, 4 * GPU_UNIT, 0, 1.0))  # every random task fits somewhere
    return Platform("random", tuple(types))


def check_engine(engine: Engine) -> None:
    engine.validate()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    wf=workflows(),
    plat=platforms(),
    mode=st.sampled_from(["sync", "workload", "task"]),
    policy=st.sampled_from(sorted(POLICIES)),
)
def test_every_schedule_is_feasible(wf: Workflow, plat: Platform, mode: str, policy: str) -> None:
    res = run_simulation(wf, plat, mode, policy, check=check_engine)
    # every task ran exactly once
    ran: dict[str, list[int]] = defaultdict(list)
    for iv in res.intervals:
        ran[iv.set].extend(range(iv.first, iv.last))
    assert {k: sorted(v) for k, v in ran.items()} == {s.name: list(range(s.count)) for s in wf.sets}
    # never shorter than the lower bound
    assert res.makespan_s >= res.lower_bound_s - 1e-9
    # dependencies respected
    start = {k: min(iv.start for iv in res.intervals if iv.set == k) for k in ran}
    end = {k: max(iv.end for iv in res.intervals if iv.set == k) for k in ran}
    for s in wf.sets:
        for p in s.after:
            assert start[s.name] >= end[p] - 1e-9
    # sync: a level starts after every lower level ended
    if mode == "sync":
        level = wf.analysis.levels
        for a in wf.sets:
            for b in wf.sets:
                if level[b.name] < level[a.name]:
                    assert start[a.name] >= end[b.name] - 1e-9
    # no node over capacity at any instant (sweep over start/end events)
    caps = {n.name: n for n in plat.nodes()}
    events: dict[str, list[tuple[float, int, int, int]]] = defaultdict(list)
    for iv in res.intervals:
        if iv.end > iv.start:
            events[iv.node].append((iv.start, 1, iv.cores * iv.n, iv.gpu_units * iv.n))
            events[iv.node].append((iv.end, 0, -iv.cores * iv.n, -iv.gpu_units * iv.n))
    for name, evs in events.items():
        cores = gpu = 0
        for _, _, c, g in sorted(evs):  # ends (0) before starts (1) at the same instant
            cores += c
            gpu += g
            assert cores <= caps[name].cores and gpu <= caps[name].gpu_units
    assert res.engine is not None and res.engine.unfinished == 0


@settings(max_examples=60, deadline=None)
@given(wf=workflows(), plat=platforms())
def test_more_asynchrony_never_needs_waiting_longer_to_start(wf: Workflow, plat: Platform) -> None:
    """The gates only remove waiting: with one task per set on a platform that holds everything at once,
    task-level makespan <= workload-level <= sync."""
    wide = Platform("wide", (NodeType("w", 200, 12, 4 * GPU_UNIT, 0, 1.0),))
    ms = {m: run_simulation(wf, wide, m, "fifo").makespan_s for m in ("sync", "workload", "task")}
    assert ms["task"] <= ms["workload"] + 1e-9 <= ms["sync"] + 2e-9
