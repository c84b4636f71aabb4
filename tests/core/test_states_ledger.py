from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hetflow.core.ledger import Ledger
from hetflow.core.states import TRANSITIONS, TaskState, check_transition
from hetflow.errors import IllegalTransition, LedgerError
from hetflow.spec.resources import GPU_UNIT, Resources

from .conftest import node


def test_transition_table_is_enforced() -> None:
    check_transition(TaskState.READY, TaskState.RUNNING)
    for frm in TaskState:
        for to in TaskState:
            if (frm, to) not in TRANSITIONS:
                with pytest.raises(IllegalTransition):
                    check_transition(frm, to)
    with pytest.raises(IllegalTransition):
        check_transition(TaskState.DONE, TaskState.RUNNING)


def test_fractions_are_packed_inside_one_gpu() -> None:
    led = Ledger()
    i = led.add(node("n-0", cores=8, gpus=2))
    half = Resources.of(1, 0.5)
    grants = led.allocate(i, half, 2)
    assert [g[0][0] for g in grants] == [0, 0]  # best fit: both halves on GPU 0, GPU 1 stays whole
    assert led.fit_count(i, Resources.of(1, 1), 10) == 1
    three_q = Resources.of(1, 0.75)
    assert led.fit_count(i, three_q, 10) == 1  # 0.75 never straddles two GPUs
    led.allocate(i, three_q, 1)
    assert led.fit_count(i, Resources.of(1, 0.5), 10) == 0
    led.validate()


def test_whole_gpus_and_memory_limits() -> None:
    led = Ledger()
    i = led.add(node("n-0", cores=16, gpus=4, memory=100))
    assert led.fit_count(i, Resources(1, 2 * GPU_UNIT, 0), 10) == 2
    assert led.fit_count(i, Resources(1, 0, 30), 10) == 3
    with pytest.raises(LedgerError):
        led.allocate(i, Resources(1, 0, 30), 4)
    with pytest.raises(LedgerError):
        led.release(i, Resources(1, 0, 0), 1)
    led.validate()


@settings(max_examples=200, deadline=None)
@given(
    gpus=st.integers(0, 4),
    ops=st.lists(
        st.tuples(st.integers(0, 3), st.sampled_from([0, 0.25, 0.5, 0.75, 1, 2]), st.integers(1, 4)),
        max_size=40,
    ),
)
def test_ledger_never_goes_negative_or_over_capacity(gpus: int, ops: list[tuple[int, float, int]]) -> None:
    led = Ledger()
    i = led.add(node("n-0", cores=8, gpus=gpus, memory=64))
    held: list[tuple[Resources, int, tuple[tuple[tuple[int, int], ...], ...]]] = []
    for cores, g, n in ops:
        need = Resources.of(cores, g, 4)
        fit = led.fit_count(i, need, n)
        if fit and held and len(held) % 3 == 2:
            r, k, grants = held.pop(0)
            led.release(i, r, k, grants)
        elif fit:
            held.append((need, fit, led.allocate(i, need, fit)))
        else:
            with pytest.raises(LedgerError):
                led.allocate(i, need, n)
        led.validate()
        assert 0 <= led.free_cores[i] <= 8
        assert all(0 <= f <= GPU_UNIT for f in led.free_gpu[i])
    for r, k, grants in held:
        led.release(i, r, k, grants)
    led.validate()
    assert led.free_cores[i] == 8 and sum(led.free_gpu[i]) == gpus * GPU_UNIT
