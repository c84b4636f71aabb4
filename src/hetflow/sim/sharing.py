"""GPU sharing in simulation: what a task takes on the share of a GPU it was granted (DESIGN.md, "GPU sharing in
simulation").

The engine places and estimates with a set's `runtime`; the simulated executor stretches each task of a set that
declares a GPU-sharing model (spec/gpu_speed.py) by that model at the share its grant holds, so the same
workflow packed five to a GPU at 20% or run on whole GPUs differs only where the model says it does.
"""

from __future__ import annotations

from hetflow.core.instructions import LaunchGroup
from hetflow.spec.gpu_speed import GpuSpeed
from hetflow.spec.resources import GPU_UNIT


def shared_duration(duration: float, units: int, model: GpuSpeed) -> float:
    """A task's duration given `units` GPU units (GPU_UNIT per GPU) under the model; given no GPU, its duration."""
    return duration * model.stretch(units / GPU_UNIT) if units > 0 else duration


def shared_durations(
    g: LaunchGroup, model: GpuSpeed, each: list[tuple[int, int, float]] | None
) -> list[tuple[int, int, float]]:
    """(node, index, duration) of every task of a launch, each stretched at the share its own grant holds.
    each: the tasks' drawn durations in part order (sim/sampling.py), None when every task takes g.duration."""
    units = [sum(u for _, u in grants[k - a]) if grants else 0 for _, a, b, grants in g.parts for k in range(a, b)]
    if each is None:
        each = [(node, k, g.duration) for node, a, b, _ in g.parts for k in range(a, b)]
    return [(node, k, shared_duration(d, u, model)) for (node, k, d), u in zip(each, units, strict=True)]
