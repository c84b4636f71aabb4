"""The sites model: where nodes are, how they are linked, what their power costs in carbon (DESIGN.md, "Sites").

Plain frozen dataclasses, like the platform: no pydantic, no yaml, no numpy, so a policy may read them. The loader
(spec/sites.py, `load_sites`) validates a sites file once and builds them; sites/ turns them into carbon-intensity
series and energy and carbon figures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import cached_property

from hetflow.spec.platform import Platform

IDLE_W = 100.0
"""Default idle power of a node in watts: a two-socket server at idle draws 50-150 W (SPECpower_ssj2008 results)."""
CORE_W = 5.0
"""Default power of one busy core in watts: a server CPU's TDP over its cores (e.g. 280 W / 64 cores, 270 W / 40)."""
GPU_W = 300.0
"""Default power of one busy GPU in watts: a data-centre GPU's board power (V100 300 W, A100 PCIe 300 W, SXM 400 W)."""


@dataclass(frozen=True, slots=True)
class PowerModel:
    """A node's power: idle_w while it is powered, plus core_w per busy core and gpu_w per busy GPU (a fraction of a
    GPU in proportion). Watts, per node."""

    idle_w: float = IDLE_W
    core_w: float = CORE_W
    gpu_w: float = GPU_W


@dataclass(frozen=True, slots=True)
class Link:
    """The network from one site to another: latency in seconds, bandwidth in bytes per second."""

    src: str
    dst: str
    latency: float
    bandwidth: float

    def transfer_s(self, size: float) -> float:
        """Seconds to move size bytes over this link: latency + size / bandwidth (nothing to move: no time)."""
        return self.latency + size / self.bandwidth if size > 0 else 0.0


@dataclass(frozen=True)
class Site:
    """A platform at one place. carbon is a constant intensity in gCO2eq/kWh or the path of an hourly CSV (columns
    timestamp and avg_CI); pue is the power usage effectiveness (facility power / IT power, >= 1)."""

    name: str
    platform: Platform
    carbon: float | str
    pue: float = 1.0
    power: PowerModel = PowerModel()
    endpoint: str | None = None


@dataclass(frozen=True)
class Sites:
    """Several sites, the links between them, and the origin (where inputs start and outputs must end)."""

    sites: tuple[Site, ...]
    links: tuple[Link, ...] = ()
    origin: str = ""
    source: str | None = None
    default_link: Link | None = None  # for pairs of sites no link names (src and dst "*")

    @cached_property
    def by_name(self) -> dict[str, Site]:
        return {s.name: s for s in self.sites}

    @cached_property
    def _links(self) -> dict[tuple[str, str], Link]:
        return {(k.src, k.dst): k for k in self.links}

    def site(self, name: str) -> Site:
        """The site of that name (KeyError when there is none)."""
        return self.by_name[name]

    def link(self, a: str, b: str) -> Link:
        """The link from site a to site b; within one site, a free one (no latency, infinite bandwidth). The loader
        made sure every pair of distinct sites has a link or a default, so only unknown names raise KeyError."""
        if a == b:
            if a not in self.by_name:
                raise KeyError(a)
            return Link(a, b, 0.0, math.inf)
        found = self._links.get((a, b))
        if found is not None:
            return found
        if a not in self.by_name or b not in self.by_name or self.default_link is None:
            raise KeyError((a, b))
        return replace(self.default_link, src=a, dst=b)

    def platform(self) -> Platform:
        """Every site's nodes as one platform: node types named SITE/TYPE, each with its site set, in site order."""
        types = tuple(
            replace(t, type=f"{s.name}/{t.type}", site=s.name) for s in self.sites for t in s.platform.node_types
        )
        return Platform("+".join(s.name for s in self.sites), types, source=self.source)
