"""GPU features through NVML (spec.local.gpu_features, which discover() uses), against the fake pynvml of
tests/spec/test_local_gpus.py given the calls a feature needs: driver and CUDA versions, compute capability, memory.
No GPU machine runs in CI; the translation is what is checked (a GPU machine's `hetflow discover` shows the rest)."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest

from hetflow.discover.machine import discover
from hetflow.spec.features import GpuFeature
from hetflow.spec.local import gpu_features
from tests.spec.test_local_gpus import FakeGpu, fake_nvml

GIB = 1024**3


def install(monkeypatch: pytest.MonkeyPatch, gpus: list[FakeGpu], capability: tuple[int, int], gib: int) -> list[str]:
    nvml, calls = fake_nvml(gpus)
    nvml.nvmlSystemGetDriverVersion = lambda: b"550.54.15"  # type: ignore[attr-defined]  # older pynvml: bytes
    nvml.nvmlSystemGetCudaDriverVersion = lambda: 12040  # type: ignore[attr-defined]
    nvml.nvmlDeviceGetCudaComputeCapability = lambda h: capability  # type: ignore[attr-defined]
    nvml.nvmlDeviceGetMemoryInfo = lambda h: SimpleNamespace(total=gib * GIB)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    return calls


def test_each_visible_gpu_is_a_feature(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    calls = install(monkeypatch, [FakeGpu("NVIDIA H200"), FakeGpu("NVIDIA H200")], (9, 0), 141)
    h200 = GpuFeature("H200", 141 * GIB, "9.0", "550.54.15", "12.4")
    assert gpu_features() == (h200,)
    assert calls[0] == "init" and "handle 1" in calls and calls[-1] == "shutdown"
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert discover().gpus == (h200, h200)


def test_without_nvml_there_are_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml fails
    assert gpu_features() == ()
