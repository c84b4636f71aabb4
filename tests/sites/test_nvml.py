"""GPU energy from NVML, checked against a fake pynvml in sys.modules (as tests/spec/test_local_gpus.py fakes it): a
real module object whose energy counters (mJ) advance by hand-set amounts. The meter reads them before and after a
run, the accounting scales the model's GPU power to what they read, and results say "nvml"; without pynvml, a
driver or the counter, the GPUs stay modelled and the run says why."""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from hetflow.cli import main
from hetflow.journal import read_journal
from hetflow.metrics.journaled import journal_result
from hetflow.sites.energy import account, share_measured
from hetflow.sites.intensity import intensities, parse_start
from hetflow.sites.nvml import NvmlMeter
from hetflow.spec.sites import load_sites
from hetflow.spec.trace import Interval
from tests.sites.files import site

POWER = {"idle_w": 100, "core_w": 10, "gpu_w": 300}


class NVMLError(Exception):
    pass


def fake_nvml(
    steps_mj: list[list[int]], *, init: bool = True, energy: bool = True
) -> tuple[types.ModuleType, list[str]]:
    """A pynvml whose GPU i reads steps_mj[i][k] at its k-th energy reading (the last one repeats)."""
    calls: list[str] = []
    reads = [0] * len(steps_mj)
    nvml = types.ModuleType("pynvml")

    def start() -> None:
        calls.append("init")
        if not init:
            raise NVMLError("Driver Not Loaded")

    def total(h: int) -> int:
        if not energy:
            raise NVMLError("Not Supported")
        k = min(reads[h], len(steps_mj[h]) - 1)
        reads[h] += 1
        return steps_mj[h][k]

    nvml.NVMLError = NVMLError  # type: ignore[attr-defined]
    nvml.nvmlInit = start  # type: ignore[attr-defined]
    nvml.nvmlShutdown = lambda: calls.append("shutdown")  # type: ignore[attr-defined]
    nvml.nvmlDeviceGetCount = lambda: len(steps_mj)  # type: ignore[attr-defined]
    nvml.nvmlDeviceGetHandleByIndex = lambda i: i  # type: ignore[attr-defined]

    def by_uuid(uuid: bytes) -> int:
        number = uuid.decode().removeprefix("GPU-uuid-")
        if not number.isdigit() or int(number) >= len(steps_mj):
            raise NVMLError("Not Found")
        return int(number)

    nvml.nvmlDeviceGetHandleByUUID = by_uuid  # type: ignore[attr-defined]
    nvml.nvmlDeviceGetIndex = lambda h: h  # type: ignore[attr-defined]
    nvml.nvmlDeviceGetTotalEnergyConsumption = total  # type: ignore[attr-defined]

    def unsupported(name: str) -> Callable[..., object]:  # what else NVML offers (discovery asks): not here
        def call(*args: object) -> object:
            raise NVMLError("Not Supported")

        return call

    nvml.__getattr__ = unsupported  # type: ignore[attr-defined]  # PEP 562
    return nvml, calls


Install = Callable[..., list[str]]


@pytest.fixture
def use(monkeypatch: pytest.MonkeyPatch) -> Install:
    def install(steps_mj: list[list[int]], **faults: bool) -> list[str]:
        nvml, calls = fake_nvml(steps_mj, **faults)
        monkeypatch.setitem(sys.modules, "pynvml", nvml)
        return calls

    return install


def test_the_meter_sums_what_each_gpu_used_between_start_and_stop(use: Install) -> None:
    calls = use([[5_000, 5_000, 12_000], [1_000, 1_000, 1_500]])  # the first read checks the counter is there
    meter = NvmlMeter()
    assert meter.available and meter.why == ""
    meter.start()
    assert meter.stop() == pytest.approx((12_000 - 5_000 + 1_500 - 1_000) / 1e3)  # 7.5 J
    assert calls == ["init", "shutdown"]


@pytest.mark.parametrize(
    ("visible", "joules"),
    [("1", 0.5), ("GPU-uuid-0", 7.0), ("1,0", 7.5), ("", None), ("0,0", 7.0), ("00,0", 7.0), ("1,-1,0", 0.5),
     ("0,5,1", 7.0), ("GPU-uuid-9,0", None), ("0,,1", 7.0), ("1,GPU-uuid-1", 0.5), (" 1 , 0 ", 7.5)],
)  # fmt: skip
def test_only_the_gpus_this_process_was_given_are_metered(
    use: Install, monkeypatch: pytest.MonkeyPatch, visible: str, joules: float | None
) -> None:
    use([[5_000, 5_000, 12_000], [1_000, 1_000, 1_500]])  # GPU 0 uses 7 J, GPU 1 0.5 J
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    meter = NvmlMeter()
    if joules is None:
        assert not meter.available and meter.why == "CUDA_VISIBLE_DEVICES gives no GPU"
        return
    meter.start()
    assert meter.stop() == pytest.approx(joules)


def test_a_gpu_gone_mid_run_leaves_the_gpus_modelled_and_says_why(use: Install) -> None:
    calls = use([[5_000, 5_000, 12_000]])
    meter = NvmlMeter()
    meter.start()
    nvml = sys.modules["pynvml"]

    def gone(h: int) -> int:
        raise NVMLError("GPU is lost")

    nvml.nvmlDeviceGetTotalEnergyConsumption = gone  # type: ignore[attr-defined]
    assert meter.stop() is None
    assert meter.why == "NVML could not read the GPUs' energy at the end (GPU is lost)"
    assert calls == ["init", "shutdown"]  # shut down all the same
    assert NvmlMeter().stop() is None  # never started: nothing to say, no exception


