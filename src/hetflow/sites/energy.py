"""Energy and carbon of a run, from its intervals, afterwards (never inside the engine): per task, per site, in total.

The model (DESIGN.md, "Sites: energy and carbon"), per node of a site with power model (idle_w, core_w, gpu_w):
- a node is powered from the first start to the last end of what ran on it, drawing idle_w all along; nodes where
  nothing ran are off (they serve other users);
- a running task adds core_w per core and gpu_w per GPU it holds (a fraction of a GPU in proportion), and takes a
  share of its node's idle power in proportion to the part of the node's full-load power its resources stand for,
  w = (core_w c + gpu_w g) / (core_w C + gpu_w G) (cores alone when both are 0); the idle power no task holds (a
  node between tasks, or part-empty) is the site's unattributed idle, counted in the site and the total;
- the facility draws PUE times that; energy is power times time; carbon integrates power times the site's intensity
  (sites/intensity.py) over each interval, split exactly at hour boundaries.
Sums are exact: the tasks of a site plus its unattributed idle make the site, the sites make the total.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from hetflow.errors import SpecError
from hetflow.sites.intensity import Floats, Intensity
from hetflow.spec.platform import Node
from hetflow.spec.resources import GPU_UNIT
from hetflow.spec.site import PowerModel, Sites
from hetflow.spec.trace import Interval

J_PER_KWH = 3.6e6


def _sig(x: float) -> float:
    """x to 9 significant digits, for JSON: a run of milliseconds is not rounded to nothing."""
    return float(f"{x:.9g}")


@dataclass(frozen=True)
class SiteFootprint:
    """One site's share of a run. idle_*: the idle power of its powered nodes that no running task took a share of."""

    site: str
    energy_kwh: float
    carbon_g: float
    idle_kwh: float
    idle_g: float
    tasks: int  # task attempts that ran there
    nodes: int  # nodes powered
    power_source: str = "model"

    def summary(self) -> dict[str, Any]:
        return {
            "energy_kwh": _sig(self.energy_kwh),
            "carbon_g": _sig(self.carbon_g),
            "idle_kwh": _sig(self.idle_kwh),
            "idle_g": _sig(self.idle_g),
            "tasks": self.tasks,
            "nodes": self.nodes,
            "power_source": self.power_source,
        }


@dataclass(frozen=True)
class Footprint:
    """A run's energy and carbon. task_kwh and task_g hold, per interval of the run (in its order), what its tasks
    used together (all `n` of them); sets sums them per task set."""

    energy_kwh: float
    carbon_g: float
    sites: tuple[SiteFootprint, ...]
    task_kwh: Floats = field(repr=False)
    task_g: Floats = field(repr=False)
    sets: dict[str, tuple[float, float]] = field(repr=False)
    task_n: Floats = field(repr=False)  # tasks per interval
    start: float = 0.0  # seconds since the epoch when the run began (its time 0)

    def per_task(self) -> tuple[list[float], list[float]]:
        """(kWh, g) of each task, in the order the intervals list them (an interval's n tasks share it equally)."""
        n, times = self.task_n, self.task_n.astype(np.int64)
        each = [np.divide(v, n, out=np.zeros_like(v), where=n > 0) for v in (self.task_kwh, self.task_g)]
        return np.repeat(each[0], times).tolist(), np.repeat(each[1], times).tolist()

    @property
    def power_source(self) -> str:
        """ "model", or what measured it (e.g. "rapl"), or "rapl+model" when sites differ."""
        kinds = sorted({s.power_source for s in self.sites})
        return "+".join(kinds) if kinds else "model"

    def summary(self) -> dict[str, Any]:
        """What --json adds to a result: energy_kwh, carbon_g, the power source, per site and per set."""
        from datetime import UTC, datetime

        return {
            "energy_kwh": _sig(self.energy_kwh),
            "carbon_g": _sig(self.carbon_g),
            "power_source": self.power_source,
            "start": datetime.fromtimestamp(self.start, UTC).isoformat().replace("+00:00", "Z"),
            "sites": {s.site: s.summary() for s in self.sites},
            "sets": {k: {"energy_kwh": _sig(e), "carbon_g": _sig(g)} for k, (e, g) in self.sets.items()},
        }


