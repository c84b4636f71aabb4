"""Forecasts for every task set of a workflow, from the history store."""

from __future__ import annotations

from collections.abc import Mapping

from hetflow.predict.history import Attempt, HistoryStore, set_key
from hetflow.predict.models import DECLARED, Forecast, Query, forecast
from hetflow.predict.record import input_bytes
from hetflow.spec.workflow import Workflow


def set_forecasts(
    store: HistoryStore, workflow: Workflow, keys: Mapping[str, str] | None = None
) -> list[tuple[str, Forecast]]:
    """(set name, forecast) per task set, in declaration order (a set without history: its declared run time, or
    the percentiles of its declared distribution). keys maps a set name to its set key where the
    name alone does not give it (a WfFormat task's category); the others use set_key(name)."""
    cache: dict[str, list[Attempt]] = {}
    out: list[tuple[str, Forecast]] = []
    for s in workflow.sets:
        key = (keys or {}).get(s.name) or set_key(s.name)
        if key not in cache:
            cache[key] = store.attempts(key)
        query = Query(s.resources.cores, s.resources.gpus, input_bytes(s), workflow.n_tasks)
        if not cache[key] and s.runtime_dist is not None:  # no history: the law the set declares
            d = s.runtime_dist
            out.append((s.name, Forecast(key, d.quantile(0.1), d.median, d.quantile(0.9), DECLARED, 0)))
        else:
            out.append((s.name, forecast(key, cache[key], query, s.runtime)))
    return out
