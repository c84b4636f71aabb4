"""While a Session is open the collector's young generation is larger (runtime/collector.py): set by the first session
to open, put back by the last to close, and never over a setting of the program's own."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

import hetflow as hf
from hetflow.executors.fake import FakeExecutor, FakeResult
from hetflow.runtime.clock import FakeClock
from hetflow.runtime.collector import YOUNG

ONE_CORE = {"platform": "one", "nodes": [{"type": "n", "cores": 1}]}


@pytest.fixture(autouse=True)
def thresholds() -> Iterator[None]:
    kept = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*kept)


def session() -> hf.Session:
    clock = FakeClock(0.0)
    return hf.Session(executor=FakeExecutor(lambda run: FakeResult(1.0), clock), clock=clock, platform=ONE_CORE)


def test_open_sessions_have_a_larger_young_generation_and_the_last_to_close_puts_it_back() -> None:
    a, b = session(), session()
    assert gc.get_threshold() == (700, 10, 10)  # made, not started
    with a:
        assert gc.get_threshold() == (YOUNG, 10, 10)
        with b:
            assert gc.get_threshold() == (YOUNG, 10, 10)
        assert gc.get_threshold() == (YOUNG, 10, 10)  # a is still open
    assert gc.get_threshold() == (700, 10, 10)
    a.close()  # closing again changes nothing
    assert gc.get_threshold() == (700, 10, 10)


def test_the_programs_own_setting_wins() -> None:
    with session():
        gc.set_threshold(500, 5, 5)  # set while the session is open: kept after it
    assert gc.get_threshold() == (500, 5, 5)
    gc.set_threshold(50_000, 10, 10)  # larger already: left alone
    with session():
        assert gc.get_threshold() == (50_000, 10, 10)
    gc.set_threshold(0, 10, 10)  # no automatic collection: left alone
    with session():
        assert gc.get_threshold() == (0, 10, 10)
    assert gc.get_threshold() == (0, 10, 10)
