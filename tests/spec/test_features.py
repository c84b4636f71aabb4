"""Node features and variant requirements: version specifiers, Requirement.satisfied_by, the native `features:` and
`requires:` fields, the one-line error when nothing fits, and the journal's round trip."""

from __future__ import annotations

import pytest

from hetflow.errors import FitError, SpecError
from hetflow.journal import codec
from hetflow.spec.features import (
    Features,
    GpuFeature,
    Requirement,
    features_from_dict,
    isa_set,
    requirement_from_dict,
)
from hetflow.spec.native import platform_from_dict, workflow_from_dict
from hetflow.spec.versions import satisfies, specifier

H200 = GpuFeature("H200", 141 * 1024**3, "9.0", "550.54.15", "12.4")
V100 = GpuFeature("V100M32", 32 * 1024**3, "7.0", "470.82", "11.4")
AVX2_NODE = Features("x86_64", "AMD EPYC 7763", isa_set(["x86-64-v3"]), 64, 0, (), {"fftw3": "3.3.10", "gcc": ""})
GPU_NODE = Features("x86_64", "Intel Xeon", isa_set(["x86-64-v4"]), 32, 0, (H200, H200), {"openmpi": "4.1.6"})
ARM_NODE = Features("aarch64", "Neoverse-V2", frozenset({"neon", "sve", "sve2"}), 72, 0, (H200,))


@pytest.mark.parametrize(
    ("version", "spec", "ok"),
    [
        ("12.4", ">=12.1", True),
        ("12.1", ">=12.1", True),
        ("12.0", ">=12.1", False),
        ("12.4", ">12.4", False),
        ("12.4.1", ">12.4", True),
        ("12.4", "<=12.4.0", True),
        ("12.5", "<=12.4", False),
        ("11.8", "<12", True),
        ("12.0.0", "<12", False),
        ("12.1.0", "==12.1", True),
        ("12.10", "==12.1", False),  # numeric, not textual: 10 is not 1
        ("12.2", "!=12.1", True),
        ("12.1", "!=12.1.0", False),
        ("3.3.10", ">=3.3,<4", True),
        ("4.0", ">=3.3,<4", False),
        ("3.2.9", ">=3.3, <4", False),
        ("535.104.05", ">=535.104.5", True),  # leading zeros are numbers
        ("4.1.6rc1", "==4.1.6", True),  # the release numbers only
        ("v2.1", ">=2", True),
        (None, ">=1", False),  # unknown: holds for no constraint
        (None, "", False),  # missing: not even "any version"
        ("", "", True),  # found, version unknown: "any" holds
        ("", ">=1", False),
        ("abc", "*", True),
    ],
)
def test_version_specifiers(version: str | None, spec: str, ok: bool) -> None:
    assert satisfies(version, spec) is ok


@pytest.mark.parametrize("bad", ["12.1", "=>12", ">=", ">=12,", "~=12.1", 12.1, ">=a"])
def test_a_specifier_without_an_operator_or_version_is_refused(bad: object) -> None:
    with pytest.raises(SpecError, match="cuda") as err:
        specifier(bad, "requires.cuda")
    assert "e.g." in (err.value.fix or "")


def test_names_are_normalized() -> None:
    r = requirement_from_dict({"arch": "amd64", "isa": ["SSE4.1", "avx512"]})
    assert r is not None and r.arch == ("x86_64",) and r.isa == {"sse4_1", "avx512f"}
    f = features_from_dict({"arch": "arm64", "isa": ["asimd", "sve"]})
    assert f.arch == "aarch64" and f.isa == {"neon", "sve"}
    assert {"avx2", "fma", "sse4_2"} <= isa_set(["x86-64-v3"]) and "avx512f" not in isa_set(["x86-64-v3"])
    assert requirement_from_dict({}) is None and requirement_from_dict({"isa": []}) is None


def req(**kw: object) -> Requirement:
    r = requirement_from_dict(kw)
    assert r is not None
    return r


