"""Runs on the flat kernel (sim/flat.py): which runs it takes, the arrays it reads, the loop that drives it, and its
result.

The gate is an allowlist. It knows every field of TaskSet, Resources, NodeType, Workflow and Platform: each is either
one the kernel reproduces (cores, memory, run time, dependencies, node counts and speeds), one that changes no
schedule in such a run (a set's command, function, files, workload label, image, retries, inputs and outputs: the
simulator reads them only with a failure model, links or cold starts, which are declined; a node type's GPUs and
features: no accepted task asks for either), or one that must hold its default (count 1, no variants, partition,
run-time distribution, GPU-speed model, requirement or cold start; no GPUs, GPU memory or GPU models asked; no speed
jitter, cold start, keep-warm or site on a node type). A field it does not know (one added to the spec later)
declines every run until the gate is taught it. run_simulation adds the run's own conditions: task mode, the fifo
policy by name, and no option but progress, seed and retry_backoff (the last two change nothing here).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import fields
from functools import cache
from operator import attrgetter

from hetflow.built import how
from hetflow.core.ledger import UNTRACKED
from hetflow.errors import EngineError
from hetflow.sim import flat
from hetflow.sim.flat import FlatRun, core_seconds
from hetflow.sim.result import Running, SimResult
from hetflow.spec.platform import NodeType, Platform
from hetflow.spec.resources import Resources
from hetflow.spec.trace import Interval
from hetflow.spec.workflow import TaskSet, Workflow

log = logging.getLogger(__name__)
CHUNK = 1 << 14  # task ends per call into the kernel: progress is shown, and Ctrl-C felt, between calls
# (fields that must hold these values in every set, a getter of them)
PINNED_SET = ("count", "variants", "partition", "runtime_dist", "gpu_speed", "requires", "cold_start")
PINNED_VALUES = (1, (), None, None, None, None, 0.0)
KNOWN: dict[type, frozenset[str]] = {
    TaskSet: frozenset(PINNED_SET)
    | {"name", "resources", "runtime", "after", "workload", "command", "function", "files", "retries", "inputs"}
    | {"outputs", "image"},
    Resources: frozenset(("cores", "gpu_units", "memory", "gpu_memory", "gpu_models")),
    NodeType: frozenset(("type", "count", "cores", "memory", "speed", "speed_jitter", "cold_start", "keep_warm"))
    | {"site", "gpu_units", "gpu_model", "gpu_sharing", "features"},
    Workflow: frozenset(("name", "sets", "source", "outside")),
    Platform: frozenset(("name", "node_types", "source")),
}


@cache
def knows_the_spec() -> bool:
    """Whether the gate knows every field of the spec's classes it reads (a new one turns the kernel off)."""
    return all({f.name for f in fields(cls)} == names for cls, names in KNOWN.items())


KERNEL = flat.FlatRun
HOW = how(flat)  # compiled (the build compiles sim/flat.py), else interpreted


class FlatInputs:
    """A workflow and platform as the kernel reads them, and the names its result needs."""

    def __init__(self, workflow: Workflow, platform: Platform) -> None:
        sets = workflow.sets
        res = list(map(attrgetter("resources"), sets))
        self.cores: list[int] = list(map(attrgetter("cores"), res))
        self.memory: list[int] = list(map(attrgetter("memory"), res))
        self.runtime: list[float] = list(map(attrgetter("runtime"), sets))
        self.names: list[str] = list(map(attrgetter("name"), sets))
        self.parents = workflow.parent_ids  # each parent once, as ids (the gate declines sets outside)
        nodes = platform.nodes()
        self.node_names = [n.name for n in nodes]
        self.node_cores = [n.cores for n in nodes]
        self.node_memory = [n.memory or UNTRACKED for n in nodes]  # the ledger's capacities
        self.speed = [n.speed for n in nodes]
        self.needs = {id(r): r for r in res}.values()  # each distinct need once (the loader shares them)

    def kernel(self, kernel: type[FlatRun]) -> FlatRun:
        return kernel(
            self.cores,
            self.memory,
            self.runtime,
            self.parents,
            self.node_cores,
            self.node_memory,
            self.speed,
        )


