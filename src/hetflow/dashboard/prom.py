"""/metrics: the served journals in the Prometheus text format, worked out from each journal when scraped.

hetflow_tasks{journal, state}                 tasks by state (done, running, failed, skipped, pending, ...)
hetflow_cores_busy / hetflow_gpus_busy{journal, node_type}    held by running tasks now
hetflow_queue_length{journal}                 tasks ready to run and not started (their set released)
hetflow_task_duration_seconds{journal, set}   a histogram of the attempts that ended
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from hetflow.dashboard.data import STATES, JournalSource, attempts, node_types
from hetflow.spec.resources import GPU_UNIT

BUCKETS = (0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0, 3600.0, float("inf"))
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class JournalCollector(Collector):
    """Collects the metrics of every journal served, reading each as it is now."""

    def __init__(self, sources: Sequence[JournalSource]) -> None:
        self.sources = sources

    def collect(self) -> Iterator[Metric]:
        tasks = GaugeMetricFamily("hetflow_tasks", "Tasks by state.", labels=["journal", "state"])
        cores = GaugeMetricFamily("hetflow_cores_busy", "Cores held by running tasks.", labels=["journal", "node_type"])
        gpus = GaugeMetricFamily("hetflow_gpus_busy", "GPUs held by running tasks.", labels=["journal", "node_type"])
        queue = GaugeMetricFamily("hetflow_queue_length", "Tasks ready to run, not started.", labels=["journal"])
        durations = HistogramMetricFamily(
            "hetflow_task_duration_seconds", "Run time of attempts that ended.", labels=["journal", "set"]
        )
        for src in self.sources:
            snap = src.snapshot()
            v = snap.view
            if v is None:
                continue
            counts = dict.fromkeys(STATES, 0)
            queued = 0
            for r in v.records:
                state = snap.state(r)
                counts[state] += 1
                queued += state == "waiting" or (state == "pending" and r.set in snap.released)
            for state, n in counts.items():
                tasks.add_metric([src.name, state], n)
            queue.add_metric([src.name], queued)
            types = node_types(snap)
            busy_cores = dict.fromkeys(sorted(set(types.values())), 0.0)
            busy_gpus = dict(busy_cores)
            ended: dict[str, list[float]] = {s.name: [] for s in v.workflow.sets}
            for _, iv in attempts(snap):
                if iv.status == "running":
                    kind = types.get(iv.node, iv.node)
                    busy_cores[kind] = busy_cores.get(kind, 0.0) + iv.cores
                    busy_gpus[kind] = busy_gpus.get(kind, 0.0) + iv.gpu_units / GPU_UNIT
                else:
                    ended[iv.set].append(iv.end - iv.start)
            for kind in busy_cores:
                cores.add_metric([src.name, kind], busy_cores[kind])
                gpus.add_metric([src.name, kind], busy_gpus[kind])
            for name, values in ended.items():
                buckets = [(_le(b), float(sum(1 for x in values if x <= b))) for b in BUCKETS]
                durations.add_metric([src.name, name], buckets, sum(values))
        yield from (tasks, cores, gpus, queue, durations)


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)


def registry_for(sources: Sequence[JournalSource]) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(JournalCollector(sources))
    return registry
