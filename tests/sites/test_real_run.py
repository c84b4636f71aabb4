"""A real run over two sites on this machine: its energy and carbon accounted from the intervals it measured, the
same from the journal afterwards, and the power source said (RAPL where the machine offers it, else the model)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from hetflow.journal import read_journal
from hetflow.metrics.journaled import journal_result
from hetflow.sites.energy import account
from hetflow.sites.intensity import intensities
from hetflow.spec.sites import load_sites
from tests.sites.files import site
from tests.sites.test_cli_sites import hetflow


def test_a_real_run_on_two_sites_is_accounted_and_reported(tmp_path: Path) -> None:
    wf = tmp_path / "wf.yaml"
    wf.write_text(
        yaml.safe_dump(
            {
                "workflow": "pair",
                "tasks": [
                    {"name": "A", "count": 4, "cores": 1, "command": "sleep 0.2", "runtime": 0.2},
                    {"name": "B", "count": 2, "cores": 2, "command": "sleep 0.1", "runtime": 0.1, "after": ["A"]},
                ],
            }
        )
    )
    power = {"idle_w": 50, "core_w": 10, "gpu_w": 0}
    doc = {"sites": [site("clean", 20, cores=2, power=power), site("dirty", 800, cores=2, pue=1.5, power=power)],
           "default_link": {"latency": "1ms", "bandwidth": "1GB/s"}}  # fmt: skip
    sites_file, journal = tmp_path / "sites.yaml", tmp_path / "run.db"
    sites_file.write_text(yaml.safe_dump(doc))
    res = hetflow("run", str(wf), "--sites", str(sites_file), "--journal", str(journal), "--json", "--report",
                  str(tmp_path / "r"))  # fmt: skip
    assert res.returncode == 0, res.stderr
    (row,) = json.loads(res.stdout)
    assert row["source"] == "real" and row["platform"] == "clean+dirty" and row["tasks"] == 6
    assert row["power_source"] in ("model", "rapl")
    if row["power_source"] == "model":
        assert "energy: model (RAPL: " in res.stderr  # said, with why
    clean, dirty = row["sites"]["clean"], row["sites"]["dirty"]
    assert clean["tasks"] + dirty["tasks"] == 6 and clean["tasks"] and dirty["tasks"]
    assert clean["carbon_g"] == pytest.approx(clean["energy_kwh"] * 20, rel=1e-4)
    assert dirty["carbon_g"] == pytest.approx(dirty["energy_kwh"] * 800, rel=1e-4)
    assert (tmp_path / "r" / "carbon.png").is_file()

    # afterwards, from the journal: the same intervals, the same model figures
    sites = load_sites(sites_file)
    real = journal_result(read_journal(journal))
    f = account(real.intervals, sites, intensities(sites, real.origin), origin=real.origin, start=real.origin)
    busy_j = sum(
        10 * iv.cores * iv.n * (iv.end - iv.start) * (1.5 if "dirty" in iv.node else 1) for iv in real.intervals
    )
    assert f.energy_kwh * 3.6e6 > busy_j  # the idle power comes on top of the cores'
    later = hetflow("report", str(journal), "--sites", str(sites_file), "--json")
    (again,) = json.loads(later.stdout)
    assert again["energy_kwh"] == pytest.approx(f.energy_kwh, abs=1e-9)
    if row["power_source"] == "model":
        assert again["energy_kwh"] == pytest.approx(row["energy_kwh"], abs=1e-9)
        assert again["carbon_g"] == pytest.approx(row["carbon_g"], abs=1e-6)