def flat_inputs(workflow: Workflow, platform: Platform) -> FlatInputs | None:
    """The kernel's inputs, or None when the gate declines the workflow or the platform (the engine runs it)."""
    if not knows_the_spec() or workflow.outside:
        return None
    for t in platform.node_types:
        if t.speed_jitter or t.cold_start or t.keep_warm is not None or t.site is not None:
            return None
        if not (0 < t.speed < math.inf):
            return None
    sets = workflow.sets
    if sets and set(map(attrgetter(*PINNED_SET), sets)) != {PINNED_VALUES}:
        return None
    inputs = FlatInputs(workflow, platform)
    for r in inputs.needs:
        if (
            r.gpu_units
            or r.gpu_memory
            or r.gpu_models
            or not (0 <= r.cores <= UNTRACKED and 0 <= r.memory <= UNTRACKED)
        ):
            return None
    if max(inputs.node_cores, default=0) > UNTRACKED or max(inputs.node_memory, default=0) > UNTRACKED:
        return None  # (the kernel's amounts are 64-bit; the ledger's largest, an untracked memory, fits)
    times = inputs.runtime
    if times and not (min(times) >= 0 and math.isfinite(sum(times))):
        return None
    return inputs


def flat_simulation(
    workflow: Workflow,
    platform: Platform,
    mode: str,
    policy: str,
    progress: Callable[[Running], None] | None = None,
    kernel: type[FlatRun] | None = None,
) -> FlatResult | None:
    """The run on the flat kernel, or None when the gate declines it. progress is called between calls into the
    kernel (every CHUNK task ends): an exception it raises (or Ctrl-C) ends the run there."""
    if mode != "task" or policy != "fifo":
        return None
    inputs = flat_inputs(workflow, platform)
    if inputs is None:
        return None
    run = inputs.kernel(KERNEL if kernel is None else kernel)
    while not run.advance(CHUNK):
        if progress is not None:
            progress(run)
    if run.done != run.n:  # the platform holds each task on some node (check_fits): a stuck run is a bug here
        raise EngineError(f"the simulation stopped with {run.n - run.done} tasks that can never run")
    log.info("simulated %d one-task sets on the flat kernel (%s)", run.n, HOW if kernel is None else "given")
    return FlatResult.of(workflow, platform, mode, policy, run, inputs)


class FlatResult(SimResult):
    """A run of the flat kernel: a SimResult (engine None) whose intervals, one per task, in the order they ended,
    are made when first read, and whose figures (makespan, tasks, busy cores) come from the kernel's arrays until
    then: a million Interval objects take seconds, and --json needs none. Made by `of`; its constructor is the
    dataclass's (so dataclasses.replace gives one whose intervals are made)."""

    start: list[float]
    end: list[float]
    node: list[int]
    order: list[int]  # tasks in the order they ended
    names: list[str]
    node_names: list[str]
    cores: list[int]
    made: list[Interval] | None

    @classmethod
    def of(
        cls, workflow: Workflow, platform: Platform, mode: str, policy: str, run: FlatRun, inputs: FlatInputs
    ) -> FlatResult:
        result = cls(workflow, platform, mode, policy, [], steps=run.steps)
        result.start, result.end, result.node, result.order = run.results()
        result.names, result.node_names, result.cores = inputs.names, inputs.node_names, inputs.cores
        result.made = None
        return result

    @property
    def intervals(self) -> list[Interval]:
        if self.made is None:
            names, nodes, node, start, end, cores = (
                self.names,
                self.node_names,
                self.node,
                self.start,
                self.end,
                self.cores,
            )
            self.made = [Interval(names[t], 0, 1, nodes[node[t]], start[t], end[t], cores[t], 0) for t in self.order]
        return self.made

    @intervals.setter
    def intervals(self, value: list[Interval]) -> None:
        self.made = value

    @property
    def makespan_s(self) -> float:
        return max(self.end, default=0.0) - self.origin if self.made is None else super().makespan_s

    @property
    def tasks(self) -> int:
        return len(self.order) if self.made is None else super().tasks

    def busy_fractions(self, makespan: float) -> tuple[float, float]:
        if self.made is not None or self.origin:
            return super().busy_fractions(makespan)
        capacity = self.platform.cores
        if capacity <= 0 or makespan <= 0:
            return 0.0, 0.0  # (no task holds a GPU)
        start, end, cores = self.start, self.end, self.cores
        # as utilization() adds it up, interval by interval: the same floats in the same order
        return sum(core_seconds(cores, start, end, self.order)) / (capacity * makespan), 0.0
