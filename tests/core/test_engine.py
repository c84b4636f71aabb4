from __future__ import annotations

import pytest

from hetflow.core.engine import Engine
from hetflow.core.instructions import NODE_LOST, Cancel, Failed, Launch, Released, Retried, Skipped
from hetflow.core.states import TaskState
from hetflow.core.stimuli import CancelRequested, NodeJoined, NodeLost, TaskFailed, TaskFinished, TasksSubmitted
from hetflow.errors import EngineError, IllegalTransition
from hetflow.policies import make_policy

from .conftest import node, ts


def test_chain_launches_in_dependency_order(make_driver) -> None:  # type: ignore[no-untyped-def]
    d = make_driver([node("n-0", cores=4)])
    out = d(0, TasksSubmitted((ts("A", count=8), ts("B", count=2, after=["A"]))))
    launches = d.launches(out)
    assert [(x.set, x.start, x.stop) for x in launches] == [("A", 0, 4)]  # 4 cores: a batch of 4, the rest wait
    assert Released("A") in out and Released("B") not in out
    out = d(10, TaskFinished(launches[0].launch))
    assert [(x.set, x.start, x.stop) for x in d.launches(out)] == [("A", 4, 8)]
    out = d(20, TaskFinished(d.launches(out)[0].launch))
    assert [(x.set, x.start, x.stop) for x in d.launches(out)] == [("B", 0, 2)]
    d(30, TaskFinished(d.launches(out)[0].launch))
    assert d.engine.unfinished == 0 and d.engine.idle


def test_single_task_completions_free_their_share(make_driver) -> None:  # type: ignore[no-untyped-def]
    d = make_driver([node("n-0", cores=2)])
    out = d(0, TasksSubmitted((ts("A", count=3),)))
    (first,) = d.launches(out)
    out = d(1, TaskFinished(first.launch, 0))
    assert [(x.start, x.stop) for x in d.launches(out)] == [(2, 3)]
    with pytest.raises(EngineError):
        d(2, TaskFinished(first.launch, 0))  # already ended
    with pytest.raises(EngineError):
        d(2, TaskFinished(999))


def test_sync_mode_waits_for_the_whole_level(make_driver) -> None:  # type: ignore[no-untyped-def]
    sets = (ts("A", runtime=1), ts("B", runtime=5), ts("C", after=["A"]))
    for mode, expect_c in (("task", True), ("workload", True), ("sync", False)):
        d = make_driver([node("n-0", cores=8)], mode=mode)
        out = d(0, TasksSubmitted(sets))
        a = next(x for x in d.launches(out) if x.set == "A")
        out = d(1, TaskFinished(a.launch))
        assert any(x.set == "C" for x in d.launches(out)) is expect_c, mode


def test_workload_mode_waits_for_lower_levels_of_its_own_workload(make_driver) -> None:  # type: ignore[no-untyped-def]
    # R forks into branch {A, B, A2} (A->A2, B->A2 merge) and branch {X, Y}; A2 waits for B, Y only for X.
    sets = (
        ts("R", runtime=1),
        ts("A", after=["R"], runtime=1),
        ts("B", after=["R"], runtime=9),
        ts("A2", after=["A"]),
        ts("M", after=["A2", "B"]),
        ts("X", after=["R"], runtime=1),
        ts("Y", after=["X"]),
    )
    d = make_driver([node("n-0", cores=16)], mode="workload")
    assert d.engine.mode == "workload"
    out = d(0, TasksSubmitted(sets))
    out = d(1, TaskFinished(d.launches(out)[0].launch))
    by_set = {x.set: x for x in d.launches(out)}
    assert set(by_set) == {"A", "B", "X"}
    out = d(2, TaskFinished(by_set["A"].launch), TaskFinished(by_set["X"].launch))
    assert {x.set for x in d.launches(out)} == {"Y"}  # A2 waits for B, on a lower level of its workload
    out = d(10, TaskFinished(by_set["B"].launch))
    assert {x.set for x in d.launches(out)} == {"A2"}


