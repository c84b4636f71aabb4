"""The ETA of a running workflow, on synthetic runs whose truth is known."""

from __future__ import annotations

import numpy as np

from hetflow.predict import eta


def test_the_interval_contains_the_truth_and_narrows_as_tasks_end() -> None:
    """100 tasks declared at 1 s each, on one core, each really taking 1.3 s x a lognormal noise (cv 0.2)."""
    rng = np.random.default_rng(11)
    actual = 1.3 * rng.lognormal(0.0, 0.2, 100)
    widths, inside = [], 0
    for k in (10, 25, 50, 75, 90):
        e = eta([(1.0, a) for a in actual[:k]], [(1.0, 1, 100 - k)], capacity=1)
        truth = float(actual[k:].sum())
        inside += int(e.p10 <= truth <= e.p90)
        assert e.ended == k and abs(e.ratio - 1.3) < 0.15
        widths.append(e.p90 - e.p10)
    assert inside >= 4
    assert widths == sorted(widths, reverse=True) and widths[-1] < widths[0] / 3


def test_a_run_near_its_end_waits_for_its_longest_task_not_the_idle_cores() -> None:
    e = eta([(10.0, 10.0), (10.0, 10.0)], [(50.0, 1, 1), (1.0, 1, 3)], capacity=64)
    assert e.p50 == 50.0  # not (50 + 3) / 64
    assert eta([(1.0, 1.0)], [], capacity=4).p90 == 0.0  # nothing left: no time left


def test_before_any_task_ended_the_declared_times_give_a_wide_interval() -> None:
    e = eta([], [(2.0, 2, 10)], capacity=4)
    assert e.ratio == 1.0 and e.ended == 0 and e.p50 == 10.0
    assert e.p10 < 7 and e.p90 > 13


def test_a_real_run_s_eta_learns_the_ratio_from_its_ended_tasks() -> None:
    """hetflow run's ETA (cli.progress.run_eta) on a real run: declared 5 s, each task really 0.2 s."""
    import hetflow as hf
    from hetflow.cli.progress import eta_text, run_eta

    workflow = {"workflow": "w", "tasks": [{"name": "a", "count": 4, "runtime": 5.0, "command": "sleep 0.2"}]}
    with hf.Session(platform={"platform": "p", "nodes": [{"type": "n", "cores": 2}]}) as s:
        run = s.run(workflow)
        p = s.progress()
    declared, predicted = run_eta(run, p), run_eta(run, p, {"a": 0.2})
    assert declared is not None and predicted is not None
    assert declared.ended == predicted.ended == 4 and declared.p90 == predicted.p90 == 0.0  # nothing left
    assert 0.04 <= declared.ratio < 0.1 and 1.0 <= predicted.ratio < 2.0  # actual / expected
    assert eta_text(None) == "ETA ?" and eta_text(declared) == "ETA 0.0 s (0.0 s - 0.0 s)"
