"""One-task sets (a program's calls, a trace's records) share what they hold while nothing of them differs: the ready
range of a released set not yet placed, and the empty tables of failed attempts and of tasks waiting out a backoff.
Whatever happens to one of them (placed, cancelled while queued, failed and retried after a backoff, requeued from a
lost node) leaves the shared ones as they were, and the engine's counts agree with its ranges at every step."""

from __future__ import annotations

import gc
from collections import deque

import pytest

from hetflow.core.engine import Engine
from hetflow.core.instructions import Instruction, Launch
from hetflow.core.sets import NO_ATTEMPTS, NO_RANGES, NONE_WAITING, ONE_READY
from hetflow.core.states import TaskState
from hetflow.core.stimuli import (
    CancelRequested,
    NodeJoined,
    NodeLost,
    Stimulus,
    TaskFailed,
    TaskFinished,
    TasksSubmitted,
)
from hetflow.errors import EngineError
from hetflow.policies import make_policy
from hetflow.spec.resources import Resources
from hetflow.spec.workflow import TaskSet

from .conftest import node, ts


def step(e: Engine, now: float, *stimuli: Stimulus) -> list[Instruction]:
    out = e.handle(now, list(stimuli))
    e.validate()
    assert deque([[0, 1]]) == ONE_READY and not NO_RANGES and not NO_ATTEMPTS and not NONE_WAITING
    return out


def launched(out: list[Instruction]) -> dict[str, int]:
    return {i.set: i.launch for i in out if isinstance(i, Launch)}


def test_queued_one_task_sets_share_their_ready_range_and_empty_tables() -> None:
    e = Engine([node("n-0", cores=1)], "task", make_policy("fifo"), retry_backoff=1.0)
    out = step(e, 0, TasksSubmitted(tuple(ts(f"c{k}", retries=1) for k in range(4))))
    assert list(launched(out)) == ["c0"]
    st = e.sets
    # placed: nothing left of its range; queued: the shared range, no table of their own
    assert st["c0"].ready is NO_RANGES
    assert all(st[f"c{k}"].ready is ONE_READY for k in (1, 2, 3))
    assert all(st[f"c{k}"].attempts is NO_ATTEMPTS and st[f"c{k}"].waiting is NONE_WAITING for k in range(4))
    # a queued set cancelled: it leaves the queue, the shared range untouched
    step(e, 1, CancelRequested("c2"))
    assert st["c2"].ready is NO_RANGES and st["c2"].counts[TaskState.CANCELLED] == 1
    # c0 fails: it gets tables of its own and waits out its backoff while c1 runs
    out = step(e, 2, TaskFailed(0, 0, "boom"))
    assert st["c0"].attempts == {0: 1} and st["c0"].waiting == {0: 3.0}
    assert list(launched(out)) == ["c1"]
    assert st["c1"].attempts is NO_ATTEMPTS and st["c3"].waiting is NONE_WAITING
    # c1 ends; c0's backoff is over at 3: it is placed from a range of its own, before c3 (released earlier)
    out = step(e, 3, TaskFinished(launched(out)["c1"], None))
    assert list(launched(out)) == ["c0"]
    assert st["c3"].ready is ONE_READY
    # c0's node is lost: its task is ready again in a range of its own, placed on the node that joins
    step(e, 4, NodeLost("n-0"))
    assert st["c0"].ready == deque([[0, 1]]) and st["c0"].ready is not ONE_READY
    out = step(e, 5, NodeJoined(node("m-0", cores=2)))
    assert sorted(launched(out)) == ["c0", "c3"]
    out = step(e, 6, *[TaskFinished(lid, None) for lid in launched(out).values()])
    assert e.unfinished == 0
    assert e.state_counts()[TaskState.DONE] == 3 and e.state_counts()[TaskState.CANCELLED] == 1


def test_a_queued_one_task_set_costs_three_tracked_objects_fewer() -> None:
    """Released and waiting for a core, a one-task set holds its SetState, its counts and its queue entry: no ready
    deque, no range list of its own (the collector walks whatever each queued set holds, again and again)."""
    e = Engine([node("n-0", cores=1)], "task", make_policy("fifo"))
    one_core = Resources.of(1, 0)  # what every call of one task function asks (the session shares it)
    step(e, 0, TasksSubmitted((TaskSet("first", 1, one_core, 1.0),)))
    specs = tuple(TaskSet(f"c{k}", 1, one_core, 1.0) for k in range(2_000))
    gc.collect()
    before = len(gc.get_objects())
    step(e, 1, TasksSubmitted(specs))
    gc.collect()
    per_set = (len(gc.get_objects()) - before) / len(specs)
    assert all(e.sets[s.name].ready is ONE_READY for s in specs)
    assert per_set < 3.1, per_set  # was 5: a ready deque and its range list of its own each


def test_a_batch_naming_a_set_twice_is_refused_and_leaves_the_engine_as_it_was() -> None:
    e = Engine([node("n-0", cores=1)], "task", make_policy("fifo"))
    out = step(e, 0, TasksSubmitted((ts("a"), ts("b"))))
    assert list(launched(out)) == ["a"]
    for batch in [(ts("c"), ts("d"), ts("c")), (ts("e"), ts("b"))]:  # twice in the batch; submitted before
        with pytest.raises(EngineError, match="was submitted before"):
            e.handle(1, [TasksSubmitted(batch)])
        e.validate()
        assert sorted(e.sets) == ["a", "b"] and e.unfinished == 2
    # the engine goes on as if nothing had come: b runs after a, then the names refused before are taken
    out = step(e, 2, TaskFinished(launched(out)["a"], None), TasksSubmitted((ts("c"), ts("e"))))
    assert list(launched(out)) == ["b"]
    out = step(e, 3, TaskFinished(launched(out)["b"], None))
    assert list(launched(out)) == ["c"]
    assert [s.sid for s in e.sets.values()] == [0, 1, 2, 3]
