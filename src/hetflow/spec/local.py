"""The machine hetflow runs on, as a platform of one node: usable cores, memory, and NVIDIA GPUs seen through NVML.

pynvml (package nvidia-ml-py, `pip install "hetflow[gpu]"`) is imported only here and only when asked; without it,
or without a GPU, the node has no GPUs. CUDA_VISIBLE_DEVICES, when set, limits the GPUs counted to the ones it lists.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from hetflow.spec.platform import NodeType, Platform
from hetflow.spec.resources import GPU_UNIT


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


def gpu_count() -> int:
    """NVIDIA GPUs visible to this process through NVML; 0 without pynvml, a driver or a GPU."""
    try:
        import pynvml
    except ImportError:
        return 0
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return 0
    try:
        return _visible(int(pynvml.nvmlDeviceGetCount()))
    except pynvml.NVMLError:
        return 0
    finally:
        pynvml.nvmlShutdown()


def local_platform(name: str | None = None) -> Platform:
    """This machine as a platform of one node of type "local"."""
    node = NodeType("local", 1, usable_cores(), gpu_count() * GPU_UNIT, total_memory(), 1.0)
    return Platform(name or socket.gethostname() or "local", (node,))
