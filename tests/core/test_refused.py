"""A refusal (TaskRefused): the task never started, so it goes back to the ready queue holding nothing, spends no
attempt, and may be placed again at once on a node that did not refuse it: the refusing node, with every node of
its site, takes no new work before the not-before time."""

from __future__ import annotations

from dataclasses import replace

from hetflow.core.engine import Engine
from hetflow.core.instructions import REFUSAL, Launch, Retried
from hetflow.core.states import TaskState
from hetflow.core.stimuli import NodeJoined, NodeLost, TaskFailed, TaskFinished, TaskRefused, TasksSubmitted
from hetflow.policies import make_policy
from hetflow.spec.platform import Node

from .conftest import node, ts


def launches(out: list[object]) -> list[Launch]:
    return [i for i in out if isinstance(i, Launch)]


def test_a_refused_task_is_placed_again_after_its_nodes_pause_without_spending_a_retry() -> None:
    e = Engine([node("n-0", cores=1)], "task", make_policy("fifo"), retry_backoff=1.0)
    (a,) = launches(e.handle(0, [TasksSubmitted((ts("A", retries=0), ts("B", runtime=5)))]))
    out = e.handle(1, [TaskRefused(a.launch, 0, "site x: busy", 1.5)])
    assert Retried("A", 0, 0, "site x: busy", 1, REFUSAL) in out
    assert not launches(out)  # its core went back, but n-0 takes no new work before 1.5: nothing starts there
    assert e.wake_at == 1.5 and e.sets["A"].attempts == {} and e.ledger.paused == {0: 1.5}
    e.validate()
    (a2,) = launches(e.handle(1.5, []))  # the pause is over: A (first in release order) takes the core
    assert (a2.set, a2.start) == ("A", 0) and e.ledger.paused == {} and e.wake_at is None
    out = e.handle(2, [TaskRefused(a2.launch, 0, "again", 2)])  # no pause: ready at once, placed in the same pass
    (a3,) = launches(out)
    assert a3.set == "A" and e.sets["A"].attempts == {}
    out = e.handle(3, [TaskFailed(a3.launch, 0, "boom")])  # a real failure still counts (retries=0: it fails)
    assert e.sets["A"].attempts == {0: 1} and e.state_counts()[TaskState.FAILED] == 1
    (b,) = launches(out)
    e.handle(8, [TaskFinished(b.launch)])
    e.validate()
    assert e.unfinished == 0


def site_node(name: str, site: str | None, cores: int = 1) -> Node:
    return replace(node(name, cores=cores), site=site)


def test_a_refusal_pauses_its_site_and_the_task_goes_to_another_site_at_once() -> None:
    """fifo puts A on the first node; its site refuses: A starts on the other site in the same pass, the refusing
    site's nodes take nothing new until the pause ends (then B, waiting, goes there), and what runs there runs on."""
    nodes = [site_node("a-0", "a"), site_node("a-1", "a"), site_node("b-0", "b")]
    e = Engine(nodes, "task", make_policy("fifo"))
    out = e.handle(0, [TasksSubmitted((ts("R", runtime=100), ts("A"), ts("B"), ts("C", count=2)))])
    r, a, b = launches(out)  # R on a-0, A on a-1, B on b-0; C waits
    assert [(x.set, x.node) for x in (r, a, b)] == [("R", "a-0"), ("A", "a-1"), ("B", "b-0")]
    out = e.handle(1, [TaskRefused(a.launch, 0, "site a: busy", 3)])
    assert e.ledger.paused == {0: 3, 1: 3} and e.wake_at == 3  # both nodes of site a; R runs on
    assert not launches(out)  # a-1 is free but paused, b-0 is busy: A waits, holding nothing
    e.validate()
    (a2,) = launches(e.handle(2, [TaskFinished(b.launch)]))  # b-0 frees up: A goes there, not to the paused a-1
    assert (a2.set, a2.node) == ("A", "b-0") and e.sets["A"].attempts == {}
    (c,) = launches(e.handle(3, []))  # the pause is over: C goes to a-1, the free node of site a
    assert (c.set, c.node, c.stop - c.start) == ("C", "a-1", 1) and e.ledger.paused == {}
    assert e.count("R", TaskState.RUNNING) == 1
    e.validate()


def test_a_refused_task_goes_at_once_to_a_node_that_fits_and_its_site_is_left_alone_until_the_pause_ends() -> None:
    nodes = [site_node("a-0", "a", cores=2), site_node("b-0", "b", cores=2), site_node("c-0", None, cores=1)]
    e = Engine(nodes, "task", make_policy("fifo"))
    (a,) = launches(e.handle(0, [TasksSubmitted((ts("A"),))]))
    assert a.node == "a-0"
    out = e.handle(0.5, [TaskRefused(a.launch, 0, "site a: busy", 2.5)])
    (a2,) = launches(out)  # the same pass: b-0 fits it
    assert (a2.set, a2.node) == ("A", "b-0") and e.ledger.paused == {0: 2.5}
    out = e.handle(1, [TasksSubmitted((ts("D", count=4),))])  # b-0's free core, then c-0; a-0 is paused
    on_b, on_c = sorted(launches(out), key=lambda x: x.node)
    assert [(x.node, x.stop - x.start) for x in (on_b, on_c)] == [("b-0", 1), ("c-0", 1)]
    e.validate()
    (d,) = launches(e.handle(2.5, []))  # back on a-0 only once the pause ends
    assert (d.set, d.node, d.stop - d.start) == ("D", "a-0", 2)
    (x,) = launches(e.handle(3, [TaskFinished(on_c.launch), TasksSubmitted((ts("E"),))]))
    assert x.node == "c-0"
    out = e.handle(3.5, [TaskRefused(x.launch, 0, "node c-0 busy", 4)])  # c-0 has no site: it alone is paused
    assert e.ledger.paused == {2: 4} and not launches(out) and e.wake_at == 4
    e.validate()


def test_a_lost_paused_node_is_no_longer_paused() -> None:
    e = Engine([site_node("a-0", "a"), site_node("b-0", "b")], "task", make_policy("fifo"))
    (a,) = launches(e.handle(0, [TasksSubmitted((ts("A", runtime=50),))]))
    (a2,) = launches(e.handle(1, [TaskRefused(a.launch, 0, "busy", 9)]))
    assert a2.node == "b-0" and e.wake_at == 9
    e.handle(2, [NodeLost("a-0")])
    assert e.ledger.paused == {} and e.wake_at is None
    e.validate()
    (a3,) = launches(e.handle(3, [NodeJoined(site_node("a-0", "a")), TasksSubmitted((ts("B"),))]))
    assert a3.node == "a-0"  # it joins again taking new work


def test_a_node_joining_a_paused_site_is_paused_with_it() -> None:
    """The refusing endpoint answers for every node of its site, the ones that join later included."""
    e = Engine([site_node("a-0", "a"), site_node("b-0", "b")], "task", make_policy("fifo"))
    r, _ = launches(e.handle(0, [TasksSubmitted((ts("R", runtime=100), ts("A", runtime=100)))]))
    e.handle(1, [TaskRefused(r.launch, 0, "site a: busy", 5)])
    assert e.ledger.paused == {0: 5}
    out = e.handle(2, [NodeJoined(site_node("a-1", "a")), NodeJoined(site_node("c-0", "c"))])
    assert e.ledger.paused == {0: 5, 2: 5}  # a-1 waits with its site; c-0 is not paused
    assert [(x.set, x.node) for x in launches(out)] == [("R", "c-0")]
    e.validate()
    assert e.handle(5, []) == [] and e.ledger.paused == {}  # the pause ends for both
    e.validate()
