"""Data moved between sites: a dependent starts at another site only when its inputs are there (latency + bytes /
bandwidth after its parent ended); at the same site nothing moves; without sites every schedule is as before."""

from __future__ import annotations

import pytest

from hetflow.core.engine import Engine
from hetflow.errors import EngineError
from hetflow.policies.fifo import Fifo
from hetflow.sim.simulator import run_simulation
from hetflow.spec.data import reads
from hetflow.spec.load import load_workflow
from hetflow.spec.platform import NodeType, Platform
from hetflow.spec.resources import Resources
from hetflow.spec.site import Link, Site, Sites
from hetflow.spec.workflow import FileRef, TaskSet, Workflow

GB = 10**9


def sites(bandwidth: float = 1e8, latency: float = 0.04, a_cores: int = 4, b_cores: int = 4) -> Sites:
    a = Platform("a", (NodeType("cpu", 1, a_cores),))
    b = Platform("b", (NodeType("cpu", 1, b_cores),))
    links = (Link("A", "B", latency, bandwidth), Link("B", "A", latency, bandwidth))
    return Sites((Site("A", a, 100.0), Site("B", b, 10.0)), links, "A")


def check(engine: Engine) -> None:
    engine.validate()


def by_set(result: object) -> dict[str, list[tuple[str, float, float]]]:
    out: dict[str, list[tuple[str, float, float]]] = {}
    for iv in result.intervals:  # type: ignore[attr-defined]
        out.setdefault(iv.set, []).append((iv.node, iv.start, iv.end))
    return out


def _res(cores: int) -> Resources:
    return Resources(cores)


def test_transfer_delay_is_exact_on_a_two_site_run() -> None:
    """P runs on A (B's only node is busy with Q until 30); C may only use B (A is busy with R until 1000): its
    2 GB cross at latency 0.04 s + 2e9 / 1e8 = 20 s after P ends at 10, so C starts at max(30, 30.04) = 30.04."""
    s = sites()
    wf = Workflow(
        "w",
        (
            TaskSet("P", 1, _res(4), 10.0, outputs=2 * GB),
            TaskSet("Q", 1, _res(4), 30.0),
            TaskSet("R", 1, _res(4), 1000.0, ("P",)),
            TaskSet("C", 1, _res(4), 5.0, ("P",)),
        ),
    )
    r = run_simulation(wf, s.platform(), policy="fifo", links=s, check=check)
    got = by_set(r)
    assert got["P"] == [("A/cpu-0", 0.0, 10.0)]
    assert got["Q"] == [("B/cpu-0", 0.0, 30.0)]
    assert got["R"] == [("A/cpu-0", 10.0, 1010.0)]
    start = 10.0 + 0.04 + 2 * GB / 1e8
    assert got["C"] == [("B/cpu-0", start, start + 5.0)]
    assert r.makespan_s == 1010.0
    (t,) = r.transfers
    assert (t.src_set, t.src_site, t.dst_set, t.dst_site, t.size) == ("P", "A", "C", "B", 2 * GB)
    assert (t.start, t.end) == (10.0, start)
    assert r.summary()["transfers"] == [
        {
            "from_set": "P",
            "from_site": "A",
            "to_set": "C",
            "to_site": "B",
            "bytes": 2 * GB,
            "start": 10.0,
            "end": round(start, 6),
        }
    ]


def test_the_wait_holds_nothing_and_the_engine_wakes_at_the_arrival() -> None:
    """While C's inputs travel to B (A is busy with R), B holds nothing, and the simulation wakes at the arrival by
    itself: no task ends then."""
    s = sites(bandwidth=1e9, latency=0.5)
    wf = Workflow(
        "w",
        (
            TaskSet("P", 1, _res(4), 10.0, outputs=GB),
            TaskSet("R", 1, _res(4), 500.0, ("P",)),
            TaskSet("C", 1, _res(4), 5.0, ("P",)),
        ),
    )
    seen: list[tuple[float, int]] = []

    def watch(engine: Engine) -> None:
        engine.validate()
        seen.append((engine.now, engine.ledger.used_cores[1]))

    r = run_simulation(wf, s.platform(), policy="fifo", links=s, check=watch)
    got = by_set(r)
    assert got["C"] == [("B/cpu-0", 11.5, 16.5)]  # 10 + 0.5 + 1e9 / 1e9
    assert (10.0, 0) in seen  # while the inputs travel, B holds nothing
    assert any(t == 11.5 for t, _ in seen)  # the engine was called at the arrival


def test_same_site_needs_no_transfer() -> None:
    s = sites()
    wf = Workflow("w", (TaskSet("P", 1, _res(4), 10.0, outputs=GB), TaskSet("C", 1, _res(4), 5.0, ("P",))))
    r = run_simulation(wf, s.platform(), policy="fifo", links=s, check=check)
    assert by_set(r) == {"P": [("A/cpu-0", 0.0, 10.0)], "C": [("A/cpu-0", 10.0, 15.0)]}
    assert r.transfers == []


