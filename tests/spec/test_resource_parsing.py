"""Properties of resource parsing: memory sizes in every unit, GPU amounts in whole GPU units."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hetflow.errors import SpecError
from hetflow.spec import GPU_UNIT, format_memory, parse_gpus, parse_memory
from hetflow.spec.resources import Resources, parse_task_gpus

DECIMAL = {"B": 1, "KB": 1000, "MB": 1000**2, "GB": 1000**3, "TB": 1000**4, "PB": 1000**5}
BINARY = {"KiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "TiB": 1024**4, "PiB": 1024**5}
UNITS = {
    **DECIMAL,
    **BINARY,
    **{u[0]: f for u, f in DECIMAL.items() if u != "B"},
    **{u[:2]: f for u, f in BINARY.items()},
}

unit = st.sampled_from(sorted(UNITS))
spelling = st.sampled_from([str.upper, str.lower, str])
gap = st.sampled_from(["", " ", "  "])


@given(st.integers(0, 10**6), unit, spelling, gap)
def test_whole_sizes_in_any_unit(n: int, u: str, spell: object, space: str) -> None:
    assert callable(spell)
    assert parse_memory(f"{n}{space}{spell(u)}") == n * UNITS[u]


@given(st.integers(0, 10**15))
def test_bytes_are_bytes(n: int) -> None:
    assert parse_memory(n) == parse_memory(str(n)) == parse_memory(f"{n}B") == n


@given(st.integers(0, 2**50))
def test_format_then_parse_is_close(n: int) -> None:
    """format_memory keeps one decimal of the largest binary unit, so parsing it back is within 5%."""
    back = parse_memory(format_memory(n))
    assert abs(back - n) <= max(0.05 * n, 1)


@given(st.integers(1, 10**6), unit, st.sampled_from(["XB", "gigs", "G B", "Gi-B", "KIBS"]))
def test_unknown_units_are_refused(n: int, u: str, bad: str) -> None:
    with pytest.raises(SpecError):
        parse_memory(f"{n}{bad}")


@given(
    st.one_of(
        st.integers(max_value=-1), st.booleans(), st.just(float("inf")), st.just(float("nan")), st.lists(st.integers())
    )
)
def test_impossible_sizes_are_refused(value: object) -> None:
    with pytest.raises(SpecError):
        parse_memory(value)


@given(st.integers(0, 1000 * GPU_UNIT))
def test_gpu_units_round_trip(units: int) -> None:
    assert parse_gpus(units / GPU_UNIT) == units


@given(st.lists(st.integers(1, GPU_UNIT), min_size=1, max_size=50))
def test_fractions_add_up_exactly(units: list[int]) -> None:
    """Summing GPU shares in units never drifts, though the same sum in floats may."""
    total = sum(parse_gpus(u / GPU_UNIT) for u in units)
    assert total == sum(units)
    assert parse_gpus(0.1) * 10 == parse_gpus(1) == GPU_UNIT


@given(st.integers(0, 10**6), st.integers(1, 9))
def test_finer_than_a_unit_is_refused(units: int, extra: int) -> None:
    with pytest.raises(SpecError, match="finer than"):
        parse_gpus(units / GPU_UNIT + extra / (GPU_UNIT * 10))


@given(st.one_of(st.floats(max_value=-1e-3), st.booleans(), st.text(max_size=3), st.none()))
def test_impossible_gpus_are_refused(value: object) -> None:
    with pytest.raises(SpecError):
        parse_gpus(value)


@given(st.integers(0, 64), st.integers(0, GPU_UNIT))
def test_a_task_needs_a_fraction_of_one_gpu_or_whole_gpus(whole: int, part: int) -> None:
    """Over one GPU, whole GPUs only: 1.5 would mean two GPUs, the first capped at 50% by MPS."""
    units = whole * GPU_UNIT + part
    if units <= GPU_UNIT or part in (0, GPU_UNIT):
        assert parse_task_gpus(units / GPU_UNIT) == units == Resources.of(gpus=units / GPU_UNIT).gpu_units
    else:
        with pytest.raises(SpecError, match="over one GPU but not whole"):
            parse_task_gpus(units / GPU_UNIT)
    assert parse_gpus(units / GPU_UNIT) == units  # a node may have any number of GPUs


def test_a_task_over_one_gpu_not_whole_is_one_line_with_a_fix() -> None:
    with pytest.raises(SpecError) as caught:
        Resources.of(gpus=1.5)
    assert caught.value.line() == (
        "gpus: gpus 1.5 is over one GPU but not whole (fix: a task gets a fraction of one GPU or whole GPUs: "
        "ask for 1 or 2, or less than 1 (e.g. 0.5))"
    )
