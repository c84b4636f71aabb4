"""The deployment cost model (core/deploy.py) applied by the simulator, on hand-computed schedules: the first task of
an image on a node pays its cold start, later ones there are warm, a task on another node pays again; tasks placed
while the image deploys wait for it; keep_warm forgets an idle image; a node's own cold start adds up. And a
platform or workflow that declares no cold start gives the schedules it gave before."""

from __future__ import annotations

from pathlib import Path

import pytest

from hetflow.core.engine import Engine
from hetflow.errors import SpecError
from hetflow.journal.codec import platform_from_dict, platform_to_dict, set_from_dict, set_to_dict
from hetflow.sim.simulator import run_simulation
from hetflow.spec.load import load_platform, load_workflow
from hetflow.spec.platform import NodeType, Platform
from hetflow.spec.resources import GPU_UNIT, Resources
from hetflow.spec.workflow import TaskSet, Variant, Workflow

SEED = Path(__file__).resolve().parents[2] / "examples" / "seed"


def spans(result: object) -> list[tuple[str, int, str, float, float]]:
    """(set, task index, node, start, end) per task."""
    got = result.intervals  # type: ignore[attr-defined]
    return sorted((i.set, k, i.node, i.start, i.end) for i in got for k in range(i.first, i.last))


def check(engine: Engine) -> None:
    engine.validate()


def wf(*sets: TaskSet) -> Workflow:
    return Workflow("w", sets)


