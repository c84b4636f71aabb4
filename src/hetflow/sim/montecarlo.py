"""Monte Carlo simulation: one workflow simulated many times, each run with its own seed, over the machine's cores.

The seeds of the runs are spawned from one numpy SeedSequence, so the runs (and their order) are the same for a
seed whatever the number of workers. The workflow and platform are loaded and checked once; each worker process
receives them once, through its initializer, and then only seeds. A workflow whose run times do not vary is
simulated once: every run would give the same schedule.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from hetflow.errors import SpecError
from hetflow.sim.sampling import varies
from hetflow.sim.simulator import SimResult, run_simulation
from hetflow.spec.platform import Platform
from hetflow.spec.workflow import Workflow


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What one simulated run of many gives: its seed (to replay it alone with run_simulation(seed=)), its makespan
    and its CPU and GPU utilization."""

    seed: int
    makespan_s: float
    cpu_utilization: float
    gpu_utilization: float


def run_seeds(seed: int | None, repeat: int) -> tuple[int, list[int]]:
    """(the root seed, one seed per run) spawned from it; a root of None is drawn from the OS and returned, so that
    the runs can be replayed."""
    import numpy as np

    root = np.random.SeedSequence(seed)
    entropy = root.entropy
    assert isinstance(entropy, int)
    return entropy, [int(c.generate_state(1, np.uint64)[0]) for c in root.spawn(repeat)]


def simulate_many(
    workflow: Workflow,
    platform: Platform,
    mode: str = "task",
    policy: str = "fifo",
    repeat: int = 100,
    seed: int | None = None,
    workers: int | None = None,
) -> list[RunSummary]:
    """repeat simulations of the workflow, each with its own seed spawned from seed, on `workers` processes
    (None: one per core; 1: in this process). The summaries come in the order of their seeds."""
    if repeat < 1:
        raise SpecError(f"a repeat of {repeat}", place="--repeat", fix="give a number of runs >= 1, e.g. 100")
    if workers is not None and workers < 1:
        raise SpecError(f"{workers} workers", place="--workers", fix="give a number of processes >= 1")
    platform.check_fits(workflow)
    _, seeds = run_seeds(seed, repeat)
    if not varies(workflow, platform):
        one = _summary(run_simulation(workflow, platform, mode, policy), seeds[0])
        return [RunSummary(s, one.makespan_s, one.cpu_utilization, one.gpu_utilization) for s in seeds]
    n = min(workers or os.cpu_count() or 1, repeat)
    if n == 1:
        return [_summary(run_simulation(workflow, platform, mode, policy, seed=s), s) for s in seeds]
    with ProcessPoolExecutor(n, initializer=_receive, initargs=(workflow, platform, mode, policy)) as pool:
        return list(pool.map(_run, seeds, chunksize=max(1, repeat // (4 * n))))


def _summary(result: SimResult, seed: int) -> RunSummary:
    return RunSummary(seed, result.makespan_s, result.cpu_utilization, result.gpu_utilization)


_WORK: list[tuple[Workflow, Platform, str, str]] = []  # in a worker process: what it simulates, received once


def _receive(workflow: Workflow, platform: Platform, mode: str, policy: str) -> None:
    _WORK[:] = [(workflow, platform, mode, policy)]


def _run(seed: int) -> RunSummary:
    workflow, platform, mode, policy = _WORK[0]
    return _summary(run_simulation(workflow, platform, mode, policy, seed=seed), seed)


def makespans(runs: Sequence[RunSummary]) -> list[float]:
    """The makespans of many runs, in their order."""
    return [r.makespan_s for r in runs]
