"""The GPU-sharing throughput model (spec/gpu_speed.py, sim/sharing.py): hand-computed speeds and durations at shares
above and below the saturation, a curve's interpolation, both loader paths and their one-line errors, the model
through a real run's journal, and workflows without a model simulated as before."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

import hetflow as hf
from hetflow.errors import SpecError
from hetflow.journal import read_journal
from hetflow.journal.codec import set_from_dict, set_to_dict
from hetflow.sim.simulator import run_simulation
from hetflow.spec import load_platform, load_workflow
from hetflow.spec.gpu_speed import GpuSpeed, curve, saturating
from hetflow.spec.models import validated_task_sets
from hetflow.spec.native import own_record, task_sets_from_dict
from hetflow.spec.records import plain_task_sets
from hetflow.spec.trace import Interval

GPU_NODE = {"platform": "one-gpu", "nodes": [{"type": "g", "cores": 10, "gpus": 1}]}
CURVE = [[0.1, 0.45], [0.2, 1.0], [1.0, 1.0]]


def task(name: str, **kw: Any) -> dict[str, Any]:
    return {"name": name, "cores": 1, "runtime": 10, **kw}


def ends(intervals: list[Interval]) -> dict[str, list[float]]:
    """Each set's task end times (one per task), sorted."""
    out: dict[str, list[float]] = defaultdict(list)
    for iv in intervals:
        out[iv.set] += [iv.end] * (iv.last - iv.first)
    return {k: sorted(v) for k, v in out.items()}


def simulate(tasks: list[dict[str, Any]], **kw: Any) -> Any:
    return run_simulation(load_workflow({"workflow": "w", "tasks": tasks}), load_platform(GPU_NODE), **kw)


def test_saturation_stretches_below_it_and_holds_at_or_above_it() -> None:
    m = saturating(0.2)
    assert m.speed(0.1) == pytest.approx(0.5) and m.stretch(0.1) == pytest.approx(2.0)
    assert m.stretch(0.05) == pytest.approx(4.0)
    assert m.stretch(0.2) == 1.0 and m.stretch(0.5) == 1.0 and m.stretch(1.0) == 1.0 and m.stretch(2.0) == 1.0


def test_a_curve_interpolates_linearly_proportional_below_its_first_point_flat_above_its_last() -> None:
    m = curve(CURVE)
    assert m.speed(0.1) == pytest.approx(0.45) and m.speed(0.2) == pytest.approx(1.0)
    assert m.speed(0.15) == pytest.approx(0.725)  # halfway between 0.45 and 1.0
    assert m.speed(0.05) == pytest.approx(0.225)  # 0.45 x 0.05 / 0.1
    assert m.speed(0.6) == pytest.approx(1.0) and m.speed(3.0) == pytest.approx(1.0)
    assert curve([[0.5, 2.0]]).stretch(1.0) == pytest.approx(0.5)  # faster than runtime where the curve says so


def test_the_simulator_stretches_each_task_by_its_granted_share() -> None:
    r = simulate(
        [
            task("below", count=3, gpus=0.1, gpu_saturation=0.2),  # 10 x 0.2 / 0.1 = 20 s
            task("above", gpus=0.3, gpu_saturation=0.2),  # 10 s: the share is over the saturation
            task("curved", gpus=0.15, gpu_speed=CURVE),  # 10 / 0.725
            task("plain", gpus=0.05),  # no model: 10 s
            task("cpu", cores=1, runtime=7),
        ]
    )
    assert ends(r.intervals) == {
        "below": [20.0] * 3,
        "above": [10.0],
        "curved": [pytest.approx(10 / 0.725)],
        "plain": [10.0],
        "cpu": [7.0],
    }


def test_five_in_twenty_percent_bins_against_whole_gpus_in_turn_follows_the_saturation() -> None:
    """Five 100 s kernels saturating at 0.4: shared, 5 at once at 0.2 each take 200 s; whole GPUs in turn take 500 s."""
    shared = simulate([task("k", count=5, gpus=0.2, runtime=100, gpu_saturation=0.4)])
    whole = simulate([task(f"k{i}", gpus=1, runtime=100, gpu_saturation=0.4) for i in range(5)])
    assert shared.makespan_s == pytest.approx(200.0) and whole.makespan_s == pytest.approx(500.0)


def test_a_drawn_run_time_is_stretched_too_the_same_draws_with_and_without_the_model() -> None:
    law = {"dist": "lognormal", "median": 10, "cv": 0.3}
    plain = simulate([task("k", count=4, gpus=0.1, runtime=law)], seed=7)
    shared = simulate([task("k", count=4, gpus=0.1, runtime=law, gpu_saturation=0.2)], seed=7)
    by_index = {iv.first: iv.end for iv in plain.intervals}
    assert len(by_index) == 4 and len(set(by_index.values())) == 4  # one end per task, each its own
    assert {iv.first: iv.end for iv in shared.intervals} == {k: pytest.approx(2 * v) for k, v in by_index.items()}


@dataclass(frozen=True)
class Overheads:
    startup_s: float = 1.0
    launch_latency_s: float = 0.5
    task_overhead_s: float = 0.25


def test_a_calibrated_launch_and_an_injected_set_are_stretched_alike() -> None:
    r = simulate([task("k", gpus=0.1, gpu_saturation=0.2)], calibration=Overheads())
    assert ends(r.intervals) == {"k": [1.0 + 0.5 + 20.0 + 0.25]}
    late = load_workflow({"tasks": [task("late", gpus=0.1, gpu_saturation=0.4)]}).sets
    r = simulate([task("k", gpus=0.5)], at=[(3.0, late)])
    assert ends(r.intervals) == {"k": [10.0], "late": [3.0 + 40.0]}


