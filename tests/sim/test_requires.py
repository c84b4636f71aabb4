"""The engine places a variant only on nodes whose features satisfy its requirement, under every policy; a
requirement every node meets changes nothing."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hetflow.errors import FitError
from hetflow.policies import POLICIES
from hetflow.sim.simulator import run_simulation
from hetflow.spec.features import Features, GpuFeature, Requirement
from hetflow.spec.platform import NodeType, Platform
from hetflow.spec.resources import GPU_UNIT, Resources
from hetflow.spec.workflow import TaskSet, Variant, Workflow

ISA = ("sse4_2", "avx2", "avx512f", "neon", "sve")
MODELS = ("A100-80GB", "H200", "V100M32")
CUDA = ("11.8", "12.1", "12.4")


@st.composite
def features(draw: st.DrawFn, gpus: int) -> Features | None:
    if draw(st.integers(0, 5)) == 0:
        return None  # a node type nobody described
    model, cuda = draw(st.sampled_from(MODELS)), draw(st.sampled_from(CUDA))
    return Features(
        arch=draw(st.sampled_from(["x86_64", "aarch64"])),
        isa=frozenset(draw(st.sets(st.sampled_from(ISA)))),
        gpus=(GpuFeature(model, cuda=cuda),) * gpus,
        libs={"fftw3": "3.3.10"} if draw(st.booleans()) else {},
    )


@st.composite
def requirements(draw: st.DrawFn) -> Requirement | None:
    if draw(st.booleans()):
        return None
    return Requirement(
        arch=tuple(draw(st.sets(st.sampled_from(["x86_64", "aarch64"]), max_size=1))),
        isa=frozenset(draw(st.sets(st.sampled_from(ISA), max_size=2))),
        cuda=draw(st.sampled_from([None, None, ">=12.1", "<12"])),
        gpu_models=tuple(draw(st.sets(st.sampled_from(["A100", "H200"]), max_size=2))),
        libs={"fftw3": ">=3"} if draw(st.integers(0, 3)) == 0 else {},
    )


@st.composite
def platforms(draw: st.DrawFn) -> Platform:
    types = []
    for k in range(draw(st.integers(1, 4))):
        gpus = draw(st.integers(0, 2))
        f = draw(features(gpus))
        types.append(
            NodeType(
                f"t{k}", draw(st.integers(1, 2)), 8, gpus * GPU_UNIT, 0, draw(st.sampled_from([1.0, 2.0])), features=f
            )
        )
    return Platform("random", tuple(types))


@st.composite
def workflows(draw: st.DrawFn) -> Workflow:
    sets = []
    for i in range(draw(st.integers(1, 6))):
        after = tuple(sorted(draw(st.sets(st.sampled_from([f"S{j}" for j in range(i)]), max_size=2)))) if i else ()
        # each way to run a set has its own core count, so an interval's cores name its variant
        ways = draw(st.integers(1, 3))
        variants = tuple(
            Variant(
                Resources.of(k + 2, draw(st.sampled_from([0, 0, 0.5, 1]))),
                float(draw(st.integers(1, 40))),
                None,
                draw(requirements()),
            )
            for k in range(ways - 1)
        )
        sets.append(
            TaskSet(
                f"S{i}",
                draw(st.integers(1, 10)),
                Resources.of(1, 0),
                float(draw(st.integers(1, 40))),
                after,
                variants=variants,
                requires=draw(requirements()),
            )
        )
    return Workflow("random", tuple(sets))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(wf=workflows(), plat=platforms(), policy=st.sampled_from(sorted(POLICIES)))
def test_no_variant_runs_on_a_node_lacking_its_features(wf: Workflow, plat: Platform, policy: str) -> None:
    fits = {
        s.name: any(
            t.fits(v.resources) and (v.requires is None or v.requires.satisfied_by(t.features) is None)
            for v in s.all_variants
            for t in plat.node_types
        )
        for s in wf.sets
    }
    if not all(fits.values()):
        with pytest.raises(FitError):
            run_simulation(wf, plat, "task", policy)
        return
    res = run_simulation(wf, plat, "task", policy, check=lambda e: e.validate())
    nodes = {n.name: n for n in plat.nodes()}
    ran = 0
    for iv in res.intervals:
        way = next(v for v in wf[iv.set].all_variants if v.resources.cores == iv.cores)
        if way.requires is not None:
            assert way.requires.satisfied_by(nodes[iv.node].features) is None, (iv, way.requires)
        ran += iv.n
    assert ran == wf.n_tasks


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(wf=workflows(), plat=platforms(), policy=st.sampled_from(sorted(POLICIES)))
def test_a_requirement_every_node_meets_changes_no_schedule(wf: Workflow, plat: Platform, policy: str) -> None:
    everywhere = Requirement(isa=frozenset({"avx2"}))
    plain = Workflow(
        wf.name,
        tuple(
            replace(s, requires=None, variants=tuple(replace(v, requires=None) for v in s.variants)) for s in wf.sets
        ),
    )
    required = Workflow(
        wf.name,
        tuple(
            replace(s, requires=everywhere, variants=tuple(replace(v, requires=everywhere) for v in s.variants))
            for s in plain.sets
        ),
    )
    described = Platform(
        plat.name,
        tuple(replace(t, features=Features("x86_64", isa=frozenset({"avx2", "sse4_2"}))) for t in plat.node_types),
    )
    a = run_simulation(plain, plat, "task", policy)
    b = run_simulation(required, described, "task", policy)
    assert a.intervals == b.intervals


def test_a_variant_goes_where_its_features_are() -> None:
    """Two node types alike but for their vector units: the avx512 build runs on the avx512 nodes only, the portable
    one wherever there is room, and the faster build's nodes fill first."""
    avx2 = Features("x86_64", isa=frozenset({"avx2"}))
    avx512 = Features("x86_64", isa=frozenset({"avx2", "avx512f"}))
    plat = Platform("p", (NodeType("old", 2, 4, features=avx2), NodeType("new", 1, 4, features=avx512)))
    fast = Variant(Resources.of(2, 0), 10.0, None, Requirement(isa=frozenset({"avx512f"})))
    wf = Workflow("w", (TaskSet("md", 12, Resources.of(1, 0), 30.0, variants=(fast,)),))
    for policy in sorted(POLICIES):
        res = run_simulation(wf, plat, "task", policy)
        assert all(iv.node.startswith("new") for iv in res.intervals if iv.cores == 2), policy
        assert sum(iv.n for iv in res.intervals) == 12


def test_a_set_waiting_for_features_holds_back_no_set_of_the_same_resources() -> None:
    """A greedy pass drops a lane at its first set left waiting; sets that differ only in what they require are in
    different lanes, so B starts at once on the plain node while A waits for the avx512 node."""
    avx512 = Features("x86_64", isa=frozenset({"avx512f"}))
    plat = Platform("p", (NodeType("new", 1, 4, features=avx512), NodeType("old", 1, 4)))
    need = Requirement(isa=frozenset({"avx512f"}))
    one = Resources.of(1, 0)  # one object, as the loader shares one Resources per distinct need
    wf = Workflow(
        "w",
        (
            TaskSet("X", 4, one, 10.0, requires=need),
            TaskSet("A", 4, one, 10.0, requires=need),
            TaskSet("B", 4, one, 30.0),
        ),
    )
    for policy in ("fifo", "best-fit"):
        res = run_simulation(wf, plat, "task", policy)
        assert min(iv.start for iv in res.intervals if iv.set == "B") == 0.0, policy
        assert res.makespan_s == 30.0
