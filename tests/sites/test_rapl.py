"""The RAPL meter against a powercap tree written as the kernel lays it out (real files; no RAPL here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hetflow.sites.rapl import RaplMeter


def zone(root: Path, name: str, label: str, uj: int, top: int = 1_000_000) -> Path:
    z = root / name
    z.mkdir(parents=True)
    (z / "name").write_text(label + "\n")
    (z / "energy_uj").write_text(f"{uj}\n")
    (z / "max_energy_range_uj").write_text(f"{top}\n")
    return z


def test_packages_only_and_a_wrap(tmp_path: Path) -> None:
    p0 = zone(tmp_path, "intel-rapl:0", "package-0", 900_000)
    p1 = zone(tmp_path, "intel-rapl:1", "package-1", 10)
    zone(tmp_path, "intel-rapl:0:0", "dram", 5)  # a subzone: inside its package, never added again
    zone(tmp_path, "intel-rapl:2", "psys", 7)  # the platform: it holds the packages
    meter = RaplMeter(tmp_path)
    assert meter.available and [z.name for z in meter.zones] == ["intel-rapl:0", "intel-rapl:1"]
    meter.start()
    (p0 / "energy_uj").write_text("50000\n")  # wrapped past 1,000,000: 150,000 uJ used
    (p1 / "energy_uj").write_text("2000010\n")
    assert meter.sample() == pytest.approx(0.15 + 2.0)
    (p0 / "energy_uj").write_text("60000\n")
    assert meter.stop() == pytest.approx(2.16)


def test_absent_or_unreadable_says_why(tmp_path: Path) -> None:
    assert not RaplMeter(tmp_path / "none").available and "no " in RaplMeter(tmp_path / "none").why
    z = zone(tmp_path, "intel-rapl:0", "package-0", 1)
    (z / "energy_uj").unlink()
    (z / "energy_uj").mkdir()  # as unreadable as a root-only file is to a user
    meter = RaplMeter(tmp_path)
    assert not meter.available and "cannot read" in meter.why
