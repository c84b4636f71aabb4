"""Placement by score, shared by the packing policies: each ready task on the usable node with the smallest key.

The packing policies (fgd and the baselines of the FGD paper) differ only in the key they give a node for one task
of a set; everything else (the variant, the nodes it may use, placing one task at a time so that the next one sees
the ledger after the last) is this loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from hetflow.core.policy import Placement
from hetflow.core.view import PlacementView, ReadySet
from hetflow.policies.fit import first_variant
from hetflow.spec.resources import Resources

NodeKey = Callable[[int, Resources], Any]  # (node index, need) -> sort key; smaller is better


def place_by_key(s: ReadySet, view: PlacementView, key: NodeKey) -> Iterator[Placement]:
    """One task at a time on the fitting node with the smallest key (ties: the lowest node index)."""
    variant = first_variant(view, s)
    need = s.variants[variant].resources
    nodes = view.usable_nodes(s, variant)
    fit_count, free_cores, free_gpu = view.fit_count, view.free_cores, view.free_gpu_units
    while s.n_ready:
        best, best_key = -1, None
        for i in nodes:
            if free_cores[i] < need.cores or free_gpu[i] < need.gpu_units or not fit_count(i, need, 1):
                continue
            k = key(i, need)
            if best < 0 or k < best_key:
                best, best_key = i, k
        if best < 0:
            return
        yield best, variant, 1


def gpu_slots(need: Resources, unit: int) -> tuple[int, int]:
    """A GPU need as (GPUs, units wanted on each): a fraction is one GPU's share, whole GPUs want all of each."""
    g = need.gpu_units
    if g <= unit:
        return (1, g) if g else (0, 0)
    return -(-g // unit), unit
