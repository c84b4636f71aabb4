"""Retry backoff in the engine: a failed task waits for its not-before time holding nothing, and policies do not see
it until it is due."""

from __future__ import annotations

import pytest

from hetflow.core.backoff import MAX_BACKOFF_S, backoff_delay
from hetflow.core.engine import Engine
from hetflow.core.instructions import Launch, Retried
from hetflow.core.states import TaskState
from hetflow.core.stimuli import CancelRequested, NodeLost, TaskFailed, TaskFinished, TasksSubmitted
from hetflow.errors import EngineError
from hetflow.policies import make_policy

from .conftest import node, ts


def engine(cores: int = 1, backoff: float = 1.0, nodes: int = 1) -> Engine:
    return Engine(
        [node(f"n-{i}", cores=cores) for i in range(nodes)], "task", make_policy("fifo"), retry_backoff=backoff
    )


def launches(out: list[object]) -> list[Launch]:
    return [i for i in out if isinstance(i, Launch)]


def test_backoff_delay_doubles_up_to_the_cap() -> None:
    assert [backoff_delay(1.0, a) for a in (1, 2, 3)] == [1.0, 2.0, 4.0]
    assert backoff_delay(1.0, 20) == MAX_BACKOFF_S == 60.0
    assert backoff_delay(0.0, 3) == 0.0


def test_a_failed_task_waits_holding_nothing_and_starts_when_due() -> None:
    e = engine()
    (a,) = launches(e.handle(0, [TasksSubmitted((ts("A", retries=2), ts("B", runtime=5)))]))
    assert a.set == "A"
    out = e.handle(10, [TaskFailed(a.launch, 0, "boom")])
    assert Retried("A", 0, 1, "boom", 11.0) in out
    (b,) = launches(out)  # the core is free at once: B takes it while A waits
    assert b.set == "B"
    assert e.wake_at == 11.0
    assert e.state_counts()[TaskState.READY] == 1 and e.sets["A"].counts[TaskState.READY] == 0
    e.validate()
    assert launches(e.handle(11, [])) == []  # due, but B holds the core
    assert e.wake_at is None and e.sets["A"].counts[TaskState.READY] == 1
    (a2,) = launches(e.handle(15, [TaskFinished(b.launch)]))
    assert (a2.set, a2.start) == ("A", 0)
    out = e.handle(16, [TaskFailed(a2.launch, 0, "boom")])
    assert Retried("A", 0, 2, "boom", 18.0) in out and e.wake_at == 18.0
    assert launches(e.handle(17.9, [])) == [] and e.wake_at == 18.0
    (a3,) = launches(e.handle(18, []))
    assert a3.set == "A" and e.wake_at is None
    e.handle(19, [TaskFinished(a3.launch)])
    e.validate()
    assert e.unfinished == 0


def test_no_backoff_without_a_pause_and_none_for_lost_nodes() -> None:
    e = engine(backoff=0.0)
    (a,) = launches(e.handle(0, [TasksSubmitted((ts("A", retries=1),))]))
    out = e.handle(3, [TaskFailed(a.launch, 0, "boom")])
    assert Retried("A", 0, 1, "boom", 3) in out and len(launches(out)) == 1 and e.wake_at is None
    e = engine(nodes=2)
    out = e.handle(0, [TasksSubmitted((ts("A", count=2, retries=1),))])
    out = e.handle(4, [NodeLost("n-0")])
    assert [x.not_before for x in out if isinstance(x, Retried)] == [4] and e.wake_at is None


def test_cancel_while_waiting_cancels_the_ready_task() -> None:
    e = engine(nodes=1, cores=2)
    out = e.handle(0, [TasksSubmitted((ts("A", count=2, retries=3), ts("B", after=["A"])))])
    (a,) = launches(out)
    e.handle(1, [TaskFailed(a.launch, 0, "boom")])
    assert e.wake_at == 2.0
    out = e.handle(1.5, [CancelRequested("A", 0)])
    e.validate()
    assert e.wake_at is None
    counts = e.state_counts()
    assert counts[TaskState.CANCELLED] == 1 and counts[TaskState.READY] == 0 and counts[TaskState.RUNNING] == 1
    e.handle(2, [TaskFinished(a.launch, 1)])  # the stale queue entry comes due: nothing happens
    assert e.unfinished == 0 and e.state_counts()[TaskState.SKIPPED] == 1
    e.validate()


def test_cancel_of_a_whole_set_reaches_waiting_tasks() -> None:
    e = engine(cores=4)
    (a,) = launches(e.handle(0, [TasksSubmitted((ts("A", count=4, retries=3),))]))
    e.handle(1, [TaskFailed(a.launch, 1, "x"), TaskFailed(a.launch, 2, "y")])
    assert e.state_counts()[TaskState.READY] == 2
    e.handle(1, [CancelRequested("A")])
    e.validate()
    assert e.unfinished == 0 and e.idle and e.wake_at is None
    assert e.state_counts()[TaskState.CANCELLED] == 4


def test_validate_sees_a_waiting_task_that_went_astray() -> None:
    e = engine()
    (a,) = launches(e.handle(0, [TasksSubmitted((ts("A", retries=1),))]))
    e.handle(1, [TaskFailed(a.launch, 0, "boom")])
    e.validate()
    e.sets["A"].waiting[0] = 5.0  # not the time its queue entry holds
    with pytest.raises(EngineError):
        e.validate()
