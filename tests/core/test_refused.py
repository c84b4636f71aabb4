"""A refusal (TaskRefused): the task never started, so it goes back to the ready queue holding nothing, spends no
attempt, and may be placed again (anywhere) from its not-before time."""

from __future__ import annotations

from hetflow.core.engine import Engine
from hetflow.core.instructions import REFUSAL, Launch, Retried
from hetflow.core.states import TaskState
from hetflow.core.stimuli import TaskFailed, TaskFinished, TaskRefused, TasksSubmitted
from hetflow.policies import make_policy

from .conftest import node, ts


def launches(out: list[object]) -> list[Launch]:
    return [i for i in out if isinstance(i, Launch)]


def test_a_refused_task_is_placed_again_from_its_not_before_without_spending_a_retry() -> None:
    e = Engine([node("n-0", cores=1)], "task", make_policy("fifo"), retry_backoff=1.0)
    (a,) = launches(e.handle(0, [TasksSubmitted((ts("A", retries=0), ts("B", runtime=5)))]))
    out = e.handle(1, [TaskRefused(a.launch, 0, "site x: busy", 1.5)])
    assert Retried("A", 0, 0, "site x: busy", 1.5, REFUSAL) in out
    (b,) = launches(out)  # its core went back at once: B takes it while A waits
    assert b.set == "B" and e.wake_at == 1.5 and e.sets["A"].attempts == {}
    e.validate()
    (a2,) = launches(e.handle(6, [TaskFinished(b.launch)]))
    assert (a2.set, a2.start) == ("A", 0)
    out = e.handle(7, [TaskRefused(a2.launch, 0, "again", 7)])  # no pause: ready at once, placed in the same pass
    (a3,) = launches(out)
    assert a3.set == "A" and e.sets["A"].attempts == {}
    out = e.handle(8, [TaskFailed(a3.launch, 0, "boom")])  # a real failure still counts (retries=0: it fails)
    assert e.sets["A"].attempts == {0: 1} and e.state_counts()[TaskState.FAILED] == 1
    e.validate()
    assert e.unfinished == 0
