"""Each packing policy's choice on hand-made cases, worked out by hand, through trace replay (sim/pack.py): the
pods are placed in the order given, each seeing the ledger the ones before left."""

from __future__ import annotations

import pytest

from hetflow.policies import make_policy
from hetflow.policies.fragment import ShapeMix, after, fragment
from hetflow.sim.openb import Pod
from hetflow.sim.pack import new_policy, replay
from hetflow.spec.platform import Node
from hetflow.spec.resources import GPU_UNIT, Resources

U = GPU_UNIT


def pod(gpus: float, cores: int = 1000) -> Pod:
    return Pod("p", Resources(cores, round(gpus * U), 0))


def nodes_of(*gpus: int, cores: int = 8000) -> list[Node]:
    return [Node(f"n{i}", "G2", cores, g * U, 0) for i, g in enumerate(gpus)]


def where(policy: str, nodes: list[Node], pods: list[Pod]) -> list[int]:
    return replay(nodes, pods, new_policy(policy, 0), 2).nodes


def test_fragment_as_the_paper_defines_it() -> None:
    state = (4000, (U, U // 2, U // 5))  # free cores, and free units of three GPUs
    assert fragment(state, (1000, U // 2)) == U // 5  # only the GPU with 0.2 free cannot hold a half
    assert fragment(state, (1000, U)) == U // 2 + U // 5
    assert fragment(state, (1000, 2 * U)) == U + U // 2 + U // 5  # one whole GPU free: cannot run at all
    assert fragment(state, (5000, U // 10)) == U + U // 2 + U // 5  # too few cores: every free unit
    assert fragment(state, (1000, 0)) == 0
    assert after(state, Resources(1000, U // 5, 0)) == (3000, (U, U // 2, 0))  # the fullest GPU that holds it


def test_expected_fragmentation_weighs_shapes_by_their_counts() -> None:
    mix = ShapeMix()
    mix.add((0, U // 2), 1)
    mix.add((0, U), 3)
    assert mix.expected((0, (U // 4,))) == pytest.approx(U // 4)  # neither fits: all of it, for both
    assert mix.expected((0, (U * 3 // 4,))) == pytest.approx(0.75 * (U * 3 // 4))  # only the whole GPU cannot use it


def test_fgd_picks_the_node_whose_fragmentation_grows_least() -> None:
    # p1 (0.5): both one-GPU nodes grow by 0.5 for shape 0.5 -> tie -> n0. p2 (0.4), mix {0.5: 1/2, 0.4: 1/2}:
    # on n0 (0.5 free) it leaves 0.1, a fragment for both shapes: +0.1; on n1 it leaves 0.6, usable by both: +0.
    pods = [pod(0.5), pod(0.4)]
    assert where("fgd", nodes_of(1, 1), pods) == [0, 1]
    assert where("best-fit", nodes_of(1, 1), pods) == [0, 0]  # best fit takes the tighter leftover


def test_random_is_seeded_and_only_places_where_it_fits() -> None:
    nodes = nodes_of(1, 1, 1, 1, 0)
    pods = [pod(0.5) for _ in range(9)]
    a, b = where("random", nodes, pods), where("random", nodes, pods)
    assert a == b and a[8] == -1 and sorted(a[:8]) == [0, 0, 1, 1, 2, 2, 3, 3]  # n4 has no GPU
    assert replay(nodes, pods, new_policy("random", 1), 2).nodes != a


def test_dot_product_picks_the_node_least_aligned_with_the_request() -> None:
    # a 1-GPU, 1000-core pod: dot = free cores/8000 * 1000/8000 + free GPU/2 * 1/2; same free GPUs, n1 has fewer
    # free cores -> smaller product
    nodes = [Node("n0", "G2", 8000, 2 * U, 0), Node("n1", "G2", 2000, 2 * U, 0)]
    assert where("dot-product", nodes, [pod(1)]) == [1]


def test_gpu_packing_prefers_shared_gpus_then_used_nodes_then_idle_ones() -> None:
    # p1 (0.5): every node idle with 2 GPUs -> n0 (index); p2 (0.3) shares n0's used GPU;
    # p3 (1 GPU) takes n0's free GPU (a used node) rather than an idle one
    pods = [pod(0.5), pod(0.3), pod(1), pod(1)]
    assert where("gpu-packing", nodes_of(2, 2, 2), pods) == [0, 0, 0, 1]


def test_gpu_clustering_keeps_kinds_of_gpu_request_together() -> None:
    # p1 (0.5) on an empty node n0; p2 (1 GPU) avoids n0 (other kind) for empty n1; p3 (0.3) joins n0 (only
    # fractions there); p4 (1 GPU) joins n1 (only single GPUs)
    pods = [pod(0.5), pod(1), pod(0.3), pod(1)]
    assert where("gpu-clustering", nodes_of(2, 2, 2), pods) == [0, 1, 0, 1]


def test_every_packing_policy_serves_the_engine() -> None:
    from hetflow.policies import PACKING, POLICIES

    assert set(PACKING) <= set(POLICIES)
    for name in PACKING:
        assert make_policy(name).name == name
