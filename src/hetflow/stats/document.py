"""The result file of repeated runs, the one format `hetflow bench --json` and `hetflow simulate --repeat N --json`
print and `hetflow compare` reads: the samples themselves (so that others can test them again) and their description.

    {"format": "hetflow-samples/1", <metadata: "source", "workflow", ...>,
     "samples": {"makespan_s": [12.1, 11.8, ...]}, "summary": {"makespan_s": <Summary.as_dict()>}}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from hetflow.stats.samples import SampleError
from hetflow.stats.summary import describe

FORMAT = "hetflow-samples/1"


def samples_document(
    samples: Mapping[str, Iterable[float]], *, confidence: float = 0.95, **metadata: Any
) -> dict[str, Any]:
    """The result file's object: metadata first, then each metric's samples and their Summary at `confidence`."""
    values = {metric: [float(v) for v in vs] for metric, vs in samples.items()}
    for key in ("format", "samples", "summary"):
        if key in metadata:
            raise SampleError(f"metadata may not be called {key!r}", fix="rename it")
    return {
        "format": FORMAT,
        **metadata,
        "samples": values,
        "summary": {metric: describe(vs, confidence).as_dict() for metric, vs in values.items()},
    }
