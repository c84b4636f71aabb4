"""The engine makes its most frequent instructions through their slots (instructions.launch and released): the same
frozen objects the dataclasses' constructors make."""

from __future__ import annotations

import dataclasses

import pytest

from hetflow.core.instructions import Launch, Released, launch, released


def test_launch_makes_what_the_constructor_makes() -> None:
    values = (7, "set-1", 2, 5, "node-0", 1, 4, 50, 1024, 2.5, ((0, 50), (1, 50)), 0.25)
    made, built = launch(*values), Launch(*values)
    assert made == built and hash(made) == hash(built) and repr(made) == repr(built)
    assert dataclasses.astuple(made) == values and made.n == 3
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.stop = 9  # type: ignore[misc]


def test_released_makes_what_the_constructor_makes() -> None:
    made = released("calls-3")
    assert made == Released("calls-3") and hash(made) == hash(Released("calls-3")) and made.set == "calls-3"
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.set = "other"  # type: ignore[misc]
