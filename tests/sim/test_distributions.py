"""Variable run times: each Distribution against scipy.stats, drawn durations in the simulator (their law, one seed one
schedule, tasks of a launch ending one by one), node speed jitter, and Monte Carlo runs over processes."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from scipy import stats as sps

from hetflow.core.engine import Engine
from hetflow.errors import SpecError
from hetflow.sim.montecarlo import run_seeds, simulate_many
from hetflow.sim.simulator import run_simulation
from hetflow.spec import load_platform, load_workflow
from hetflow.spec.distribution import Distribution
from hetflow.spec.platform import NodeType, Platform
from hetflow.spec.resources import GPU_UNIT
from hetflow.spec.workflow import Workflow
from tests.shared import SEED_PLATFORM, SEED_WORKFLOW

CASES: list[tuple[Distribution, Any]] = [
    (Distribution.lognormal(150, 0.1), sps.lognorm(s=math.sqrt(math.log(1 + 0.1**2)), scale=150)),
    (Distribution.lognormal(3, 1.5), sps.lognorm(s=math.sqrt(math.log(1 + 1.5**2)), scale=3)),
    (Distribution.normal(40, 5), sps.norm(40, 5)),
    (Distribution.uniform(10, 30), sps.uniform(10, 20)),
    (Distribution.gamma(20, 0.5), sps.gamma(a=1 / 0.25, scale=20 * 0.25)),
    (Distribution.gamma(7, 2.0), sps.gamma(a=1 / 4, scale=7 * 4)),
]


@pytest.mark.parametrize(("dist", "law"), CASES, ids=lambda c: getattr(c, "kind", ""))
def test_median_mean_and_quantiles_are_scipys(dist: Distribution, law: Any) -> None:
    assert dist.median == pytest.approx(law.median(), rel=1e-9)
    assert dist.mean == pytest.approx(law.mean(), rel=1e-9)
    for q in (0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99):
        assert dist.quantile(q) == pytest.approx(law.ppf(q), rel=1e-7), q


@pytest.mark.parametrize(("dist", "law"), CASES, ids=lambda c: getattr(c, "kind", ""))
def test_draws_follow_the_law_and_repeat_for_a_seed(dist: Distribution, law: Any) -> None:
    x = dist.sample(np.random.default_rng(5), 20000)
    assert np.array_equal(x, dist.sample(np.random.default_rng(5), 20000))
    assert not np.array_equal(x, dist.sample(np.random.default_rng(6), 20000))
    assert sps.kstest(x, law.cdf).pvalue > 1e-4  # the draws are the law (a loose level: this must not flake)
    assert (x >= 0).all()


def test_samples_are_empirical_and_resampled() -> None:
    d = Distribution.from_samples([12, 10, 14, 11])
    assert d.params == (10.0, 11.0, 12.0, 14.0)
    assert d.median == 11.5 and d.mean == 11.75
    for q in (0, 0.3, 0.5, 0.9, 1):
        assert d.quantile(q) == pytest.approx(float(np.quantile([12, 10, 14, 11], q)))
    assert set(d.sample(np.random.default_rng(1), 200).tolist()) == {10.0, 11.0, 12.0, 14.0}


def test_a_normal_never_draws_below_zero() -> None:
    d = Distribution.normal(1, 2)
    assert d.sample(np.random.default_rng(0), 1000).min() == 0.0
    assert d.quantile(0.1) == 0.0


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda: Distribution.lognormal(-1, 0.1), "median is -1"),
        (lambda: Distribution.lognormal(10, 0), "cv is 0"),
        (lambda: Distribution.gamma(10, -1), "cv is -1"),
        (lambda: Distribution.uniform(5, 1), "high is 1"),
        (lambda: Distribution.from_samples([]), "samples is empty"),
    ],
)
def test_bad_parameters_are_refused(make: Any, says: str) -> None:
    with pytest.raises(SpecError, match=says):
        make()


# ---- in the simulator ----------------------------------------------------------------------------------------------
PLATFORM = Platform("p", (NodeType("n", 4, 32),))


def workflow(runtime: object, count: int = 1000, cores: int = 1) -> Any:
    tasks = [
        {"name": "pre", "count": 3, "runtime": 5},
        {"name": "a", "count": count, "cores": cores, "runtime": runtime, "after": "pre"},
        {"name": "post", "count": 10, "runtime": 20, "after": "a"},
    ]
    return load_workflow({"workflow": "w", "tasks": tasks})


def checked(engine: Engine) -> None:
    engine.validate()


def test_a_thousand_lognormal_tasks_take_their_declared_median_and_cv() -> None:
    wf = workflow({"dist": "lognormal", "median": 150, "cv": 0.1})
    assert wf["a"].runtime == 150 and wf["a"].runtime_dist == Distribution.lognormal(150, 0.1)
    res = run_simulation(wf, PLATFORM, seed=3, check=checked)
    a = [i for i in res.intervals if i.set == "a"]
    assert len(a) == 1000 and all(i.n == 1 for i in a)  # each task ended at its own time
    d = np.array([i.end - i.start for i in a])
    assert np.median(d) == pytest.approx(150, rel=0.02)
    assert d.std(ddof=1) / d.mean() == pytest.approx(0.1, rel=0.1)
    assert len({i.end for i in a}) == 1000
    post = [i for i in res.intervals if i.set == "post"]
    assert len(post) == 1 and post[0].end - post[0].start == 20  # a fixed set stays one grouped launch
    assert min(i.start for i in post) == max(i.end for i in a)


def test_one_seed_one_schedule_another_seed_another() -> None:
    wf = workflow({"dist": "gamma", "mean": 60, "cv": 0.4}, count=300, cores=4)
    one, again = run_simulation(wf, PLATFORM, seed=11), run_simulation(wf, PLATFORM, seed=11)
    assert one.intervals == again.intervals and one.makespan_s == again.makespan_s
    other = run_simulation(wf, PLATFORM, seed=12)
    assert other.makespan_s != one.makespan_s


def test_fixed_run_times_keep_the_grouped_schedule_whatever_the_seed() -> None:
    wf, plat = load_workflow(SEED_WORKFLOW), load_platform(SEED_PLATFORM)
    base = run_simulation(wf, plat, "task", "fifo")
    seeded = run_simulation(wf, plat, "task", "fifo", seed=99)
    assert seeded.intervals == base.intervals and seeded.makespan_s == 1700.0
    assert seeded.steps == base.steps


def test_the_seed_experiment_with_varying_run_times_centres_on_its_makespan() -> None:
    """Every set of the seed experiment lognormal around its run time (cv 0.05): the makespans spread around the
    fixed schedule's 1700 s, and every run keeps the ledger consistent."""
    wf, plat = load_workflow(SEED_WORKFLOW), load_platform(SEED_PLATFORM)
    varied = Workflow(wf.name, tuple(replace(s, runtime_dist=Distribution.lognormal(s.runtime, 0.05)) for s in wf.sets))
    spans = [run_simulation(varied, plat, "task", "fifo", seed=k, check=checked).makespan_s for k in range(4)]
    assert len(set(spans)) == 4
    assert all(abs(m - 1700) < 0.2 * 1700 for m in spans)


