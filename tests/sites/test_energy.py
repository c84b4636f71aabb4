"""Energy and carbon of runs small enough to work out by hand, exactly; and sums that must add up."""

from __future__ import annotations

from pathlib import Path

import pytest

from hetflow.errors import SpecError
from hetflow.sim.simulator import run_simulation
from hetflow.sites.energy import Footprint, account, share_measured
from hetflow.sites.intensity import intensities, parse_start
from hetflow.spec.load import load_workflow
from hetflow.spec.site import Sites
from hetflow.spec.sites import load_sites
from hetflow.spec.trace import Interval
from tests.shared import SEED_WORKFLOW
from tests.sites.files import site, two_hour_csv

START = "2022-01-01T00:30Z"


def footprint(sites: Sites, intervals: list[Interval], start: str = START) -> Footprint:
    t0 = parse_start(start)
    return account(intervals, sites, intensities(sites, t0), start=t0)


def task(node: str, start: float, end: float, cores: int = 1, gpu_units: int = 0, n: int = 1) -> Interval:
    return Interval("T", 0, n, node, start, end, cores, gpu_units)


def test_one_task_one_node_constant_intensity() -> None:
    """4 cores, idle 100 W, 10 W a core; a 2-core task for an hour takes 20 W plus half the idle power (its part of
    the node's full-load power): 70 W, 0.07 kWh; the node draws 100 W idle all hour, so the site uses 0.12 kWh, and
    at 500 g/kWh 60 g. The idle half no task held is the site's unattributed idle."""
    sites = load_sites({"sites": [site("a", 500, power={"idle_w": 100, "core_w": 10, "gpu_w": 0})]})
    f = footprint(sites, [task("a/n-0", 0, 3600, cores=2)])
    assert f.task_kwh.tolist() == pytest.approx([0.07], rel=1e-12)
    assert f.task_g.tolist() == pytest.approx([35.0], rel=1e-12)
    (a,) = f.sites
    assert (a.energy_kwh, a.carbon_g, a.idle_kwh, a.idle_g) == pytest.approx((0.12, 60.0, 0.05, 25.0), rel=1e-12)
    assert (f.energy_kwh, f.carbon_g, a.tasks, a.nodes, f.power_source) == pytest.approx((0.12, 60.0, 1, 1, "model"))


def test_pue_scales_energy_and_carbon() -> None:
    sites = load_sites({"sites": [site("a", 500, pue=1.5, power={"idle_w": 100, "core_w": 10, "gpu_w": 0})]})
    f = footprint(sites, [task("a/n-0", 0, 3600, cores=2)])
    assert (f.energy_kwh, f.carbon_g, f.task_kwh[0]) == pytest.approx((0.18, 90.0, 0.105), rel=1e-12)


def test_a_task_across_an_hour_boundary_is_split_there(tmp_path: Path) -> None:
    """From 00:30 to 01:30: half an hour at 100 g/kWh, half at 300. A 1 kW task: 1 kWh and 200 g, not 100 or 300."""
    csv = two_hour_csv(tmp_path / "grid.csv")
    sites = load_sites({"sites": [site("a", str(csv), cores=1, power={"idle_w": 0, "core_w": 1000, "gpu_w": 0})]})
    f = footprint(sites, [task("a/n-0", 0, 3600)])
    assert (f.energy_kwh, f.carbon_g) == pytest.approx((1.0, 200.0), rel=1e-12)
    series = intensities(sites, parse_start(START))["a"]
    assert (series.at(0), series.at(1799.9), series.at(1800), series.mean(0, 3600)) == (100, 100, 300, 200)
    assert series.integral(1000, 2000) == pytest.approx(800 * 100 + 200 * 300)
    later = footprint(sites, [task("a/n-0", 0, 3600)], start="2022-01-01T01:00Z")  # past the file: its last hour
    assert later.carbon_g == pytest.approx(300.0, rel=1e-12)


def test_idle_power_of_a_powered_node_between_and_beside_tasks() -> None:
    """Two 1-core nodes drawing 360 W idle and nothing more. One runs a task over [0, 100] and one over [300, 400]:
    it is powered 400 s (0.04 kWh), its tasks hold the idle power 200 s (0.02 kWh), the gap is the site's. The
    other node ran nothing: it is off, and costs nothing."""
    sites = load_sites({"sites": [site("a", 1000, cores=1, count=2, power={"idle_w": 360, "core_w": 0, "gpu_w": 0})]})
    f = footprint(sites, [task("a/n-0", 0, 100), task("a/n-0", 300, 400)])
    (a,) = f.sites
    assert f.task_kwh.tolist() == pytest.approx([0.01, 0.01], rel=1e-12)
    assert (a.energy_kwh, a.idle_kwh, a.nodes) == pytest.approx((0.04, 0.02, 1), rel=1e-12)
    assert a.carbon_g == pytest.approx(40.0, rel=1e-12)


def test_gpu_fractions_and_batches() -> None:
    """A batch of 2 tasks, each 1 core and a quarter GPU, on a 4-core 1-GPU node (idle 100, 10 W a core, 400 W a
    GPU): each draws 10 + 100 W and takes (110 / 440) of the idle power, 25 W: 270 W together, for 100 s."""
    sites = load_sites({"sites": [site("a", 0, cores=4, gpus=1, power={"idle_w": 100, "core_w": 10, "gpu_w": 400})]})
    f = footprint(sites, [task("a/n-0", 0, 100, cores=1, gpu_units=2500, n=2)])
    assert f.task_kwh[0] == pytest.approx(270 * 100 / 3.6e6, rel=1e-12)
    assert f.energy_kwh == pytest.approx((220 + 100) * 100 / 3.6e6, rel=1e-12) and f.carbon_g == 0


