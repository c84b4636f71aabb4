"""Carbon intensity over a run: one site's gCO2eq/kWh as a step function of the run's time.

A site's intensity is a constant or an hourly CSV (a timestamp and an avg_CI column, as the grid operators' data in
../shared/data/carbon). Each row's value holds from its timestamp until the next row's (an hour in those files; a
gap, or a row with an empty avg_CI, keeps the last value), and the series repeats yearly: it is indexed by absolute
time, the run's time t plus its start (an ISO datetime, `--start`), taken modulo the length of the series' year, so a
2023 start reads the 2022 hours of the same date. Integrals are exact over any interval (a task that spans an hour
boundary is split there) and vectorised with numpy: a million intervals cost a few searchsorted calls.

This module is data for policies too (`at`, `mean`): policies import it and spec/site.py, nothing else of sites/.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from hetflow.errors import SpecError
from hetflow.spec.site import Site, Sites

Floats = npt.NDArray[np.float64]
HOUR_S = 3600.0


def parse_start(text: str, place: str = "--start") -> float:
    """Seconds since the Unix epoch of an ISO date or datetime such as 2022-06-01T00:00Z (UTC unless it says)."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise SpecError(
            f"{text!r} is not an ISO date or datetime", place=place, fix="write e.g. 2022-06-01T00:00Z"
        ) from None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def _year_of(epoch: float) -> tuple[float, float]:
    """(start, length in seconds) of the UTC year that holds epoch."""
    year = datetime.fromtimestamp(epoch, UTC).year
    start = datetime(year, 1, 1, tzinfo=UTC).timestamp()
    return start, datetime(year + 1, 1, 1, tzinfo=UTC).timestamp() - start


@lru_cache(maxsize=64)
def read_series(path: str) -> tuple[float, float, Floats, Floats]:
    """(year start, year length, breaks, values) of an hourly CSV: breaks are seconds into the year of its first
    row, increasing, the first 0 (the last value wraps round to the year's start when the file starts later)."""
    times: list[float] = []
    values: list[float] = []
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = csv.reader(f)
            header = [c.strip() for c in next(rows, [])]
            if "timestamp" not in header or "avg_CI" not in header:
                raise SpecError(
                    "no timestamp or avg_CI column", source=path, fix="give an hourly CSV with timestamp and avg_CI"
                )
            it, iv = header.index("timestamp"), header.index("avg_CI")
            for line, row in enumerate(rows, start=2):
                if not row or (len(row) > iv and not row[iv].strip()):
                    continue  # no row, or an hour without a value (the shared files have a few): the last holds
                try:
                    t, v = parse_start(row[it], f"line {line}"), float(row[iv])
                except (IndexError, ValueError):
                    raise SpecError(
                        f"cannot read a timestamp and an avg_CI from {','.join(row)[:60]!r}",
                        source=path,
                        place=f"line {line}",
                        fix="write an ISO timestamp and a number of gCO2eq/kWh",
                    ) from None
                if not math.isfinite(v) or v < 0 or (times and t <= times[-1]):
                    what = (
                        "an intensity < 0 or not finite" if not math.isfinite(v) or v < 0 else "a time not increasing"
                    )
                    raise SpecError(what, source=path, place=f"line {line}", fix="correct that row")
                times.append(t)
                values.append(v)
    except SpecError as exc:
        raise exc.at(path) from None
    except OSError as exc:
        raise SpecError(f"cannot be read: {exc.strerror}", source=path, fix="check the path") from None
    if not times:
        raise SpecError("no rows", source=path, fix="give at least one hour of intensities")
    start, length = _year_of(times[0])
    breaks = np.asarray(times) - start
    if breaks[-1] >= length:
        raise SpecError("the series runs past its first year", source=path, fix="give one year of hours per file")
    vals = np.asarray(values)
    if breaks[0] > 0:  # before its first row, the year's start holds the last value (the series wraps)
        breaks, vals = np.concatenate(([0.0], breaks)), np.concatenate((vals[-1:], vals))
    return start, length, breaks, vals


