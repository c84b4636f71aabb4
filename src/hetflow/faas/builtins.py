"""Functions every endpoint has, by reference: run them without registering code of your own (curl, other
languages, workflows of commands on endpoints)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from typing import Any


def shell(command: str, cwd: str | None = None, env: dict[str, str] | None = None,
          timeout: float | None = None) -> dict[str, Any]:  # fmt: skip
    """Run a shell command on the endpoint; its exit status, output and error output (text), and its duration.
    The command runs in a process group of its own, so a timeout kills what it started too (a background job or a
    pipeline would otherwise outlive the invocation, holding the worker's cores); subprocess.TimeoutExpired then
    carries what it had printed."""
    start = time.time()
    full = {**os.environ, **(env or {})}
    with subprocess.Popen(
        command, shell=True, cwd=cwd, env=full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        errors="replace", start_new_session=True,
    ) as proc:  # fmt: skip
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            raise subprocess.TimeoutExpired(command, timeout or 0.0, out, err) from None
        except BaseException:  # the worker is being stopped: take the command's group with it
            os.killpg(proc.pid, signal.SIGKILL)
            raise
    return {"returncode": proc.returncode, "stdout": out, "stderr": err, "seconds": time.time() - start}


def echo(*args: Any, **kwargs: Any) -> Any:
    """Its argument back (one), or all of them: for latency measurements and checks."""
    if len(args) == 1 and not kwargs:
        return args[0]
    return {"args": list(args), "kwargs": kwargs}
