"""What an executor is given (TaskRun), what it gives back (Outcome), and what every executor shares.

An executor runs single task executions. The runtime expands each Launch of the engine into TaskRuns, one per task,
hands them to the executor, and turns each Outcome into a TaskFinished or TaskFailed stimulus. The executor never
sees the engine: it knows nodes, resources and what to execute.
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from hetflow.spec.local import visible_devices as visible_devices  # where GPU grants are mapped (re-exported)
from hetflow.spec.logs import attempt_logs
from hetflow.spec.platform import Node, Platform
from hetflow.spec.resources import GPU_UNIT, GpuGrant

# Outcome statuses
DONE = "done"
FAILED = "failed"  # the task's own failure: an exception, a non-zero exit status
TIMEOUT = "timeout"  # it ran past its time limit and was killed
CANCELLED = "cancelled"  # the runtime asked for it to stop
LOST = "lost"  # its worker died under it (kill -9, out of memory); not the task's fault
REFUSED = "refused"  # it did not start: where it was sent would not take it now; placed again after retry_after s


@dataclass(slots=True)
class TaskRun:
    """One execution of one task. Exactly one of fn and command is set.

    fn is a callable (called with args and kwargs) or a "pkg.mod:func" reference (called with the task's index when
    it takes a parameter, else with nothing). command is a shell command, already expanded.
    """

    key: int  # unique per execution; an Outcome names it
    task_id: str  # "SET[index]" or "SET": for logs and the task's environment
    node: str
    cores: int
    gpus: GpuGrant = ()
    fn: Callable[..., Any] | str | None = None
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] | None = None
    command: str | None = None
    index: int | None = None
    timeout: float | None = None
    attempt: int = 1
    inputs: tuple[str, ...] = ()  # files it reads in its working folder (a multi-site run stages them there)
    outputs: tuple[str, ...] = ()  # files it writes there, collected after it ends (faas/stager.py)
    memory: int = 0  # bytes the engine set aside for it (0: none asked); an endpoint accounts for them again


@dataclass(slots=True)
class Outcome:
    """How an execution ended. start and end are wall-clock seconds (time.time()) taken where the task ran."""

    key: int
    status: str
    start: float
    end: float
    value: bytes | None = None  # the pickled result (a CommandResult for commands, also when they failed)
    error: str = ""  # one line, for FAILED, TIMEOUT and LOST
    exception: bytes | None = None  # the pickled exception a Python task raised, when it pickles
    traceback: str = ""
    retry_after: float = 0.0  # REFUSED: seconds before the engine may place it again (anywhere)

    def result(self) -> Any:
        """The unpickled result (None when there is none)."""
        return None if self.value is None else pickle.loads(self.value)


@dataclass(frozen=True, slots=True)
class CommandResult:
    """What a shell command task returns: its exit status and where its output went (one pair of files per attempt;
    a file the command left empty is removed, so a missing file in a folder that is there means no output)."""

    returncode: int
    stdout_path: str
    stderr_path: str

    @property
    def stdout(self) -> str:
        return _output(self.stdout_path)

    @property
    def stderr(self) -> str:
        return _output(self.stderr_path)


def _output(path: str) -> str:
    p = Path(path)
    if not p.exists():
        if p.parent.is_dir():
            return ""  # the attempt left it empty
        raise FileNotFoundError(
            f"{path}: the folder of this command's output is gone (a Session's temporary log folder is removed when "
            "it closes); read the output before the Session closes, or give the Session a log_dir to keep it"
        )
    return p.read_text(errors="replace")


class Executor(Protocol):
    """Where tasks really run. One driver thread calls every method except wake(), which any thread may call."""

    name: str

    def start(self, nodes: Sequence[Node]) -> None:
        """Get ready to run tasks on these nodes (start workers, connect to a cluster)."""
        ...

    def submit(self, runs: Sequence[TaskRun]) -> None:
        """Start these executions; returns at once."""
        ...

    def cancel(self, key: int) -> None:
        """Stop an execution; its Outcome (CANCELLED) still comes back through poll()."""
        ...

    def poll(self, timeout: float | None) -> list[Outcome]:
        """Outcomes that are in; waits up to timeout seconds (None: until one comes or wake() is called)."""
        ...

    def wake(self) -> None:
        """Make a blocked poll() return now. Thread-safe."""
        ...

    def close(self) -> None:
        """Stop every execution and release every resource (workers, files)."""
        ...


@dataclass(frozen=True, slots=True)
class NodeChange:
    """A node of a cluster that joined (node is its shape) or left (node is None) while the run goes on."""

    name: str
    node: Node | None = None


class ClusterExecutor(Executor, Protocol):
    """An executor on a distributed engine (Dask, Ray) whose nodes come and go. The runtime asks it for the platform
    (connect) before start, and for the nodes that joined or left (changes) after every poll."""

    def connect(self, shape: Platform) -> Platform:
        """Start a local cluster shaped like `shape` (one worker or node per platform node, its cores and GPUs
        declared as resources), or connect to the cluster at the executor's address; the cluster's nodes, as a
        platform. Node names are those of platform.nodes()."""
        ...

    def changes(self) -> list[NodeChange]:
        """Nodes that joined or left since the last call, in order. poll() returns early when one happens."""
        ...


def gpu_env(grant: GpuGrant, node_has_gpus: bool, physical: Sequence[str] | None = None) -> dict[str, str]:
    """The environment that shows a task exactly the GPUs it was given.

    Whole GPUs: CUDA_VISIBLE_DEVICES lists them. A fraction of one GPU: CUDA_VISIBLE_DEVICES names that GPU and
    CUDA_MPS_ACTIVE_THREAD_PERCENTAGE is the fraction in percent (rounded up). A task's need is one or the other
    (spec.resources.parse_task_gpus refuses 1.5: MPS would cap every GPU listed); a grant that mixes them anyway
    (resources built by hand) gets the fraction's percentage. HETFLOW_GPUS lists "index:fraction" pairs. A task given
    no GPU on a node that has GPUs sees none (CUDA_VISIBLE_DEVICES=""); a MIG instance (a grant of three numbers) is
    "index:fraction:migK" in HETFLOW_GPUS, K its index among the GPU model's MIG placements (spec.gpus.mig_instances),
    without an MPS percentage (MIG isolates it). On a node without GPUs the environment is
    left alone. The variables belong to a process and CUDA reads them once per process: every executor runs a
    Python task given GPUs in a process that only ever shows that environment.
    physical maps GPU indices of the node to device ids (the CUDA_VISIBLE_DEVICES the runtime itself was given).
    """
    if not grant:
        return {"CUDA_VISIBLE_DEVICES": "", "HETFLOW_GPUS": ""} if node_has_gpus else {}
    ids = [physical[j] if physical is not None and j < len(physical) else str(j) for j, *_ in grant]
    env = {
        "CUDA_VISIBLE_DEVICES": ",".join(ids),
        "HETFLOW_GPUS": ",".join(f"{j}:{u / GPU_UNIT:g}" + "".join(f":mig{k}" for k in mig) for j, u, *mig in grant),
    }
    parts = [u for _, u, *mig in grant if u < GPU_UNIT and not mig]
    if parts:
        env["CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"] = str(max(1, math.ceil(min(parts) * 100 / GPU_UNIT)))
    return env


def log_paths(folder: Path, run: TaskRun) -> tuple[str, str]:
    """Where a command writes stdout and stderr, on every backend (spec.logs.attempt_logs, the rule the journal's
    reader finds them by). A file the attempt left empty is removed when it ends."""
    out, err = attempt_logs(folder, run.task_id, run.attempt)
    return str(out), str(err)
