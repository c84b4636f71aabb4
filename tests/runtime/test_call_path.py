"""The hot path of a program calling a task once per item (submitting.Calls): what it makes is what the general
path (submitting.call) makes, for the options the task has when it is called; calls it cannot make go that way."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

import hetflow as hf
from hetflow.errors import FitError
from hetflow.executors.fake import FakeExecutor, FakeResult
from hetflow.runtime.admission import Admission
from hetflow.runtime.clock import FakeClock
from hetflow.runtime.futures import TaskFuture
from hetflow.runtime.submitting import Calls, call
from hetflow.runtime.task import TaskFunction, TaskOptions
from hetflow.spec.load import load_platform

TWO_CORES = {"platform": "two", "nodes": [{"type": "n", "cores": 2, "memory": "8GiB"}]}


@hf.task
def plain(x: int = 0) -> int:
    return x


@hf.task(cores=2, memory="1GiB", retries=3, timeout=9, runtime=4.5, name="named")
def shaped(x: int = 0, *, y: int = 0) -> int:
    return x + y


def bare(x: int = 0) -> int:  # not a task: the session's defaults
    return x


def never(_: TaskFuture) -> None:
    return None


def admission() -> Admission:
    return Admission(load_platform(TWO_CORES), {}, object())


@pytest.mark.parametrize(("fn", "args", "kwargs"), [(plain, (1,), {}), (shaped, (2,), {"y": 3}), (bare, (), {})])
def test_a_call_is_made_as_the_general_path_makes_it(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    admit = admission()
    calls = Calls(admit, never)
    for _ in range(3):  # the first call learns the task, the next ones reuse what it learned
        made = calls.make(fn, args, kwargs)
        assert made is not None
        info, opts = made
        general = call(admit, fn, args, kwargs, never)
        spec = general.info.spec
        assert info.spec == dataclasses.replace(spec, name=info.spec.name)
        assert hash(info.spec) == hash(dataclasses.replace(spec, name=info.spec.name))
        assert info.spec.name.rsplit("-", 1)[0] == spec.name.rsplit("-", 1)[0]  # the same prefix, its own number
        assert (info.fn, info.args, info.kwargs, info.timeout) == (
            general.info.fn, general.info.args, general.info.kwargs, general.info.timeout
        )  # fmt: skip
        assert info.future is not None and info.future.set == info.spec.name and info.future.index == 0
        assert opts == general.options or general.options is None
        if isinstance(fn, TaskFunction):
            assert opts is fn.options  # Admission keeps a call like the last one as its name only


def test_a_task_given_new_options_is_made_with_them() -> None:
    @hf.task
    def changing() -> None:
        return None

    calls = Calls(admission(), never)
    first = calls.make(changing, (), {})
    changing.options = TaskOptions.of(cores=2, retries=1)
    second = calls.make(changing, (), {})
    assert first is not None and second is not None
    assert (first[0].spec.resources.cores, first[0].spec.retries) == (1, 0)
    assert (second[0].spec.resources.cores, second[0].spec.retries) == (2, 1)
    assert second[1] is changing.options


def test_calls_with_futures_or_a_partition_take_the_general_path() -> None:
    admit = admission()
    calls = Calls(admit, never)
    fut = TaskFuture("x-0", "x-0", 0, never)
    assert calls.make(plain, ([1, (fut,)],), {}) is None
    assert calls.make(shaped, (), {"y": {"k": fut}}) is None

    @hf.task(partition="gpu")
    def elsewhere() -> None:
        return None

    assert calls.make(elsewhere, (), {}) is None
    assert calls.make(plain, (1,), {}) is not None  # and back on the hot path


def test_calls_in_a_session_run_and_one_that_fits_nowhere_says_so() -> None:
    @hf.task(cores=64)
    def huge() -> None:
        return None

    clock = FakeClock()
    ex = FakeExecutor(lambda run: FakeResult(1.0, value=run.args[0] + sum((run.kwargs or {}).values())), clock)
    with hf.Session(executor=ex, clock=clock, platform=TWO_CORES) as s:
        futures = [plain(i) for i in range(5)] + [shaped(i, y=1) for i in range(3)] + [s.submit(bare, 7)]
        with pytest.raises(FitError, match=r"a task of huge-\d+ needs 64 cores"):
            huge()
        assert [f.result() for f in futures] == [0, 1, 2, 3, 4, 1, 2, 3, 7]
        assert len({f.set for f in futures}) == 9
        assert [f.set.rsplit("-", 1)[0] for f in futures] == ["plain"] * 5 + ["named"] * 3 + ["bare"]
