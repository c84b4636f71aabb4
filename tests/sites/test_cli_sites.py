"""`hetflow simulate --sites`: energy and carbon beside the makespan, the report's carbon plot, and bad sites files
as one line and exit status 2 through the real command line (a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from hetflow.cli import main
from tests.shared import REPO, SEED_PLATFORM, SEED_WORKFLOW
from tests.sites.files import CARBON, site
from tests.sites.test_load import bad


def command(*args: str) -> subprocess.Popen[str]:
    """The command line of this checkout, started in a fresh interpreter."""
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    code = "from hetflow.cli import main; main()"
    return subprocess.Popen(
        [sys.executable, "-c", code, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def hetflow(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the command line of this checkout to its end."""
    proc = command(*args)
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_bad_sites_files_are_one_line_and_exit_2(tmp_path: Path) -> None:
    cases = bad(tmp_path)
    picked = [c for c in cases if c[2].startswith(("unknown site", "missing.csv", "has no avg_CI", "core_w must",
                                                    "site 'a' is declared", "bandwidth must"))]  # fmt: skip
    assert len(picked) == 6
    started = []
    for k, (doc, place, problem) in enumerate(picked):
        path = tmp_path / f"sites{k}.yaml"
        path.write_text(yaml.safe_dump(doc))
        started.append((command("simulate", str(SEED_WORKFLOW), "--sites", str(path)), path, place, problem))
    for proc, path, place, problem in started:  # at once: each is an interpreter starting
        _, err = proc.communicate(timeout=120)
        lines = err.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1 and "Traceback" not in err, err
        assert f"{path}: {place}: " in lines[0] and problem in lines[0] and "(fix: " in lines[0]


def test_options_that_do_not_go_together(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"sites": [site("a", 10, cores=42, gpus=6, count=30)]}))
    for args, words in (
        (("--sites", str(path), "-p", str(SEED_PLATFORM)), "--sites and --platform"),
        (("--sites", str(path), "--start", "soon"), "'soon' is not an ISO date"),
        (("--start", "2022-06-01T00:00Z", "-p", str(SEED_PLATFORM)), "--start without --sites"),
    ):
        res = CliRunner().invoke(main, ["simulate", str(SEED_WORKFLOW), *args])
        assert res.exit_code == 2 and words in res.stderr and len(res.stderr.strip().splitlines()) == 1


@pytest.mark.skipif(not CARBON.is_dir(), reason=f"no carbon data in {CARBON}")
def test_simulate_over_two_sites_of_the_shared_data(tmp_path: Path) -> None:
    """The seed workflow on two halves of the seed platform in Oregon (hydro) and Texas: the same makespan as on 30
    nodes in one place, with energy and carbon per site, summing to the total; the report draws the carbon plot."""
    half = {"cores": 42, "gpus": 6, "count": 15}
    doc = {
        "sites": [
            site("oregon", str(CARBON / "BPAT_hourly_2022.csv"), pue=1.2, **half),
            site("texas", str(CARBON / "ERCO_hourly_2022.csv"), pue=1.1, **half),
        ],
        "links": [{"from": "oregon", "to": "texas", "latency": "40ms", "bandwidth": "1GB/s"}],
    }
    path = tmp_path / "two.yaml"
    path.write_text(yaml.safe_dump(doc))
    args = ["simulate", str(SEED_WORKFLOW), "--sites", str(path), "--start", "2022-06-01T00:00Z"]
    trace = tmp_path / "trace.jsonl"
    res = CliRunner().invoke(main, [*args, "--json", "--report", str(tmp_path / "r"), "--trace", str(trace)])
    assert res.exit_code == 0, res.output
    (row,) = json.loads(res.stdout)
    assert row["makespan_s"] == 1700.0 and row["platform"] == "oregon+texas" and row["power_source"] == "model"
    assert row["start"] == "2022-06-01T00:00:00Z"
    oregon, texas = row["sites"]["oregon"], row["sites"]["texas"]
    assert oregon["tasks"] + texas["tasks"] == 2420 and oregon["tasks"] > 0 and texas["tasks"] > 0
    assert oregon["energy_kwh"] + texas["energy_kwh"] == pytest.approx(row["energy_kwh"], abs=1e-8)
    assert oregon["carbon_g"] + texas["carbon_g"] == pytest.approx(row["carbon_g"], abs=1e-5)
    assert oregon["carbon_g"] / oregon["energy_kwh"] < texas["carbon_g"] / texas["energy_kwh"]  # hydro vs gas
    tasks = [json.loads(line) for line in trace.read_text().splitlines()]
    assert len(tasks) == 2420 and all(t["energy_kwh"] > 0 and t["carbon_g"] > 0 for t in tasks)
    idle = oregon["idle_kwh"] + texas["idle_kwh"]
    assert sum(t["energy_kwh"] for t in tasks) + idle == pytest.approx(row["energy_kwh"], rel=1e-6)
    t11 = [t for t in tasks if t["set"] == "T11"]  # 10 cores and a GPU of a 42-core 6-GPU node, 200 s
    for t in t11:
        pue = 1.2 if t["node"].startswith("oregon/") else 1.1
        assert t["energy_kwh"] == pytest.approx(pue * (50 + 300 + 100 * 350 / 2010) * 200 / 3.6e6, rel=1e-9)
    html = (tmp_path / "r" / "index.html").read_text()
    assert (tmp_path / "r" / "carbon.png").stat().st_size > 10_000 and "Energy and carbon" in html
    table = CliRunner().invoke(main, args)
    assert table.exit_code == 0 and "task/fifo: makespan 1,700 s, energy" in table.stdout
    assert "  oregon: " in table.stdout and "gCO2eq" in table.stdout
    december = CliRunner().invoke(main, [*args[:-1], "2022-12-01T18:00Z", "--json"])
    assert json.loads(december.stdout)[0]["carbon_g"] != row["carbon_g"]  # another hour, another intensity
