"""A forgetting engine (a long-lived session's): sets that ended leave it once forget_ended() is called, its memory
and work stay what they were at the start however many sets came before, and the schedule is the one an engine
that keeps everything gives."""

from __future__ import annotations

import gc
import random

from hetflow.core.engine import Engine
from hetflow.core.instructions import Instruction, Launch, Skipped
from hetflow.core.states import TaskState
from hetflow.core.stimuli import CancelRequested, Stimulus, TaskFailed, TaskFinished, TasksSubmitted
from hetflow.policies import make_policy
from hetflow.spec.resources import Resources
from hetflow.spec.workflow import TaskSet

from .conftest import node, ts

ONE_CORE = Resources.of(1, 0)  # what every call of one task function asks (the session shares it)


def step(e: Engine, now: float, *stimuli: Stimulus) -> list[Instruction]:
    out = e.handle(now, list(stimuli))
    e.validate()
    e.forget_ended()
    return out


def finish_all(e: Engine, now: float, out: list[Instruction]) -> list[Instruction]:
    return step(e, now, *[TaskFinished(i.launch, None) for i in out if isinstance(i, Launch)])


def test_ended_sets_leave_and_the_engine_stays_small() -> None:
    e = Engine([node("n-0", cores=4)], "task", make_policy("fifo"), forget=True)
    sizes, tracked = [], []
    now = 0.0
    for r in range(5):
        for k in range(2_000):  # one-task sets, as a program calling a task once per item makes them
            out = step(e, now, TasksSubmitted((TaskSet(f"call-{r}-{k}", 1, ONE_CORE, 1.0),)))
            now += 1
            out = finish_all(e, now, out)
        assert not e.sets and e.unfinished == 0
        sizes.append(len(e.sets))
        gc.collect()
        tracked.append(len(gc.get_objects()))
    assert e.state_counts()[TaskState.DONE] == 10_000
    # every object the collector tracks per set is gone with it: the work of a collection stays flat
    assert tracked[-1] - tracked[1] < 100, tracked
    assert sizes == [0] * 5


def test_a_forgetting_engine_keeps_the_rules_for_forgotten_sets() -> None:
    e = Engine([node("n-0", cores=2)], "task", make_policy("fifo"), forget=True)
    out = step(e, 0, TasksSubmitted((ts("good"), ts("bad", retries=0))))
    launched = {i.set: i.launch for i in out if isinstance(i, Launch)}
    step(e, 10, TaskFinished(launched["good"], None), TaskFailed(launched["bad"], 0, "boom"))
    assert "good" not in e.sets and "bad" not in e.sets and e.ended("good") and e.ended("bad")
    # a dependency on a forgotten set is met; on one that ended badly, its dependents are skipped
    out = step(e, 20, TasksSubmitted((ts("after-good", after=["good"]), ts("after-bad", after=["bad"]))))
    assert [i.set for i in out if isinstance(i, Launch)] == ["after-good"]
    assert [i.set for i in out if isinstance(i, Skipped)] == ["after-bad"]
    assert step(e, 21, CancelRequested("good")) == []  # it ended long ago: nothing to cancel
    counts = e.state_counts()
    assert counts[TaskState.DONE] == 1 and counts[TaskState.FAILED] == 1 and counts[TaskState.SKIPPED] == 1


def test_an_engine_that_keeps_everything_still_refuses_unknown_dependencies() -> None:
    e = Engine([node("n-0")], "task", make_policy("fifo"))
    step(e, 0, TasksSubmitted((ts("a"),)))
    assert "a" in e.sets  # forget_ended does nothing unless the engine forgets
    for mode in ("sync", "workload"):  # their gates read levels and workloads: they keep every set
        kept = Engine([node("n-0")], mode, make_policy("fifo"), forget=True)
        out = step(kept, 0, TasksSubmitted((ts("a"),)))
        finish_all(kept, 10, out)
        assert "a" in kept.sets


def random_calls(seed: int) -> list[tuple[float, list[TaskSet]]]:
    """Batches of sets at times, each depending on earlier ones now and then (some long ended)."""
    rng = random.Random(seed)
    batches, names, t = [], [], 0.0
    for b in range(300):
        sets = []
        for k in range(rng.randint(1, 4)):
            after = rng.sample(names, k=min(len(names), rng.choice([0, 0, 1, 2])))
            name = f"s{b}-{k}"
            sets.append(
                ts(name, count=rng.randint(1, 3), cores=rng.randint(1, 3), runtime=rng.randint(1, 9), after=after)
            )
            names.append(name)
        batches.append((t, sets))
        t += rng.choice([0.5, 1, 3])
    return batches


def schedule(forget: bool, seed: int, policy: str) -> list[tuple[float, str, int, int, str]]:
    """Run the batches to the end (tasks end at start + runtime; every 7th set's first task fails once it runs);
    every launch as (time, set, start, stop, node)."""
    e = Engine([node("n-0", cores=4), node("n-1", cores=3)], "task", make_policy(policy), forget=forget)
    batches, ends, got, now = random_calls(seed), [], [], 0.0
    fail = {s.name for _, sets in batches for s in sets if int(s.name[1:].split("-")[0]) % 7 == 0}
    while batches or ends:
        ends.sort(key=lambda x: x[0])
        if batches and (not ends or batches[0][0] <= ends[0][0]):
            now, sets = batches.pop(0)
            stimuli: list[Stimulus] = [TasksSubmitted(tuple(sets))]
        else:
            now = ends[0][0]
            stimuli = []
            while ends and ends[0][0] == now:
                _, ins = ends.pop(0)
                for idx in range(ins.start, ins.stop):
                    bad = ins.set in fail and idx == 0
                    stimuli.append(TaskFailed(ins.launch, idx, "x") if bad else TaskFinished(ins.launch, idx))
        out = e.handle(now, stimuli)
        e.validate()
        e.forget_ended()
        for ins in out:
            if isinstance(ins, Launch):
                got.append((now, ins.set, ins.start, ins.stop, ins.node))
                ends.append((now + ins.duration, ins))
    assert e.unfinished == 0
    return got


def test_forgetting_changes_no_schedule() -> None:
    for seed in range(3):
        for policy in ("fifo", "critical-path", "heft"):
            assert schedule(True, seed, policy) == schedule(False, seed, policy)
