"""The machine hetflow runs on, as a platform of one node: usable cores, memory, and NVIDIA GPUs seen through NVML.

pynvml (package nvidia-ml-py, `pip install "hetflow[gpu]"`) is imported only here and only when asked; without it,
or without a GPU, the node has no GPUs. CUDA_VISIBLE_DEVICES, when set, limits the GPUs counted to the ones it lists.
The GPUs' model is NVML's name in spec/gpus.py's spelling ("NVIDIA A100-SXM4-80GB" is A100-80GB); when every GPU is
in MIG mode and of a MIG-capable model, the node shares them by MIG, and its MIG instances as they stand (profile,
memory) are listed for the record; the ledger places MIG-shaped grants by the model's profiles (spec/gpus.py).
"""

from __future__ import annotations

import logging
import os
import re
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from hetflow.spec.features import GpuFeature
from hetflow.spec.gpus import MIG_SLICES, model_of
from hetflow.spec.platform import NodeType, Platform
from hetflow.spec.resources import GPU_UNIT

log = logging.getLogger("hetflow")
T = TypeVar("T")
_MIB = 1024**2


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity), else the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def total_memory() -> int:
    """Bytes of physical memory, from /proc/meminfo or sysconf; 0 when neither tells."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024  # the kernel writes kB meaning KiB
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


def visible_devices(environ: Mapping[str, str] | None = None) -> list[str] | None:
    """The device ids of CUDA_VISIBLE_DEVICES as this process was given it (None when unset)."""
    value = (os.environ if environ is None else environ).get("CUDA_VISIBLE_DEVICES")
    if value is None:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


def _visible(count: int) -> int:
    """How many of count GPUs CUDA_VISIBLE_DEVICES leaves visible (CUDA stops at the first invalid entry)."""
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is None:
        return count
    n = 0
    for entry in listed.split(","):
        entry = entry.strip()
        if not entry or (entry.lstrip("-").isdigit() and (int(entry) < 0 or int(entry) >= count)):
            break
        n += 1
    return min(n, count)


@dataclass(frozen=True, slots=True)
class MigInstance:
    """A MIG instance found on a GPU: the GPU's index, its compute slices (sevenths), memory in bytes, and the name of
    the model's profile it matches (e.g. "3g.40gb"; None when none does)."""

    gpu: int
    compute: int
    memory: int
    profile: str | None


@dataclass(frozen=True, slots=True)
class LocalGpus:
    """The GPUs NVML shows this process: how many, their model (None: none, or not all alike), how tasks share them
    ("mig" when all are in MIG mode, else "mps") and the MIG instances found."""

    count: int = 0
    model: str | None = None
    sharing: str = "mps"
    instances: tuple[MigInstance, ...] = ()


def model_name(nvml_name: str) -> str:
    """NVML's device name in spec/gpus.py's spelling: the known family, with the memory where the family has
    variants (A100-40GB / A100-80GB, V100M16 / V100M32); an unknown one is its name without the vendor words."""
    name = re.sub(r"^((NVIDIA|Tesla|Quadro|GeForce)\s+)+", "", nvml_name.strip(), flags=re.I).strip()
    family = re.split(r"[\s-]", name, maxsplit=1)[0].upper()
    found = re.search(r"(\d+)\s*GB", name, re.I)
    gib = int(found.group(1)) if found else 0
    if family == "A100":
        return "A100-80GB" if gib == 80 else "A100-40GB"
    if family == "V100":
        return f"V100M{gib}" if gib in (16, 32) else "V100"
    known = model_of(family)
    return known.name if known is not None else name


