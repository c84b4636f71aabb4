"""Functions every endpoint has, by reference: run them without registering code of your own (curl, other
languages, workflows of commands on endpoints)."""

from __future__ import annotations

import os
import subprocess
import time
from typing import Any


def shell(command: str, cwd: str | None = None, env: dict[str, str] | None = None,
          timeout: float | None = None) -> dict[str, Any]:  # fmt: skip
    """Run a shell command on the endpoint; its exit status, output and error output (text), and its duration."""
    start = time.time()
    full = {**os.environ, **(env or {})}
    done = subprocess.run(
        command, shell=True, cwd=cwd, env=full, capture_output=True, text=True, errors="replace", timeout=timeout
    )
    return {"returncode": done.returncode, "stdout": done.stdout, "stderr": done.stderr, "seconds": time.time() - start}


def echo(*args: Any, **kwargs: Any) -> Any:
    """Its argument back (one), or all of them: for latency measurements and checks."""
    if len(args) == 1 and not kwargs:
        return args[0]
    return {"args": list(args), "kwargs": kwargs}
