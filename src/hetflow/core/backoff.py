"""Retry backoff: how long a failed task waits before its next attempt may start (both clocks use this rule)."""

from __future__ import annotations

MAX_BACKOFF_S = 60.0  # the longest pause between two attempts


def backoff_delay(retry_backoff: float, attempt: int) -> float:
    """Seconds between the end of failed attempt `attempt` (1 = the first) and the earliest start of the next one:
    retry_backoff doubled per failure, at most MAX_BACKOFF_S; 0 when retry_backoff is 0."""
    if retry_backoff <= 0 or attempt < 1:
        return 0.0
    return min(MAX_BACKOFF_S, retry_backoff * 2.0 ** (attempt - 1))