def _profile_of(model: str | None, compute: int, memory: int) -> str | None:
    """The model's MIG profile with these compute slices whose memory is nearest (NVML's memory is a bit under)."""
    known = model_of(model)
    fits = [p for p in known.mig if p.compute == compute] if known else []
    if known is None or not fits:
        return None
    return min(fits, key=lambda p: abs(known.memory * p.slices // MIG_SLICES - memory)).name


def _visible_indices(count: int) -> list[int]:
    """The NVML indices of the GPUs CUDA_VISIBLE_DEVICES leaves (all when unset; the first n when it lists UUIDs)."""
    n = _visible(count)
    listed = [e.strip() for e in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")][:n]
    if "CUDA_VISIBLE_DEVICES" in os.environ and all(e.isdigit() for e in listed):
        return [int(e) for e in listed]
    return list(range(n))


def _mig_instances(nvml: Any, handle: Any, gpu: int, model: str) -> list[MigInstance]:
    """The MIG instances of a GPU in MIG mode: compute slices and memory from each instance's attributes."""
    found = []
    for i in range(int(nvml.nvmlDeviceGetMaxMigDeviceCount(handle))):
        try:
            mig = nvml.nvmlDeviceGetMigDeviceHandleByIndex(handle, i)
        except nvml.NVMLError:  # no instance in that place
            continue
        attrs = nvml.nvmlDeviceGetAttributes(mig)
        compute, memory = int(attrs.gpuInstanceSliceCount), int(attrs.memorySizeMB) * _MIB
        found.append(MigInstance(gpu, compute, memory, _profile_of(model, compute, memory)))
    return found


def _describe(nvml: Any) -> LocalGpus:
    indices = _visible_indices(int(nvml.nvmlDeviceGetCount()))
    models: set[str] = set()
    modes: set[bool] = set()
    instances: list[MigInstance] = []
    for gpu in indices:
        handle = nvml.nvmlDeviceGetHandleByIndex(gpu)
        raw = nvml.nvmlDeviceGetName(handle)
        model = model_name(raw.decode() if isinstance(raw, bytes) else raw)
        models.add(model)
        try:
            current, _pending = nvml.nvmlDeviceGetMigMode(handle)
        except nvml.NVMLError:  # not MIG-capable
            current = 0
        mig = current == nvml.NVML_DEVICE_MIG_ENABLE
        modes.add(mig)
        if mig:
            instances += _mig_instances(nvml, handle, gpu, model)
    common = models.pop() if len(models) == 1 else None
    capable = (m := model_of(common)) is not None and bool(m.mig)
    sharing = "mig" if modes == {True} and capable else "mps"
    if True in modes and sharing == "mps":
        log.warning(
            "GPUs in MIG mode, but not all of them or not all of one model with known MIG profiles (spec/gpus.py): "
            "they are counted as plain GPUs, without MIG-shaped grants"
        )
    return LocalGpus(len(indices), common, sharing, tuple(instances))


def _with_nvml(describe: Callable[[Any], T], nothing: T) -> T:
    """describe(pynvml) between NVML's init and shutdown; nothing without pynvml, a driver or a GPU."""
    try:
        import pynvml
    except ImportError:
        return nothing
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return nothing
    try:
        return describe(pynvml)
    except pynvml.NVMLError as exc:
        log.warning("NVML: %s; no GPUs counted", exc)
        return nothing
    finally:
        pynvml.nvmlShutdown()


def local_gpus() -> LocalGpus:
    """The GPUs of this machine through NVML; none without pynvml, a driver or a GPU."""
    return _with_nvml(_describe, LocalGpus())


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _gpu_features(nvml: Any) -> tuple[GpuFeature, ...]:
    driver = _text(nvml.nvmlSystemGetDriverVersion())
    cuda = int(nvml.nvmlSystemGetCudaDriverVersion())  # e.g. 12040 for 12.4
    cuda_version = f"{cuda // 1000}.{cuda % 1000 // 10}"
    out = []
    for gpu in _visible_indices(int(nvml.nvmlDeviceGetCount())):
        handle = nvml.nvmlDeviceGetHandleByIndex(gpu)
        major, minor = nvml.nvmlDeviceGetCudaComputeCapability(handle)
        memory = int(nvml.nvmlDeviceGetMemoryInfo(handle).total)
        model = model_name(_text(nvml.nvmlDeviceGetName(handle)))
        out.append(GpuFeature(model, memory, f"{major}.{minor}", driver, cuda_version))
    return tuple(out)


def gpu_features() -> tuple[GpuFeature, ...]:
    """Each GPU NVML shows this process, as node features (hetflow.discover): model, memory, compute capability,
    driver version and the CUDA version the driver supports; none without pynvml, a driver or a GPU."""
    return _with_nvml(_gpu_features, ())


def gpu_count() -> int:
    """NVIDIA GPUs visible to this process through NVML; 0 without pynvml, a driver or a GPU."""
    return local_gpus().count


def local_platform(name: str | None = None) -> Platform:
    """This machine as a platform of one node of type "local"."""
    gpus = local_gpus()
    node = NodeType(
        "local",
        1,
        usable_cores(),
        gpus.count * GPU_UNIT,
        total_memory(),
        1.0,
        gpu_model=gpus.model,
        gpu_sharing=gpus.sharing if gpus.count else "mps",
    )
    return Platform(name or socket.gethostname() or "local", (node,))
