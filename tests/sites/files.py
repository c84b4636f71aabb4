"""Sites files for the tests: a one-node site with a chosen power model and intensity, and a two-hour CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.shared import SHARED

CARBON = SHARED / "data" / "carbon"  # the grid operators' hourly intensities of 2022 (../shared beside the clone)


def site(
    name: str, carbon: float | str, *, cores: int = 4, gpus: float = 0, count: int = 1, **extra: Any
) -> dict[str, Any]:
    """A site of `count` nodes of one type, as a sites file writes it."""
    nodes = [{"type": "n", "count": count, "cores": cores, "gpus": gpus}]
    return {"name": name, "platform": {"nodes": nodes}, "carbon": carbon, **extra}


def two_hour_csv(path: Path, first: float = 100.0, second: float = 300.0) -> Path:
    """An hourly CSV of two rows, 2022-01-01 00:00 and 01:00 UTC, in the shared files' columns."""
    path.write_text(
        f"timestamp,WND,SUN,avg_CI\n2022-01-01 00:00:00+00:00,1,2,{first}\n2022-01-01 01:00:00+00:00,1,2,{second}\n",
        encoding="utf-8",
    )
    return path
