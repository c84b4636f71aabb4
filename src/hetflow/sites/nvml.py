"""GPU energy from NVIDIA's management library (NVML, through pynvml: `pip install "hetflow[gpu]"`), for real runs.

A meter reads each GPU's cumulative energy counter (nvmlDeviceGetTotalEnergyConsumption: millijoules since the
driver loaded; Volta and later) before and after a run; the difference, summed over the GPUs, is what the GPUs used
over it, their idle draw included. sites/energy.py `account(measured_gpu=...)` then scales the model's GPU power
(gpu_w) of the run's sites so that their GPU energy adds up to it, and results say "nvml". Where pynvml, the driver,
a GPU or the counter is missing, `available` is False, `why` says why, and the GPUs stay modelled. Only the GPUs this
process was given are metered: CUDA_VISIBLE_DEVICES, by index or by UUID, when it is set (another job's GPUs on the
same machine are not this run's energy).
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from hetflow.spec.local import visible_devices


class NvmlMeter:
    """Joules used by this machine's GPUs between start() and stop()."""

    def __init__(self) -> None:
        self.why = ""
        self.handles: list[Any] = []
        self._nvml: Any = None
        self._before: list[int] = []
        try:
            import pynvml
        except ImportError:
            self.why = "no pynvml (pip install 'hetflow[gpu]')"
            return
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError as exc:
            self.why = f"NVML does not start ({exc})"
            return
        try:
            handles = given(pynvml)
            for h in handles:
                pynvml.nvmlDeviceGetTotalEnergyConsumption(h)
        except pynvml.NVMLError as exc:
            self.why = f"NVML cannot read the GPUs' energy ({exc})"
            pynvml.nvmlShutdown()
            return
        if not handles:
            self.why = "NVML sees no GPU" if visible_devices() is None else "CUDA_VISIBLE_DEVICES gives no GPU"
            pynvml.nvmlShutdown()
            return
        self._nvml, self.handles = pynvml, handles

    @property
    def available(self) -> bool:
        return bool(self.handles)

    def _read(self) -> list[int]:
        return [int(self._nvml.nvmlDeviceGetTotalEnergyConsumption(h)) for h in self.handles]

    def start(self) -> None:
        self._before = self._read()

    def stop(self) -> float | None:
        """Joules since start() (the counters are 64-bit millijoules: they do not wrap), or None when they cannot be
        read now (a GPU gone mid-run; never started): then `why` says why and the GPUs stay modelled. NVML is shut down
        after either way."""
        if not self.handles or len(self._before) != len(self.handles):
            self.why = self.why or "the meter was not started"
            return None
        try:
            after = self._read()
        except self._nvml.NVMLError as exc:
            self.why = f"NVML could not read the GPUs' energy at the end ({exc})"
            return None
        finally:
            with contextlib.suppress(self._nvml.NVMLError):  # nothing more to read from it
                self._nvml.nvmlShutdown()
        return sum(max(0, a - b) for a, b in zip(after, self._before, strict=True)) / 1e3


def given(pynvml: Any) -> list[Any]:
    """NVML's handles of the GPUs this process may use: every GPU NVML sees, or, when CUDA_VISIBLE_DEVICES is set,
    those it names (an index, or a whole GPU-/MIG- UUID) as CUDA reads it: up to the first entry that names no GPU
    (an empty one included), each device once however it is named."""
    count = int(pynvml.nvmlDeviceGetCount())
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is None:
        return [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
    handles, seen = [], set()
    for entry in (e.strip() for e in listed.split(",")):
        try:
            if entry.isdigit():
                if int(entry) >= count:
                    break
                handle = pynvml.nvmlDeviceGetHandleByIndex(int(entry))
            else:
                handle = pynvml.nvmlDeviceGetHandleByUUID(entry.encode())  # (bytes: every pynvml takes them)
        except pynvml.NVMLError:
            break
        device = int(pynvml.nvmlDeviceGetIndex(handle))
        if device not in seen:
            seen.add(device)
            handles.append(handle)
    return handles
