"""Makespan, bounds, utilization series and asynchronicity of runs."""

from hetflow.metrics.result import RunResult, SetSpan, asynchronicity_gain
from hetflow.metrics.utilization import StepSeries, busy_series, utilization

__all__ = ["RunResult", "SetSpan", "StepSeries", "asynchronicity_gain", "busy_series", "utilization"]