@pytest.mark.parametrize(
    ("requires", "features", "reason"),
    [
        ({"arch": "x86_64"}, AVX2_NODE, None),
        ({"arch": "x86_64"}, ARM_NODE, "architecture aarch64, not x86_64"),
        ({"arch": ["x86_64", "aarch64"]}, ARM_NODE, None),
        ({"isa": "avx2"}, AVX2_NODE, None),
        ({"isa": "avx512f"}, AVX2_NODE, "no avx512f"),
        ({"isa": ["avx2", "avx512f", "avx512bw"]}, AVX2_NODE, "no avx512bw, avx512f"),
        ({"isa": "x86-64-v4"}, GPU_NODE, None),
        ({"isa": ["sve"]}, ARM_NODE, None),
        ({"isa": ["sve"]}, AVX2_NODE, "no sve"),
        ({"cuda": ">=12.1"}, GPU_NODE, None),
        ({"cuda": ">=12.5"}, GPU_NODE, "CUDA 12.4, not >=12.5"),
        ({"cuda": ">=12.1"}, AVX2_NODE, "no GPU"),
        ({"driver": ">=535"}, GPU_NODE, None),
        ({"compute_capability": ">=8.0"}, GPU_NODE, None),
        ({"compute_capability": ">=8.0"}, Features(gpus=(V100,)), "compute capability 7.0, not >=8.0"),
        ({"gpu_models": ["A100", "H200"]}, GPU_NODE, None),
        ({"gpu_models": ["a100"]}, Features(gpus=(GpuFeature("A100-80GB"),)), None),  # a family allows its variants
        ({"gpu_models": "A100"}, GPU_NODE, "GPU model H200, not A100"),
        ({"gpu_models": "V100", "cuda": ">=12"}, Features(gpus=(V100, H200)), "GPU model V100M32, not V100"),
        ({"gpu_models": "H200", "cuda": ">=12"}, Features(gpus=(V100, H200)), None),  # one GPU meets both
        ({"cuda": ">=12"}, Features(gpus=(GpuFeature("H200"),)), "CUDA unknown, not >=12"),  # missing: not satisfied
        ({"libs": {"fftw3": ">=3.3"}}, AVX2_NODE, None),
        ({"libs": {"fftw3": ">=3.4"}}, AVX2_NODE, "fftw3 3.3.10, not >=3.4"),
        ({"libs": {"gcc": None}}, AVX2_NODE, None),
        ({"libs": {"gcc": ">=9"}}, AVX2_NODE, "gcc (version unknown), not >=9"),
        ({"libs": {"openblas": ""}}, AVX2_NODE, "no openblas"),
        ({"arch": "x86_64"}, Features(), "architecture unknown, not x86_64"),
        ({"arch": "x86_64"}, None, "the node has no known features"),
    ],
)
def test_satisfied_by(requires: dict[str, object], features: Features | None, reason: str | None) -> None:
    assert req(**requires).satisfied_by(features) == reason


def test_requirements_hash_and_compare_as_values() -> None:
    a, b = req(isa="avx2", libs={"fftw3": ">=3"}), req(isa=["avx2"], libs={"fftw3": ">=3"})
    assert a == b and hash(a) == hash(b) and {a: 1}[b] == 1
    assert a != req(isa="avx2", libs={"fftw3": ">=4"})
    assert hash(GPU_NODE) == hash(Features(**{k: getattr(GPU_NODE, k) for k in GPU_NODE.__slots__}))  # type: ignore[arg-type]


PLATFORM = """platform: p
nodes:
  - {type: cpu, count: 2, cores: 8, features: {arch: x86_64, isa: [x86-64-v3], libs: {fftw3: 3.3.10}}}
  - type: gpu
    cores: 8
    gpus: 2
    gpu_model: H200
    features: {arch: x86_64, isa: [x86-64-v4], cuda: 12.4, driver: "550.54", compute_capability: "9.0"}
  - {type: plain, cores: 4}
"""


def load(text: str, kind: str = "platform"):  # type: ignore[no-untyped-def]
    import yaml

    doc = yaml.safe_load(text)
    return platform_from_dict(doc) if kind == "platform" else workflow_from_dict(doc)


def test_platform_features_take_the_node_types_gpus() -> None:
    p = load(PLATFORM)
    cpu, gpu, plain = p.node_types
    assert cpu.features is not None and cpu.features.libs == {"fftw3": "3.3.10"} and not cpu.features.gpus
    assert gpu.features is not None and len(gpu.features.gpus) == 2
    assert gpu.features.gpus[0] == GpuFeature("H200", 141 * 1024**3, "9.0", "550.54", "12.4")
    assert plain.features is None
    assert [n.features for n in p.nodes()] == [cpu.features, cpu.features, gpu.features, None]


