"""Discovery of the local machine, checked against what the operating system reports by other means."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess

import pytest

from hetflow.spec import GPU_UNIT, local_platform
from hetflow.spec.local import _visible, gpu_count, total_memory, usable_cores


def test_cores_follow_the_affinity_mask() -> None:
    expected = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert usable_cores() == expected


def test_memory_agrees_with_sysconf() -> None:
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert total_memory() == pytest.approx(pages, rel=0.01)


def test_the_local_platform_is_one_node() -> None:
    p = local_platform("here")
    (node,) = p.node_types
    assert (p.name, node.type, node.count, node.speed) == ("here", "local", 1, 1.0)
    assert (node.cores, node.memory, node.gpu_units) == (usable_cores(), total_memory(), gpu_count() * GPU_UNIT)
    assert local_platform().name  # the host name by default


@pytest.mark.skipif(importlib.util.find_spec("pynvml") is not None, reason="pynvml is installed")
def test_no_nvml_no_gpus() -> None:
    assert gpu_count() == 0


@pytest.mark.skipif(
    importlib.util.find_spec("pynvml") is None or shutil.which("nvidia-smi") is None, reason="needs pynvml and a driver"
)
def test_gpus_agree_with_nvidia_smi(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, check=False).stdout
    assert gpu_count() == sum(line.startswith("GPU ") for line in listed.splitlines())


@pytest.mark.parametrize(
    ("visible", "count", "expected"),
    [
        (None, 4, 4),
        ("0,1", 4, 2),
        ("", 4, 0),
        ("2", 2, 0),
        ("1,-1,0", 4, 1),
        ("GPU-5a1e,GPU-77b0", 8, 2),
        ("0,1,2", 2, 2),
    ],
)
def test_cuda_visible_devices_limits_the_count(
    monkeypatch: pytest.MonkeyPatch, visible: str | None, count: int, expected: int
) -> None:
    if visible is None:
        monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    else:
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    assert _visible(count) == expected
