"""Functions the multi-site tests run on endpoints (which import this module by reference)."""

from __future__ import annotations

import os
import time
from pathlib import Path


def slow_square(i: int, folder: str, seconds: float) -> int:
    """i * i after `seconds`; a file named after i and this process's id says it started (where: by the pid)."""
    Path(folder, f"{i}.{os.getpid()}").write_text("")
    time.sleep(seconds)
    return i * i


def total(*values: int) -> int:
    return sum(values)


def record(index: int) -> int:
    """A workflow's `function:`, called with its task's index."""
    return index * 10


def tagged(client: int, i: int) -> tuple[int, int, int]:
    """(client, i, a value of both): a result that names the invocation it answers."""
    return client, i, client * 1_000_003 + i * i
