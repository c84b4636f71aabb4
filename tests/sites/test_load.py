"""The sites file: what it builds (platform, links, origin) and how it refuses bad input (one line, with the fix)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml

from hetflow.errors import SpecError
from hetflow.journal.codec import platform_from_dict, platform_to_dict
from hetflow.spec.site import CORE_W, GPU_W, IDLE_W, PowerModel
from hetflow.spec.sites import load_sites, parse_bandwidth, parse_latency
from tests.shared import REPO, SEED_PLATFORM, SEED_WORKFLOW
from tests.sites.files import CARBON, site, two_hour_csv


def test_a_file_with_a_platform_file_a_csv_and_links(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    two_hour_csv(tmp_path / "data" / "grid.csv")
    (tmp_path / "big.yaml").write_text("nodes: [{type: cpu, count: 2, cores: 48}, {type: gpu, cores: 8, gpus: 4}]")
    doc = {
        "sites": [
            {"name": "oregon", "platform": "big.yaml", "carbon": "data/grid.csv", "pue": 1.2,
             "power": {"idle_w": 120, "core_w": 6, "gpu_w": 350}, "endpoint": "http://127.0.0.1:8701"},
            site("texas", 400, cores=16),
            site("lab", 30.5),
        ],
        "links": [
            {"from": "oregon", "to": "texas", "latency": "40ms", "bandwidth": "1GB/s"},
            {"from": "texas", "to": "oregon", "latency": 0.05, "bandwidth": "10Gb/s"},
        ],
        "default_link": {"latency": "0.2s", "bandwidth": "100MiB/s"},
        "origin": "texas",
    }  # fmt: skip
    path = tmp_path / "sites.yaml"
    path.write_text(yaml.safe_dump(doc))
    sites = load_sites(path)
    oregon, texas, _ = sites.sites
    assert oregon.carbon == str((tmp_path / "data" / "grid.csv").resolve()) and texas.carbon == 400.0
    assert (oregon.pue, oregon.power, oregon.endpoint) == (1.2, PowerModel(120, 6, 350), "http://127.0.0.1:8701")
    assert (texas.pue, texas.power, texas.endpoint) == (1.0, PowerModel(IDLE_W, CORE_W, GPU_W), None)
    assert sites.origin == "texas" and sites.source == str(path)
    assert (sites.link("oregon", "texas").latency, sites.link("oregon", "texas").bandwidth) == (0.04, 1e9)
    assert (sites.link("texas", "oregon").latency, sites.link("texas", "oregon").bandwidth) == (0.05, 1.25e9)
    assert (sites.link("lab", "oregon").latency, sites.link("lab", "oregon").bandwidth) == (0.2, 100 * 2**20)
    free = sites.link("lab", "lab")
    assert (free.latency, free.bandwidth, free.transfer_s(1e12)) == (0.0, math.inf, 0.0)
    assert sites.link("oregon", "texas").transfer_s(2e9) == pytest.approx(2.04)
    with pytest.raises(KeyError):
        sites.link("oregon", "mars")
    platform = sites.platform()
    assert [(t.type, t.count, t.site) for t in platform.node_types] == [
        ("oregon/cpu", 2, "oregon"), ("oregon/gpu", 1, "oregon"), ("texas/n", 1, "texas"), ("lab/n", 1, "lab"),
    ]  # fmt: skip
    assert [(n.name, n.site) for n in platform.nodes()][:3] == [
        ("oregon/cpu-0", "oregon"), ("oregon/cpu-1", "oregon"), ("oregon/gpu-0", "oregon"),
    ]  # fmt: skip
    assert platform.cores == 96 + 8 + 16 + 4 and oregon.platform.node_types[0].type == "cpu"
    again = platform_from_dict(json.loads(json.dumps(platform_to_dict(platform))))  # a journal keeps the sites
    assert again.node_types == platform.node_types


def test_links_are_symmetric_the_origin_defaults_to_the_first_site() -> None:
    sites = load_sites(
        {
            "sites": [site("a", 1), site("b", 2)],
            "links": [{"from": "b", "to": "a", "bandwidth": 5e8, "latency": "1 ms"}],
        }
    )
    assert sites.origin == "a" and sites.link("a", "b") == sites.link("b", "a").__class__("a", "b", 0.001, 5e8)


@pytest.mark.parametrize(
    ("text", "seconds"), [("40ms", 0.04), ("0.2s", 0.2), ("3", 3.0), ("250us", 2.5e-4), ("1min", 60.0), (0, 0.0)]
)
def test_latencies(text: object, seconds: float) -> None:
    assert parse_latency(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("text", "rate"),
    [("1GB/s", 1e9), ("100MB/s", 1e8), ("10Gb/s", 1.25e9), ("1GiB/s", 2**30), ("1 Gbps", 1.25e8), (42, 42.0)],
)
def test_bandwidths(text: object, rate: float) -> None:
    assert parse_bandwidth(text) == pytest.approx(rate)


def bad(tmp_path: Path) -> list[tuple[object, str, str]]:
    """(document, place, words of the problem) of bad sites files; the tests write each to a file."""
    no_ci = tmp_path / "no_ci.csv"
    no_ci.write_text("timestamp,WND\n2022-01-01 00:00:00+00:00,3\n")
    one, two = site("a", 1), site("b", 2)
    return [
        ({"sites": [one, two], "links": [{"from": "a", "to": "c", "bandwidth": "1GB/s"}]}, "links[0] (a)",
         "unknown site 'c' in a link"),
        ({"sites": [site("a", "missing.csv")]}, "sites[0] (a).carbon", "missing.csv does not exist"),
        ({"sites": [site("a", str(no_ci))]}, "sites[0] (a).carbon", "has no avg_CI column"),
        ({"sites": [site("a", 1, power={"core_w": -5})]}, "sites[0] (a).power.core_w", "core_w must be a power"),
        ({"sites": [one, site("a", 3)]}, "sites[1] (a)", "site 'a' is declared twice"),
        ({"sites": [one, two], "links": [{"from": "a", "to": "b", "bandwidth": "fast"}]}, "links[0] (a).bandwidth",
         "bandwidth must be a rate, not 'fast'"),
        ({"sites": [one, two], "links": [{"from": "a", "to": "b", "bandwidth": 1, "latency": "5 parsecs"}]},
         "links[0] (a).latency", "latency must be a time"),
        ({"sites": [one, two]}, "links", "no link from a to b"),
        ({"sites": [one], "origin": "z"}, "origin", "origin 'z' is not a site"),
        ({"sites": [site("a", 1, pue=0.8)]}, "sites[0] (a).pue", "pue must be a power usage effectiveness >= 1"),
        ({"sites": [site("a", -3)]}, "sites[0] (a).carbon", "carbon must be"),
        ({"sites": [site("a", 1, cores=-1)]}, "sites[0] (a).platform.nodes[0] (n).cores", "cores must be"),
        ({"sites": [one, two], "links": [{"from": "a", "to": "b", "bandwidth": 1}] * 2}, "links[1] (a)",
         "given twice"),
        ({"sites": [one], "wires": []}, "wires", "unknown key 'wires'"),
    ]  # fmt: skip


def test_bad_documents_name_the_place_and_the_fix(tmp_path: Path) -> None:
    for doc, place, problem in bad(tmp_path):
        path = tmp_path / "sites.json"
        path.write_text(json.dumps(doc))
        with pytest.raises(SpecError) as info:
            load_sites(path)
        err = info.value
        assert (err.source, err.place) == (str(path), place), err.line()
        assert problem in err.problem and err.fix and "\n" not in err.line()


@pytest.mark.skipif(not CARBON.is_dir(), reason=f"no carbon data in {CARBON}")
def test_the_example_splits_the_seed_platform_over_three_regions() -> None:
    """examples/sites/three-sites.yaml: its CSV paths (relative to it) reach ../shared; the seed schedule holds."""
    from hetflow.sim.simulator import run_simulation
    from hetflow.spec.load import load_platform, load_workflow

    sites = load_sites(REPO / "examples" / "sites" / "three-sites.yaml")
    seed = load_platform(SEED_PLATFORM)
    assert [s.name for s in sites.sites] == ["oregon", "california", "texas"] and sites.origin == "oregon"
    assert sites.platform().n_nodes == seed.n_nodes and sites.platform().cores == seed.cores
    assert all(Path(str(s.carbon)).is_file() for s in sites.sites)
    assert run_simulation(load_workflow(SEED_WORKFLOW), sites.platform(), "task", "fifo").makespan_s == 1700.0
