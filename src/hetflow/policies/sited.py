"""What the site policies share: per ready set, one option per site (when a task of it would start and finish
there, transfers included, and the carbon it would emit), and placing the set's tasks at the sites chosen.

The policies differ only in `choose`. A pass places a set's ready tasks a chunk at a time: the options are worked
out, one is chosen, as many tasks as fit there now go first-fit onto the nodes of that site its inputs have
reached, and again, until the site chosen has no room now; the rest wait (the engine wakes the set when its inputs
reach a site, and a pass follows every task's end). An option at site S for variant v: where some task fits now on a
node of S its inputs have reached, start = now; else start = max(when its inputs are at S, when one task first fits
on a node of S: core/estimate.py); finish = start + run time at the fastest such node. Its energy is run time x the
task's power x PUE, the power being core_w per core and gpu_w per GPU plus the task's share of its node's idle power
(the share of the node's full-load power its resources stand for, as sites/energy.py attributes idle power); its
carbon that energy times the site's mean intensity over [start, finish].
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
    """A task of the set at one site: the variant, when it would start and finish, what it would emit, and how
    many of the set's ready tasks fit there now."""

    site: str | None
    variant: int
    start: float
    finish: float
    carbon_g: float
    room: int


def task_watts(node: Node, need: Resources, power: PowerModel, pue: float) -> float:
    """Facility watts of one task on the node: its busy power plus its share of the node's idle power, x PUE."""
    busy = power.core_w * need.cores + power.gpu_w * need.gpu_units / GPU_UNIT
    full = power.core_w * node.cores + power.gpu_w * node.gpu_units / GPU_UNIT
    share = busy / full if full > 0 else (need.cores / node.cores if node.cores else 0.0)
    return (busy + power.idle_w * share) * pue


class SitePolicy:
    """Longest remaining path first (as heft); the set's ready tasks go, a chunk at a time, to the site `choose`
    picks among the options, until the site picked has no room now (the rest wait for a later pass)."""

    def __init__(self, grid: Grid | None = None) -> None:
        self.grid = grid

    def priority(self, s: ReadySet, view: PlacementView) -> tuple[float, ...]:
        return (-s.rank, s.seq)

    def place(self, s: ReadySet, view: PlacementView) -> Iterator[Placement]:
        while s.n_ready:  # the engine applies each placement before asking for the next
            options = self.options(s, view)
            if not options:
                return
            best = self.choose(options, view)
            if not best.room:
                return  # the site it should go to is busy or its inputs are on their way: it waits
            site, before = best.site, s.n_ready
            nodes = [i for i in view.usable_nodes(s, best.variant) if view.nodes[i].site == site]
            yield from plain_first_fit(view, s, best.variant, nodes)
            if s.n_ready == before:  # pragma: no cover - room said some fit
                return

    def choose(self, options: list[Option], view: PlacementView) -> Option:
        """The earliest finish (ties: the earliest start, then the origin, where a run's inputs start, then the
        first site)."""
        origin = self.grid.sites.origin if self.grid is not None else None
        return min(options, key=lambda o: (o.finish, o.start, o.site != origin))

    def options(self, s: ReadySet, view: PlacementView) -> list[Option]:
        """Per site, the variant that finishes a task of the set there first: now + its run time where one fits
        now (room: how many of the ready tasks fit now), else when one first fits (its inputs there, a node free)."""
        now, nodes, left = view.now, view.nodes, s.n_ready
        best: dict[str | None, Option] = {}
        for variant, v in enumerate(s.variants):
            need = v.resources
            by_site: dict[str | None, list[int]] = {}
            for i in view.eligible_nodes(s, variant):
                by_site.setdefault(nodes[i].site, []).append(i)
            arrived = set(view.usable_nodes(s, variant))
            for site, members in by_site.items():
                room, speed = 0, 0.0
                for i in members:
                    if i in arrived and room < left:
                        k = view.fit_count(i, need, left - room)
                        if k:
                            room += k
                            speed = max(speed, nodes[i].speed)
                if room:
                    start = now
                else:
                    start = max(view.arrival(s, members[0]), min(view.available_at(i, need) for i in members))
                    speed = max(nodes[i].speed for i in members)
                if start == math.inf:
                    continue
                run = v.runtime / speed
                carbon = self.carbon_g(site, nodes[members[0]], need, run, start, start + run)
                option = Option(site, variant, start, start + run, carbon, room)
                got = best.get(site)
                if got is None or (option.finish, option.start) < (got.finish, got.start):
                    best[site] = option
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
