"""Forecasts: a known law recovered by the quantile regression, and the fallbacks when history is thin or absent."""

from __future__ import annotations

import numpy as np
import pytest

from hetflow.predict import DECLARED, HISTORY, MODEL, Attempt, Query, forecast

MB = 1e6


def attempt(size_mb: float | None, duration: float, speed: float = 1.0, key: str = "k") -> Attempt:
    size = None if size_mb is None else size_mb * MB
    return Attempt(key, "wf", 1, 0.0, "n", speed, size, 10, duration, 0.0, "test", f"t{duration}")


def law(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """duration = 10 x input size (MB) / speed + noise (10% of it, normal)."""
    size = np.exp(rng.uniform(np.log(1), np.log(100), n))
    speed = rng.choice([0.5, 1.0, 2.0], n)
    clean = 10 * size / speed
    return size, speed, clean + rng.normal(0, 0.1 * clean)


def test_a_known_law_is_recovered_with_a_calibrated_interval() -> None:
    rng = np.random.default_rng(7)
    size, speed, duration = law(rng, 300)
    history = [attempt(s, d, v) for s, v, d in zip(size, speed, duration, strict=True)]
    covered = 0
    for mb in (3.0, 20.0, 70.0):
        f = forecast("k", history, Query(input_bytes=mb * MB), declared=1.0)
        assert f.basis == MODEL and f.n == 300
        assert f.p50 == pytest.approx(10 * mb, rel=0.05)  # at speed 1: the law's work
        assert f.p10 < f.p50 < f.p90
        fresh = 10 * mb * (1 + rng.normal(0, 0.1, 2000))
        covered += int(np.sum((fresh >= f.p10) & (fresh <= f.p90)))
    assert 0.7 <= covered / 6000 <= 0.9  # an 80% interval


def test_the_model_goes_on_beyond_the_sizes_it_saw() -> None:
    rng = np.random.default_rng(3)
    size, speed, duration = law(rng, 200)
    history = [attempt(s, d, v) for s, v, d in zip(size, speed, duration, strict=True)]
    f = forecast("k", history, Query(input_bytes=400 * MB), declared=1.0)
    assert f.basis == MODEL and f.p50 == pytest.approx(4000, rel=0.1)


def test_thin_history_falls_back_to_robust_estimates_then_to_the_declared_time() -> None:
    assert forecast("k", [], Query(), declared=42.0) == forecast("k", [], Query(input_bytes=5.0), declared=42.0)
    none = forecast("k", [], Query(), declared=42.0)
    assert (none.basis, none.p10, none.p50, none.p90, none.n) == (DECLARED, 42.0, 42.0, 42.0, 0)

    few = [attempt(10, d) for d in (9.0, 10.0, 11.0, 10.5, 300.0)]  # one stray run
    f = forecast("k", few, Query(input_bytes=10 * MB), declared=1.0)
    assert f.basis == HISTORY and f.n == 5 and f.p50 == 10.5
    assert 8 < f.p10 < f.p50 < f.p90 < 14  # median and MAD: the stray run does not widen it

    one = forecast("k", [attempt(None, 7.0, speed=2.0)], Query(), declared=1.0)
    assert (one.basis, one.p50, one.p10, one.p90) == (HISTORY, 14.0, 14.0, 14.0)  # work at speed 1

    flat = [attempt(10 + i % 2, 10.0 + i % 5) for i in range(30)]  # many runs, features barely vary: no regression
    f = forecast("k", flat, Query(input_bytes=10 * MB), declared=1.0)
    assert f.basis == HISTORY and (f.p10, f.p50, f.p90) == pytest.approx(
        np.quantile([a.duration for a in flat], (0.1, 0.5, 0.9))
    )

    varied = [attempt(s, 10.0 * s) for s in range(1, 31)]
    assert forecast("k", varied, Query(input_bytes=5 * MB), declared=1.0).basis == MODEL
    assert forecast("k", varied, Query(), declared=1.0).basis == HISTORY  # the query has no input size to use
    assert forecast("k", varied[:8], Query(input_bytes=5 * MB), declared=1.0).basis == MODEL
    assert forecast("k", varied[:7], Query(input_bytes=5 * MB), declared=1.0).basis == HISTORY  # too few to fit


def test_forecasts_give_the_simulator_a_law_with_their_percentiles() -> None:
    f = forecast("k", [attempt(10, d) for d in np.linspace(8, 12, 40)], Query(input_bytes=10 * MB), 1.0)
    dist = f.distribution()
    assert dist.kind == "lognormal" and dist.median == pytest.approx(f.p50)
    low, high = dist.quantile(0.1), dist.quantile(0.9)
    assert high / low == pytest.approx(f.p90 / f.p10, rel=0.01)  # the same 80% spread, symmetric in log
    draws = dist.sample(np.random.default_rng(0), 20000)
    assert np.quantile(draws, 0.9) == pytest.approx(high, rel=0.03)
    point = forecast("k", [], Query(), declared=4.0).distribution()
    assert (point.kind, point.median) == ("fixed", 4.0)
