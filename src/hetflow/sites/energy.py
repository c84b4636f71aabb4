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

from hetflow.errors import SpecError
from hetflow.sites.intensity import Floats, Intensity
from hetflow.spec.platform import Node
from hetflow.spec.resources import GPU_UNIT
from hetflow.spec.site import PowerModel, Sites
from hetflow.spec.trace import Interval

J_PER_KWH = 3.6e6


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
            "energy_kwh": round(self.energy_kwh, 9),
            "carbon_g": round(self.carbon_g, 6),
            "idle_kwh": round(self.idle_kwh, 9),
            "idle_g": round(self.idle_g, 6),
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
    start: float = 0.0  # seconds since the epoch when the run began (its time 0)

    @property
    def power_source(self) -> str:
        """ "model", or what measured it (e.g. "rapl"), or "rapl+model" when sites differ."""
        kinds = sorted({s.power_source for s in self.sites})
        return "+".join(kinds) if kinds else "model"

    def summary(self) -> dict[str, Any]:
        """What --json adds to a result: energy_kwh, carbon_g, the power source, per site and per set."""
        from datetime import UTC, datetime

        return {
            "energy_kwh": round(self.energy_kwh, 9),
            "carbon_g": round(self.carbon_g, 6),
            "power_source": self.power_source,
            "start": datetime.fromtimestamp(self.start, UTC).isoformat().replace("+00:00", "Z"),
            "sites": {s.site: s.summary() for s in self.sites},
            "sets": {k: {"energy_kwh": round(e, 9), "carbon_g": round(g, 6)} for k, (e, g) in self.sets.items()},
        }


def account(
    intervals: Sequence[Interval],
    sites: Sites,
    series: Mapping[str, Intensity],
    *,
    origin: float = 0.0,
    start: float = 0.0,
    measured: Mapping[str, tuple[float, str]] | None = None,
) -> Footprint:
    """The footprint of a run on sites.platform(): intervals on the clock where the run began at `origin`, series
    by site name (intensities for the run's time). measured: per site, (joules, source) read by a meter over the
    run (sites/rapl.py); the model's idle and core power of that site are scaled so that their energy equals it
    (GPUs stay modelled: the meters read CPU packages)."""
    nodes = {n.name: n for n in sites.platform().nodes()}
    by_site: dict[str, list[int]] = {s.name: [] for s in sites.sites}
    for i, iv in enumerate(intervals):
        node = nodes.get(iv.node)
        if node is None or node.site is None:
            raise SpecError(
                f"task set {iv.set} ran on node {iv.node!r}, which no site has",
                source=sites.source,
                fix="account the run with the sites file it ran on (node names SITE/TYPE-i)",
            )
        by_site[node.site].append(i)
    task_kwh, task_g = np.zeros(len(intervals)), np.zeros(len(intervals))
    out = []
    for site in sites.sites:
        idx = np.asarray(by_site[site.name], dtype=np.int64)
        chosen = [intervals[i] for i in idx]
        power, source = site.power, "model"
        if measured and site.name in measured:
            joules, source = measured[site.name]
            power = calibrated(power, chosen, nodes, joules)
        part = _site_part(chosen, nodes, power, site.pue, series[site.name], origin)
        task_kwh[idx], task_g[idx] = part[0], part[1]
        idle_kwh, idle_g, n_nodes = part[2], part[3], part[4]
        energy, carbon = float(part[0].sum()) + idle_kwh, float(part[1].sum()) + idle_g
        tasks = sum(iv.n for iv in chosen)
        out.append(SiteFootprint(site.name, energy, carbon, idle_kwh, idle_g, tasks, n_nodes, source))
    sets: dict[str, tuple[float, float]] = {}
    for iv, e, g in zip(intervals, task_kwh.tolist(), task_g.tolist(), strict=True):
        e0, g0 = sets.get(iv.set, (0.0, 0.0))
        sets[iv.set] = (e0 + e, g0 + g)
    total_e, total_g = sum(s.energy_kwh for s in out), sum(s.carbon_g for s in out)
    return Footprint(total_e, total_g, tuple(out), task_kwh, task_g, sets, start)


