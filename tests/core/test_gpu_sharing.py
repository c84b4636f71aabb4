"""The ledger's sharing modes: MIG instances by NVIDIA's placement rules, exclusive GPUs, GPU memory, GPU models.

The expected placements are hand-checked against NVIDIA's table (spec/gpus.py's docstring, from the MIG User Guide):
on an A100 or H100 a 4g starts at memory slice 0 only, a 3g at 0 or 4, a 2g at 0, 2 or 4, a 1g at 0..6.
"""

from __future__ import annotations

import pytest

from hetflow.core.ledger import Ledger
from hetflow.core.mig import FULL, mig_table
from hetflow.errors import LedgerError
from hetflow.executors.api import gpu_env
from hetflow.policies import POLICIES
from hetflow.sim.simulator import run_simulation
from hetflow.spec.gpus import GIB, mig_instances
from hetflow.spec.platform import Node, NodeType, Platform
from hetflow.spec.resources import GPU_UNIT, GpuGrant, Resources
from hetflow.spec.workflow import TaskSet, Workflow


def gpu_node(model: str = "A100-80GB", sharing: str = "mig", gpus: int = 1, cores: int = 64) -> Node:
    return Node("n-0", "n", cores, gpus * GPU_UNIT, 0, 1.0, model, sharing)


def need(gpus: float, gpu_memory: int = 0, models: tuple[str, ...] = ()) -> Resources:
    return Resources(1, round(gpus * GPU_UNIT), 0, gpu_memory, models)


def take(led: Ledger, *needs: Resources) -> list[GpuGrant]:
    """Allocate one task of each need on node 0, validating after each."""
    grants = []
    for r in needs:
        (grant,) = led.allocate(0, r, 1)
        led.validate()
        grants.append(grant)
    return grants


def profile_and_start(model: str, grant: GpuGrant) -> tuple[str, int]:
    (share,) = grant
    p, start = mig_instances(model)[share[2]]
    return p.name, start


def one_gpu(model: str = "A100-80GB") -> Ledger:
    led = Ledger()
    led.add(gpu_node(model))
    return led


# smallest profile for a fraction: 3g is 3/7 = 0.43 of the SMs, 4g 0.57, 2g 0.29, 1g 0.14
THREE_G, FOUR_G, TWO_G, ONE_G = need(0.4), need(0.5), need(0.25), need(0.1)


def test_a_4g_and_a_3g_fill_an_a100() -> None:
    led = one_gpu()
    grants = take(led, FOUR_G, THREE_G)
    assert [profile_and_start("A100-80GB", g) for g in grants] == [("4g.40gb", 0), ("3g.40gb", 4)]
    assert led.mig_occupied[0] == [FULL]
    assert led.fit_count(0, ONE_G) == 0  # nothing else, not even a 1g
    assert led.free_gpu[0] == [0]  # 4/7 + 3/7 of the GPU: all of it, exactly


def test_two_4g_do_not_fit_one_gpu() -> None:
    led = one_gpu()
    take(led, FOUR_G)
    assert led.fit_count(0, FOUR_G) == 0
    with pytest.raises(LedgerError):
        led.allocate(0, FOUR_G, 1)
    led.validate()
    assert led.fit_count(0, THREE_G) == 1  # the 3g at slice 4 still does


def test_a_3g_goes_where_it_leaves_room_for_a_4g() -> None:
    led = one_gpu()
    (grant,) = take(led, THREE_G)
    assert profile_and_start("A100-80GB", grant) == ("3g.40gb", 4)
    assert led.fit_count(0, FOUR_G) == 1
    take(led, THREE_G)  # two 3g fill it too (slices 0-3 and 4-7), with a seventh of compute idle
    assert led.fit_count(0, ONE_G) == 0
    assert led.free_gpu[0] == [GPU_UNIT - 4285 - 4286]


@pytest.mark.parametrize(
    ("request_", "profile", "count"),
    [
        (need(0.1), "1g.10gb", 7),
        (need(0.1, 15 * GIB), "1g.20gb", 4),  # more memory than a 1g.10gb has: the 2-slice 1g
        (need(0.25), "2g.20gb", 3),
        (need(0.4), "3g.40gb", 2),
        (need(0.1, 30 * GIB), "3g.40gb", 2),  # memory decides
        (need(0.5), "4g.40gb", 1),
        (need(0.9), "7g.80gb", 1),
    ],
)
def test_each_profile_fits_as_often_as_nvidia_says(request_: Resources, profile: str, count: int) -> None:
    led = one_gpu()
    assert led.fit_count(0, request_) == count
    grants = take(led, *[request_] * count)
    assert {profile_and_start("A100-80GB", g)[0] for g in grants} == {profile}
    assert led.fit_count(0, request_) == 0
    for g in grants:  # all back, and the GPU is whole again
        led.release(0, request_, 1, (g,))
        led.validate()
    assert led.mig_occupied[0] == [0] and led.whole_free[0] == 1


