"""Scheduling policies, one per module, by name."""

from __future__ import annotations

from collections.abc import Callable

from hetflow.core.policy import Policy
from hetflow.errors import SpecError
from hetflow.policies.best_fit import BestFit
from hetflow.policies.carbon import Carbon
from hetflow.policies.carbon_wait import CarbonWait
from hetflow.policies.critical_path import CriticalPath
from hetflow.policies.dot_product import DotProduct
from hetflow.policies.fastest import Fastest
from hetflow.policies.fifo import Fifo
from hetflow.policies.gpu_clustering import GpuClustering
from hetflow.policies.gpu_packing import GpuPacking
from hetflow.policies.greenest_now import GreenestNow
from hetflow.policies.heft import Heft, Hha
from hetflow.policies.random_fit import RandomFit
from hetflow.policies.sited import Grid


def _fgd() -> Policy:
    """fgd, imported when it is chosen: its fragment vectors need numpy, which no other policy loads."""
    from hetflow.policies.fgd import Fgd

    return Fgd()


POLICIES: dict[str, Callable[[], Policy]] = {
    "fifo": Fifo,
    "critical-path": CriticalPath,
    "best-fit": BestFit,
    "heft": Heft,
    "hha": Hha,
    "random": RandomFit,
    "dot-product": DotProduct,
    "gpu-packing": GpuPacking,
    "gpu-clustering": GpuClustering,
    "fgd": _fgd,
}

SITE_POLICIES: dict[str, Callable[[Grid | None], Policy]] = {
    "fastest": Fastest,
    "greenest-now": GreenestNow,
    "carbon": Carbon,
    "carbon-wait": CarbonWait,
}
"""Policies across sites (policies/sited.py): all but fastest need the grid (sites, intensities, knobs)."""


def make_policy(name: str, grid: Grid | None = None) -> Policy:
    """A fresh policy by name (a site policy with the run's grid); an unknown name lists the valid ones."""
    if name in SITE_POLICIES:
        return SITE_POLICIES[name](grid)
    if name not in POLICIES:
        valid = ", ".join([*POLICIES, *SITE_POLICIES])
        raise SpecError(f"unknown policy {name!r}", place="--policy", fix=f"use one of {valid}")
    return POLICIES[name]()


PACKING = ("random", "dot-product", "gpu-packing", "gpu-clustering", "best-fit", "fgd")
"""The policies `hetflow pack --policy all` compares: the FGD paper's baselines and fgd."""

__all__ = ["PACKING", "POLICIES", "SITE_POLICIES", "Grid", "Policy", "make_policy"]