@pytest.mark.parametrize(
    ("faults", "why"),
    [({"init": False}, "NVML does not start (Driver Not Loaded)"),
     ({"energy": False}, "NVML cannot read the GPUs' energy (Not Supported)")],
)  # fmt: skip
def test_without_the_driver_or_the_counter_it_is_unavailable(use: Install, faults: dict[str, bool], why: str) -> None:
    use([[0]], **faults)
    meter = NvmlMeter()
    assert not meter.available and meter.why == why


def test_without_pynvml_or_gpus_it_is_unavailable(use: Install, monkeypatch: pytest.MonkeyPatch) -> None:
    use([])
    assert NvmlMeter().why == "NVML sees no GPU"
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml raises ImportError
    assert NvmlMeter().why.startswith("no pynvml")


def test_a_measured_gpu_energy_rescales_the_gpu_power_only() -> None:
    """One GPU task for an hour: the model says 300 W for its GPU; NVML read 2.5 times that (its idle draw too):
    the GPU's 300 W become 750 W, idle and core watts stay, and the site says nvml."""
    sites = load_sites({"sites": [site("a", 500, cores=4, gpus=1, power=POWER)]})
    ivs = [Interval("T", 0, 1, "a/n-0", 0.0, 3600.0, 2, 10_000)]
    t0 = parse_start("2022-01-01T00:00Z")
    series = intensities(sites, t0)
    model = account(ivs, sites, series, start=t0)
    measured = share_measured(2.5 * 300 * 3600, "nvml", ivs, sites, gpus=True)
    assert measured == {"a": (pytest.approx(2.5 * 300 * 3600), "nvml")}
    f = account(ivs, sites, series, start=t0, measured_gpu=measured)
    assert model.energy_kwh == pytest.approx((100 + 20 + 300) * 3600 / 3.6e6, rel=1e-12)
    assert f.energy_kwh == pytest.approx((100 + 20 + 750) * 3600 / 3.6e6, rel=1e-12)
    assert f.carbon_g == pytest.approx(f.energy_kwh * 500, rel=1e-12)
    assert (f.power_source, f.summary()["sites"]["a"]["power_source"]) == ("nvml", "nvml")
    both = account(ivs, sites, series, start=t0, measured={"a": (2 * 120 * 3600, "rapl")}, measured_gpu=measured)
    assert both.energy_kwh == pytest.approx((240 + 750) * 3600 / 3.6e6, rel=1e-12)
    assert both.power_source == "rapl+nvml"


def test_a_real_run_with_gpus_reads_nvml(use: Install, tmp_path: Path) -> None:
    """`hetflow run --sites` on a site with a GPU: NVML's counters moved by 90 J over the run; the site's energy is
    the model's idle and core energy of the measured intervals plus those 90 J (times its PUE)."""
    use([[1_000_000, 1_000_000, 1_090_000]])
    wf, sites_file, journal = tmp_path / "wf.yaml", tmp_path / "sites.yaml", tmp_path / "run.db"
    wf.write_text(yaml.safe_dump({"workflow": "g", "tasks": [
        {"name": "T", "cores": 1, "gpus": 1, "command": "sleep 0.2", "runtime": 0.2}]}))  # fmt: skip
    sites_file.write_text(yaml.safe_dump({"sites": [site("a", 400, cores=2, gpus=1, pue=1.25, power=POWER)]}))
    args = ["run", str(wf), "--sites", str(sites_file), "--journal", str(journal), "--json"]
    got = CliRunner().invoke(main, args)
    assert got.exit_code == 0, got.output
    (row,) = json.loads(got.output[got.output.index("[") :])
    assert row["power_source"] in ("nvml", "rapl+nvml")
    if row["power_source"] == "nvml":  # this machine has no RAPL: the CPU part is the model's, checkable here
        (iv,) = journal_result(read_journal(journal)).intervals
        seconds = iv.end - iv.start
        want = 1.25 * ((100 + 10 * 1) * seconds + 90.0) / 3.6e6
        assert row["energy_kwh"] == pytest.approx(want, rel=1e-6)
        assert row["carbon_g"] == pytest.approx(want * 400, rel=1e-6)


def test_a_real_run_with_gpus_but_no_nvml_says_so(use: Install, tmp_path: Path) -> None:
    use([[0]], init=False)
    wf, sites_file = tmp_path / "wf.yaml", tmp_path / "sites.yaml"
    wf.write_text(yaml.safe_dump({"workflow": "g", "tasks": [
        {"name": "T", "cores": 1, "gpus": 1, "command": "true", "runtime": 0.1}]}))  # fmt: skip
    sites_file.write_text(yaml.safe_dump({"sites": [site("a", 400, cores=2, gpus=1, power=POWER)]}))
    got = CliRunner().invoke(main, ["run", str(wf), "--sites", str(sites_file), "--json"])
    assert got.exit_code == 0, got.output
    assert "energy: GPUs modelled (NVML: NVML does not start (Driver Not Loaded))" in got.output
    (row,) = json.loads(got.output[got.output.index("[") :])
    assert "nvml" not in row["power_source"]