def test_a_3g_2g_1g_mix_and_invalid_mixes() -> None:
    led = one_gpu("H100")
    grants = take(led, THREE_G, TWO_G, ONE_G, ONE_G)  # 3g at 4, then 2g at 0, 1g at 2 and 3 (4g's slices)
    starts = sorted(profile_and_start("H100", g) for g in grants)
    assert starts == [("1g.10gb", 2), ("1g.10gb", 3), ("2g.20gb", 0), ("3g.40gb", 4)]
    assert led.fit_count(0, ONE_G) == 0  # slices 0-7 all taken
    led.release(0, ONE_G, 1, (grants[2],))
    assert led.fit_count(0, TWO_G) == 0  # a 2g starts at 0, 2 or 4 only: slice 2 alone is free
    assert led.fit_count(0, ONE_G) == 1


def test_a_whole_gpu_on_a_mig_node_takes_every_slice() -> None:
    led = Ledger()
    led.add(gpu_node(gpus=2))
    (whole,) = take(led, need(1))
    assert whole == ((0, GPU_UNIT),)
    assert led.mig_occupied[0] == [FULL, 0]
    assert led.fit_count(0, ONE_G) == 7  # on the other GPU only
    take(led, ONE_G)
    assert led.fit_count(0, need(1)) == 0
    led.release(0, need(1), 1, (whole,))
    led.validate()
    assert led.fit_count(0, need(1)) == 1


def test_mig_grants_reach_the_task_as_instances() -> None:
    led = one_gpu()
    (grant,) = take(led, THREE_G)
    env = gpu_env(grant, True)
    k = grant[0][2]
    assert env == {"CUDA_VISIBLE_DEVICES": "0", "HETFLOW_GPUS": f"0:{grant[0][1] / GPU_UNIT:g}:mig{k}"}
    assert "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE" not in env
    assert gpu_env(((1, 2500),), True)["CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"] == "25"  # MPS as before


def test_validate_catches_overlapping_instances() -> None:
    led = one_gpu()
    take(led, FOUR_G)
    table = mig_table("A100-80GB")
    three_at_0 = next(x for x in table.instances if x.profile.name == "3g.40gb" and x.start == 0)
    led.mig_held[0][0].append(three_at_0.index)  # a 3g at 0 over the 4g at 0: what the ledger must never hold
    with pytest.raises(LedgerError, match="overlap"):
        led.validate()


def test_exclusive_gpus_are_whole_only() -> None:
    led = Ledger()
    led.add(gpu_node("V100M32", "exclusive", gpus=2))
    assert led.fit_count(0, need(0.5)) == 0
    assert not led.could_ever_fit(0, need(0.5))
    with pytest.raises(LedgerError):
        led.allocate(0, need(0.5), 1)
    assert led.fit_count(0, need(1)) == 2
    take(led, need(1), need(1))
    assert led.fit_count(0, need(1)) == 0


def test_gpu_memory_adds_up_per_gpu_under_mps() -> None:
    led = Ledger()
    led.add(gpu_node("A100-40GB", "mps", gpus=2))
    r = need(0.25, 15 * GIB)
    assert led.fit_count(0, r) == 4  # 2 per GPU by memory (40 GiB), not 4 by compute
    grants = take(led, r, r, r, r)
    assert sorted(g[0][0] for g in grants) == [0, 0, 1, 1]
    assert led.fit_count(0, r) == 0 and led.fit_count(0, need(0.25)) == 4  # room for tasks that need no memory
    assert led.used_gpu_memory[0] == [30 * GIB, 30 * GIB]
    led.release(0, r, 1, (grants[0],))
    led.validate()
    assert led.fit_count(0, r) == 1
    assert not led.could_ever_fit(0, need(0.25, 41 * GIB))  # more than the GPU has


def test_gpu_models_are_checked_by_the_ledger() -> None:
    led = Ledger()
    led.add(gpu_node("A100-80GB", "mps"))
    assert led.fit_count(0, need(0.5, models=("a100",))) == 2  # a family, any case
    assert led.fit_count(0, need(0.5, models=("A100-80gb", "H200"))) == 2
    assert led.fit_count(0, need(0.5, models=("A100-40GB",))) == 0
    assert led.fit_count(0, need(0.5, models=("A10",))) == 0  # not a prefix match without the dash
    assert not led.could_ever_fit(0, need(0.5, models=("H200",)))


@pytest.mark.parametrize(
    ("sharing", "gpus", "makespan"),
    [
        ("mps", 0.5, 10.0),  # two halves share the GPU
        ("mig", 0.5, 20.0),  # each half takes a 4g: two 4g do not fit one GPU, so they run in turn
        ("mig", 0.4, 10.0),  # a 3g and a 3g do
        ("exclusive", 1, 20.0),
    ],
)
def test_the_simulator_schedules_by_the_sharing_mode(sharing: str, gpus: float, makespan: float) -> None:
    platform = Platform("p", (NodeType("n", 1, 8, GPU_UNIT, 0, 1.0, 0.0, "H100", sharing),))
    wf = Workflow("w", (TaskSet("t", 2, Resources.of(1, gpus), 10.0),))
    for policy in POLICIES:
        result = run_simulation(wf, platform, policy=policy, check=lambda e: e.validate())
        assert result.makespan_s == makespan, policy
