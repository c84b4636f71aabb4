"""What the site policies share: per ready set, one option per site (when its tasks would start and finish there,
transfers included, and the carbon they would emit), and placing the set at the site chosen.

A set is placed at one site at a time (the policies differ only in which): its tasks go first-fit on the nodes of
that site its inputs have reached; those that do not fit now wait for the next pass (the engine wakes the set when
its inputs reach a site, and a pass follows every task's end). The estimate of an option at site S, for the set's n
ready tasks of variant v: start = max(when its inputs are at S, when one task first fits on a node of S); finish =
start + ceil(n / slots) x run time at the fastest speed of S, slots being how many tasks S's nodes hold when empty.
Its energy is n x run time x per-task power x PUE, the per-task power being core_w per core and gpu_w per GPU plus
the task's share of its node's idle power (the share of the node's full-load power its resources stand for: how
sites/energy.py attributes idle power); its carbon that energy times the site's mean intensity over [start, finish].
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

from hetflow.core.policy import Placement
from hetflow.core.view import PlacementView, ReadySet
from hetflow.errors import SpecError
from hetflow.policies.fit import plain_first_fit
from hetflow.spec.platform import Node
from hetflow.spec.resources import GPU_UNIT, Resources
from hetflow.spec.site import PowerModel, Sites

J_PER_KWH = 3.6e6


class Series(Protocol):
    """A site's carbon intensity in gCO2eq/kWh over a run's time (hetflow.sites.intensity.Intensity)."""

    def at(self, t: float, /) -> float: ...

    def mean(self, t0: float, t1: float, /) -> float: ...


@dataclass(frozen=True)
class Grid:
    """What the carbon-aware policies know beyond the placement view: the sites (power models, PUE), each site's
    intensity over the run's time, the knobs, and for carbon-wait the time the workflow is held until (planned by
    hetflow.sim.sites from a fastest run)."""

    sites: Sites
    intensity: Mapping[str, Series]
    max_slowdown: float = 0.05
    deadline: float | None = None  # seconds after the run's start
    hold_until: float = 0.0


@dataclass(frozen=True, slots=True)
class Option:
    """The set's ready tasks at one site: the variant, when they would start and finish, and what they emit."""

    site: str | None
    variant: int
    start: float
    finish: float
    carbon_g: float


def task_watts(node: Node, need: Resources, power: PowerModel, pue: float) -> float:
    """Facility watts of one task on the node: its busy power plus its share of the node's idle power, x PUE."""
    busy = power.core_w * need.cores + power.gpu_w * need.gpu_units / GPU_UNIT
    full = power.core_w * node.cores + power.gpu_w * node.gpu_units / GPU_UNIT
    share = busy / full if full > 0 else (need.cores / node.cores if node.cores else 0.0)
    return (busy + power.idle_w * share) * pue


def slots(node: Node, need: Resources) -> int:
    """How many tasks of the need an empty node holds (by cores and GPUs)."""
    k = node.cores // need.cores if need.cores else 1 << 30
    if need.gpu_units:
        k = min(k, node.gpu_units // need.gpu_units)
    return k


class SitePolicy:
    """Longest remaining path first (as heft); each set at the site `choose` picks among its options."""

    def __init__(self, grid: Grid | None = None) -> None:
        self.grid = grid

    def priority(self, s: ReadySet, view: PlacementView) -> tuple[float, ...]:
        return (-s.rank, s.seq)

    def place(self, s: ReadySet, view: PlacementView) -> Iterator[Placement]:
        options = self.options(s, view)
        if not options:
            return iter(())
        best = self.choose(options, view)
        nodes = [i for i in view.usable_nodes(s, best.variant) if view.nodes[i].site == best.site]
        return plain_first_fit(view, s, best.variant, nodes)

    def choose(self, options: list[Option], view: PlacementView) -> Option:
        """The earliest finish (ties: the earliest start, then the first site)."""
        return min(options, key=lambda o: (o.finish, o.start))

    def options(self, s: ReadySet, view: PlacementView) -> list[Option]:
        """Per site, the variant that finishes the set's ready tasks there first."""
        now, nodes, n = view.now, view.nodes, max(1, s.n_ready)
        best: dict[str | None, Option] = {}
        for variant, v in enumerate(s.variants):
            need = v.resources
            by_site: dict[str | None, list[int]] = {}
            for i in view.eligible_nodes(s, variant):
                by_site.setdefault(nodes[i].site, []).append(i)
            for site, members in by_site.items():
                room = sum(slots(nodes[i], need) for i in members)
                if not room:
                    continue
                free = min(view.available_at(i, need) for i in members)
                start = max(view.arrival(s, members[0]), free)
                fastest = max(nodes[i].speed for i in members)
                run = v.runtime / fastest
                finish = start + math.ceil(n / room) * run
                carbon = self.carbon_g(site, nodes[members[0]], need, n * run, start, finish)
                got = best.get(site)
                if got is None or (finish, start) < (got.finish, got.start):
                    best[site] = Option(site, variant, start, finish, carbon)
        return list(best.values())

    def carbon_g(self, site: str | None, node: Node, need: Resources, task_s: float, t0: float, t1: float) -> float:
        """Grams emitted by task_s task-seconds of the need at the site over [t0, t1] (0 without a grid)."""
        grid = self.grid
        if grid is None or site is None:
            return 0.0
        where = grid.sites.site(site)
        watts = task_watts(node, need, where.power, where.pue)
        return watts * task_s * grid.intensity[site].mean(t0, t1) / J_PER_KWH

    def intensity_now(self, site: str | None, now: float) -> float:
        grid = self.grid
        return 0.0 if grid is None or site is None else grid.intensity[site].at(now)


def needs_grid(name: str, grid: Grid | None) -> Grid:
    """The grid of a carbon-aware policy, which cannot run without one."""
    if grid is None:
        raise SpecError(
            f"policy {name} needs the sites of the run and their carbon intensity",
            place="--policy",
            fix="give --sites SITES (or use fastest)",
        )
    return grid
