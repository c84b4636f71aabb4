"""Run-time distributions in the native format: what a file declares becomes TaskSet.runtime (the median the engine
estimates with) and TaskSet.runtime_dist; variants keep a fixed run time; bad parameters are one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from hetflow.errors import SpecError
from hetflow.spec import load_workflow
from hetflow.spec.distribution import Distribution, parse_runtime

FILE = """workflow: d
tasks:
  - {name: ln, count: 4, runtime: {dist: lognormal, median: 150, cv: 0.1}}
  - {name: nm, runtime: {dist: normal, mean: 20, std: 2}, after: ln}
  - {name: un, runtime: {dist: uniform, low: 10, high: 30}, after: ln}
  - {name: ga, runtime: {dist: gamma, mean: 8, cv: 0.5}, after: ln}
  - {name: sm, runtime: {samples: [3, 5, 4]}, after: ln}
  - {name: fx, runtime: 7, after: ln}
  - name: va
    runtime: {dist: lognormal, median: 100, cv: 0.3}
    variants: [{gpus: 1}, {gpus: 1, runtime: 12}]
"""


def test_a_file_of_distributions(tmp_path: Path) -> None:
    path = tmp_path / "d.yaml"
    path.write_text(FILE)
    wf = load_workflow(path)
    assert wf["ln"].runtime_dist == Distribution.lognormal(150, 0.1) and wf["ln"].runtime == 150.0
    assert wf["nm"].runtime == 20.0 and wf["un"].runtime == 20.0 and wf["sm"].runtime == 4.0
    assert wf["ga"].runtime == pytest.approx(Distribution.gamma(8, 0.5).median) and wf["ga"].runtime < 8
    assert wf["fx"].runtime_dist is None and wf["fx"].runtime == 7.0
    assert [v.runtime for v in wf["va"].variants] == [100.0, 12.0]  # a variant's run time is fixed (the median)
    assert wf.analysis.critical_path_s == 150.0 + 20.0  # the estimates are the medians (ln, then nm)


def test_emulation_scales_the_law_with_the_run_time() -> None:
    wf = load_workflow({"workflow": "e", "tasks": [{"name": "a", "runtime": {"dist": "gamma", "mean": 10, "cv": 0.5}}]})
    fast = wf.emulated(0.01)
    assert fast["a"].runtime_dist == Distribution.gamma(0.1, 0.5)
    assert fast["a"].runtime == pytest.approx(wf["a"].runtime * 0.01)
    assert Distribution.lognormal(150, 0.1).scaled(2).median == 300.0


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ({"dist": "lognormal", "median": 150, "cv": 0}, "cv is 0, not > 0"),
        ({"dist": "lognormal", "median": -5, "cv": 0.1}, "median is -5, not > 0"),
        ({"dist": "normal", "mean": 5, "std": -1}, "std is -1, below 0"),
        ({"dist": "uniform", "low": -1, "high": 2}, "low is -1, below 0"),
        ({"samples": []}, "samples is empty"),
        ({"samples": [1, -1]}, "a sample is -1, below 0"),
        ({"dist": "pareto", "alpha": 2}, "unknown dist 'pareto'"),
        ({"median": 3, "cv": 0.1}, "no dist"),
        ({"dist": "gamma", "mean": 3}, "cv is missing for dist gamma"),
        ({"dist": "gamma", "mean": 3, "cv": 0.1, "shape": 2}, "unknown key 'shape' for dist gamma"),
        (-1, "runtime must be a number of seconds >= 0 or a distribution"),
        ("10s", "runtime must be a number of seconds >= 0 or a distribution"),
    ],
)
def test_bad_runtimes_are_one_line_with_place_and_fix(value: object, problem: str) -> None:
    with pytest.raises(SpecError) as caught:
        load_workflow({"workflow": "w", "tasks": [{"name": "a"}, {"name": "b", "runtime": value}]})
    assert caught.value.place == "tasks[1] (b).runtime"
    assert caught.value.problem.startswith(problem) and caught.value.fix
    assert "\n" not in caught.value.line()


def test_a_plain_number_is_not_a_distribution() -> None:
    assert parse_runtime(3) == 3.0 and type(parse_runtime(3)) is float
    assert parse_runtime({"samples": [2, 1]}) == Distribution("samples", (1.0, 2.0))