def test_retry_then_give_up_skips_dependents(make_driver) -> None:  # type: ignore[no-untyped-def]
    d = make_driver([node("n-0", cores=4)])
    out = d(0, TasksSubmitted((ts("A", retries=1), ts("B", after=["A"]), ts("C"))))
    a = next(x for x in d.launches(out) if x.set == "A")
    out = d(1, TaskFailed(a.launch, 0, "boom"))
    assert Retried("A", 0, 1, "boom", 1) in out
    a2 = next(x for x in d.launches(out) if x.set == "A")
    out = d(2, TaskFailed(a2.launch, 0, "boom again"))
    assert Failed("A", 0, "boom again") in out
    assert Skipped("B", 1, "a dependency of B failed or was cancelled") in out
    counts = d.engine.state_counts()
    assert counts[TaskState.FAILED] == 1 and counts[TaskState.SKIPPED] == 1
    assert counts[TaskState.RUNNING] == 1  # C goes on


def test_lost_node_requeues_its_tasks_elsewhere(make_driver) -> None:  # type: ignore[no-untyped-def]
    d = make_driver([node("a-0", cores=2), node("b-0", cores=2)])
    out = d(0, TasksSubmitted((ts("A", count=4),)))
    on_a = next(x for x in d.launches(out) if x.node == "a-0")
    on_b = next(x for x in d.launches(out) if x.node == "b-0")
    out = d(1, NodeLost("a-0"))
    assert Cancel(on_a.launch) in out
    assert [x for x in out if isinstance(x, Retried)] == [
        Retried("A", 0, 0, "node a-0 lost", 1, NODE_LOST),
        Retried("A", 1, 0, "node a-0 lost", 1, NODE_LOST),
    ]
    assert not d.launches(out)  # b-0 is full
    out = d(2, TaskFinished(on_b.launch))
    assert [(x.node, x.stop - x.start) for x in d.launches(out)] == [("b-0", 2)]
    out = d(3, NodeJoined(node("c-0", cores=4)))
    with pytest.raises(EngineError):
        d(4, NodeLost("a-0"))


def test_joining_node_is_used_at_once(make_driver) -> None:  # type: ignore[no-untyped-def]
    d = make_driver([node("cpu-0", cores=4)])
    out = d(0, TasksSubmitted((ts("G", count=2, gpus=1),)))
    assert not d.launches(out)
    out = d(1, NodeJoined(node("gpu-0", cores=4, gpus=1)))
    assert [(x.node, x.n, x.gpus) for x in d.launches(out)] == [("gpu-0", 1, (((0, 10000),),))]


def test_cancel_pending_set_skips_its_children(make_driver) -> None:  # type: ignore[no-untyped-def]
    d = make_driver([node("n-0", cores=1)])
    out = d(0, TasksSubmitted((ts("A", count=2), ts("B", count=2, after=["A"]), ts("C", after=["B"]))))
    a = d.launches(out)[0]
    out = d(1, CancelRequested("B"))
    assert not d.launches(out)
    assert Skipped("C", 1, "a dependency of C failed or was cancelled") in out
    out = d(2, TaskFinished(a.launch))
    out = d(3, TaskFinished(d.launches(out)[0].launch))
    assert not out  # B ended already: nothing is released again
    counts = d.engine.state_counts()
    assert counts[TaskState.CANCELLED] == 2 and counts[TaskState.DONE] == 2 and d.engine.unfinished == 0


def test_cancel_running_and_ready_tasks(make_driver) -> None:  # type: ignore[no-untyped-def]
    d = make_driver([node("n-0", cores=2)])
    out = d(0, TasksSubmitted((ts("A", count=4),)))
    run = d.launches(out)[0]
    out = d(1, CancelRequested("A", 0))
    assert Cancel(run.launch, 0) in out
    assert [(x.start, x.stop) for x in d.launches(out)] == [(2, 3)]  # the freed core takes the next ready task
    out = d(2, CancelRequested("A"))
    assert sorted(x.index for x in out if isinstance(x, Cancel)) == [1, 2]
    assert d.engine.state_counts()[TaskState.CANCELLED] == 4 and d.engine.idle


