"""Discovery on this machine agrees with what the system says (uname -m, /proc/cpuinfo, the tools' own --version),
and `hetflow discover` prints it, as JSON that reads back as the same Features."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import hetflow as hf
from hetflow.discover.cpu import parse_cpuinfo, vector_extensions
from hetflow.discover.machine import discover, isa_level
from hetflow.discover.tools import libraries, mpi_kind, version_in
from hetflow.spec.features import features_from_dict

CPUINFO = Path("/proc/cpuinfo")
linux = pytest.mark.skipif(not CPUINFO.exists(), reason="reads /proc/cpuinfo")


def hetflow_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """This checkout's command line in a fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": str(Path(hf.__file__).parents[1])}
    code = "from hetflow.cli import main; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=60)


@linux
def test_discovery_agrees_with_uname_and_cpuinfo() -> None:
    f = discover()
    assert f.arch == subprocess.run(["uname", "-m"], capture_output=True, text=True, check=True).stdout.strip()
    text = CPUINFO.read_text()
    flags = re.search(r"^(?:flags|Features)\s*:(.*)$", text, re.M)
    assert flags is not None
    words = set(flags.group(1).split())
    # every extension found is a flag of the CPU (under its normalized name), and the usual ones are all found
    raw = {"sse3": "pni", "lzcnt": "abm", "neon": "asimd"}
    for ext in f.isa:
        assert raw.get(ext, ext) in words or ext.replace("_", ".") in words, ext
    for flag in ("sse2", "sse4_1", "sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "sve", "sve2"):
        assert (flag in words) == (flag in f.isa), flag
    model = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
    if model is not None:
        assert f.cpu_model == model.group(1).strip()
    assert f.cores == len(os.sched_getaffinity(0))
    assert f.memory > 0


def test_cpuinfo_of_other_machines() -> None:
    arm = (
        "processor\t: 0\nBogoMIPS\t: 2000.00\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics sve sve2\n"
    )
    arm += "CPU implementer\t: 0x41\nCPU part\t: 0xd4f\n"
    assert parse_cpuinfo(arm) == ("Neoverse-V2", frozenset({"aes", "neon", "sve", "sve2"}))
    power = "processor\t: 0\ncpu\t\t: POWER9 (raw), altivec supported\nclock\t\t: 3800.000000MHz\n"
    assert parse_cpuinfo(power) == ("POWER9 (raw)", frozenset({"altivec"}))
    x86 = (
        "model name\t: Intel(R) Xeon(R) Platinum 8480+\nflags\t\t: fpu sse sse2 pni ssse3 abm avx512f amx_tile sse4_1\n"
    )
    assert parse_cpuinfo(x86) == (
        "Intel(R) Xeon(R) Platinum 8480+",
        frozenset({"sse", "sse2", "sse3", "ssse3", "lzcnt", "avx512f", "amx_tile", "sse4_1"}),
    )
    assert vector_extensions("fpu vme de mmx") == frozenset()


def test_tool_versions_and_libraries() -> None:
    assert version_in("gcc (Debian 12.2.0-14+deb12u1) 12.2.0\nCopyright", "gcc") == "12.2.0"
    assert (
        version_in("nvcc: NVIDIA (R) Cuda compiler driver\nCuda compilation tools, release 12.4, V12.4.131", "nvcc")
        == "12.4"
    )
    assert version_in("clang version 17.0.6 (Fedora 17.0.6-2.fc39)\nTarget: x86_64", "clang") == "17.0.6"
    assert version_in("no numbers here", "x") == ""
    assert mpi_kind("mpirun (Open MPI) 4.1.6\n\nReport bugs") == "openmpi"
    assert mpi_kind("HYDRA build details:\n    Version: 4.1.2") == "mpich"
    assert mpi_kind("Intel(R) MPI Library for Linux* OS, Version 2021.10") == "intel-mpi"
    found = libraries(
        [
            "/usr/lib/x86_64-linux-gnu/libfftw3.so.3",
            "/usr/lib/x86_64-linux-gnu/libfftw3f.so.3",  # single precision: not fftw3's double
            "/opt/intel/mkl/lib/libmkl_rt.so.2",
            "/usr/lib/libgomp.so.1",
            "/usr/lib/libompitrace.so.40",  # Open MPI's, not an OpenMP runtime
        ]
    )
    assert found == {"fftw3": "", "mkl": "", "openmp": ""}


def test_openblas_version_from_its_file_name(tmp_path: Path) -> None:
    real = tmp_path / "libopenblasp-r0.3.21.so"
    real.write_bytes(b"")
    (tmp_path / "libopenblas.so.0").symlink_to(real)
    assert libraries([str(tmp_path / "libopenblas.so.0")]) == {"openblas": "0.3.21"}


@pytest.mark.parametrize("tool", ["gcc", "clang", "gfortran", "nvcc"])
def test_compilers_found_report_their_own_version(tool: str) -> None:
    path = shutil.which(tool)
    if path is None:
        assert tool not in discover().libs
        return
    text = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30).stdout
    assert discover().libs[tool] == version_in(text, tool) != ""


def test_hetflow_discover_prints_the_features_and_json_that_reads_back() -> None:
    r = hetflow_cli("discover", "--json")
    assert r.returncode == 0, r.stderr
    back = features_from_dict(json.loads(r.stdout))
    here = discover()
    assert (back.arch, back.isa, back.cores, back.memory, back.gpus) == (
        here.arch,
        here.isa,
        here.cores,
        here.memory,
        here.gpus,
    )
    assert set(back.libs) == set(here.libs)
    r = hetflow_cli("discover")
    assert r.returncode == 0, r.stderr
    first = r.stdout.splitlines()[0]
    assert first.split()[:2] == ["architecture", here.arch]
    if here.arch == "x86_64":
        assert f"({isa_level(here)})" in first