def account(
    intervals: Sequence[Interval],
    sites: Sites,
    series: Mapping[str, Intensity],
    *,
    origin: float = 0.0,
    start: float = 0.0,
    measured: Mapping[str, tuple[float, str]] | None = None,
    measured_gpu: Mapping[str, tuple[float, str]] | None = None,
) -> Footprint:
    """The footprint of a run on sites.platform(): intervals on the clock where the run began at `origin`, series
    by site name (intensities for the run's time). measured: per site, (joules, source) read by a meter over the
    run (sites/rapl.py); the model's idle and core power of that site are scaled so that their energy equals it.
    measured_gpu: the same for its GPUs (sites/nvml.py), scaling the model's GPU power."""
    c = Columns(intervals, sites, origin)
    k = len(sites.sites)
    power, sources = [s.power for s in sites.sites], ["model"] * k
    if measured:
        cpu = c.cpu_joules(power)
        for j, s in enumerate(sites.sites):
            if s.name in measured and cpu[j] > 0:
                joules, sources[j] = measured[s.name]
                scale = joules / cpu[j]
                power[j] = replace(power[j], idle_w=power[j].idle_w * scale, core_w=power[j].core_w * scale)
    if measured_gpu:
        gpu = c.gpu_joules(power)
        for j, s in enumerate(sites.sites):
            if s.name in measured_gpu and gpu[j] > 0:
                joules, source = measured_gpu[s.name]
                power[j] = replace(power[j], gpu_w=power[j].gpu_w * joules / gpu[j])
                sources[j] = source if sources[j] == "model" else f"{sources[j]}+{source}"
    idle_w = np.array([p.idle_w for p in power])
    pue = np.array([s.pue for s in sites.sites])
    weight, dynamic = c.shares(power)
    site, dt = c.site, c.t1 - c.t0
    integral = np.empty(len(c.t0))
    for j, s in enumerate(sites.sites):
        mine = site == j
        integral[mine] = series[s.name].integrals(c.t0[mine], c.t1[mine])
    watts = pue[site] * (dynamic + idle_w[site] * weight) * c.n  # what the interval's tasks draw together
    task_kwh, task_g = watts * dt / J_PER_KWH, watts * integral / J_PER_KWH
    held = pue[site] * idle_w[site] * weight * c.n  # the idle power the interval's tasks hold
    first, last = c.spans()
    node_w = (pue * idle_w)[c.node_site]
    node_g = np.zeros(len(first))
    for j, s in enumerate(sites.sites):
        mine = c.node_site == j
        node_g[mine] = series[s.name].integrals(first[mine], last[mine])
    idle_kwh = (_by(c.node_site, node_w * (last - first), k) - _by(site, held * dt, k)) / J_PER_KWH
    idle_g = (_by(c.node_site, node_w * node_g, k) - _by(site, held * integral, k)) / J_PER_KWH
    energy, carbon = _by(site, task_kwh, k) + idle_kwh, _by(site, task_g, k) + idle_g
    tasks, powered = _by(site, c.n, k), np.bincount(c.node_site, minlength=k)
    out = tuple(
        SiteFootprint(s.name, float(energy[j]), float(carbon[j]), float(idle_kwh[j]), float(idle_g[j]),
                      int(tasks[j]), int(powered[j]), sources[j])
        for j, s in enumerate(sites.sites)
    )  # fmt: skip
    set_kwh, set_g = _by(c.set_code, task_kwh, len(c.set_names)), _by(c.set_code, task_g, len(c.set_names))
    sets = {name: (float(set_kwh[j]), float(set_g[j])) for j, name in enumerate(c.set_names)}
    return Footprint(float(energy.sum()), float(carbon.sum()), out, task_kwh, task_g, sets, c.n, start)


def _by(codes: npt.NDArray[np.int64], values: Floats, k: int) -> Floats:
    """Sums of values per code 0..k-1."""
    return np.bincount(codes, weights=values, minlength=k).astype(np.float64)


def nodes_of(sites: Sites) -> dict[str, Node]:
    """Every node by name: SITE/TYPE-i as in sites.platform(), and TYPE-i as in a site's own platform when no other
    site has a node of that name (a real run on one site's platform file is accounted with the sites file)."""
    nodes = {n.name: n for n in sites.platform().nodes()}
    own: dict[str, list[Node]] = {}
    for n in nodes.values():
        own.setdefault(n.name.split("/", 1)[1], []).append(n)
    nodes.update({name: found[0] for name, found in own.items() if len(found) == 1 and name not in nodes})
    return nodes