def test_tasks_added_while_running(make_driver) -> None:  # type: ignore[no-untyped-def]
    d = make_driver([node("n-0", cores=1)])
    out = d(0, TasksSubmitted((ts("A"),)))
    out = d(1, TasksSubmitted((ts("B", after=["A"]),)))
    assert not d.launches(out)
    out = d(2, TaskFinished(0))
    assert [x.set for x in d.launches(out)] == ["B"]
    assert d.engine.sets["B"].level == 1
    out = d(3, TasksSubmitted((ts("C", after=["A"]),)))  # its dependency already ended
    assert not d.launches(out)  # one core, B holds it
    with pytest.raises(EngineError):
        d(4, TasksSubmitted((ts("D", after=["nope"]),)))


def test_illegal_counts_raise() -> None:
    from hetflow.core.modes import make_gate
    from hetflow.core.sets import SetBook

    book = SetBook(make_gate("task"))
    book.submit((ts("A"),), None, [])
    with pytest.raises(IllegalTransition):
        book.move(book.by_name["A"], TaskState.RUNNING, TaskState.PENDING, 1)
    with pytest.raises(EngineError):
        book.move(book.by_name["A"], TaskState.PENDING, TaskState.READY, 2)  # only one task is there


def test_unknown_mode_and_policy_list_the_names() -> None:
    from hetflow.core.engine import Engine
    from hetflow.errors import SpecError
    from hetflow.policies import make_policy

    with pytest.raises(SpecError, match="sync, workload, task"):
        Engine([], "asap", make_policy("fifo"))
    with pytest.raises(SpecError, match="fifo, critical-path, best-fit, heft"):
        make_policy("tetris")  # "random" is a policy now (#15)


def test_launch_carries_duration_scaled_by_speed(make_driver) -> None:  # type: ignore[no-untyped-def]
    d = make_driver([node("fast-0", cores=1, speed=2.0)])
    (x,) = d.launches(d(0, TasksSubmitted((ts("A", runtime=10),))))
    assert isinstance(x, Launch) and x.duration == 5.0


def test_ranks_grow_along_ancestors_when_tasks_are_added(make_driver) -> None:  # type: ignore[no-untyped-def]
    d = make_driver([node("n-0", cores=1)], policy="critical-path")
    out = d(0, TasksSubmitted((ts("A", runtime=5), ts("B", runtime=1, after=["A"]), ts("C", runtime=1))))
    sets = d.engine.sets
    assert (sets["A"].rank, sets["B"].rank, sets["C"].rank) == (6, 1, 1)
    d(1, TasksSubmitted((ts("D", runtime=10, after=["B"]),)))
    assert (sets["A"].rank, sets["B"].rank, sets["D"].rank) == (16, 11, 10)
    assert d.launches(out)[0].set == "A"  # the longest remaining path went first


def test_full_platform_stops_the_pass_but_zero_resource_tasks_still_start(make_driver) -> None:  # type: ignore[no-untyped-def]
    d = make_driver([node("n-0", cores=1)])
    sets = (*(ts(f"S{i}") for i in range(50)), ts("Z", cores=0))
    out = d(0, TasksSubmitted(sets))
    assert {x.set for x in d.launches(out)} == {"S0", "Z"}
    assert d.engine.passes == 1


@pytest.mark.parametrize("mode", ["task", "sync", "workload"])
def test_an_engine_that_announces_no_releases_gives_every_other_instruction_alike(mode: str) -> None:
    """releases=False (the simulator's, a session's without a journal) leaves out the Released instructions only."""
    sets = (
        ts("A", count=3),
        ts("B", after=["A"]),
        ts("C", count=0, after=["A"]),  # released and ended at once
        ts("D", after=["B", "C"], cores=2),
        ts("E", runtime=1),
    )
    runs: list[list[list[object]]] = []
    for releases in (True, False):
        engine = Engine([node("n-0", cores=2), node("n-1", cores=2)], mode, make_policy("fifo"), releases=releases)
        steps: list[list[object]] = []
        out = engine.handle(0.0, [TasksSubmitted(sets)])
        t = 0.0
        while out or engine.unfinished:
            steps.append(list(out))
            t += 1.0
            out = engine.handle(t, [TaskFinished(x.launch) for x in out if isinstance(x, Launch)])
            engine.validate()
        runs.append(steps)
    announced, quiet = runs
    assert any(isinstance(i, Released) for step in announced for i in step)
    assert [[i for i in step if not isinstance(i, Released)] for step in announced] == quiet
