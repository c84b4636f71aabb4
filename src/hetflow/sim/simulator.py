"""The discrete-event simulator: the engine on virtual time, with a simulated executor.

The engine runs grouped: the tasks of a set placed in one scheduling pass on nodes of one speed are one launch and
one event, which ends at now + run time / node speed. When run times vary (sim/sampling.py), or a set's GPU-sharing
model stretches each task by its GPU share (sim/sharing.py), each task of a launch ends at its own time, as its own
event. A failure model makes attempts fail (at their end); the engine
holds a retried task back for its retry backoff, and the loop wakes when it is due.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from hetflow.core.engine import Engine
from hetflow.core.instructions import Cancel, Failed, Instruction, LaunchGroup, Retried, Skipped
from hetflow.core.partitions import Share, describe, parse_shares, repartitioned
from hetflow.core.policy import Policy
from hetflow.core.states import TaskState
from hetflow.core.stimuli import (
    CancelRequested,
    NodeJoined,
    Resize,
    Stimulus,
    TaskFailed,
    TaskFinished,
    TasksSubmitted,
)
from hetflow.core.triggers import Actions, Trigger, Triggers
from hetflow.core.view import Links
from hetflow.errors import EngineError, SpecError
from hetflow.policies import make_policy
from hetflow.sim.flatrun import flat_simulation
from hetflow.sim.result import Running
from hetflow.sim.result import SimResult as SimResult
from hetflow.sim.sampling import Draws, varies
from hetflow.sim.sharing import shared_durations
from hetflow.spec.gpu_speed import GpuSpeed
from hetflow.spec.load import gc_paused, load_platform, load_workflow, recorded_platform
from hetflow.spec.platform import Node, Platform
from hetflow.spec.trace import Interval, Mark
from hetflow.spec.workflow import TaskSet, Workflow

ResultModel = Callable[[str, int], Any]  # (set, index) -> what that task returns
FailureModel = Callable[[str, int, int], str | None]  # (set, index, attempt from 1) -> its error when it fails, or None
_INF = float("inf")


class Overheads(Protocol):
    """What a real backend adds to each launch (hetflow.predict.calibration fits it from journals): no launch starts
    before startup_s, each starts launch_latency_s after its placement, and each task runs task_overhead_s longer."""

    @property
    def startup_s(self) -> float: ...
    @property
    def launch_latency_s(self) -> float: ...
    @property
    def task_overhead_s(self) -> float: ...


def run_simulation(
    workflow: Workflow,
    platform: Platform,
    mode: str = "task",
    policy: str | Policy = "fifo",
    *,
    at: Sequence[tuple[float, Sequence[TaskSet]]] = (),
    check: Callable[[Engine], None] | None = None,
    partitions: Mapping[str, Share | Mapping[str, Any]] | None = None,
    triggers: Sequence[Trigger] = (),
    results: ResultModel | None = None,
    retry_backoff: float = 0.1,
    failures: FailureModel | None = None,
    seed: int | None = None,
    calibration: Overheads | None = None,
    links: Links | None = None,
    joins: Sequence[tuple[float, Platform]] = (),
    progress: Callable[[Running], None] | None = None,
    flat: bool = True,
) -> SimResult:
    """Simulate the workflow on the platform. `at` injects more task sets at given virtual times; `partitions` splits
    every node into named shares (task sets name theirs); `triggers` fire when their condition over the results of
    watched sets holds, with results from the model `results` (None: every result is None); `failures` says which
    attempts fail (None: none), each after its full run time, and a retried task waits retry_backoff * 2**(attempt-1)
    s (at most MAX_BACKOFF_S) before it may start again, as in a real Session (whose default is also 0.1 s); `check`
    is called after every engine step (tests use it to validate the ledger); `calibration` adds a backend's overheads
    to every launch (a delayed launch holds its resources from its placement). When a set's run time is a distribution
    or a node type's speed jitters, each task's duration is drawn with numpy.random.default_rng(seed): one seed, one
    schedule. `links`, for a platform whose nodes are at sites (spec.site.Sites), moves the data sets read between
    sites (core/staging.py); the result lists the transfers. `policy` is a name or a policy (a site policy with its
    grid: hetflow.sim.sites). `joins` adds the nodes of a platform at a virtual time each (NodeJoined: e.g. GPU
    nodes granted while the workflow runs); the result's platform has them all. `progress` is called now and then
    with the running simulation (its virtual time, the tasks done), as a progress line wants it.

    A workflow of one-task sets in task mode with the fifo policy (and none of the options above but seed and
    retry_backoff, which change nothing there) runs on the flat kernel (sim/flat.py, sim/flatrun.py says exactly
    what it takes): the same schedule, without an engine (the result's engine is None). flat=False runs the engine
    anyway, to compare; a `check` needs the engine, so a run given one uses it."""
    start = platform
    platform = joined(platform, [p for _, p in joins])
    platform.check_fits(workflow)
    options = (at, check, partitions, triggers, results, failures, calibration, links, joins)
    if flat and not any(options) and isinstance(policy, str):
        done = flat_simulation(workflow, platform, mode, policy, progress)
        if done is not None:
            return done
    shares = parse_shares(partitions or {})
    for i, s in enumerate(workflow.sets):
        if s.partition is not None and s.partition not in shares:
            raise SpecError(
                f"task set {s.name} targets partition {s.partition!r}, which the run does not have",
                source=workflow.source,
                place=f"tasks[{i}] ({s.name})",
                fix=f"declare it: partitions={{{s.partition!r}: ...}} (command line: --partition {s.partition}=CORES)",
            )
    engine = Engine(
        start.nodes(),
        mode,
        make_policy(policy) if isinstance(policy, str) else policy,
        grouped=True,
        partitions=shares or None,
        retry_backoff=retry_backoff,
        links=links,
        releases=False,  # the simulation records no releases
    )
    sim = Simulation(engine, results, check, failures, calibration)
    sim.progress = progress
    if varies(workflow, platform):
        sim.draws = Draws(engine.nodes, platform, seed)
        sim.draws.add(workflow.sets)
    sim.counts.update((s.name, s.count) for s in workflow.sets)
    sim.sharing.update((s.name, s.gpu_speed) for s in workflow.sets if s.gpu_speed is not None)
    for trigger in triggers:
        sim.arm(trigger)
    sim.joins = sorted(((t, p.nodes()) for t, p in joins), key=lambda x: x[0])
    with gc_paused():  # a run makes millions of acyclic objects; the cycle collector would only rescan them
        sim.drive(workflow.sets, at)
    if engine.unfinished:
        why = " (or their partition holds too little of any node)" if engine.partitions is not None else ""
        raise EngineError(f"the simulation stopped with {engine.unfinished} tasks that can never run{why}")
    submitted = [*workflow.sets, *sim.added]
    wf = workflow if not sim.added else Workflow(workflow.name, tuple(submitted), workflow.source)
    name = policy if isinstance(policy, str) else policy.name
    result = SimResult(wf, platform, mode, name, sim.intervals, marks=sim.marks, steps=sim.steps, engine=engine)
    result.transfers = engine.transfers
    return result


class Simulation:
    """The event loop: feed the engine, turn each LaunchGroup into one event at its end, fire triggers. It is the
    simulation's TriggerPort (core/triggers.py): a trigger's action becomes stimuli at the instant it fired."""

    def __init__(
        self,
        engine: Engine,
        results: ResultModel | None,
        check: Callable[[Engine], None] | None,
        failures: FailureModel | None = None,
        calibration: Overheads | None = None,
    ) -> None:
        self.engine = engine
        self.calibration = calibration
        self.results = results
        self.check = check
        self.failures = failures
        self.names = [n.name for n in engine.nodes]  # nodes join (self.joins), none leaves
        self.joins: list[tuple[float, list[Node]]] = []
        self.now = 0.0
        self.steps = 0
        self.intervals: list[Interval] = []
        self.marks: list[Mark] = []
        self.triggers = Triggers()
        self.counts: dict[str, int] = {}  # tasks per set submitted so far (triggers are checked against it)
        self.added: list[TaskSet] = []  # sets submitted by triggers and injections
        self.stimuli: list[Stimulus] = []
        self.shares: dict[str, Share] = dict(engine.partitions.shares) if engine.partitions is not None else {}
        # (end time, launch id, task index and node index, or -1, -1 for the whole launch): no ties
        self._events: list[tuple[float, int, int, int]] = []
        self.draws: Draws | None = None  # each task's drawn run time, when run times vary
        self.progress: Callable[[Running], None] | None = None  # called every 256 steps
        self.sharing: dict[str, GpuSpeed] = {}  # set -> its GPU-sharing model, for sets that declare one
        self._sizes: dict[int, int] = {}  # launch whose tasks end one by one -> its number of tasks
        self._started: dict[int, tuple[LaunchGroup, float]] = {}
        self._stopped: dict[int, set[int]] = {}  # launch -> task indices cancelled or preempted while it ran
        self._failing: dict[int, dict[int, str]] = {}  # launch -> task indices whose attempt fails, with the error
        self._failures: dict[tuple[str, int], int] = {}  # (set, index) -> its failed attempts so far

    # ---- the TriggerPort ------------------------------------------------------------------------------------------
    def elapsed(self) -> float:
        return self.now

    def submit_workflow(self, workflow: Workflow) -> None:
        self.submit(workflow.sets)

    def cancel_tasks(self, set_name: str, index: int | None) -> None:
        self.stimuli.append(CancelRequested(set_name, index))

    def repartition(self, changes: Mapping[str, Any], preempt: bool) -> dict[str, Share]:
        new = repartitioned(self.shares, changes)
        self.shares.update(new)
        self.stimuli.append(Resize(tuple(new.items()), preempt))
        self.marks.append(Mark(self.now, "resize", describe(new, preempt)))  # as a real run's journal has it
        return new

    def arm(self, trigger: Trigger) -> None:
        self.triggers.add(trigger, self.counts)

    def tasks_done(self) -> int:
        """Tasks done so far (Running: what a progress callback reads)."""
        return self.engine.state_counts()[TaskState.DONE]

    # ---- the loop -------------------------------------------------------------------------------------------------

    def submit(self, sets: Sequence[TaskSet]) -> None:
        self.counts.update((s.name, s.count) for s in sets)
        self.added.extend(sets)
        self.sharing.update((s.name, s.gpu_speed) for s in sets if s.gpu_speed is not None)
        if self.draws is not None:
            self.draws.add(sets)
        self.stimuli.append(TasksSubmitted(tuple(sets)))

    def drive(self, sets: tuple[TaskSet, ...], at: Sequence[tuple[float, Sequence[TaskSet]]]) -> None:
        engine, events = self.engine, self._events
        injections = sorted(at, key=lambda x: x[0])
        inject_i = join_i = 0
        self.stimuli = [TasksSubmitted(sets)]
        triggers, handle, apply, check, heappop = self.triggers, engine.handle, self._apply, self.check, heapq.heappop
        end, end_task, progress = self._end, self._end_task, self.progress
        while True:
            if triggers.pending:
                self._fire()  # before the engine hears of the tasks that ended: what triggers start competes for them
            stimuli, self.stimuli = self.stimuli, []
            apply(handle(self.now, stimuli))
            self.steps += 1
            if check is not None:
                check(engine)
            if progress is not None and not self.steps & 255:
                progress(self)
            if triggers.pending:
                continue  # skipped tasks may have made a trigger due at this instant
            next_inject = injections[inject_i][0] if inject_i < len(injections) else _INF
            next_join = self.joins[join_i][0] if join_i < len(self.joins) else _INF
            wake = engine.wake_at  # a retried task's backoff ends
            t = events[0][0] if events else _INF
            if next_inject < t:
                t = next_inject
            if next_join < t:
                t = next_join
            if wake is not None and wake < t:
                t = wake
            if t == _INF:
                return
            if t < self.now:
                t = self.now
            self.now = t
            while events and events[0][0] == t:
                _, lid, index, node = heappop(events)
                if index < 0:
                    end(lid)
                else:
                    end_task(lid, index, node)
            if next_inject <= t:
                self.submit(injections[inject_i][1])
                inject_i += 1
            if next_join <= t:
                for joining in self.joins[join_i][1]:
                    self.names.append(joining.name)
                    self.stimuli.append(NodeJoined(joining))
                join_i += 1

    def _apply(self, out: list[Instruction]) -> None:
        started, events, now = self._started, self._events, self.now
        requeued: set[tuple[str, int]] = set()
        for ins in out:
            if type(ins) is LaunchGroup:  # nearly every instruction is a launch: the cheapest test first
                if self.calibration is None:
                    started[ins.launch] = (ins, now)  # it holds its resources while its image deploys
                    if (self.draws is None and not self.sharing) or not self._start_each(ins, now, ins.cold_start):
                        heapq.heappush(events, (now + ins.cold_start + ins.duration, ins.launch, -1, -1))
                else:
                    self._delayed(ins)
                if self.failures is not None:
                    self._draw_failures(ins)
            elif isinstance(ins, Cancel):
                self._stop(ins, requeued)
            elif isinstance(ins, Retried):
                requeued.add((ins.set, ins.index))
            elif isinstance(ins, Skipped):
                self.triggers.failed(ins.set, ins.count)
            elif isinstance(ins, Failed):
                self.triggers.failed(ins.set)

    def _start_each(self, g: LaunchGroup, begin: float, extra: float = 0.0) -> bool:
        """Give each task of a launch that runs from begin its own end event, at its drawn duration stretched at its
        GPU share (+ extra s); False when they all take g.duration (the caller then ends the launch as one event)."""
        each = self.draws.durations(g) if self.draws is not None else None
        model = self.sharing.get(g.set)
        if model is not None:
            each = shared_durations(g, model, each)
        if each is None:
            return False
        lid, push, events = g.launch, heapq.heappush, self._events
        for node, index, duration in each:
            push(events, (begin + duration + extra, lid, index, node))
        self._stopped.setdefault(lid, set())  # the tasks that stopped or ended so far
        self._sizes[lid] = len(each)
        return True

    def _end_task(self, lid: int, index: int, node_index: int) -> None:
        """One task of a launch whose tasks end one by one (sampled run times) ends: it is done, or fails now."""
        got = self._started.get(lid)
        ended = self._stopped.get(lid)
        if got is None or ended is None or index in ended:
            return  # it was stopped before
        g, begun = got
        ended.add(index)
        node = self.names[node_index]
        failing = self._failing.get(lid, {})
        attempt = self._failures.get((g.set, index), 0) + 1
        if index in failing:
            self._failures[g.set, index] = attempt
            self.intervals.append(
                Interval(g.set, index, index + 1, node, begun, self.now, g.cores, g.gpu_units, "failed", attempt)
            )
            self.stimuli.append(TaskFailed(lid, index, failing[index]))
        else:
            self.intervals.append(
                Interval(g.set, index, index + 1, node, begun, self.now, g.cores, g.gpu_units, "done", attempt)
            )
            result = self.results(g.set, index) if g.set in self.triggers.watched and self.results is not None else None
            self.triggers.done(g.set, result)
            self.stimuli.append(TaskFinished(lid, index))
        if len(ended) == self._sizes[lid]:  # nothing of it runs now: the engine ended it
            del self._started[lid], self._stopped[lid], self._sizes[lid]
            self._failing.pop(lid, None)

    def _delayed(self, g: LaunchGroup) -> None:
        """Start a launch the way the calibrated backend does: after its startup and launch latency, longer by the
        task overhead. It is a shift of when it runs, not a second placement: it holds its cores from now."""
        c = self.calibration
        assert c is not None
        begin = max(self.now, c.startup_s) + c.launch_latency_s
        self._started[g.launch] = (g, begin)
        extra = c.task_overhead_s + g.cold_start
        if (self.draws is None and not self.sharing) or not self._start_each(g, begin, extra):
            heapq.heappush(self._events, (begin + g.duration + extra, g.launch, -1, -1))

    def _draw_failures(self, g: LaunchGroup) -> None:
        """Ask the failure model which tasks of a launch fail this attempt (they fail at its end)."""
        assert self.failures is not None
        failing: dict[int, str] = {}
        for _, a, b, _ in g.parts:
            for idx in range(a, b):
                error = self.failures(g.set, idx, self._failures.get((g.set, idx), 0) + 1)
                if error is not None:
                    failing[idx] = error
        if failing:
            self._failing[g.launch] = failing

    def _stop(self, ins: Cancel, requeued: set[tuple[str, int]]) -> None:
        """Tasks of a running launch stopped early: record what they ran; the launch's event ends the rest."""
        got = self._started.get(ins.launch)
        if got is None:
            return
        g, begun = got
        begun = min(begun, self.now)  # stopped before its (calibrated) start
        stopped = self._stopped.setdefault(ins.launch, set())
        for i, a, b, _ in g.parts:
            for idx in range(a, b) if ins.index is None else (ins.index,):
                if a <= idx < b and idx not in stopped:
                    stopped.add(idx)
                    status = "preempted" if (g.set, idx) in requeued else "cancelled"
                    self.intervals.append(
                        Interval(g.set, idx, idx + 1, self.names[i], begun, self.now, g.cores, g.gpu_units, status)
                    )
        if len(stopped) == sum(b - a for _, a, b, _ in g.parts):  # nothing of it runs now: the engine ended it
            del self._started[ins.launch]
            del self._stopped[ins.launch]
            self._failing.pop(ins.launch, None)
            self._sizes.pop(ins.launch, None)

    def _end(self, lid: int) -> None:
        got = self._started.pop(lid, None)
        failing = self._failing.pop(lid, None) if self._failing else None
        if got is None:
            return  # every task of it was stopped before
        g, begun = got
        name, cores, units, now, names = g.set, g.cores, g.gpu_units, self.now, self.names
        stopped = self._stopped.pop(lid, None) if self._stopped else None
        ranges: Sequence[tuple[int, int]]
        if stopped is None and failing is None and not self._failures:  # the common case: every task ran to the end
            parts = g.parts
            if len(parts) == 1:
                i, a, b, _ = parts[0]
                self.intervals.append(Interval(name, a, b, names[i], begun, now, cores, units))
                if name not in self.triggers.watched:  # nearly always: no trigger asks for its results
                    self.triggers.done(name, None, b - a)
                    self.stimuli.append(TaskFinished(lid))
                    return
                ranges = ((a, b),)
            else:
                self.intervals += [Interval(name, a, b, names[i], begun, now, cores, units) for i, a, b, _ in parts]
                ranges = [(a, b) for _, a, b, _ in parts]
        else:
            ranges = self._end_some(g, begun, stopped or set(), failing or {})
        if name in self.triggers.watched and self.results is not None:
            for lo, hi in ranges:
                for k in range(lo, hi):
                    self.triggers.done(name, self.results(name, k))
        else:
            self.triggers.done(name, None, sum(hi - lo for lo, hi in ranges))
        if ranges:
            self.stimuli.append(TaskFinished(lid))

    def _end_some(
        self, g: LaunchGroup, begun: float, stopped: set[int], failing: dict[int, str]
    ) -> list[tuple[int, int]]:
        """The end of a launch some of whose tasks were stopped before or fail now: record what ran (a failed
        attempt as its own interval), tell the engine of the failures; returns the ranges of tasks that are done."""
        name, cores, units, now, names, tries = g.set, g.cores, g.gpu_units, self.now, self.names, self._failures
        skip = sorted(stopped | failing.keys())
        ranges: list[tuple[int, int]] = []
        for i, a, b, _ in g.parts:
            node, lo = names[i], a
            for idx in [x for x in skip if a <= x < b] + [b]:
                if lo < idx:  # done: one interval per run of tasks on the same attempt
                    ranges.append((lo, idx))
                    first = lo
                    for k in range(lo + 1, idx + 1):
                        if k == idx or tries.get((name, k), 0) != tries.get((name, first), 0):
                            n = tries.get((name, first), 0) + 1
                            self.intervals.append(Interval(name, first, k, node, begun, now, cores, units, "done", n))
                            first = k
                if idx < b and idx not in stopped:  # it fails now
                    n = tries[name, idx] = tries.get((name, idx), 0) + 1
                    self.intervals.append(Interval(name, idx, idx + 1, node, begun, now, cores, units, "failed", n))
                    self.stimuli.append(TaskFailed(g.launch, idx, failing[idx]))
                lo = idx + 1
        return ranges

    def _fire(self) -> None:
        for trigger, seen in self.triggers.due():
            ctx = Actions(self, seen, load_workflow)
            trigger.then(ctx)
            self.marks.append(Mark(self.now, "trigger", f"{trigger.name}: {'; '.join(ctx.did) or 'nothing'}"))


def joined(platform: Platform, more: Sequence[Platform]) -> Platform:
    """The platform with the node types of `more` (nodes that join later) added; a type name used twice is refused."""
    if not more:
        return platform
    types = [*platform.node_types, *(t for p in more for t in p.node_types)]
    names = [t.type for t in types]
    for name in names:
        if names.count(name) > 1:
            raise SpecError(
                f"node type {name!r} both is in the platform and joins it",
                fix="give the joining nodes a type of their own",
            )
    return Platform(platform.name, tuple(types), platform.source)


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
