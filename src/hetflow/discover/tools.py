"""This machine's software a build may use: compilers, MPI, BLAS and FFT libraries, OpenMP runtimes.

Compilers and MPI answer `--version` (found on PATH first, all asked at once, each given at most a second); the
libraries are looked up in the dynamic linker's cache (`ldconfig -p`) and in the folders of LD_LIBRARY_PATH (where
environment modules put them). A library's version is known only where its file name says it (OpenBLAS's
libopenblasp-r0.3.21.so); else it is "" (found, version unknown).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path

COMPILERS = ("gcc", "g++", "clang", "gfortran", "nvcc", "icx", "ifx")
_MPI = ("mpirun", "mpiexec")
_VERSION = re.compile(r"(\d+\.\d+(?:\.\d+)*)")
_MPI_KINDS = (("open mpi", "openmpi"), ("intel(r) mpi", "intel-mpi"), ("hydra", "mpich"), ("mpich", "mpich"))
_LIBS = (  # (file name prefix, feature name), most specific first
    ("libopenblas", "openblas"),
    ("libmkl_rt", "mkl"),
    ("libmkl_core", "mkl"),
    ("libblis", "blis"),
    ("libflexiblas", "flexiblas"),
    ("libcblas", "blas"),
    ("libblas", "blas"),
    ("liblapack", "lapack"),
    ("libfftw3", "fftw3"),
    ("libgomp", "openmp"),
    ("libomp", "openmp"),
    ("libiomp5", "openmp"),
    ("libcufft", "cufft"),
    ("libcublas", "cublas"),
    ("libhwloc", "hwloc"),
)
_SEARCH = ("/usr/lib", "/usr/lib64", "/usr/local/lib", f"/usr/lib/{os.uname().machine}-linux-gnu")
TIMEOUT_S = 1.0


def _versions(commands: Mapping[str, str]) -> dict[str, str]:
    """name -> the output of `PATH --version`, every command started at once; those that fail are left out."""
    procs = {}
    for name, path in commands.items():
        try:
            procs[name] = subprocess.Popen(
                [path, "--version"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
            )
        except OSError:
            continue
    out = {}
    for name, proc in procs.items():
        try:
            text, _ = proc.communicate(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            continue
        out[name] = text.decode(errors="replace")
    return out


def version_in(text: str, name: str) -> str:
    """The version a `--version` text states: nvcc's "release 12.4", else the first dotted number of its first line
    that has one ("" when none)."""
    if name == "nvcc" and (m := re.search(r"release (\d+\.\d+)", text)):
        return m.group(1)
    for line in text.splitlines():
        if m := _VERSION.search(line):
            return m.group(1)
    return ""


def mpi_kind(text: str) -> str:
    """Which MPI a `mpirun --version` text is from (openmpi, mpich, intel-mpi; else "mpi")."""
    low = text.lower()
    return next((kind for word, kind in _MPI_KINDS if word in low), "mpi")


def compilers_and_mpi() -> dict[str, str]:
    """Compilers and MPI found on PATH, with their versions; MPI as its kind (openmpi, mpich, ...) and as "mpi"."""
    found = {name: path for name in (*COMPILERS, *_MPI) if (path := shutil.which(name))}
    texts = _versions({n: p for n, p in found.items() if n not in _MPI or n == _first_mpi(found)})
    out = {name: version_in(text, name) for name, text in texts.items() if name not in _MPI}
    for name, text in texts.items():
        if name in _MPI:
            out[mpi_kind(text)] = out["mpi"] = version_in(text, name)
    return out


def _first_mpi(found: Mapping[str, str]) -> str | None:
    return next((n for n in _MPI if n in found), None)


def library_files() -> list[str]:
    """Shared library paths the dynamic linker knows (ldconfig -p), then those in LD_LIBRARY_PATH's folders."""
    paths: list[str] = []
    ldconfig = shutil.which("ldconfig") or next(
        (p for p in ("/sbin/ldconfig", "/usr/sbin/ldconfig") if Path(p).exists()), None
    )
    if ldconfig is not None:
        try:
            text = subprocess.run(
                [ldconfig, "-p"], capture_output=True, text=True, timeout=TIMEOUT_S, check=False
            ).stdout
            paths += [line.rpartition("=>")[2].strip() for line in text.splitlines() if "=>" in line]
        except (OSError, subprocess.TimeoutExpired):
            pass
    folders = [f for f in os.environ.get("LD_LIBRARY_PATH", "").split(":") if f]
    if not paths:
        folders += list(_SEARCH)
    for folder in folders:
        try:
            paths += [str(p) for p in Path(folder).glob("lib*.so*")]
        except OSError:
            continue
    return paths


def libraries(paths: Iterable[str]) -> dict[str, str]:
    """Feature name -> version of the known libraries among these paths ("" when the name does not say)."""
    out: dict[str, str] = {}
    for path in paths:
        file = os.path.basename(path)
        for prefix, name in _LIBS:
            if file.startswith(prefix) and (
                len(file) == len(prefix) or not file[len(prefix)].isalpha() or prefix == "libopenblas"
            ):
                version = _library_version(name, path)
                if version or name not in out:
                    out[name] = version
                break
    return out


def _library_version(name: str, path: str) -> str:
    """OpenBLAS names its file after its release (libopenblasp-r0.3.21.so); the others do not say."""
    if name != "openblas":
        return ""
    try:
        real = os.path.basename(os.path.realpath(path))
    except OSError:
        return ""
    m = re.search(r"-r(\d+\.\d+(?:\.\d+)*)", real)
    return m.group(1) if m else ""


def software() -> dict[str, str]:
    """Compilers, MPI and libraries of this machine: feature name -> version ("" unknown)."""
    return {**libraries(library_files()), **compilers_and_mpi()}
