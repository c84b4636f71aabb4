"""Adaptive real runs: partitions bound what each side runs, resizing under load never exceeds a node, preemption
re-runs what it stopped, triggers fire exactly once on real results and may cancel; all of it is in the journal."""

from __future__ import annotations

import concurrent.futures
import threading
import time
from pathlib import Path

import pytest

from hetflow import Session
from hetflow.core.triggers import Actions, Trigger
from hetflow.errors import SpecError
from hetflow.journal import read_journal
from hetflow.journal import store as J
from hetflow.journal.store import connect
from hetflow.spec.resources import Resources
from hetflow.spec.workflow import TaskSet
from tests.clusters import assert_within_capacity
from tests.runtime.tasks import inc, nap, nap_a, nap_b

ONE_NODE = {"platform": "one", "nodes": [{"type": "n", "cores": 4}]}
HALVES = {"a": {"cores": 0.5}, "b": {"cores": 0.5}}


def events(journal: Path, kind: str) -> list[tuple[str | None, int | None, str | None]]:
    with connect(journal) as conn:
        rows = conn.execute('SELECT "set", idx, detail FROM events WHERE kind = ? ORDER BY seq', (kind,)).fetchall()
    return [tuple(r) for r in rows]


def peak(journal: Path, prefix: str, after: float = 0.0) -> int:
    """The most tasks of sets named prefix-* that ran at once, counting tasks that started at or after `after`."""
    ivs = [iv for iv in read_journal(journal).intervals() if iv.set.startswith(prefix) and iv.start >= after]
    return max((sum(1 for o in ivs if o.start <= iv.start < o.end) for iv in ivs), default=0)


@pytest.mark.parametrize("backend", ["local", "dask"])
def test_resize_under_load_moves_cores_without_exceeding_the_node(backend: str, tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    options = {"workers": 4} if backend == "local" else {}
    with Session(backend, platform=ONE_NODE, partitions=HALVES, journal=journal, **options) as s:
        a = nap_a.map([0.4] * 10)
        b = nap_b.map([0.3] * 2)
        s.when(b, lambda ctx: ctx.repartition({"b": {"cores": 0.25}, "a": {"cores": 0.75}}), count=2, name="grow a")
    assert [f.result() for f in a] == [0.4] * 10
    assert_within_capacity(journal, s.platform.nodes())
    view = read_journal(journal)
    (fired,) = view.marks[:1]
    assert [m.kind for m in view.marks] == ["trigger", "resize"]
    assert "grow a: resized b to 25% of cores" in fired.text
    assert peak(journal, "nap_a") == 3  # 2 while a held half of the node, 3 once it held three quarters
    assert peak(journal, "nap_b") <= 2
    assert events(journal, J.TRIGGERED)[0][2] == fired.text and len(events(journal, J.TRIGGERED)) == 1


def test_preempting_resize_stops_the_newest_task_and_runs_it_again(tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    with Session(platform=ONE_NODE, partitions=HALVES, journal=journal, workers=4) as s:
        long = nap_a.map([1.5, 1.5])
        quick = nap_b(0.1)
        s.when(quick, lambda ctx: ctx.repartition({"a": {"cores": 0.25}, "b": {"cores": 0.75}}, preempt=True), count=1)
    assert [f.result() for f in long] == [1.5, 1.5]
    preempted = events(journal, J.PREEMPTED)
    assert len(preempted) == 1 and preempted[0][0] == long[1].set
    assert_within_capacity(journal, s.platform.nodes())
    statuses = sorted(iv.status for iv in s.result().intervals if iv.set == long[0].set)
    assert statuses == ["done", "done", "preempted"]
    assert peak(journal, "nap_a") == 1  # of the runs that finished: a holds one core after the resize
    assert read_journal(journal).counts()[J.DONE] == 3


def test_trigger_fires_once_on_real_results_and_may_cancel(tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    calls: list[list[int]] = []

    def stop_slow(ctx: Actions) -> None:
        calls.append(sorted(ctx.seen.results))
        ctx.cancel(slow[0].set)

    with Session(platform=ONE_NODE, journal=journal, workers=4) as s:
        values = inc.map(range(6))
        slow = nap.map([30.0, 30.0])
        s.arm(Trigger(values[0].set, stop_slow, predicate=lambda o: sum(o.results) >= 6))
    assert len(calls) == 1 and sum(calls[0]) >= 6
    for f in slow:
        with pytest.raises(concurrent.futures.CancelledError):
            f.result(timeout=5)
    assert len(events(journal, J.TRIGGERED)) == 1
    assert s.result().makespan_s < 20  # the 30 s tasks were stopped, not waited for


def test_unknown_partition_or_watch_is_bad_input() -> None:
    with Session(platform=ONE_NODE, partitions={"b": {"cores": 0.5}}, workers=1) as s:
        with pytest.raises(SpecError, match="partition 'a'"):
            nap_a(0.1)
        with pytest.raises(SpecError, match="unknown task set"):
            s.when("nope", lambda ctx: None, count=1)
        with pytest.raises(SpecError, match="would take 150% of the cores"):
            s.resize("c", cores=1.0)


def test_triggers_armed_by_actions_see_what_ended_before_and_never_stall() -> None:
    """An action arms a trigger on a set whose task ended in the same batch (it must still fire), and one on a set
    that is done already (due at once: what it posts must be taken without waiting for another event)."""
    fired: list[str] = []

    def first(ctx: Actions) -> None:
        fired.append("first")
        ctx.when(Trigger(b[0].set, second, count=1, name="second"))

    def second(ctx: Actions) -> None:
        fired.append("second")
        ctx.submit([TaskSet("after-a", 2, Resources.of(1), function="tests.runtime.tasks:square", after=(a[0].set,))])

    with Session(platform=ONE_NODE, workers=3) as s:
        a = nap.map([0.3])
        b = nap.map([0.3])
        c = nap.map([0.05])
        s.when(c, lambda ctx: time.sleep(0.5), count=1, name="busy")  # a and b end while the driver is held here
        s.when(a, first, count=1, name="first")
        finished = threading.Event()
        closer = threading.Thread(target=lambda: (s.close(), finished.set()), daemon=True)
        closer.start()
        assert finished.wait(30), "the session did not end: something a trigger posted was never taken"
    assert fired == ["first", "second"]
    assert sorted(iv.set for iv in s.result().intervals if iv.set == "after-a") == ["after-a", "after-a"]
