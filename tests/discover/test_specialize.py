"""`hetflow specialize`: a GROMACS-like application's specialization points (XaaS JSON) intersected with the features
of a heterogeneous platform's node types, against builds worked out by hand; the variants it emits run, in the
engine, only where their build fits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from hetflow.cli import main
from hetflow.discover.points import points_from_dict
from hetflow.discover.specialize import build_for
from hetflow.errors import SpecError
from hetflow.sim.simulator import run_simulation
from hetflow.spec import load_platform
from hetflow.spec.features import Features, GpuFeature, requirement_from_dict
from hetflow.spec.native import workflow_from_dict


def option(flag: str | None, default: bool = False, minimum: str | None = None) -> dict[str, object]:
    return {"used_as_default": default, "build_flag": flag, "minimum_version": minimum}


def fft(flag: str, default: bool = False, built_in: bool = False, depends: str | None = None) -> dict[str, object]:
    return {"built-in": built_in, "used_as_default": default, "dependencies": depends, "build_flag": flag}


GROMACS_LIKE = {
    "gpu_build": {"value": True, "build_flag": "-DGMX_GPU"},
    "gpu_backends": {
        "CUDA": option("-DGMX_GPU=CUDA", minimum="12.1"),
        "OpenCL": option("-DGMX_GPU=OpenCL"),
        "SYCL": option("-DGMX_GPU=SYCL"),
        "HIP": option("-DGMX_GPU=HIP", minimum="5.2"),
    },
    "parallel_programming_libraries": {
        "MPI": option("-DGMX_MPI"),
        "Thread-MPI": option("-DGMX_THREAD_MPI", default=True),
        "OpenMP": option("-DGMX_OPENMP", default=True),
    },
    "linear_algebra_libraries": {"MKL/oneMKL": {"used_as_default": False, "build_flag": None, "condition": None}},
    "FFT_libraries": {
        "fftw3": fft("-DGMX_FFT_LIBRARY=fftw3", default=True),
        "mkl": fft("-DGMX_FFT_LIBRARY=mkl"),
        "fftpack[built-in]": fft("-DGMX_FFT_LIBRARY=fftpack", built_in=True),
        "cuFFT": fft("-DGMX_GPU_FFT_LIBRARY=cuFFT", depends="CUDA"),
        "VkFFT": fft("-DGMX_GPU_FFT_LIBRARY=VkFFT", depends="OpenCL, HIP, SYCL(ACPP)"),
        "rocFFT": fft("-DGMX_GPU_FFT_LIBRARY=rocFFT", depends="HIP, SYCL"),
    },
    "other_external_libraries": {"hwloc": {"version": "1.5", "used_as_default": False, "conditions": "GMX_HWLOC"}},
    "compiler_flags": ["-DNOMINMAX"],
    "optimization_build_flags": ["-DGMX_USE_RDTSCP"],
    "compilers": {"GCC": {"minimum_version": "11"}, "Clang": {"minimum_version": "14"}},
    "architectures": ["x86", "ARM"],
    "simd_vectorization": {
        "AUTO": {"build_flag": "-DGMX_SIMD=AUTO", "default": True},
        "None": {"build_flag": "-DGMX_SIMD=None", "default": False},
        "SSE2": {"build_flag": "-DGMX_SIMD=SSE2", "default": False},
        "SSE4.1": {"build_flag": "-DGMX_SIMD=SSE4.1", "default": False},
        "AVX_256": {"build_flag": "-DGMX_SIMD=AVX_256", "default": False},
        "AVX2_256": {"build_flag": "-DGMX_SIMD=AVX2_256", "default": False},
        "AVX_512": {"build_flag": "-DGMX_SIMD=AVX_512", "default": False},
        "AVX_512_KNL": {"build_flag": "-DGMX_SIMD=AVX_512_KNL", "default": False},
        "ARM_NEON_ASIMD": {"build_flag": "-DGMX_SIMD=ARM_NEON_ASIMD", "default": False},
        "ARM_SVE": {"build_flag": "-DGMX_SIMD=ARM_SVE", "default": False},
    },
    "build_system": {"type": "cmake", "minimum_version": "3.28"},
}
PLATFORM = {
    "platform": "het",
    "nodes": [
        {"type": "old", "count": 2, "cores": 8, "features": {"arch": "x86_64", "isa": ["sse2", "sse4_1", "avx"]}},
        {
            "type": "skx",
            "count": 2,
            "cores": 8,
            "features": {"arch": "x86_64", "isa": ["x86-64-v4"], "libs": {"fftw3": "3.3.10", "gcc": "12.2"}},
        },
        {
            "type": "h200",
            "cores": 8,
            "gpus": 2,
            "gpu_model": "H200",
            "features": {
                "arch": "x86_64",
                "isa": ["x86-64-v4"],
                "cuda": "12.4",
                "libs": {"openmpi": "4.1.6", "mpi": "4.1.6", "fftw3": "3.3.10", "openmp": ""},
            },
        },
        {
            "type": "v100",
            "cores": 8,
            "gpus": 1,
            "gpu_model": "V100M32",
            "features": {"arch": "x86_64", "isa": ["x86-64-v3"], "cuda": "11.8", "libs": {"mkl": "2023.1"}},
        },
        {
            "type": "mi250",
            "cores": 8,
            "gpus": 1,
            "gpu_model": "MI250X",
            "features": {"arch": "x86_64", "isa": ["x86-64-v3"], "libs": {"rocm": "5.7", "fftw3": ""}},
        },
        {"type": "grace", "cores": 72, "features": {"arch": "aarch64", "isa": ["neon", "sve", "sve2"]}},
        {"type": "power9", "cores": 8, "features": {"arch": "ppc64le", "isa": ["altivec", "vsx"]}},
    ],
}

# worked out by hand from the rules in hetflow/discover/specialize.py
EXPECTED = {
    # AVX but not AVX2: AVX_256; no GPU; no fftw3 or MKL: the built-in fftpack, a flag as it is not the default
    "old": (["-DGMX_SIMD=AVX_256", "-DGMX_FFT_LIBRARY=fftpack"], {"arch": "x86_64", "isa": ["avx"]}),
    # AVX-512 without avx512er: AVX_512, not AVX_512_KNL; fftw3 is the default: no flag
    "skx": (["-DGMX_SIMD=AVX_512"], {"arch": "x86_64", "isa": ["avx512f"], "libs": {"fftw3": ""}}),
    # CUDA 12.4 >= 12.1; -DGMX_GPU is implied by -DGMX_GPU=CUDA; MPI found; cuFFT goes with CUDA
    "h200": (
        ["-DGMX_SIMD=AVX_512", "-DGMX_GPU=CUDA", "-DGMX_MPI", "-DGMX_GPU_FFT_LIBRARY=cuFFT"],
        {"arch": "x86_64", "isa": ["avx512f"], "cuda": ">=12.1", "libs": {"fftw3": "", "mpi": "", "openmp": ""}},
    ),
    # CUDA 11.8 < 12.1 and no OpenCL or SYCL runtime: a CPU build, AVX2 (v3: avx2 and fma), MKL's FFT
    "v100": (
        ["-DGMX_SIMD=AVX2_256", "-DGMX_FFT_LIBRARY=mkl"],
        {"arch": "x86_64", "isa": ["avx2", "fma"], "libs": {"mkl": ""}},
    ),
    # an AMD GPU: HIP (ROCm 5.7 >= 5.2), and rocFFT (made for fewer backends than VkFFT)
    "mi250": (
        ["-DGMX_SIMD=AVX2_256", "-DGMX_GPU=HIP", "-DGMX_GPU_FFT_LIBRARY=rocFFT"],
        {"arch": "x86_64", "isa": ["avx2", "fma"], "libs": {"fftw3": "", "rocm": ">=5.2"}},
    ),
    # SVE beats NEON
    "grace": (["-DGMX_SIMD=ARM_SVE", "-DGMX_FFT_LIBRARY=fftpack"], {"arch": "aarch64", "isa": ["sve"]}),
}


def features_of(name: str) -> Features:
    t = next(t for t in load_platform(PLATFORM).node_types if t.type == name)
    assert t.features is not None
    return t.features


@pytest.mark.parametrize("node_type", sorted(EXPECTED))
def test_the_best_build_per_node_type(node_type: str) -> None:
    b = build_for(points_from_dict(GROMACS_LIKE), node_type, features_of(node_type))
    flags, requires = EXPECTED[node_type]
    assert b.supported
    assert list(b.flags) == flags
    assert b.requires == requirement_from_dict(requires)
    assert b.requires is not None and b.requires.satisfied_by(features_of(node_type)) is None


def test_choices_and_reasons() -> None:
    points = points_from_dict(GROMACS_LIKE)
    h200 = build_for(points, "h200", features_of("h200"))
    assert (h200.simd, h200.gpu_backend, h200.parallel, h200.fft, h200.gpu_fft) == (
        "AVX_512",
        "CUDA",
        ("MPI", "Thread-MPI", "OpenMP"),
        "fftw3",
        "cuFFT",
    )
    v100 = build_for(points, "v100", features_of("v100"))
    assert v100.gpu_backend is None and "CUDA: needs >= 12.1, the node has 11.8" in v100.notes
    power = build_for(points, "power9", features_of("power9"))
    assert not power.supported and power.notes == ("the application builds for x86, ARM, not ppc64le",)
    assert build_for(points, "skx", features_of("skx")).compilers == ("GCC 12.2",)


def test_toggles_are_each_on_where_they_fit() -> None:
    """llama.cpp-like points: each vector extension is a flag of its own (not one variable), so all that fit are on."""
    points = points_from_dict(
        {
            "gpu_build": {"value": True, "build_flag": None},
            "gpu_backends": {"CUDA": option("-DGGML_CUDA"), "Metal": option("-DGGML_METAL")},
            "simd_vectorization": {
                "AUTO": {"build_flag": "-DGGML_NATIVE", "default": True},
                "AVX": {"build_flag": "-DGGML_AVX", "default": False},
                "AVX2": {"build_flag": "-DGGML_AVX2", "default": False},
                "FMA": {"build_flag": "-DGGML_FMA", "default": False},
                "AVX_512": {"build_flag": "-DGGML_AVX512", "default": False},
            },
        }
    )
    b = build_for(points, "v100", features_of("v100"))
    assert b.flags == ("-DGGML_AVX", "-DGGML_FMA", "-DGGML_AVX2", "-DGGML_CUDA")  # CUDA has no minimum
    assert b.requires == requirement_from_dict(
        {"arch": "x86_64", "isa": ["avx", "avx2", "fma"], "cuda": ""}
    )  # any CUDA: an NVIDIA GPU


def test_bad_points_are_one_line() -> None:
    with pytest.raises(SpecError, match=r"gpu_backends\.CUDA: expected a mapping"):
        points_from_dict({"gpu_backends": {"CUDA": "-DGMX_GPU=CUDA"}})
    with pytest.raises(SpecError, match="architectures must be a list"):
        points_from_dict({"architectures": "x86"})


def invoke(*args: object) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "gmx.json").write_text(json.dumps(GROMACS_LIKE))
    (tmp_path / "het.yaml").write_text(yaml.safe_dump(PLATFORM))
    return {"points": tmp_path / "gmx.json", "platform": tmp_path / "het.yaml", "dir": tmp_path}


def test_the_command_prints_each_node_types_build(files: dict[str, Path]) -> None:
    r = invoke("specialize", files["points"], "--platform", files["platform"], "--json")
    assert r.exit_code == 0, r.output
    builds = {b["node_type"]: b for b in json.loads(r.stdout)["builds"]}
    for name, (flags, _) in EXPECTED.items():
        assert builds[name]["flags"] == flags
    assert builds["power9"]["supported"] is False
    text = invoke("specialize", files["points"], "--platform", files["platform"])
    assert text.exit_code == 0, text.output
    assert "-DGMX_SIMD=AVX_512 -DGMX_GPU=CUDA -DGMX_MPI -DGMX_GPU_FFT_LIBRARY=cuFFT" in text.stdout
    assert "not supported: the application builds for x86, ARM, not ppc64le" in text.stdout


def test_a_discovery_json_is_a_system(files: dict[str, Path]) -> None:
    system = files["dir"] / "h200-node.json"
    system.write_text(json.dumps(features_of("h200").as_dict()))
    r = invoke("specialize", files["points"], "--system", system, "--json")
    assert r.exit_code == 0, r.output
    (b,) = json.loads(r.stdout)["builds"]
    assert (b["node_type"], b["flags"]) == ("h200-node", EXPECTED["h200"][0])


def test_emitted_variants_run_only_where_their_build_fits(files: dict[str, Path]) -> None:
    r = invoke("specialize", files["points"], "--platform", files["platform"], "--emit-variants", "md")
    assert r.exit_code == 0, r.output
    variants = yaml.safe_load(r.stdout)["variants"]
    assert len(variants) == 6  # one per supported node type: their builds all differ
    assert sum(1 for v in variants if v.get("gpus")) == 2  # the CUDA and the HIP builds
    # the default way (no requires) never runs here: give it more cores than any node has
    wf = workflow_from_dict({"tasks": [{"name": "md", "count": 40, "cores": 100, "runtime": 10, "variants": [
        {"cores": 4, **v} for v in variants
    ]}]})  # fmt: skip
    platform = load_platform(PLATFORM)
    nodes = {n.name: n for n in platform.nodes()}
    res = run_simulation(wf, platform, "task", "heft")
    ways = wf.sets[0].all_variants
    ran_on: set[str] = set()
    for iv in res.intervals:
        node = nodes[iv.node]
        fitting = [v for v in ways[1:] if v.requires is not None and v.requires.satisfied_by(node.features) is None]
        assert fitting, iv  # some build fits the node it ran on
        ran_on.add(node.type)
    assert "power9" not in ran_on and sum(iv.n for iv in res.intervals) == 40


def test_bad_input_is_one_line_and_exit_2(files: dict[str, Path]) -> None:
    bad = files["dir"] / "bad.json"
    bad.write_text(json.dumps({"simd_vectorization": {"AVX": 1}}))
    for args in (
        (bad,),
        (files["points"], "--system", files["points"], "--platform", files["platform"]),
        (files["dir"] / "missing.json",),
        (files["points"], "--system", files["platform"]),  # a platform is not a node's features
    ):
        r = invoke("specialize", *args)
        assert r.exit_code == 2, (args, r.output)
        assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("error: "), r.stderr


def test_a_minimum_version_that_is_no_version_is_refused_when_read() -> None:
    with pytest.raises(SpecError, match=r"gpu_backends\.CUDA\.minimum_version: minimum version 'latest' is not"):
        points_from_dict({"gpu_backends": {"CUDA": option("-DGMX_GPU=CUDA", minimum="latest")}})
    with pytest.raises(SpecError, match=r"compilers\.GCC\.minimum_version"):
        points_from_dict({"compilers": {"GCC": {"minimum_version": "eleven"}}})
    assert points_from_dict({"gpu_backends": {"CUDA": option("-DX", minimum="")}}).gpu_backends[0].minimum is None


def test_word_size_counts_where_the_points_say_it() -> None:
    arm64_only = points_from_dict({"architectures": ["aarch64"]})
    loose = points_from_dict({"architectures": ["ARM"]})
    armv7 = Features(arch="armv7l")
    b = build_for(arm64_only, "pi", armv7)
    assert not b.supported and b.notes == ("the application builds for aarch64, not armv7l",)
    assert build_for(loose, "pi", armv7).supported  # "ARM" is the whole family
    assert not build_for(arm64_only, "pi", Features(arch="armv8l")).supported  # 32-bit user space on an ARMv8 core
    assert build_for(arm64_only, "grace", features_of("grace")).supported
    assert not build_for(points_from_dict({"architectures": ["x86_64"]}), "old32", Features(arch="i686")).supported
    assert build_for(points_from_dict({"architectures": ["x86"]}), "old32", Features(arch="i686")).supported


def test_the_default_library_comes_first_when_the_node_has_it() -> None:
    points = points_from_dict(
        {
            "linear_algebra_libraries": {
                "OpenBLAS": {"used_as_default": False, "build_flag": "-DBLA_VENDOR=OpenBLAS"},
                "MKL": {"used_as_default": True, "build_flag": "-DBLA_VENDOR=Intel10_64lp"},
            }
        }
    )
    both = build_for(points, "a", Features(arch="x86_64", libs={"openblas": "0.3.26", "mkl": "2024.0"}))
    assert both.linear_algebra == "MKL" and both.flags == ()  # the default, and a default needs no flag
    only_first = build_for(points, "b", Features(arch="x86_64", libs={"openblas": "0.3.26"}))
    assert only_first.linear_algebra == "OpenBLAS" and only_first.flags == ("-DBLA_VENDOR=OpenBLAS",)
    assert "MKL: not on the node" in only_first.notes


def test_intel_and_mixed_gpus_take_a_backend_every_gpu_runs() -> None:
    points = points_from_dict(GROMACS_LIKE)
    intel = Features(arch="x86_64", gpus=(GpuFeature("Intel Data Center GPU Max 1550"),), libs={"oneapi": "2024.1"})
    b = build_for(points, "pvc", intel)
    assert b.gpu_backend == "SYCL" and "-DGMX_GPU=SYCL" in b.flags
    assert b.requires is not None and b.requires.libs == {"oneapi": ""}
    mixed_gpus = (GpuFeature("H200", cuda="12.4"), GpuFeature("MI250X"))
    mixed = build_for(points, "mixed", Features(arch="x86_64", gpus=mixed_gpus, libs={"rocm": "5.7"}))
    assert mixed.gpu_backend is None  # CUDA does not run on the MI250X, HIP not on the H200, and no SYCL runtime
    assert "no GPU backend of the application runs on every one of H200, MI250X" in mixed.notes
    with_sycl = build_for(points, "mixed", Features(arch="x86_64", gpus=mixed_gpus, libs={"oneapi": "2024.1"}))
    assert with_sycl.gpu_backend == "SYCL"
    old_cuda = (GpuFeature("H200", cuda="12.4"), GpuFeature("V100M32", cuda="11.8"))
    assert build_for(points, "two", Features(arch="x86_64", gpus=old_cuda)).gpu_backend is None
