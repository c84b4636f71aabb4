"""The site policies: carbon picks the greener site when its slack allows and the faster one when it does not;
greenest-now ignores time; carbon-wait never misses its deadline (hypothesis over random DAGs, sites and series)."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hetflow.errors import SpecError
from hetflow.policies import make_policy
from hetflow.policies.carbon_wait import greenest_start
from hetflow.policies.sited import Grid
from hetflow.sim.simulator import run_simulation
from hetflow.sim.sites import simulate_sites
from hetflow.spec.platform import NodeType, Platform
from hetflow.spec.resources import Resources
from hetflow.spec.site import Link, Site, Sites
from hetflow.spec.workflow import TaskSet, Workflow

HOUR = 3600.0


class Hourly:
    """An intensity that changes on the hour, repeating: values[k] from k h to k+1 h."""

    def __init__(self, values: list[float]) -> None:
        self.values = values

    def at(self, t: float) -> float:
        return self.values[int(t // HOUR) % len(self.values)]

    def mean(self, t0: float, t1: float) -> float:
        if t1 <= t0:
            return self.at(t0)
        total, t = 0.0, t0
        while t < t1:
            edge = min(t1, (math.floor(t / HOUR) + 1) * HOUR)
            total += self.at(t) * (edge - t)
            t = edge
        return total / (t1 - t0)


def two_sites(b_speed: float = 1.0, bandwidth: float = 1e9) -> Sites:
    a = Platform("a", (NodeType("cpu", 1, 8),))
    b = Platform("b", (NodeType("cpu", 1, 8, speed=b_speed),))
    links = (Link("dirty", "clean", 0.0, bandwidth), Link("clean", "dirty", 0.0, bandwidth))
    return Sites((Site("dirty", a, 500.0), Site("clean", b, 50.0)), links, "dirty")


SERIES = {"dirty": Hourly([500.0]), "clean": Hourly([50.0])}
ONE = Workflow("w", (TaskSet("T", 1, Resources(4), 100.0),))


def site_of(result: object) -> set[str]:
    return {iv.node.split("/")[0] for iv in result.intervals}  # type: ignore[attr-defined]


def test_carbon_picks_the_greener_site_when_its_slack_allows() -> None:
    sites = two_sites()
    assert site_of(simulate_sites(ONE, sites, "fastest", SERIES)) == {"dirty"}  # the origin, on a tie
    assert site_of(simulate_sites(ONE, sites, "carbon", SERIES)) == {"clean"}


def test_carbon_picks_the_faster_site_when_the_greener_is_too_slow() -> None:
    sites = two_sites(b_speed=0.9)  # 111 s at clean against 100 s at dirty: 11% slower
    assert site_of(simulate_sites(ONE, sites, "carbon", SERIES, max_slowdown=0.05)) == {"dirty"}
    assert site_of(simulate_sites(ONE, sites, "carbon", SERIES, max_slowdown=0.2)) == {"clean"}
    assert site_of(simulate_sites(ONE, sites, "greenest-now", SERIES)) == {"clean"}  # whatever it costs


def test_carbon_counts_the_transfer_in_the_slack() -> None:
    """P runs at dirty in its green hour; C reads P's 1 GB, which reaches clean 10 s after P ends (100 MB/s): 110 s
    at clean against 100 s at dirty, 10% slower, so C stays at dirty unless the slack is over 10%."""
    sites = two_sites(bandwidth=1e8)
    wf = Workflow(
        "w",
        (TaskSet("P", 1, Resources(4), HOUR, outputs=10**9), TaskSet("C", 1, Resources(4), 100.0, ("P",))),
    )
    series = {"dirty": Hourly([50.0, 500.0]), "clean": Hourly([100.0])}
    tight = simulate_sites(wf, sites, "carbon", series, max_slowdown=0.05)
    assert {iv.set: (iv.node, iv.start) for iv in tight.intervals} == {
        "P": ("dirty/cpu-0", 0.0),
        "C": ("dirty/cpu-0", HOUR),
    }
    assert tight.transfers == []
    loose = simulate_sites(wf, sites, "carbon", series, max_slowdown=0.2)
    assert {iv.set: (iv.node, iv.start) for iv in loose.intervals} == {
        "P": ("dirty/cpu-0", 0.0),
        "C": ("clean/cpu-0", HOUR + 10.0),
    }
    assert [(t.src_site, t.dst_site, t.size) for t in loose.transfers] == [("dirty", "clean", 10**9)]


def test_carbon_policies_need_sites() -> None:
    with pytest.raises(SpecError, match="needs the sites"):
        make_policy("carbon")


def test_greenest_start_picks_the_greenest_hour_that_meets_the_deadline() -> None:
    sites = two_sites()
    series = {"dirty": Hourly([500.0, 400.0, 100.0, 300.0]), "clean": Hourly([50.0])}
    draws = [("dirty", 0.0, 1800.0, 1000.0)]
    assert greenest_start(draws, Grid(sites, series, deadline=4 * HOUR), 1800.0) == 2 * HOUR
    assert greenest_start(draws, Grid(sites, series, deadline=2 * HOUR), 1800.0) == HOUR  # 2 h + 0.5 h is late
    assert greenest_start(draws, Grid(sites, series, deadline=None), 1800.0) == 0.0


def test_carbon_wait_waits_for_the_green_hour_holding_nothing() -> None:
    sites = two_sites()
    series = {"dirty": Hourly([500.0, 400.0, 100.0, 300.0]), "clean": Hourly([500.0, 400.0, 100.0, 300.0])}
    r = simulate_sites(ONE, sites, "carbon-wait", series, deadline=5 * HOUR)
    assert [(iv.start, iv.end) for iv in r.intervals] == [(2 * HOUR, 2 * HOUR + 100.0)]


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Workflow, Sites, dict[str, Hourly], float]:
    n = draw(st.integers(1, 6))
    sets = []
    for i in range(n):
        parents = tuple(f"S{j}" for j in range(i) if draw(st.booleans()))
        sets.append(
            TaskSet(
                f"S{i}",
                draw(st.integers(1, 3)),
                Resources(draw(st.integers(1, 4))),
                float(draw(st.integers(1, 7200))),
                parents,
                outputs=draw(st.sampled_from([0, 10**6, 10**9])),
            )
        )
    k = draw(st.integers(1, 3))
    names = [f"s{j}" for j in range(k)]
    made = tuple(
        Site(
            name,
            Platform(
                name, (NodeType("cpu", draw(st.integers(1, 2)), 4, speed=draw(st.sampled_from([0.5, 1.0, 2.0]))),)
            ),
            1.0,
        )
        for name in names
    )
    default = Link("*", "*", draw(st.sampled_from([0.0, 0.05])), draw(st.sampled_from([1e6, 1e9])))
    sites = Sites(made, (), names[0], default_link=default)
    series = {name: Hourly(draw(st.lists(st.floats(10, 600), min_size=1, max_size=30))) for name in names}
    slack = draw(st.floats(0, 48 * HOUR))
    return Workflow("w", tuple(sets)), sites, series, slack


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_carbon_wait_never_misses_its_deadline(case: tuple[Workflow, Sites, dict[str, Hourly], float]) -> None:
    wf, sites, series, slack = case
    fastest = simulate_sites(wf, sites, "fastest", series)
    deadline = fastest.makespan_s + slack
    waited = simulate_sites(wf, sites, "carbon-wait", series, deadline=deadline)
    assert waited.makespan_s <= deadline + 1e-6
    assert waited.makespan_s >= fastest.makespan_s - 1e-6


def test_without_sites_fastest_runs_on_one_platform() -> None:
    pf = Platform("p", (NodeType("cpu", 2, 4),))
    wf = Workflow("w", (TaskSet("A", 3, Resources(4), 10.0), TaskSet("B", 1, Resources(4), 5.0, ("A",))))
    r = run_simulation(wf, pf, policy="fastest")
    assert r.makespan_s == 25.0