def test_a_variant_takes_its_tasks_requires_unless_it_says_otherwise() -> None:
    wf = load(
        """tasks:
  - name: md
    runtime: 100
    requires: {isa: avx2}
    variants:
      - {gpus: 1, runtime: 10, requires: {cuda: ">=12.1", gpu_models: [H200]}}
      - {cores: 2, runtime: 60}
      - {cores: 4, runtime: 90, requires: {}}
""",
        "workflow",
    )
    default, gpu, two, four = wf.sets[0].all_variants
    assert default.requires == req(isa="avx2") == two.requires
    assert gpu.requires == req(cuda=">=12.1", gpu_models=["H200"])
    assert four.requires is None


@pytest.mark.parametrize(
    ("text", "kind", "needle"),
    [
        ("tasks: [{name: a, requires: {cuda: 12}}]", "workflow", "tasks[0] (a).requires: requires.cuda must be"),
        ("tasks: [{name: a, requires: {isa: [1]}}]", "workflow", "requires.isa must be a name or a list"),
        ("tasks: [{name: a, requires: {gpu: H200}}]", "workflow", "unknown key 'gpu'"),
        ("tasks: [{name: a, requires: avx2}]", "workflow", "expected a mapping"),
        ("nodes: [{type: n, cores: 1, features: {isa: avx2, foo: 1}}]", "platform", "features.foo: unknown key"),
        ("nodes: [{type: n, cores: 1, features: {gpus: [{memory: 1GiB}]}}]", "platform", "a GPU needs a model"),
        ("nodes: [{type: n, cores: 1, features: {cores: -1}}]", "platform", "cores must be a whole number"),
    ],
)
def test_bad_fields_are_one_line(text: str, kind: str, needle: str) -> None:
    with pytest.raises(SpecError) as err:
        load(text, kind)
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_a_set_no_node_can_run_is_one_line_naming_the_variant_and_the_reason() -> None:
    p = load(PLATFORM)
    wf = load(
        """tasks:
  - {name: ok, requires: {isa: avx2}}
  - name: md
    requires: {isa: sve}
    variants: [{gpus: 1, requires: {cuda: ">=13"}}]
""",
        "workflow",
    )
    with pytest.raises(FitError) as err:
        p.check_fits(wf)
    line = str(err.value)
    assert line.startswith("tasks[1] (md).requires: no node of platform 'p' has the features md requires")
    assert "(cpu: no sve)" in line and "\n" not in line
    # the variant alone: its place and the first node type it would fit but for its features
    only_gpu = load('tasks: [{name: md, gpus: 1, requires: {cuda: ">=13"}}]', "workflow")
    with pytest.raises(FitError, match=r"tasks\[0\] \(md\)\.requires: .*\(gpu: CUDA 12.4, not >=13\)"):
        p.check_fits(only_gpu)
    two = load('tasks: [{name: md, cores: 16, variants: [{cores: 1, gpus: 1, requires: {cuda: ">=13"}}]}]', "workflow")
    with pytest.raises(FitError, match=r"tasks\[0\] \(md\)\.variants\[0\]\.requires"):
        p.check_fits(two)
    p.check_fits(load("tasks: [{name: md, requires: {cuda: '>=12.1'}, variants: [{gpus: 1}]}]", "workflow"))


def test_the_journal_keeps_features_and_requirements() -> None:
    p = load(PLATFORM)
    assert codec.platform_from_dict(codec.platform_to_dict(p)).node_types == p.node_types
    wf = load(
        'tasks: [{name: a, requires: {isa: avx2, libs: {fftw3: ">=3"}}, variants: [{gpus: 1, requires: {}}]}]',
        "workflow",
    )
    assert codec.set_from_dict(codec.set_to_dict(wf.sets[0])) == wf.sets[0]
    # journals written before features read as before
    old = {"name": "p", "node_types": [["n", 1, 4, 0, 0, 1.0, 0.0]]}
    assert codec.platform_from_dict(old).node_types[0].features is None
