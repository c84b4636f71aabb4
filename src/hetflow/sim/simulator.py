"""The discrete-event simulator: the engine on virtual time, with a simulated executor.

The engine runs grouped: the tasks of a set placed in one scheduling pass on nodes of one speed are one launch and
one event, which ends at now + run time / node speed.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hetflow.core.engine import Engine
from hetflow.core.instructions import LaunchGroup
from hetflow.core.stimuli import Stimulus, TaskFinished, TasksSubmitted
from hetflow.errors import EngineError, SpecError
from hetflow.metrics.result import RunResult
from hetflow.policies import make_policy
from hetflow.spec.load import _gc_paused, load_platform, load_workflow, recorded_platform
from hetflow.spec.platform import Platform
from hetflow.spec.trace import Interval
from hetflow.spec.workflow import TaskSet, Workflow

Injector = Callable[[float, Engine], Sequence[Stimulus]]


@dataclass
class SimResult(RunResult):
    """A simulated run: its result, how many engine steps it took, and the engine it ended with."""

    steps: int = 0
    engine: Engine | None = field(default=None, repr=False)


def run_simulation(
    workflow: Workflow,
    platform: Platform,
    mode: str = "task",
    policy: str = "fifo",
    *,
    at: Sequence[tuple[float, Sequence[TaskSet]]] = (),
    check: Callable[[Engine], None] | None = None,
) -> SimResult:
    """Simulate the workflow on the platform. `at` injects more task sets at given virtual times;
    `check` is called after every engine step (tests use it to validate the ledger)."""
    platform.check_fits(workflow)
    engine = Engine(platform.nodes(), mode, make_policy(policy), grouped=True)
    with _gc_paused():  # a run makes millions of acyclic objects; the cycle collector would only rescan them
        intervals, steps = _drive(engine, workflow.sets, at, check)
    if engine.unfinished:
        raise EngineError(f"the simulation stopped with {engine.unfinished} tasks that can never run")
    return SimResult(workflow, platform, mode, policy, intervals, steps=steps, engine=engine)


def _drive(
    engine: Engine,
    sets: tuple[TaskSet, ...],
    at: Sequence[tuple[float, Sequence[TaskSet]]],
    check: Callable[[Engine], None] | None,
) -> tuple[list[Interval], int]:
    """The event loop: feed the engine, turn each LaunchGroup into one event at its end; (intervals, steps)."""
    names = [n.name for n in engine.nodes]  # no node joins or leaves in a simulation
    events: list[tuple[float, int]] = []  # (end time, launch id) -- ids are unique, so no ties
    started: dict[int, tuple[LaunchGroup, float]] = {}
    intervals: list[Interval] = []
    injections = sorted(at, key=lambda x: x[0])
    inject_i = 0
    now = 0.0
    stimuli: list[Stimulus] = [TasksSubmitted(sets)]
    steps = 0
    while True:
        for ins in engine.handle(now, stimuli):
            if type(ins) is LaunchGroup:
                started[ins.launch] = (ins, now)
                heapq.heappush(events, (now + ins.duration, ins.launch))
        steps += 1
        if check is not None:
            check(engine)
        next_inject = injections[inject_i][0] if inject_i < len(injections) else float("inf")
        if not events and next_inject == float("inf"):
            return intervals, steps
        stimuli = []
        if events and events[0][0] <= next_inject:
            now = events[0][0]
            while events and events[0][0] == now:
                lid = heapq.heappop(events)[1]
                g, begun = started.pop(lid)
                name, cores, units = g.set, g.cores, g.gpu_units
                intervals += [Interval(name, a, b, names[i], begun, now, cores, units) for i, a, b, _ in g.parts]
                stimuli.append(TaskFinished(lid))
        if next_inject <= now or not stimuli:
            now = max(now, next_inject)
            stimuli.append(TasksSubmitted(tuple(injections[inject_i][1])))
            inject_i += 1


def simulate(
    workflow: Workflow | str | Path | dict[str, Any],
    platform: Platform | str | Path | dict[str, Any] | None = None,
    mode: str = "task",
    policy: str = "fifo",
) -> SimResult:
    """Simulate a workflow (object, file or dict) on a platform; a WfFormat file brings its own machines."""
    wf = load_workflow(workflow)
    plat = load_platform(platform) if platform is not None else None
    if plat is None and not isinstance(workflow, Workflow):
        plat = recorded_platform(workflow)
    if plat is None:
        raise SpecError(
            "no platform to simulate on", source=wf.source, fix="pass a platform (a file, a dict or a Platform)"
        )
    return run_simulation(wf, plat, mode, policy)