def one_core(name: str, count: int, runtime: float, **kw: object) -> TaskSet:
    return TaskSet(name, count, Resources(1), runtime, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("policy", ["fifo", "heft", "hha"])
def test_first_task_pays_the_next_on_that_node_does_not_another_node_pays_again(policy: str) -> None:
    # two 1-core nodes, 3 tasks of 10 s with a cold start of 5 s: A[0] and A[1] deploy on n-0 and n-1 (0..15),
    # A[2] runs warm on n-0 (15..25)
    plat = Platform("p", (NodeType("n", 2, cores=1),))
    r = run_simulation(wf(one_core("A", 3, 10.0, cold_start=5.0)), plat, policy=policy, check=check)
    assert spans(r) == [("A", 0, "n-0", 0.0, 15.0), ("A", 1, "n-1", 0.0, 15.0), ("A", 2, "n-0", 15.0, 25.0)]
    assert r.makespan_s == 25.0


def test_node_cold_start_adds_to_the_image_and_every_image_pays_its_own() -> None:
    # node cold start 1 s: A (own 5 s) deploys in 6 s; B (no cold start of its own, its own image) in 1 s;
    # C shares A's image: warm
    plat = Platform("p", (NodeType("n", 1, cores=1, cold_start=1.0),))
    sets = (
        one_core("A", 1, 10.0, cold_start=5.0, image="x"),
        one_core("B", 1, 2.0, after=("A",)),
        one_core("C", 1, 3.0, after=("B",), image="x", cold_start=5.0),
    )
    r = run_simulation(wf(*sets), plat, check=check)
    assert spans(r) == [("A", 0, "n-0", 0.0, 16.0), ("B", 0, "n-0", 16.0, 19.0), ("C", 0, "n-0", 19.0, 22.0)]


def test_a_task_placed_while_its_image_deploys_waits_only_for_the_rest() -> None:
    # one 2-core node: A deploys x from 0 to 5; P ends at 3, C (image x) is placed then and starts at 5
    plat = Platform("p", (NodeType("n", 1, cores=2),))
    sets = (
        one_core("P", 1, 3.0),
        one_core("A", 1, 10.0, image="x", cold_start=5.0),
        one_core("C", 1, 1.0, image="x", cold_start=5.0, after=("P",)),
    )
    r = run_simulation(wf(*sets), plat, check=check)
    assert spans(r) == [("A", 0, "n-0", 0.0, 15.0), ("C", 0, "n-0", 3.0, 6.0), ("P", 0, "n-0", 0.0, 3.0)]


@pytest.mark.parametrize(("keep_warm", "c_end"), [(2.0, 34.0), (5.0, 29.0), (None, 29.0)])
def test_keep_warm_forgets_an_image_idle_longer(keep_warm: float | None, c_end: float) -> None:
    # A (image x) ends at 15; G runs 15..19; B (image x) at 19 is 4 s after x's last task: cold with keep_warm 2
    plat = Platform("p", (NodeType("n", 1, cores=1, keep_warm=keep_warm),))
    sets = (
        one_core("A", 1, 10.0, image="x", cold_start=5.0),
        one_core("G", 1, 4.0, after=("A",)),
        one_core("B", 1, 10.0, image="x", cold_start=5.0, after=("G",)),
    )
    r = run_simulation(wf(*sets), plat, check=check)
    assert r.makespan_s == c_end


def test_hha_weighs_a_cold_start_heft_does_not() -> None:
    # a fast node (speed 2) whose container start costs 20 s, a slow warm one: heft picks the fast (5 s + 20 s),
    # hha the slow (10 s)
    plat = Platform("p", (NodeType("fast", 1, cores=1, speed=2.0, cold_start=20.0), NodeType("slow", 1, cores=1)))
    work = wf(one_core("X", 1, 10.0))
    assert spans(run_simulation(work, plat, policy="heft")) == [("X", 0, "fast-0", 0.0, 25.0)]
    assert spans(run_simulation(work, plat, policy="hha")) == [("X", 0, "slow-0", 0.0, 10.0)]


def test_native_formats_read_cold_starts_and_images() -> None:
    w = load_workflow(
        {
            "tasks": [
                {"name": "md", "count": 2, "runtime": 100, "image": "gmx", "cold_start": 4,
                 "variants": [{"gpus": 1, "runtime": 10, "node_type": "gpu", "image": "gmx-cuda", "cold_start": 9},
                              {"cores": 2}]},
            ]
        }
    )  # fmt: skip
    md = w["md"]
    assert [(v.image, v.cold_start) for v in md.all_variants] == [("gmx", 4.0), ("gmx-cuda", 9.0), ("gmx", 4.0)]
    nodes = [{"type": "cpu", "cores": 4, "cold_start": 2, "keep_warm": 60}, {"type": "g", "cores": 1}]
    p = load_platform({"nodes": nodes})
    assert [(n.cold_start, n.keep_warm) for n in p.nodes()] == [(2.0, 60.0), (0.0, None)]
    with pytest.raises(SpecError, match=r"cold_start"):
        load_workflow({"tasks": [{"name": "a", "cold_start": -1}]})
    with pytest.raises(SpecError, match=r"keep_warm"):
        load_platform({"nodes": [{"type": "cpu", "cores": 1, "keep_warm": "soon"}]})


@pytest.mark.parametrize("policy", ["fifo", "heft", "critical-path"])
def test_nothing_declared_changes_nothing(policy: str) -> None:
    """The seed's schedules, with images named and keep_warm set but no cold start, are the ones without."""
    work = load_workflow(SEED / "arbitrary-workflow.yaml")
    plat = load_platform(SEED / "summit-30.yaml")
    named = Workflow(work.name, tuple(TaskSet(**{**_fields(s), "image": "one"}) for s in work.sets))
    kept = Platform(plat.name, tuple(NodeType(**{**_fields(t), "keep_warm": 1.0}) for t in plat.node_types))
    for mode in ("sync", "task"):
        before = run_simulation(work, plat, mode, policy)
        after = run_simulation(named, kept, mode, policy)
        assert spans(after) == spans(before)
    assert run_simulation(work, plat, "task", "hha").makespan_s == run_simulation(work, plat, "task", "heft").makespan_s


def _fields(obj: object) -> dict[str, object]:
    return {k: getattr(obj, k) for k in obj.__dataclass_fields__}  # type: ignore[attr-defined]


def test_the_journal_keeps_cold_starts_and_images() -> None:
    """So that a re-simulation of a journal (report --compare-sim, resume) deploys as declared."""
    gpu = Variant(Resources(1, GPU_UNIT), 10.0, "gpu", image="md-cuda", cold_start=9.0)
    for s in (
        one_core("md", 2, 100.0, image="gmx", cold_start=4.0, variants=(gpu, Variant(Resources(2), 50.0))),
        one_core("plain", 1, 1.0),
    ):
        assert set_from_dict(set_to_dict(s)) == s
    p = Platform("p", (NodeType("cpu", 2, cores=4, cold_start=2.0, keep_warm=60.0), NodeType("g", cores=1)))
    assert platform_from_dict(platform_to_dict(p)) == p
    assert "deploy" not in platform_to_dict(Platform("q", (NodeType("g", cores=1),)))
