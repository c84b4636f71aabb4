"""Scheduling policies, one per module, by name."""

from __future__ import annotations

from collections.abc import Callable

from hetflow.core.policy import Policy
from hetflow.errors import SpecError
from hetflow.policies.best_fit import BestFit
from hetflow.policies.critical_path import CriticalPath
from hetflow.policies.fifo import Fifo
from hetflow.policies.heft import Heft

POLICIES: dict[str, Callable[[], Policy]] = {
    "fifo": Fifo,
    "critical-path": CriticalPath,
    "best-fit": BestFit,
    "heft": Heft,
}


def make_policy(name: str) -> Policy:
    """A fresh policy by name; an unknown name lists the valid ones."""
    if name not in POLICIES:
        raise SpecError(f"unknown policy {name!r}", place="--policy", fix=f"use one of {', '.join(POLICIES)}")
    return POLICIES[name]()


__all__ = ["POLICIES", "Policy", "make_policy"]
