"""The session's catalogue of a multi-site run's files (faas/stager.py), without endpoints: what a reader is given
of its inputs, when staging is needed, and a lost site asked again what it holds."""

from __future__ import annotations

from hetflow.executors.api import TaskRun
from hetflow.faas.client import Endpoint
from hetflow.faas.stager import Stager


def no_client(site: str) -> Endpoint:
    raise AssertionError("no transfer is made here")


def test_a_lost_site_is_asked_again_what_it_holds() -> None:
    stager = Stager(no_client)
    made = TaskRun(1, "P", "a/n-0", 1, command="x", outputs=("f",))
    reader = TaskRun(2, "C", "a/n-0", 1, command="y", inputs=("f", "unknown"))
    stager.collected("a", made, {"f": ["0" * 64, 3]})
    assert stager.inputs(reader) == {"f": "0" * 64}  # what is not known goes unstaged
    assert not stager.needs(reader, "a") and stager.needs(reader, "b")
    stager.forget("a")
    assert stager.needs(reader, "a")  # the store there may be gone: HEAD says