class Columns:
    """A run's intervals as columns (times on the run's clock), each interval's site, and per node that ran
    something (in order of first appearance) its site, cores and GPUs."""

    def __init__(self, intervals: Sequence[Interval], sites: Sites, origin: float = 0.0) -> None:
        nodes, n = nodes_of(sites), len(intervals)
        index = {s.name: j for j, s in enumerate(sites.sites)}
        names = list(dict.fromkeys(iv.node for iv in intervals))
        for name in names:
            if name not in nodes or nodes[name].site is None:
                bad = next(iv for iv in intervals if iv.node == name)
                raise SpecError(
                    f"task set {bad.set} ran on node {name!r}, which no site has",
                    source=sites.source,
                    fix="account the run with the sites file it ran on (node names SITE/TYPE-i)",
                )
        code = {name: j for j, name in enumerate(names)}
        used = [nodes[name] for name in names]
        self.node_site = np.array([index[str(u.site)] for u in used], dtype=np.int64)
        self.node_cores = np.array([u.cores for u in used], dtype=np.float64)
        self.node_gpus = np.array([u.gpu_units / GPU_UNIT for u in used], dtype=np.float64)
        self.node = np.fromiter((code[iv.node] for iv in intervals), np.int64, n)
        self.site = self.node_site[self.node]
        self.t0 = np.fromiter((iv.start for iv in intervals), np.float64, n) - origin
        self.t1 = np.fromiter((iv.end for iv in intervals), np.float64, n) - origin
        self.n = np.fromiter((iv.last - iv.first for iv in intervals), np.float64, n)
        self.cores = np.fromiter((iv.cores for iv in intervals), np.float64, n)
        self.gpus = np.fromiter((iv.gpu_units for iv in intervals), np.float64, n) / GPU_UNIT
        self.set_names = list(dict.fromkeys(iv.set for iv in intervals))
        sets = {name: j for j, name in enumerate(self.set_names)}
        self.set_code = np.fromiter((sets[iv.set] for iv in intervals), np.int64, n)

    def spans(self) -> tuple[Floats, Floats]:
        """Per node, its first start and last end: while it is powered."""
        first, last = np.full(len(self.node_site), np.inf), np.full(len(self.node_site), -np.inf)
        np.minimum.at(first, self.node, self.t0)
        np.maximum.at(last, self.node, self.t1)
        return first, last

    def shares(self, power: Sequence[PowerModel]) -> tuple[Floats, Floats]:
        """Per interval, one task's share of its node's idle power, and its dynamic power in watts."""
        core_w = np.array([p.core_w for p in power])
        gpu_w = np.array([p.gpu_w for p in power])
        dynamic = core_w[self.site] * self.cores + gpu_w[self.site] * self.gpus
        full = (core_w[self.node_site] * self.node_cores + gpu_w[self.node_site] * self.node_gpus)[self.node]
        node_cores = self.node_cores[self.node]
        by_cores = np.divide(self.cores, node_cores, out=np.zeros_like(dynamic), where=node_cores > 0)
        return np.divide(dynamic, full, out=by_cores, where=full > 0), dynamic

    def cpu_joules(self, power: Sequence[PowerModel]) -> Floats:
        """Per site, the IT energy (no PUE) the model gives its idle and core power: what a CPU meter reads."""
        k = len(power)
        first, last = self.spans()
        idle = np.array([p.idle_w for p in power])[self.node_site] * (last - first)
        core = np.array([p.core_w for p in power])[self.site] * self.cores * self.n * (self.t1 - self.t0)
        return _by(self.node_site, idle, k) + _by(self.site, core, k)

    def gpu_joules(self, power: Sequence[PowerModel]) -> Floats:
        """Per site, the IT energy the model gives its busy GPUs: what a GPU meter's reading is set against."""
        gpu_w = np.array([p.gpu_w for p in power])[self.site]
        return _by(self.site, gpu_w * self.gpus * self.n * (self.t1 - self.t0), len(power))


def share_measured(
    joules: float, source: str, intervals: Sequence[Interval], sites: Sites, *, gpus: bool = False
) -> dict[str, tuple[float, str]]:
    """One machine's measured energy (it ran every site of the run, as a local run does), split across the sites in
    proportion to the CPU energy (gpus: the GPU energy) the model gives each: `account(measured=...)` (or
    measured_gpu=) then scales them all alike."""
    columns, power = Columns(intervals, sites), [s.power for s in sites.sites]
    cpu = columns.gpu_joules(power) if gpus else columns.cpu_joules(power)
    total = float(cpu.sum())
    if total <= 0:
        return {}
    return {s.name: (joules * float(cpu[j]) / total, source) for j, s in enumerate(sites.sites) if cpu[j] > 0}