def _arrays(chosen: Sequence[Interval], nodes: Mapping[str, Node], origin: float) -> dict[str, Any]:
    """Columns of a site's intervals, and per interval the index of its node among the site's powered nodes."""
    names = sorted({iv.node for iv in chosen})
    where = {name: k for k, name in enumerate(names)}
    return {
        "t0": np.array([iv.start - origin for iv in chosen], dtype=np.float64),
        "t1": np.array([iv.end - origin for iv in chosen], dtype=np.float64),
        "n": np.array([iv.n for iv in chosen], dtype=np.float64),
        "cores": np.array([iv.cores for iv in chosen], dtype=np.float64),
        "gpus": np.array([iv.gpu_units / GPU_UNIT for iv in chosen], dtype=np.float64),
        "node": np.array([where[iv.node] for iv in chosen], dtype=np.int64),
        "node_cores": np.array([nodes[k].cores for k in names], dtype=np.float64),
        "node_gpus": np.array([nodes[k].gpu_units / GPU_UNIT for k in names], dtype=np.float64),
    }


def _shares(a: dict[str, Any], power: PowerModel) -> tuple[Floats, Floats]:
    """(dynamic W per task, share of its node's idle power per task)."""
    dynamic = power.core_w * a["cores"] + power.gpu_w * a["gpus"]
    full = (power.core_w * a["node_cores"] + power.gpu_w * a["node_gpus"])[a["node"]]
    by_cores = np.divide(
        a["cores"], a["node_cores"][a["node"]], out=np.zeros_like(dynamic), where=a["node_cores"][a["node"]] > 0
    )
    weight = np.divide(dynamic, full, out=by_cores, where=full > 0)
    return dynamic, weight


def _spans(a: dict[str, Any]) -> tuple[Floats, Floats]:
    """Per powered node, its first start and last end."""
    k = len(a["node_cores"])
    first, last = np.full(k, np.inf), np.full(k, -np.inf)
    np.minimum.at(first, a["node"], a["t0"])
    np.maximum.at(last, a["node"], a["t1"])
    return first, last


def _site_part(
    chosen: Sequence[Interval],
    nodes: Mapping[str, Node],
    power: PowerModel,
    pue: float,
    series: Intensity,
    origin: float,
) -> tuple[Floats, Floats, float, float, int]:
    """(kWh per interval, g per interval, unattributed idle kWh, its g, nodes powered) of one site."""
    if not chosen:
        return np.zeros(0), np.zeros(0), 0.0, 0.0, 0
    a = _arrays(chosen, nodes, origin)
    dynamic, weight = _shares(a, power)
    watts = pue * (dynamic + power.idle_w * weight) * a["n"]  # what the interval's tasks draw together
    task_kwh = watts * (a["t1"] - a["t0"]) / J_PER_KWH
    task_g = watts * series.integrals(a["t0"], a["t1"]) / J_PER_KWH
    first, last = _spans(a)
    idle_w = pue * power.idle_w
    node_kwh = idle_w * float((last - first).sum()) / J_PER_KWH
    node_g = idle_w * float(series.integrals(first, last).sum()) / J_PER_KWH
    held = pue * power.idle_w * weight * a["n"]
    held_kwh = float((held * (a["t1"] - a["t0"])).sum()) / J_PER_KWH
    held_g = float((held * series.integrals(a["t0"], a["t1"])).sum()) / J_PER_KWH
    return task_kwh, task_g, node_kwh - held_kwh, node_g - held_g, len(first)


def model_cpu_joules(chosen: Sequence[Interval], nodes: Mapping[str, Node], power: PowerModel) -> float:
    """The IT energy (no PUE) the model gives a site's idle and core power over its intervals: what a CPU meter sees."""
    if not chosen:
        return 0.0
    a = _arrays(chosen, nodes, 0.0)
    first, last = _spans(a)
    return power.idle_w * float((last - first).sum()) + power.core_w * float(
        (a["cores"] * a["n"] * (a["t1"] - a["t0"])).sum()
    )


def calibrated(power: PowerModel, chosen: Sequence[Interval], nodes: Mapping[str, Node], joules: float) -> PowerModel:
    """The power model with its idle and core watts scaled so that the model's CPU energy equals the measured one."""
    modelled = model_cpu_joules(chosen, nodes, power)
    if modelled <= 0:
        return power
    k = joules / modelled
    return replace(power, idle_w=power.idle_w * k, core_w=power.core_w * k)