def test_a_model_that_never_stretches_keeps_the_schedule_of_no_model() -> None:
    seed = load_workflow(Path(__file__).resolve().parents[2] / "examples/seed/arbitrary-workflow.yaml")
    platform = load_platform(Path(__file__).resolve().parents[2] / "examples/seed/summit-30.yaml")
    modelled = replace(
        seed, sets=tuple(replace(s, gpu_speed=saturating(1.0)) if s.resources.gpu_units else s for s in seed.sets)
    )
    for mode, makespan in (("sync", 2000.0), ("workload", 1800.0), ("task", 1700.0)):
        assert run_simulation(seed, platform, mode).makespan_s == makespan
        assert run_simulation(modelled, platform, mode).makespan_s == makespan  # whole GPUs: share 1 >= 1


# ---- loading ---------------------------------------------------------------------------------------------------


def test_both_loader_paths_give_the_same_models() -> None:
    doc = {
        "workflow": "w",
        "tasks": [
            task("a", gpus=0.2, gpu_saturation=0.5),
            task("b", gpus=0.25, gpu_speed=CURVE, after=["a"]),
            task("c", after="a"),
        ],
    }
    _, fast = plain_task_sets(doc, own_record)  # plain records, the two with a model validated by their own model
    _, slow = validated_task_sets(doc)
    assert fast == slow
    assert [s.gpu_speed for s in fast] == [
        GpuSpeed(((0.5, 1.0),), 0.5),
        GpuSpeed(((0.1, 0.45), (0.2, 1.0), (1.0, 1.0))),
        None,
    ]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"gpu_saturation": 0}, "tasks[0] (a).gpu_saturation: gpu_saturation 0 is not a share of one GPU (fix: give"),
        ({"gpu_saturation": 1.5}, "tasks[0] (a).gpu_saturation: gpu_saturation 1.5 is not a share of one GPU"),
        ({"gpu_saturation": True}, "tasks[0] (a).gpu_saturation: gpu_saturation True is not a share of one GPU"),
        ({"gpu_speed": "fast"}, "tasks[0] (a).gpu_speed: gpu_speed 'fast' is not a list of points (fix: give"),
        ({"gpu_speed": []}, "tasks[0] (a).gpu_speed: gpu_speed [] is not a list of points"),
        (
            {"gpu_speed": [[0.1, 0]]},
            "tasks[0] (a).gpu_speed: gpu_speed point 0 ([0.1, 0]) is not a [share, speed] pair",
        ),
        (
            {"gpu_speed": [[0.2, 1], [0.2, 1]]},
            "tasks[0] (a).gpu_speed: gpu_speed point 1 ([0.2, 1]): shares must increase",
        ),
        (
            {"gpu_saturation": 0.2, "gpu_speed": CURVE},
            "tasks[0] (a): a has both gpu_saturation and gpu_speed (fix: keep",
        ),
        ({"gpus": 0, "gpu_saturation": 0.2}, "tasks[0] (a): a has a GPU speed model but asks for no GPU (fix: give it"),
    ],
)
def test_a_bad_model_is_one_line_naming_its_place_the_same_both_ways(
    fields: dict[str, Any], message: str, tmp_path: Path
) -> None:
    doc = {"workflow": "w", "tasks": [{**task("a", gpus=0.2), **fields}]}
    errors = []
    for load in (task_sets_from_dict, validated_task_sets):
        with pytest.raises(SpecError) as got:
            load(doc, "wf.yaml")
        errors.append(str(got.value))
    assert errors[0] == errors[1]
    assert errors[0].startswith("wf.yaml: " + message) and "\n" not in errors[0]


def test_a_model_is_loaded_from_a_yaml_file(tmp_path: Path) -> None:
    path = tmp_path / "wf.yaml"
    path.write_text("tasks:\n  - {name: k, gpus: 0.1, runtime: 10, gpu_speed: [[0.1, 0.5], [0.3, 1]]}\n")
    assert load_workflow(path)["k"].gpu_speed == GpuSpeed(((0.1, 0.5), (0.3, 1.0)))


# ---- the journal -----------------------------------------------------------------------------------------------


def test_a_journal_keeps_the_model_and_a_re_simulation_applies_it(tmp_path: Path) -> None:
    wf = load_workflow(
        {
            "workflow": "shared",
            "tasks": [
                task("a", count=2, gpus=0.1, runtime=0.01, gpu_saturation=0.2, command="true"),
                task("b", gpus=0.25, runtime=0.01, gpu_speed=CURVE, command="true", after=["a"]),
                task("c", runtime=0.01, command="true", after=["a"]),
            ],
        }
    )
    platform = load_platform(GPU_NODE)
    with hf.Session(platform=platform, journal=tmp_path / "run.db") as s:
        assert s.run(wf).ok
    view = read_journal(tmp_path / "run.db")
    assert {x.name: x.gpu_speed for x in view.workflow.sets} == {x.name: x.gpu_speed for x in wf.sets}
    assert view.workflow["a"].gpu_speed == saturating(0.2) and view.workflow["c"].gpu_speed is None
    again = run_simulation(view.workflow, view.platform)
    assert again.makespan_s == pytest.approx(run_simulation(wf, platform).makespan_s)
    assert again.makespan_s == pytest.approx(0.02 + 0.01)  # a at 0.1 of saturation 0.2 takes twice its run time


def test_journal_rows_without_a_model_read_as_before() -> None:
    s = load_workflow({"tasks": [task("a", gpus=0.1, gpu_saturation=0.2)]})["a"]
    row = set_to_dict(s)
    assert row["gpu_speed"] == {"gpu_saturation": 0.2}
    assert set_from_dict(row) == s
    del row["gpu_speed"]
    assert set_from_dict(row).gpu_speed is None
