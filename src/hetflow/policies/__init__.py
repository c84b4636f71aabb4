"""Scheduling policies, one per module, by name."""

from __future__ import annotations

from collections.abc import Callable

from hetflow.core.policy import Policy
from hetflow.errors import SpecError
from hetflow.policies.best_fit import BestFit
from hetflow.policies.critical_path import CriticalPath
from hetflow.policies.dot_product import DotProduct
from hetflow.policies.fgd import Fgd
from hetflow.policies.fifo import Fifo
from hetflow.policies.gpu_clustering import GpuClustering
from hetflow.policies.gpu_packing import GpuPacking
from hetflow.policies.heft import Heft, Hha
from hetflow.policies.random_fit import RandomFit

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
    "fgd": Fgd,
}


def make_policy(name: str) -> Policy:
    """A fresh policy by name; an unknown name lists the valid ones."""
    if name not in POLICIES:
        raise SpecError(f"unknown policy {name!r}", place="--policy", fix=f"use one of {', '.join(POLICIES)}")
    return POLICIES[name]()


PACKING = ("random", "dot-product", "gpu-packing", "gpu-clustering", "best-fit", "fgd")
"""The policies `hetflow pack --policy all` compares: the FGD paper's baselines and fgd."""

__all__ = ["PACKING", "POLICIES", "Policy", "make_policy"]
