"""One decorated call per task, the way programs are written: calls posted before the driver wakes travel as one
message, and each is still its own task set (name, journal rows, cancel); observers are told only what they want."""

from __future__ import annotations

import ast
import inspect
import sqlite3
import textwrap
from pathlib import Path

import hetflow as hf
from hetflow.core.triggers import Actions
from hetflow.executors.api import TaskRun
from hetflow.executors.fake import FakeExecutor, FakeResult
from hetflow.runtime import events as ev
from hetflow.runtime.clock import FakeClock
from hetflow.runtime.journaling import JournalObserver
from hetflow.runtime.messages import SubmitSets
from hetflow.runtime.observers import FuturesObserver, IntervalRecorder

ONE_CORE = {"platform": "one", "nodes": [{"type": "n", "cores": 1}]}


@hf.task(runtime=1)
def item(i: int) -> int:
    return i


def test_calls_in_a_burst_stay_sets_of_their_own_around_a_cancel(tmp_path: Path) -> None:
    """A trigger's action posts from the driver thread, so its calls all wait in the inbox and join one message,
    but for the cancel between them: every call keeps its own name, rows and fate."""
    journal = tmp_path / "run.db"
    made: list[hf.TaskFuture] = []

    def burst(ctx: Actions) -> None:
        made.extend(item(i) for i in range(20))
        made[5].cancel()
        made.extend(item(i) for i in range(20, 40))

    clock = FakeClock(epoch=100.0)
    ex = FakeExecutor(lambda run: FakeResult(1.0, value=run.args[0] if run.args else None), clock)
    with hf.Session(executor=ex, clock=clock, platform=ONE_CORE, journal=journal) as s:
        first = s.submit(item, -1)
        s.when(first, burst, count=1)
    assert len(made) == 40 and len({f.set for f in made}) == 40
    assert made[5].cancelled()
    assert [f.result() for i, f in enumerate(made) if i != 5] == [i for i in range(40) if i != 5]
    with sqlite3.connect(journal) as conn:
        sets = conn.execute("SELECT name, kind FROM sets ORDER BY rowid").fetchall()
        submitted = conn.execute("SELECT \"set\", t FROM events WHERE kind = 'submitted' ORDER BY seq").fetchall()
        cancelled = conn.execute("SELECT \"set\" FROM events WHERE kind = 'cancelled'").fetchall()
    names = [first.set] + [f.set for f in made]
    assert sets == [(n, "call") for n in names]
    assert [n for n, _ in submitted] == names
    assert all(t == 101.0 for _, t in submitted[1:])  # submitted when the first one ended, on the fake clock
    assert cancelled == [(made[5].set,)]


def test_only_sets_that_came_the_same_way_join_a_message() -> None:
    waiting = SubmitSets([], "call", None, [])
    assert waiting.joins("call", None)
    assert not waiting.joins("map", None)
    assert not waiting.joins("call", "wf")
    assert not SubmitSets([], "workflow", "wf", []).joins("workflow", "wf")  # a workflow's sets are one message


def case_classes(cls: type) -> set[str]:
    """The event classes that cls.notify handles: a case of its match, or a `type(event) is X` test before it."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls.notify)))
    cases = {
        node.pattern.cls.id
        for node in ast.walk(tree)
        if isinstance(node, ast.match_case)
        and isinstance(node.pattern, ast.MatchClass)
        and isinstance(node.pattern.cls, ast.Name)
    }
    tests = {
        node.comparators[0].id
        for node in ast.walk(tree)
        if isinstance(node, ast.Compare)
        and isinstance(node.left, ast.Call)
        and isinstance(node.left.func, ast.Name)
        and node.left.func.id == "type"
        and isinstance(node.ops[0], ast.Is)
        and isinstance(node.comparators[0], ast.Name)
    }
    return cases | tests


def test_each_observer_wants_exactly_the_events_it_handles() -> None:
    for cls in (IntervalRecorder, FuturesObserver, JournalObserver):
        wanted = {kind.__name__ for kind in cls.wants}
        assert wanted == case_classes(cls), cls.__name__
        assert all(getattr(ev, name) in cls.wants for name in wanted)


def test_a_run_without_futures_waiting_still_resolves_every_call() -> None:
    """Calls whose futures nobody holds still run, and end the session cleanly."""
    seen: list[str] = []

    def handler(run: TaskRun) -> FakeResult:
        seen.append(run.task_id)
        return FakeResult(1.0)

    clock = FakeClock()
    with hf.Session(executor=FakeExecutor(handler, clock), clock=clock, platform=ONE_CORE):
        for i in range(100):
            item(i)
    assert len(seen) == 100 and len(set(seen)) == 100
