"""GPU models, sharing modes, GPU memory and allowed models: loaded, refused in one line, journaled, and kept to."""

from __future__ import annotations

import pytest

from hetflow.core.engine import Engine
from hetflow.core.instructions import Launch
from hetflow.core.stimuli import TasksSubmitted
from hetflow.errors import FitError, SpecError
from hetflow.journal.codec import platform_from_dict as platform_back
from hetflow.journal.codec import platform_to_dict, set_from_dict, set_to_dict
from hetflow.policies import make_policy
from hetflow.spec.gpus import GIB
from hetflow.spec.native import platform_from_dict, workflow_from_dict

PLATFORM = {
    "platform": "mixed",
    "nodes": [
        {"type": "old", "cores": 8, "gpus": 4, "gpu_model": "V100M32"},
        {"type": "big", "cores": 8, "gpus": 2, "gpu_model": "A100-80GB", "gpu_sharing": "mig"},
        {"type": "new", "cores": 8, "gpus": 1, "gpu_model": "H200", "gpu_sharing": "exclusive"},
    ],
}


def test_platform_fields_load_and_survive_the_journal() -> None:
    p = platform_from_dict(PLATFORM, "p.yaml")
    assert [(t.gpu_model, t.gpu_sharing) for t in p.node_types] == [
        ("V100M32", "mps"),
        ("A100-80GB", "mig"),
        ("H200", "exclusive"),
    ]
    assert platform_back(platform_to_dict(p)).node_types == p.node_types
    old = {"name": "p", "node_types": [["n", 1, 4, 10000, 0, 1.0, 0.0], ["m", 1, 4, 0, 0, 1.0]]}
    assert [(t.gpu_model, t.gpu_sharing) for t in platform_back(old).node_types] == [(None, "mps")] * 2


def test_task_fields_load_and_survive_the_journal() -> None:
    wf = workflow_from_dict(
        {"tasks": [{"name": "a", "gpus": 0.25, "gpu_memory": "10GiB", "gpu_models": ["A100", "h200"]}]}
    )
    a = wf["a"]
    assert a.gpu_memory == 10 * GIB and a.gpu_models == ("A100", "h200")
    assert set_from_dict(set_to_dict(a)) == a
    old = {"name": "b", "count": 1, "resources": [1, 5000, 0], "runtime": 1.0}
    assert set_from_dict(old).resources.gpu_models == () and "resources" in set_to_dict(set_from_dict(old))
    assert set_to_dict(set_from_dict(old))["resources"] == [1, 5000, 0]  # an old-shaped set writes the old shape


@pytest.mark.parametrize(
    ("node", "says"),
    [
        ({"gpu_model": "V100M32", "gpu_sharing": "mig"}, "nodes[0] (n): gpu_model 'V100M32' has no MIG profiles"),
        ({"gpu_sharing": "mig"}, "nodes[0] (n): gpu_model None has no MIG profiles"),
        ({"gpu_sharing": "time"}, "nodes[0] (n).gpu_sharing: gpu_sharing must be one of mps"),
        ({"gpus": 1.5, "gpu_sharing": "exclusive"}, "nodes[0] (n): exclusive GPUs must be whole, not 1.5"),
    ],
)
def test_bad_platform_fields_are_one_line(node: dict[str, object], says: str) -> None:
    with pytest.raises(SpecError) as exc:
        platform_from_dict({"nodes": [{"type": "n", "cores": 1, "gpus": 2} | node]}, "p.yaml")
    assert exc.value.line().startswith("p.yaml: " + says) and "\n" not in exc.value.line()


def test_gpu_memory_without_gpus_is_one_line() -> None:
    with pytest.raises(SpecError, match=r"tasks\[0\] \(a\): a asks for gpu_memory but no gpus"):
        workflow_from_dict({"tasks": [{"name": "a", "gpu_memory": "1GiB"}]})


@pytest.mark.parametrize(
    ("task", "fits"),
    [
        ({"gpus": 1, "gpu_models": ["H100"]}, False),  # no H100 here
        ({"gpus": 1, "gpu_models": ["a100"]}, True),  # a family, any case
        ({"gpus": 0.5, "gpu_models": ["H200"]}, False),  # the H200s are exclusive: no fractions
        ({"gpus": 1, "gpu_models": ["H200"]}, True),
        ({"gpus": 0.5, "gpu_memory": "100GiB"}, False),  # over every fraction-taking GPU's memory
        ({"gpus": 1, "gpu_memory": "100GiB"}, True),  # the H200 holds it whole
        ({"gpus": 0.5, "gpu_memory": "40GiB", "gpu_models": ["A100-80GB"]}, True),  # a 3g.40gb
    ],
)
def test_check_fits_knows_models_sharing_and_gpu_memory(task: dict[str, object], fits: bool) -> None:
    p = platform_from_dict(PLATFORM, "p.yaml")
    wf = workflow_from_dict({"tasks": [{"name": "a"} | task]}, "w.yaml")
    if fits:
        p.check_fits(wf)
        return
    with pytest.raises(FitError) as exc:
        p.check_fits(wf)
    line = exc.value.line()
    assert line.startswith("w.yaml: tasks[0] (a): a task of a needs") and "\n" not in line
    assert "big: 8 cores, 2 A100-80GB GPUs (mig)" in line


@pytest.mark.parametrize("policy", ["fifo", "best-fit", "heft", "critical-path"])
def test_a_set_runs_only_on_nodes_of_its_models(policy: str) -> None:
    p = platform_from_dict(PLATFORM)
    wf = workflow_from_dict(
        {
            "tasks": [
                {"name": "v", "count": 12, "gpus": 1, "gpu_models": ["v100m32"], "runtime": 5},
                {"name": "h", "count": 3, "gpus": 1, "gpu_models": ["H200", "A100"], "runtime": 5},
            ]
        }
    )
    engine = Engine(p.nodes(), "task", make_policy(policy))
    out = engine.handle(0.0, [TasksSubmitted(wf.sets)])
    engine.validate()
    placed = {(i.set, i.node.split("-")[0]) for i in out if isinstance(i, Launch)}
    assert placed and placed <= {("v", "old"), ("h", "new"), ("h", "big")}