def test_per_site_and_per_set_sum_to_the_total(tmp_path: Path) -> None:
    """The seed workflow on two sites: tasks plus unattributed idle make each site, the sites the total, the sets
    the tasks; the simulator's intervals are accounted as they come (origin 0)."""
    csv = two_hour_csv(tmp_path / "grid.csv")
    nodes = {"cores": 42, "gpus": 6, "count": 15}
    sites = load_sites(
        {
            "sites": [site("green", str(csv), pue=1.1, **nodes), site("brown", 700.0, pue=1.4, **nodes)],
            "links": [{"from": "green", "to": "brown", "latency": "40ms", "bandwidth": "1GB/s"}],
        }
    )
    result = run_simulation(load_workflow(SEED_WORKFLOW), sites.platform(), "task", "fifo")
    f = footprint(sites, result.intervals, start="2022-01-01T00:45Z")  # 1700 s: across 01:00
    assert {s.site for s in f.sites} == {"green", "brown"} and all(s.tasks > 0 for s in f.sites)
    assert sum(s.energy_kwh for s in f.sites) == pytest.approx(f.energy_kwh, rel=1e-12)
    assert sum(s.carbon_g for s in f.sites) == pytest.approx(f.carbon_g, rel=1e-12)
    assert float(f.task_kwh.sum()) + sum(s.idle_kwh for s in f.sites) == pytest.approx(f.energy_kwh, rel=1e-9)
    assert float(f.task_g.sum()) + sum(s.idle_g for s in f.sites) == pytest.approx(f.carbon_g, rel=1e-9)
    assert sum(e for e, _ in f.sets.values()) == pytest.approx(float(f.task_kwh.sum()), rel=1e-9)
    assert all(s.idle_kwh >= 0 for s in f.sites)
    green, brown = f.sites
    assert brown.carbon_g / brown.energy_kwh == pytest.approx(700.0, rel=1e-9)  # a constant: g/kWh exactly
    assert 100 < green.carbon_g / green.energy_kwh < 300


def test_a_measured_energy_rescales_the_model() -> None:
    """A meter read 2x the model's CPU energy: idle and core watts double, GPUs stay modelled; the source is said."""
    sites = load_sites({"sites": [site("a", 500, cores=4, gpus=1, power={"idle_w": 100, "core_w": 10, "gpu_w": 300})]})
    ivs = [task("a/n-0", 0, 3600, cores=2, gpu_units=10000)]
    model = footprint(sites, ivs)
    measured_j = 2 * (100 + 20) * 3600.0
    t0 = parse_start(START)
    f = account(ivs, sites, intensities(sites, t0), start=t0, measured={"a": (measured_j, "rapl")})
    assert f.energy_kwh == pytest.approx((2 * 120 + 300) * 3600 / 3.6e6, rel=1e-12)
    assert model.energy_kwh == pytest.approx(420 * 3600 / 3.6e6, rel=1e-12)
    assert (f.power_source, f.summary()["sites"]["a"]["power_source"]) == ("rapl", "rapl")


def test_an_interval_on_a_node_of_no_site_is_bad_input() -> None:
    sites = load_sites({"sites": [site("a", 500)]})
    with pytest.raises(SpecError, match="ran on node 'elsewhere-0', which no site has"):
        footprint(sites, [task("elsewhere-0", 0, 1)])


def test_a_run_on_a_sites_own_platform_and_a_machine_wide_measure() -> None:
    """Node names of a site's own platform (TYPE-i, as a real run on its platform file records them) are that
    site's when no other site has the name; one machine's measure is shared by the model's CPU energy."""
    power = {"idle_w": 100, "core_w": 10, "gpu_w": 0}
    a, b = site("a", 100, power=power), site("b", 300, cores=2, power=power)
    b["platform"]["nodes"][0]["type"] = "m"
    sites = load_sites({"sites": [a, b], "default_link": {"bandwidth": 1}})
    ivs = [task("n-0", 0, 3600, cores=2), task("b/m-0", 0, 3600, cores=2)]
    f = footprint(sites, ivs)
    assert [(s.site, s.tasks) for s in f.sites] == [("a", 1), ("b", 1)]
    assert [s.energy_kwh for s in f.sites] == pytest.approx([0.12, 0.12], rel=1e-12)
    shared = share_measured(4 * 0.12 * 3.6e6, "rapl", ivs, sites)  # twice what the model says of each site
    assert shared == {"a": pytest.approx((0.24 * 3.6e6, "rapl")), "b": pytest.approx((0.24 * 3.6e6, "rapl"))}
    t0 = parse_start(START)
    doubled = account(ivs, sites, intensities(sites, t0), start=t0, measured=shared)
    assert doubled.energy_kwh == pytest.approx(0.48, rel=1e-12)
    assert doubled.carbon_g == pytest.approx(0.24 * 100 + 0.24 * 300, rel=1e-12)
    same = load_sites({"sites": [a, site("c", 1)], "default_link": {"bandwidth": 1}})
    with pytest.raises(SpecError, match="node 'n-0', which no site has"):  # n-0 is at a and at c: say which
        footprint(same, ivs[:1])
