"""What a Session is made of before it starts: its platform, mode, policy and executor; and, going on with a
journal's run, the platform, mode and policy the journal records and the tasks done before (not run again)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hetflow.core.modes import MODES
from hetflow.errors import SpecError
from hetflow.executors import Executor, make_executor
from hetflow.journal.codec import platform_from_dict, platform_to_dict, set_to_dict
from hetflow.journal.read import JournalView
from hetflow.policies import make_policy
from hetflow.spec.local import local_platform
from hetflow.spec.platform import Platform
from hetflow.spec.trace import Interval
from hetflow.spec.workflow import Workflow

if TYPE_CHECKING:
    from hetflow.predict import HistoryStore


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
    if (
        platform_given
        and "platform" in recorded
        and _shape(platform) != _shape(platform_from_dict(json.loads(recorded["platform"])))
    ):
        raise SpecError(
            f"the journal's run used another platform than {platform.name!r}",
            place="--platform",
            fix="resume on the platform the journal records (leave --platform out), or start a new journal",
        )


def _shape(platform: Platform) -> dict[str, Any]:
    """The platform as the journal records it, but for node features (the local backend fills in those found)."""
    return platform_to_dict(replace(platform, node_types=tuple(replace(t, features=None) for t in platform.node_types)))


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


def run_shape(
    platform: Platform | None, mode: str | None, policy: str | None, recorded: Mapping[str, str], address: object
) -> tuple[Platform, str, str]:
    """The platform, mode and policy of a session: those given, else (on resume) the journal's, else this machine,
    task and fifo. SpecError for an unknown mode or policy, or a platform given with a cluster address."""
    if platform is not None and address is not None:
        raise SpecError(
            "a platform and a cluster address were both given",
            place="--platform",
            fix="leave the platform out: with an address the platform is the cluster's (its workers or nodes)",
        )
    if platform is not None:
        shape = platform
    elif "platform" in recorded and address is None:
        shape = platform_from_dict(json.loads(recorded["platform"]))
    else:
        shape = local_platform()
    check_resume(recorded, mode, policy, shape, platform is not None)
    mode = mode or recorded.get("mode", "task")
    if mode not in MODES:
        raise SpecError(f"unknown mode {mode!r}", place="--mode", fix=f"use one of {', '.join(MODES)}")
    policy = policy or recorded.get("policy", "fifo")
    make_policy(policy)  # an unknown name is bad input, now rather than in the driver
    return shape, mode, policy


def executor_for(
    backend: str, journal: str | os.PathLike[str] | None, options: dict[str, Any], platform: Platform
) -> tuple[Executor, Path | None, Platform]:
    """The executor by name, with its options (a journal's log folder by default), and the platform it runs on: a
    cluster's (started shaped like the given platform, or found at its address), else the one given."""
    if journal is not None:
        options.setdefault("log_dir", Path(os.fspath(journal) + ".logs"))
    if options.get("gpu_sharing") is not None and backend != "local":  # their workers' processes are not ours
        raise SpecError(
            f"--gpu-sharing is for the local backend, not {backend}",
            place="--gpu-sharing",
            fix="start the MPS daemon on each worker machine yourself, or leave --gpu-sharing out",
        )
    executor = make_executor(backend, **options)
    return executor, options.get("log_dir"), connected(executor, platform)


def connected(executor: Executor, platform: Platform) -> Platform:
    """The platform of a cluster executor (it has connect()), else platform; the executor is closed on failure."""
    connect = getattr(executor, "connect", None)
    if connect is None:
        return platform
    try:
        shape: Platform = connect(platform)
    except BaseException:
        executor.close()
        raise
    return shape


def history_for(
    history: str | os.PathLike[str] | None, journal: str | os.PathLike[str] | None
) -> tuple[HistoryStore | None, Path | None]:
    """The history store a session feeds (opened now: a bad folder is bad input before the run), and the temporary
    folder of the journal it keeps for it when it has none of its own (None otherwise)."""
    if history is None:
        return None, None
    from hetflow.predict import HistoryStore

    store = HistoryStore(history)
    return store, (Path(tempfile.mkdtemp(prefix="hetflow-history-")) if journal is None else None)
