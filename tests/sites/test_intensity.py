"""Carbon intensity series: the shared hourly CSVs read as a step function of a run's time, wrapping yearly."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from hetflow.errors import SpecError
from hetflow.sites.intensity import Intensity, default_start, intensities, parse_start, read_series
from hetflow.spec.sites import load_sites
from tests.sites.files import CARBON, site, two_hour_csv

needs_shared = pytest.mark.skipif(not CARBON.is_dir(), reason=f"no carbon data in {CARBON}")


@needs_shared
def test_a_shared_file_hour_by_hour() -> None:
    path = CARBON / "BPAT_hourly_2022.csv"
    with path.open() as f:
        rows = {r["timestamp"]: float(r["avg_CI"]) for r in csv.DictReader(f)}
    sites = load_sites({"sites": [site("bpat", str(path))]})
    series = Intensity.of(sites.sites[0], parse_start("2022-06-01T00:00Z"))
    assert series.at(0) == rows["2022-06-01 00:00:00+00:00"]
    assert series.at(3600 * 5 + 59) == rows["2022-06-01 05:00:00+00:00"]
    hours = [rows[f"2022-06-01 {h:02d}:00:00+00:00"] for h in range(3)]
    assert series.mean(0, 3 * 3600) == pytest.approx(sum(hours) / 3, rel=1e-12)
    assert series.mean(1800, 5400) == pytest.approx((hours[0] + hours[1]) / 2, rel=1e-12)
    # 2023 reads 2022's hours of the same date; the last hour of the year is followed by the first one
    assert Intensity.of(sites.sites[0], parse_start("2023-06-01T00:00")).at(0) == series.at(0)
    end = Intensity.of(sites.sites[0], parse_start("2022-12-31T23:00Z"))
    assert (end.at(0), end.at(3600)) == (rows["2022-12-31 23:00:00+00:00"], rows["2022-01-01 00:00:00+00:00"])
    assert end.integral(0, 7200) == pytest.approx(3600 * (end.at(0) + end.at(3600)), rel=1e-12)
    assert default_start(sites) == datetime(2022, 1, 1, tzinfo=UTC).timestamp()
    times, values = series.steps(1800, 3 * 3600)
    assert times.tolist() == [1800, 3600, 7200, 10800] and values[:3].tolist() == hours


@needs_shared
def test_every_shared_file_reads_its_empty_hours_keep_the_last_value() -> None:
    files = sorted(CARBON.glob("*_hourly_2022.csv"))
    assert len(files) >= 3
    for path in files:
        with path.open() as f:
            rows = [(r["timestamp"], r["avg_CI"]) for r in csv.DictReader(f)]
        series = Intensity.of(load_sites({"sites": [site("x", str(path))]}).sites[0], parse_start("2022-01-01"))
        last = float(next(v for _, v in reversed(rows) if v))
        for stamp, value in rows:
            t = parse_start(stamp) - parse_start("2022-01-01")
            last = float(value) if value else last  # an empty hour (the first wraps from the end)
            assert series.at(t + 1800) == last, (path.name, stamp)


def test_many_intervals_at_once_equal_one_by_one(tmp_path: Path) -> None:
    sites = load_sites({"sites": [site("a", str(two_hour_csv(tmp_path / "g.csv", 50, 80)))]})
    series = intensities(sites, parse_start("2022-01-01"))["a"]
    rng = np.random.default_rng(1)
    t0 = rng.uniform(-1e6, 4e7, 500)
    t1 = t0 + rng.uniform(0, 1e5, 500)
    one = [series.integral(a, b) for a, b in zip(t0, t1, strict=True)]
    assert series.integrals(t0, t1) == pytest.approx(one, rel=1e-12)
    assert series.at(-1) == 80 and series.at(7200) == 80 and series.at(365 * 86400 + 10) == 50  # wraps yearly


def test_a_constant() -> None:
    c = Intensity.fixed(420.0)
    assert (c.at(1e9), c.mean(0, 10), c.integral(5, 7)) == (420.0, 420.0, 840.0)


@pytest.mark.parametrize(
    ("body", "place", "words"),
    [
        ("2022-01-01 00:00:00+00:00,x\n", "line 2", "cannot read a timestamp and an avg_CI"),
        ("2022-01-01 01:00:00+00:00,1\n2022-01-01 00:00:00+00:00,1\n", "line 3", "a time not increasing"),
        ("2022-01-01 00:00:00+00:00,-1\n", "line 2", "an intensity < 0"),
        ("", None, "no rows"),
    ],
)
def test_bad_rows_are_one_line(tmp_path: Path, body: str, place: str | None, words: str) -> None:
    path = tmp_path / f"bad{abs(hash(body))}.csv"
    path.write_text("timestamp,avg_CI\n" + body)
    with pytest.raises(SpecError) as info:
        read_series(str(path))
    assert (info.value.source, info.value.place) == (str(path), place) and words in info.value.problem
