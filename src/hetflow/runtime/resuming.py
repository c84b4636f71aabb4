"""A Session going on with a journal's run: it keeps the platform, mode and policy the journal records, and the
tasks done before are not run again."""

from __future__ import annotations

import json
from collections.abc import Mapping

from hetflow.errors import SpecError
from hetflow.journal.codec import platform_to_dict, set_to_dict
from hetflow.journal.read import JournalView
from hetflow.spec.platform import Platform
from hetflow.spec.trace import Interval
from hetflow.spec.workflow import Workflow


def check_resume(
    recorded: Mapping[str, str], mode: str | None, policy: str | None, platform: Platform, platform_given: bool
) -> None:
    """SpecError when what was given contradicts what the journal records (its report describes the first run)."""
    given = {"mode": mode, "policy": policy}
    for key, value in given.items():
        if value is not None and key in recorded and value != recorded[key]:
            raise SpecError(
                f"the journal's run used {key} {recorded[key]!r}, not {value!r}",
                place=f"--{key}",
                fix=f"resume with --{key} {recorded[key]} (or leave it out), or start a new journal",
            )
    if platform_given and "platform" in recorded and platform_to_dict(platform) != json.loads(recorded["platform"]):
        raise SpecError(
            f"the journal's run used another platform than {platform.name!r}",
            place="--platform",
            fix="resume on the platform the journal records (leave --platform out), or start a new journal",
        )


def kept_tasks(view: JournalView | None, wf: Workflow) -> dict[str, dict[int, Interval]]:
    """The tasks of wf an earlier run of the journal did, per set; SpecError when the journal has another version
    of one of its task sets."""
    if view is None:
        return {}
    for i, s in enumerate(wf.sets):
        if s.name in view.workflow and set_to_dict(view.workflow[s.name]) != set_to_dict(s):
            raise SpecError(
                f"the journal records another version of task set {s.name}",
                source=wf.source,
                place=f"tasks[{i}] ({s.name})",
                fix="resume with the workflow the journal was written for, or start a new journal",
            )
    done = view.done()
    return {s.name: done[s.name] for s in wf.sets if s.name in done}