def test_speed_jitter_spreads_a_fixed_run_time_by_its_cv() -> None:
    plat = load_platform({"platform": "j", "nodes": [{"type": "n", "count": 4, "cores": 32, "speed_jitter": 0.2}]})
    assert plat.node_types[0].speed_jitter == 0.2
    res = run_simulation(workflow(100.0), plat, seed=1, check=checked)
    d = np.array([i.end - i.start for i in res.intervals if i.set == "a"])
    assert d.size == 1000
    assert np.median(d) == pytest.approx(100, rel=0.03)
    assert d.std(ddof=1) / d.mean() == pytest.approx(0.2, rel=0.15)


def test_a_negative_speed_jitter_is_refused() -> None:
    with pytest.raises(SpecError) as caught:
        load_platform({"platform": "j", "nodes": [{"type": "n", "cores": 2, "speed_jitter": -0.1}]})
    assert caught.value.place == "nodes[0] (n).speed_jitter"


def test_failing_tasks_with_drawn_run_times_fail_at_their_own_end_and_are_retried() -> None:
    wf = workflow({"dist": "uniform", "low": 50, "high": 150}, count=200)
    wf = Workflow(wf.name, tuple(replace(s, retries=1) if s.name == "a" else s for s in wf.sets))

    def fails(name: str, index: int, attempt: int) -> str | None:
        return "boom" if name == "a" and index % 10 == 0 and attempt == 1 else None

    res = run_simulation(wf, PLATFORM, seed=2, failures=fails, check=checked, retry_backoff=0)
    failed = [i for i in res.intervals if i.status == "failed"]
    assert len(failed) == 20 and all(i.set == "a" and i.attempts == 1 for i in failed)
    again = {i.first: i for i in res.intervals if i.set == "a" and i.attempts == 2}
    assert sorted(again) == list(range(0, 200, 10))
    for f in failed:  # a retried attempt runs as long as the first (the task's draw is its own)
        assert again[f.first].end - again[f.first].start == pytest.approx(f.end - f.start)
    assert sum(i.n for i in res.intervals if i.set == "a" and i.status == "done") == 200


