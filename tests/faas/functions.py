"""Functions the endpoint tests invoke by reference (the endpoint imports this module)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any


def square(x: int) -> int:
    return x * x


def pid() -> int:
    return os.getpid()


def sleepy(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def text(n: int) -> str:
    """n characters: a result as large as asked."""
    return "x" * n


def boom(text: str) -> None:
    raise ValueError(text)


def die_once(marker: str) -> int:
    """The first call (no marker file yet) writes its pid and sleeps, to be killed; a later call returns its pid."""
    path = Path(marker)
    if not path.exists():
        path.write_text(f"{os.getpid()}\n")
        time.sleep(60)
    return os.getpid()


def die_always(marker: str) -> None:
    """Write its pid (a line per attempt) and sleep, to be killed every time."""
    with open(marker, "a") as f:
        f.write(f"{os.getpid()}\n")
    time.sleep(60)


def pids_in(marker: str) -> list[int]:
    """The pids die_once / die_always wrote (whole lines only)."""
    try:
        text = Path(marker).read_text()
    except OSError:
        return []
    return [int(line) for line in text.splitlines() if line.strip().isdigit()]


def writable(arr: Any) -> bool:
    """Whether the array the call was given can be written to (as it could be in the caller's process)."""
    return bool(arr.flags.writeable)
