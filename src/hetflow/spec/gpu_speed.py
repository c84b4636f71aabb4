"""The GPU-sharing throughput model: how fast a task runs on the share of a GPU it was given.

Most kernels do not saturate a GPU: a task that needs 20% of one runs no faster with more, and slower with less. A task
set may say so (DESIGN.md, "GPU sharing in simulation"):

- `gpu_saturation: s` (a share of one GPU, 0 < s <= 1): the set's `runtime` is its run time with a share of at least
  s; with a share g below s it stretches by s / g. Run time at share g = runtime x max(1, s / g).
- `gpu_speed: [[g1, v1], [g2, v2], ...]`: the relative speed v at share g (shares > 0, increasing; speeds > 0), where
  speed 1 runs in `runtime` and speed v in runtime / v. Between two points the speed is linear in the share; below
  the first point it is proportional to the share (v1 x g / g1: less of the GPU, proportionally less throughput);
  above the last point it stays at the last speed. `gpu_saturation: s` is the curve [[s, 1]].

Only the simulator applies the model, to each task from the GPU units its grant holds (a task given no GPU runs in
its run time); the engine keeps estimating with `runtime`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hetflow.errors import SpecError

SATURATION_IS = "a share of one GPU in (0, 1], e.g. 0.2 (runtime holds at or above it, stretches by s/share below)"
CURVE_IS = "a list of [share, speed] pairs, shares > 0 increasing, speeds > 0, e.g. [[0.1, 0.45], [0.2, 1], [1, 1]]"


@dataclass(frozen=True, slots=True)
class GpuSpeed:
    """A set's relative speed by GPU share: points (share, speed), shares increasing; saturation when it was
    declared as `gpu_saturation` (points are then ((saturation, 1.0),)). Build one with the functions below."""

    points: tuple[tuple[float, float], ...]
    saturation: float | None = None

    def speed(self, share: float) -> float:
        """The relative speed at a share > 0 of one GPU (1: the set's runtime)."""
        pts = self.points
        g0, v0 = pts[0]
        if share <= g0:
            return v0 * share / g0
        for g1, v1 in pts[1:]:
            if share <= g1:
                return v0 + (v1 - v0) * (share - g0) / (g1 - g0)
            g0, v0 = g1, v1
        return v0

    def stretch(self, share: float) -> float:
        """How many times the runtime a task takes at this share: 1 / speed."""
        return 1.0 / self.speed(share)

    def as_dict(self) -> dict[str, Any]:
        """The model as a workflow file writes it (the journal keeps it so)."""
        if self.saturation is not None:
            return {"gpu_saturation": self.saturation}
        return {"gpu_speed": [list(p) for p in self.points]}


def _number(value: object) -> float | None:
    """A finite int or float (never a bool) as a float, else None."""
    if type(value) not in (int, float):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def saturating(value: object) -> GpuSpeed:
    """The model of `gpu_saturation: value`; SpecError (problem, fix) when value is not a share in (0, 1]."""
    s = _number(value)
    if s is None or not 0 < s <= 1:
        raise SpecError(f"gpu_saturation {value!r} is not a share of one GPU", fix="give " + SATURATION_IS)
    return GpuSpeed(((s, 1.0),), s)


def curve(value: object) -> GpuSpeed:
    """The model of `gpu_speed: value`; SpecError (problem, fix) naming the first bad point."""
    if not isinstance(value, Sequence) or isinstance(value, str) or not value:
        raise SpecError(f"gpu_speed {value!r} is not a list of points", fix="give " + CURVE_IS)
    points: list[tuple[float, float]] = []
    for i, p in enumerate(value):
        pair = [_number(x) for x in p] if isinstance(p, Sequence) and not isinstance(p, str) else []
        if len(pair) != 2 or pair[0] is None or pair[1] is None or pair[0] <= 0 or pair[1] <= 0:
            raise SpecError(f"gpu_speed point {i} ({p!r}) is not a [share, speed] pair > 0", fix="give " + CURVE_IS)
        if points and pair[0] <= points[-1][0]:
            raise SpecError(f"gpu_speed point {i} ({p!r}): shares must increase", fix="give " + CURVE_IS)
        points.append((pair[0], pair[1]))
    return GpuSpeed(tuple(points))


def gpu_speed_from(doc: dict[str, Any]) -> GpuSpeed:
    """The model a journal row (or any mapping as_dict wrote) holds."""
    return saturating(doc["gpu_saturation"]) if "gpu_saturation" in doc else curve(doc["gpu_speed"])