def test_a_variant_keeps_its_fixed_run_time() -> None:
    doc = {
        "workflow": "v",
        "tasks": [
            {
                "name": "a",
                "count": 40,
                "cores": 64,
                "runtime": {"dist": "lognormal", "median": 100, "cv": 0.5},
                "variants": [{"cores": 1, "gpus": 1, "runtime": 10, "node_type": "g"}],
            }
        ],
    }
    wf = load_workflow(doc)
    plat = Platform("p", (NodeType("c", 1, 64), NodeType("g", 1, 8, 4 * GPU_UNIT)))
    res = run_simulation(wf, plat, "task", "heft", seed=4, check=checked)
    on_gpu = [i for i in res.intervals if i.node.startswith("g")]
    on_cpu = [i for i in res.intervals if i.node.startswith("c")]
    assert on_gpu and on_cpu
    assert {round(i.end - i.start, 9) for i in on_gpu} == {10.0}
    assert len({round(i.end - i.start, 9) for i in on_cpu}) == len(on_cpu)


# ---- Monte Carlo ---------------------------------------------------------------------------------------------------
def test_many_runs_are_the_same_on_one_process_or_two() -> None:
    wf = workflow({"dist": "lognormal", "median": 30, "cv": 0.3}, count=100, cores=8)
    one = simulate_many(wf, PLATFORM, "task", "fifo", repeat=12, seed=5, workers=1)
    two = simulate_many(wf, PLATFORM, "task", "fifo", repeat=12, seed=5, workers=2)
    assert one == two
    assert len({r.makespan_s for r in one}) == 12
    _, seeds = run_seeds(5, 12)
    assert [r.seed for r in one] == seeds
    alone = run_simulation(wf, PLATFORM, "task", "fifo", seed=one[7].seed)  # any run replays alone from its seed
    assert alone.makespan_s == one[7].makespan_s and alone.cpu_utilization == one[7].cpu_utilization
    assert simulate_many(wf, PLATFORM, "task", "fifo", repeat=12, seed=6, workers=2) != one


def test_many_runs_of_a_fixed_workflow_are_one_run() -> None:
    runs = simulate_many(load_workflow(SEED_WORKFLOW), load_platform(SEED_PLATFORM), repeat=5, seed=1, workers=2)
    assert [r.makespan_s for r in runs] == [1700.0] * 5 and len({r.seed for r in runs}) == 5


def test_a_repeat_below_one_is_refused() -> None:
    with pytest.raises(SpecError) as caught:
        simulate_many(workflow(1.0), PLATFORM, repeat=0, seed=1)
    assert caught.value.place == "--repeat"


def test_a_cancel_stops_the_rest_of_a_launch_whose_first_tasks_ended_on_their_own() -> None:
    from hetflow.core.triggers import Trigger

    wf = load_workflow({"workflow": "c", "tasks": [{"name": "a", "count": 12, "runtime": {"samples": [5, 9, 13, 40]}}]})
    plat = Platform("p", (NodeType("n", 1, 4),))
    res = run_simulation(wf, plat, seed=8, check=checked, triggers=[Trigger("a", lambda ctx: ctx.cancel("a"), count=2)])
    done = [i for i in res.intervals if i.status == "done"]
    cancelled = [i for i in res.intervals if i.status == "cancelled"]
    # 4 started together; one ended at 5 s (another started in its place), one at 9 s: the trigger then stopped the
    # other 2 of the first launch and the one started at 5 s, each recorded once
    assert len(done) == 2 and len(cancelled) == 3
    assert sorted(i.start for i in cancelled) == [0.0, 0.0, 5.0]
    assert {i.first for i in done}.isdisjoint(i.first for i in cancelled)
    assert all(i.end == max(d.end for d in done) for i in cancelled)
    assert res.engine is not None
    assert sum(n for s, n in res.engine.state_counts().items() if s.name == "CANCELLED") == 10
