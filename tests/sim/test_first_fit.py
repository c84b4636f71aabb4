"""FirstFit's shortcuts (ledger counters, skipping needs that found no room in the pass) place like plain first-fit."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hetflow.core.policy import Placement
from hetflow.core.view import PlacementView, ReadySet
from hetflow.policies import fit
from hetflow.sim.simulator import run_simulation
from hetflow.spec.platform import Platform
from hetflow.spec.workflow import Workflow

from .test_properties import platforms, workflows


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(wf=workflows(), plat=platforms(), mode=st.sampled_from(["sync", "task"]))
def test_first_placement_of_every_call_is_plain_first_fits(wf: Workflow, plat: Platform, mode: str) -> None:
    place = fit.FirstFit.place
    calls = [0]

    def checked(
        self: fit.FirstFit, view: PlacementView, s: ReadySet, variant: int, nodes: Sequence[int]
    ) -> Iterator[Placement]:
        calls[0] += 1
        plain = next(fit.plain_first_fit(view, s, variant, nodes), None)
        got = place(self, view, s, variant, nodes)
        first = next(got, None)
        assert first == plain
        if first is not None:
            yield first
            yield from got

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(fit.FirstFit, "place", checked)
        for policy in ("fifo", "critical-path"):
            run_simulation(wf, plat, mode, policy)
    assert calls[0]
