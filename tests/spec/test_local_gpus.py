"""GPU discovery through NVML, checked against a fake pynvml put in sys.modules: a real module object with NVML's
functions, answering from hand-made GPUs (names as NVML spells them, MIG modes, MIG instances' attributes). What it
checks is the translation into a node (model names, MIG or not, CUDA_VISIBLE_DEVICES); the real NVML is not run."""

from __future__ import annotations

import importlib.util
import logging
import shutil
import subprocess
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from hetflow.spec import GPU_UNIT
from hetflow.spec.gpus import model_of
from hetflow.spec.local import LocalGpus, MigInstance, gpu_count, local_gpus, local_platform, model_name

MIB = 1024**2
Install = Callable[..., list[str]]


class NVMLError(Exception):
    pass


@dataclass
class Attributes:  # the two fields of nvmlDeviceAttributes_t that discovery reads
    gpuInstanceSliceCount: int
    memorySizeMB: int


@dataclass
class FakeGpu:
    name: str
    mig: int | None = 0  # current MIG mode; None: not MIG-capable (NVML raises)
    instances: dict[int, Attributes] = field(default_factory=dict)  # index -> a MIG instance's attributes
    max_instances: int = 7


def fake_nvml(gpus: list[FakeGpu], fail_init: bool = False) -> tuple[types.ModuleType, list[str]]:
    """A pynvml module answering for gpus, and the list of the calls it got."""
    calls: list[str] = []
    nvml = types.ModuleType("pynvml")

    def init() -> None:
        calls.append("init")
        if fail_init:
            raise NVMLError("Driver Not Loaded")

    def mig_mode(h: FakeGpu) -> list[int]:
        if h.mig is None:
            raise NVMLError("Not Supported")
        return [h.mig, h.mig]

    def mig_handle(h: FakeGpu, i: int) -> Attributes:
        if i not in h.instances:
            raise NVMLError("Not Found")
        return h.instances[i]

    def handle(i: int) -> FakeGpu:
        calls.append(f"handle {i}")
        return gpus[i]

    nvml.NVMLError = NVMLError  # type: ignore[attr-defined]
    nvml.NVML_DEVICE_MIG_ENABLE = 1  # type: ignore[attr-defined]
    nvml.nvmlInit = init  # type: ignore[attr-defined]
    nvml.nvmlShutdown = lambda: calls.append("shutdown")  # type: ignore[attr-defined]
    nvml.nvmlDeviceGetCount = lambda: len(gpus)  # type: ignore[attr-defined]
    nvml.nvmlDeviceGetHandleByIndex = handle  # type: ignore[attr-defined]
    nvml.nvmlDeviceGetName = lambda h: h.name.encode()  # type: ignore[attr-defined]  # older pynvml: bytes
    nvml.nvmlDeviceGetMigMode = mig_mode  # type: ignore[attr-defined]
    nvml.nvmlDeviceGetMaxMigDeviceCount = lambda h: h.max_instances  # type: ignore[attr-defined]
    nvml.nvmlDeviceGetMigDeviceHandleByIndex = mig_handle  # type: ignore[attr-defined]
    nvml.nvmlDeviceGetAttributes = lambda a: a  # type: ignore[attr-defined]
    return nvml, calls


@pytest.fixture
def use(monkeypatch: pytest.MonkeyPatch) -> Install:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)

    def install(gpus: list[FakeGpu], fail_init: bool = False) -> list[str]:
        nvml, calls = fake_nvml(gpus, fail_init)
        monkeypatch.setitem(sys.modules, "pynvml", nvml)
        return calls

    return install


@pytest.mark.parametrize(
    ("nvml_name", "model"),
    [
        ("NVIDIA A100-SXM4-80GB", "A100-80GB"),
        ("NVIDIA A100 80GB PCIe", "A100-80GB"),
        ("NVIDIA A100-PCIE-40GB", "A100-40GB"),
        ("NVIDIA A100-SXM4-40GB", "A100-40GB"),
        ("NVIDIA H100 80GB HBM3", "H100"),
        ("NVIDIA H100 PCIe", "H100"),
        ("NVIDIA H200", "H200"),
        ("NVIDIA H200 NVL", "H200"),
        ("Tesla V100-SXM2-32GB", "V100M32"),
        ("Tesla V100-PCIE-16GB", "V100M16"),
        ("Tesla V100S-PCIE-32GB", "V100S-PCIE-32GB"),  # not a model spec/gpus.py knows: kept as NVML says
        ("Tesla P100-PCIE-16GB", "P100"),
        ("Tesla T4", "T4"),
        ("NVIDIA A10", "A10"),
        ("NVIDIA GeForce RTX 4090", "RTX 4090"),
        ("NVIDIA L40S", "L40S"),
    ],
)
def test_nvml_names_become_the_models_of_spec_gpus(nvml_name: str, model: str) -> None:
    assert model_name(nvml_name) == model


