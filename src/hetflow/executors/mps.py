"""The NVIDIA MPS control daemon of a run (gpu_sharing="mps"): started before the first task, stopped at the end.

MPS lets the processes of several tasks share a GPU's SMs at once instead of time-slicing it; a fractional task's
CUDA_MPS_ACTIVE_THREAD_PERCENTAGE (api.gpu_env) only limits it under a daemon. The daemon of a run talks through a
private temporary folder (CUDA_MPS_PIPE_DIRECTORY and CUDA_MPS_LOG_DIRECTORY), so it neither meets a daemon of the
machine nor of another run; every task gets the same two variables, or its CUDA would not find it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import tempfile

from hetflow.errors import ExecutionError, SpecError

CONTROL = "nvidia-cuda-mps-control"
SHARING = ("mps",)  # the run-wide GPU sharing an executor can set up (MIG and exclusive need nothing started)
_TIMEOUT_S = 30.0
log = logging.getLogger("hetflow")


def check_sharing(sharing: str | None) -> None:
    """SpecError when sharing is unknown, or is "mps" on a machine without the control binary."""
    if sharing is None:
        return
    if sharing not in SHARING:
        raise SpecError(f"unknown GPU sharing {sharing!r}", place="--gpu-sharing", fix="use mps (or leave it out)")
    if shutil.which(CONTROL) is None:
        raise SpecError(
            f"MPS needs {CONTROL} on PATH",
            place="--gpu-sharing",
            fix="install the NVIDIA driver's CUDA MPS tools (or put their folder on PATH), or leave --gpu-sharing out",
        )


class MpsDaemon:
    """One run's MPS control daemon: start() before any task process, stop() at the end (stop is idempotent)."""

    def __init__(self) -> None:
        self.folder = ""
        self.env: dict[str, str] = {}  # the variables every task (and the daemon) gets

    def start(self) -> None:
        self.folder = tempfile.mkdtemp(prefix="hetflow-mps-")  # 0700: private to this user
        pipe, logs = os.path.join(self.folder, "pipe"), os.path.join(self.folder, "log")
        os.mkdir(pipe, 0o700)
        os.mkdir(logs, 0o700)
        self.env = {"CUDA_MPS_PIPE_DIRECTORY": pipe, "CUDA_MPS_LOG_DIRECTORY": logs}
        try:
            done = subprocess.run(
                [CONTROL, "-d"], env={**os.environ, **self.env}, capture_output=True, timeout=_TIMEOUT_S, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            self._remove()
            raise ExecutionError(f"cannot start the MPS control daemon: {exc}") from exc
        if done.returncode != 0:
            self._remove()
            said = (done.stderr or done.stdout).decode(errors="replace").strip()
            raise ExecutionError(f"{CONTROL} -d failed with exit status {done.returncode}: {said}")
        log.info("MPS control daemon started (pipes in %s)", pipe)

    def stop(self) -> None:
        """Ask the daemon to quit (it stops its servers once their clients ended), then remove the folder."""
        if not self.folder:
            return
        try:
            done = subprocess.run(
                [CONTROL],
                input=b"quit\n",
                env={**os.environ, **self.env},
                capture_output=True,
                timeout=_TIMEOUT_S,
                check=False,
            )
            if done.returncode != 0:
                log.warning("MPS control daemon: quit failed with exit status %d", done.returncode)
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.warning("MPS control daemon: quit failed: %s", exc)
        self._remove()

    def _remove(self) -> None:
        with contextlib.suppress(OSError):
            shutil.rmtree(self.folder)
        self.folder = ""