class Intensity:
    """gCO2eq/kWh at a site as a function of a run's time t (seconds since its start)."""

    def __init__(self, breaks: Floats, values: Floats, length: float, offset: float, source: str | None = None):
        self.breaks, self.values, self.length, self.offset, self.source = breaks, values, length, offset, source
        widths = np.diff(np.append(breaks, length))
        self.cumulative = np.concatenate(([0.0], np.cumsum(values * widths)))  # integral from the year's start
        self.constant = bool(np.all(values == values[0]))

    @classmethod
    def fixed(cls, value: float) -> Intensity:
        """The same intensity at every hour."""
        return cls(np.array([0.0]), np.array([float(value)]), HOUR_S, 0.0)

    @classmethod
    def of(cls, site: Site, start: float) -> Intensity:
        """A site's intensity for a run started at `start` (seconds since the epoch)."""
        if not isinstance(site.carbon, str):
            return cls.fixed(site.carbon)
        year_start, length, breaks, values = read_series(site.carbon)
        return cls(breaks, values, length, (start - year_start) % length, site.carbon)

    def _cumulated(self, t: Floats) -> Floats:
        """Integral of the intensity from the series year's start to run time t (g s / kWh), wrapping yearly."""
        x = np.asarray(t, dtype=np.float64) + self.offset
        laps, within = np.divmod(x, self.length)
        i = np.searchsorted(self.breaks, within, side="right") - 1
        return laps * self.cumulative[-1] + self.cumulative[i] + self.values[i] * (within - self.breaks[i])  # type: ignore[no-any-return]

    def integrals(self, t0: Floats, t1: Floats) -> Floats:
        """Integral of the intensity over each [t0, t1] (g s / kWh): power in W times it over 3.6e6 is grams."""
        if self.constant:
            return (np.asarray(t1, dtype=np.float64) - t0) * self.values[0]  # type: ignore[no-any-return]
        return self._cumulated(t1) - self._cumulated(t0)

    def integral(self, t0: float, t1: float) -> float:
        return float(self.integrals(np.array([t0]), np.array([t1]))[0])

    def at(self, t: float) -> float:
        """gCO2eq/kWh at run time t."""
        within = (t + self.offset) % self.length
        return float(self.values[np.searchsorted(self.breaks, within, side="right") - 1])

    def mean(self, t0: float, t1: float) -> float:
        """Mean gCO2eq/kWh over [t0, t1] (the value at t0 when the span is empty)."""
        return self.integral(t0, t1) / (t1 - t0) if t1 > t0 else self.at(t0)

    def steps(self, t0: float, t1: float) -> tuple[Floats, Floats]:
        """(times, values) of the step function over [t0, t1]: each value holds from its time to the next; the last
        time is t1 (for plots: matplotlib's `where="post"`)."""
        if self.constant or t1 <= t0:
            return np.array([t0, t1]), np.full(2, self.at(t0))
        x0 = t0 + self.offset
        base = np.floor(x0 / self.length) * self.length
        laps = int(np.ceil((t1 + self.offset - base) / self.length))
        every = (np.concatenate([self.breaks + k * self.length for k in range(laps)]) + base) - self.offset
        inside = every[(every > t0) & (every < t1)]
        times = np.concatenate(([t0], inside, [t1]))
        values = np.array([self.at(t) for t in times[:-1]] + [self.at(times[-2])])
        return times, values


def intensities(sites: Sites, start: float) -> Mapping[str, Intensity]:
    """Every site's intensity for a run started at `start` (seconds since the epoch), by site name."""
    return {s.name: Intensity.of(s, start) for s in sites.sites}


def default_start(sites: Sites) -> float:
    """The start of a run given none: the start of the year of the first site's CSV (1 January 2022 for the shared
    data), else of 2022 when every intensity is a constant (it does not matter then)."""
    for s in sites.sites:
        if isinstance(s.carbon, str):
            return read_series(s.carbon)[0]
    return datetime(2022, 1, 1, tzinfo=UTC).timestamp()