def test_gpus_in_mig_mode_make_a_mig_node_with_their_instances(use: Install) -> None:
    three, two, small, big = Attributes(3, 71_424), Attributes(2, 35_584), Attributes(1, 16_896), Attributes(1, 35_584)
    use([FakeGpu("NVIDIA H200", 1, {0: three, 2: two, 5: small}), FakeGpu("NVIDIA H200", 1, {1: big})])
    gpus = local_gpus()
    assert (gpus.count, gpus.model, gpus.sharing) == (2, "H200", "mig")
    assert gpus.instances == (
        MigInstance(0, 3, 71_424 * MIB, "3g.71gb"),
        MigInstance(0, 2, 35_584 * MIB, "2g.35gb"),
        MigInstance(0, 1, 16_896 * MIB, "1g.18gb"),
        MigInstance(1, 1, 35_584 * MIB, "1g.35gb"),
    )
    (node,) = local_platform("here").node_types
    assert (node.gpu_units, node.gpu_model, node.gpu_sharing) == (2 * GPU_UNIT, "H200", "mig")


def test_without_mig_the_model_comes_from_the_name_and_fractions_stay(use: Install) -> None:
    calls = use([FakeGpu("NVIDIA A100-SXM4-80GB"), FakeGpu("NVIDIA A100-SXM4-80GB")])
    (node,) = local_platform().node_types
    assert (node.gpu_units, node.gpu_model, node.gpu_sharing) == (2 * GPU_UNIT, "A100-80GB", "mps")
    assert calls[0] == "init" and calls[-1] == "shutdown"
    use([FakeGpu("Tesla V100-SXM2-32GB", None)])  # not MIG-capable: NVML says so by an error
    assert local_gpus() == LocalGpus(1, "V100M32", "mps", ())


def test_mixed_or_unknown_mig_gpus_are_plain_gpus_with_a_warning(
    use: Install, caplog: pytest.LogCaptureFixture
) -> None:
    use([FakeGpu("NVIDIA A100-SXM4-40GB", 1, {0: Attributes(7, 40_192)}), FakeGpu("NVIDIA A100-SXM4-40GB", 0)])
    with caplog.at_level(logging.WARNING, logger="hetflow"):
        gpus = local_gpus()
    assert (gpus.count, gpus.model, gpus.sharing) == (2, "A100-40GB", "mps")
    assert gpus.instances == (MigInstance(0, 7, 40_192 * MIB, "7g.40gb"),)
    assert "counted as plain GPUs" in caplog.text
    use([FakeGpu("NVIDIA H200"), FakeGpu("NVIDIA H100 80GB HBM3")])
    assert (local_gpus().model, local_gpus().sharing) == (None, "mps")  # two models: none named


def test_cuda_visible_devices_picks_the_gpus_asked_about(use: Install, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = use([FakeGpu("NVIDIA H200"), FakeGpu("NVIDIA H200", 1, {0: Attributes(7, 143_360)})])
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    gpus = local_gpus()
    assert calls[1:-1] == ["handle 1"]
    assert (gpus.count, gpus.sharing, gpus.instances) == (1, "mig", (MigInstance(1, 7, 143_360 * MIB, "7g.141gb"),))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert gpu_count() == 0


def test_a_driver_that_does_not_load_means_no_gpus(use: Install) -> None:
    use([FakeGpu("NVIDIA H200")], fail_init=True)
    assert local_gpus() == LocalGpus()
    (node,) = local_platform().node_types
    assert (node.gpu_units, node.gpu_model, node.gpu_sharing) == (0, None, "mps")


@pytest.mark.gpu
@pytest.mark.skipif(
    importlib.util.find_spec("pynvml") is None or shutil.which("nvidia-smi") is None, reason="needs pynvml and a driver"
)
def test_the_real_nvml_agrees_with_nvidia_smi(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, check=True).stdout.splitlines()
    names = {line.split(":", 1)[1].split("(UUID")[0].strip() for line in listed if line.startswith("GPU ")}
    gpus = local_gpus()
    print(gpus)  # for the record of a GPU run
    assert gpus.count == sum(line.startswith("GPU ") for line in listed)
    assert gpus.model == (model_name(names.pop()) if len(names) == 1 else None)
    assert len(gpus.instances) == sum(line.strip().startswith("MIG ") for line in listed)
    query = ["nvidia-smi", "--query-gpu=mig.mode.current", "--format=csv,noheader"]
    modes = set(subprocess.run(query, capture_output=True, text=True, check=True).stdout.split())
    capable = (m := model_of(gpus.model)) is not None and bool(m.mig)
    assert gpus.sharing == ("mig" if modes == {"Enabled"} and capable else "mps")
