"""The flat kernel (sim/flat.py) gives exactly the engine's schedule on every run its gate accepts: the same intervals
(set, node, start, end, in the same order), makespan, steps and summary, interpreted (the source, loaded on its own)
and, when the build compiled it with mypyc, compiled."""

from __future__ import annotations

import pickle
import random
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hetflow.sim.flat
from hetflow.sim.flatrun import FlatResult, flat_simulation
from hetflow.sim.simulator import run_simulation
from hetflow.spec.platform import NodeType, Platform
from hetflow.spec.resources import Resources
from hetflow.spec.trace import Interval
from hetflow.spec.workflow import FileRef, TaskSet, Workflow
from tests.interpreted import builds

KERNELS = [m.FlatRun for m in builds(hetflow.sim.flat)]


def rows(intervals: list[Interval]) -> list[tuple[object, ...]]:
    return [
        (i.set, i.first, i.last, i.node, i.start, i.end, i.cores, i.gpu_units, i.status, i.attempts) for i in intervals
    ]


def assert_same(wf: Workflow, plat: Platform) -> FlatResult:
    """Every kernel against the engine: intervals, makespan, steps and summary alike; the flat result of the first."""
    engine = run_simulation(wf, plat, "task", "fifo", flat=False)
    assert engine.engine is not None
    results = []
    for kernel in KERNELS:
        flat = flat_simulation(wf, plat, "task", "fifo", kernel=kernel)
        assert flat is not None, "the gate declined"
        assert flat.engine is None
        assert flat.summary() == engine.summary()  # from the arrays, before any interval is made
        assert (flat.makespan_s, flat.steps, flat.tasks) == (engine.makespan_s, engine.steps, engine.tasks)
        assert rows(flat.intervals) == rows(engine.intervals)
        assert flat.summary() == engine.summary()  # and from the intervals
        results.append(flat)
    return results[0]


# ---- random runs the gate accepts ------------------------------------------------------------------------------------
NODE_CORES = (0, 1, 2, 4, 6, 8, 12, 16)  # many distinct needs: many lanes
SPEEDS = (1.0, 2.0, 0.5, 1.5, 3.0)
TIMES = (0.0, 0.5, 1.0, 2.0, 3.0, 5.0, 7.0, 10.0)


@st.composite
def runs(draw: st.DrawFn) -> tuple[Workflow, Platform]:
    """Several node types (cores, memory or none, speeds, some with GPUs or features no task asks for), and a random
    DAG of one-task sets, each fitting some node type: cores (0 too), memory or none, run times with ties and zeros,
    parents named once or twice, and fields the kernel reads nowhere."""
    types = []
    for k in range(draw(st.integers(1, 3))):
        memory = draw(st.sampled_from((0, 0, 8, 16)))
        gpus = draw(st.sampled_from((0, 0, 10_000)))
        types.append(
            NodeType(
                f"t{k}",
                draw(st.integers(0, 3)) or 1,
                draw(st.sampled_from(NODE_CORES)),
                gpus,
                memory,
                draw(st.sampled_from(SPEEDS)),
                gpu_model="A100" if gpus else None,
            )
        )
    with_memory = draw(st.booleans())
    sets = []
    for i in range(draw(st.integers(0, 60))):
        home = draw(st.sampled_from(types))  # a node type it fits on
        cores = draw(st.integers(0, home.cores))
        memory = draw(st.integers(0, home.memory or 20)) if with_memory else 0
        parents = draw(st.lists(st.integers(0, i - 1), max_size=3)) if i else []
        sets.append(
            TaskSet(
                f"T{i}",
                1,
                Resources(cores, 0, memory),
                draw(st.sampled_from(TIMES)),
                tuple(f"T{p}" for p in parents),
                command=draw(st.sampled_from((None, "true"))),
                files=draw(st.sampled_from(((), (FileRef("x", 5, "input"),)))),
                retries=draw(st.integers(0, 2)),
            )
        )
    order = draw(st.permutations(range(len(sets))))  # declared in any order, not only parents first
    return Workflow("w", tuple(sets[k] for k in order)), Platform("p", tuple(types))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(run=runs())
def test_the_kernel_gives_the_engines_schedule(run: tuple[Workflow, Platform]) -> None:
    wf, plat = run
    assert_same(wf, plat)
    assert isinstance(run_simulation(wf, plat), FlatResult)  # run_simulation takes the kernel for these


def trace(n: int, seed: int) -> Workflow:
    """The trace profile of benchmarks/simulate.py: a layered random DAG, 1-48 cores, 10-300 s at 0.1 s."""
    rng = random.Random(seed)
    width = max(1, int(n**0.5))
    sets = []
    for i in range(n):
        layer = i // width
        after: tuple[str, ...] = ()
        if layer:
            lo = max(0, layer - 2) * width
            after = tuple(f"T{j}" for j in sorted(rng.sample(range(lo, layer * width), k=rng.randint(1, 3))))
        sets.append(TaskSet(f"T{i}", 1, Resources(rng.randint(1, 48)), round(rng.uniform(10, 300), 1), after))
    return Workflow(f"trace-{n}", tuple(sets))


def test_the_trace_profile_gives_the_same_schedule() -> None:
    result = assert_same(trace(3000, 11), Platform("trace-64x48", (NodeType("node", 64, 48),)))
    assert len(result.intervals) == 3000


def test_a_flat_result_pickles_and_replaces_with_its_schedule() -> None:
    """simulate_many's workers send results back pickled; report code makes new ones with dataclasses.replace."""
    wf, plat = trace(200, 3), Platform("p", (NodeType("node", 4, 48),))
    result = run_simulation(wf, plat)
    for again in (pickle.loads(pickle.dumps(result)), replace(result, label="again")):
        assert rows(again.intervals) == rows(result.intervals) and again.summary() == result.summary()


# ---- progress, and stopping from it ----------------------------------------------------------------------------------
def test_progress_is_called_between_chunks_and_can_stop_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    import hetflow.sim.flatrun as flatrun

    monkeypatch.setattr(flatrun, "CHUNK", 16)
    wf, plat = trace(400, 5), Platform("p", (NodeType("node", 2, 48),))
    seen: list[tuple[float, int]] = []
    result = run_simulation(wf, plat, progress=lambda sim: seen.append((sim.now, sim.tasks_done())))
    assert isinstance(result, FlatResult)
    assert len(seen) >= 400 // 16 - 1
    assert seen == sorted(seen) and all(0 < done < 400 for _, done in seen)

    class Stop(Exception):
        pass

    def stop(sim: object) -> None:
        raise Stop  # as Ctrl-C between two calls into the kernel

    with pytest.raises(Stop):
        run_simulation(wf, plat, progress=stop)


def test_the_engine_calls_progress_too() -> None:
    wf = Workflow("w", tuple(TaskSet(f"S{i}", 2, Resources(1), 1.0) for i in range(600)))
    seen: list[int] = []
    run_simulation(wf, Platform("p", (NodeType("node", 1, 1),)), progress=lambda sim: seen.append(sim.tasks_done()))
    assert seen and seen == sorted(seen)