def test_a_policy_placing_before_the_inputs_arrive_is_refused() -> None:
    class Eager(Fifo):
        name = "eager"

        def place(self, s, view):  # type: ignore[no-untyped-def]
            if s.name == "C":
                yield 1, 0, 1  # B: its inputs are not there yet
                return
            yield from super().place(s, view)

    s = sites()
    wf = Workflow(
        "w",
        (
            TaskSet("P", 1, _res(4), 10.0, outputs=GB),
            TaskSet("R", 1, _res(4), 50.0, ("P",)),
            TaskSet("C", 1, _res(4), 5.0, ("P",)),
        ),
    )
    with pytest.raises(EngineError, match="before its inputs arrive"):
        run_simulation(wf, s.platform(), policy=Eager(), links=s)


def test_reads_native_and_wfformat() -> None:
    p = TaskSet("P", 4, outputs=100)
    assert reads(TaskSet("C", 2, after=("P",)), p) == 400  # all of P's output
    assert reads(TaskSet("C", 2, after=("P",), inputs=(("P", 30),)), p) == 60  # 2 tasks x 30
    assert reads(TaskSet("C", 20, after=("P",), inputs=(("P", 30),)), p) == 400  # at most what P wrote
    a = TaskSet("a", files=(FileRef("x", 7, "output"), FileRef("y", 5, "output"), FileRef("in", 3, "input")))
    b = TaskSet("b", after=("a",), files=(FileRef("x", 7, "input"), FileRef("z", 1, "output")))
    assert reads(b, a) == 7


def test_native_inputs_and_outputs_load() -> None:
    wf = load_workflow(
        {
            "workflow": "w",
            "tasks": [
                {"name": "P", "count": 2, "outputs": "1GB"},
                {"name": "C", "after": ["P"], "inputs": {"P": "100MB"}},
            ],
        }
    )
    assert wf["P"].outputs == 10**9
    assert wf["C"].inputs == (("P", 10**8),)
    assert reads(wf["C"], wf["P"]) == 10**8


def test_the_gantt_chart_draws_each_transfer_on_its_set_row() -> None:
    from matplotlib.collections import PolyCollection

    from hetflow.report import gantt_figure

    s = sites()
    wf = Workflow(
        "w",
        (
            TaskSet("P", 1, _res(4), 10.0, outputs=2 * GB),
            TaskSet("Q", 1, _res(4), 30.0),
            TaskSet("R", 1, _res(4), 1000.0, ("P",)),
            TaskSet("C", 1, _res(4), 5.0, ("P",)),
        ),
    )
    r = run_simulation(wf, s.platform(), policy="fifo", links=s)
    fig = gantt_figure([r])
    (bars,) = [c for c in fig.axes[0].collections if isinstance(c, PolyCollection) and c.get_label() == "transfers"]
    (path,) = bars.get_paths()
    xs, ys = path.vertices[:, 0], path.vertices[:, 1]
    assert (xs.min(), xs.max()) == (10.0, 30.04)
    assert (ys.min(), ys.max()) == pytest.approx((2.78, 3.22))  # C's row: the fourth set
    assert "data transfer" in [t.get_text() for t in fig.legends[0].get_texts()]
    plain = gantt_figure([run_simulation(wf, s.platform(), policy="fifo")])
    assert not [c for c in plain.axes[0].collections if c.get_label() == "transfers"]


def test_data_sizes_survive_the_journal_and_bad_inputs_are_one_line() -> None:
    from hetflow.errors import SpecError
    from hetflow.journal.codec import set_from_dict, set_to_dict

    c = TaskSet("C", 2, after=("P",), inputs=(("P", 30),), outputs=7)
    assert set_from_dict(set_to_dict(c)) == c
    with pytest.raises(SpecError, match=r"tasks\[1\] \(C\).*reads inputs from 'Q', which it does not depend on"):
        load_workflow({"workflow": "w", "tasks": [{"name": "P"}, {"name": "C", "after": ["P"], "inputs": {"Q": 1}}]})


def test_the_workflows_own_input_files_start_at_the_origin() -> None:
    """A WfFormat root reads a 1 GB file no task writes: it is at the origin (A), so on B (A is busy with Q until
    1000) the task starts at 0.04 + 1e9 / 1e8 = 10.04."""
    s = sites()
    wf = Workflow(
        "w",
        (
            TaskSet("Q", 1, _res(4), 1000.0),
            TaskSet("T", 1, _res(4), 5.0, files=(FileRef("in", GB, "input"), FileRef("out", 1, "output"))),
        ),
    )
    r = run_simulation(wf, s.platform(), policy="fifo", links=s, check=check)
    assert by_set(r)["T"] == [("B/cpu-0", 10.04, 15.04)]
    (t,) = r.transfers
    assert (t.src_set, t.src_site, t.dst_site, t.size, t.start, t.end) == ("", "A", "B", GB, 0.0, 10.04)
