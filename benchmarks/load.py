"""Loading benchmark: load + validate + analyse a large generated workflow, beside the bare parse of the same file.

Two shapes are generated (layered random DAGs, fixed seed): the declared form, one million tasks in sets of
10,000; and the per-record form of a converted trace, one task per set (--records of them). Each is loaded from
a Python dict, a YAML file and a JSON file. The peer in the same run is the time to merely parse the file
(json.loads, yaml.load with the C loader), so the figures compare across machines. The cycle collector is paused
in every timed call, as the loader pauses it itself, so no figure pays for another's garbage.

Then, per record (--per-record sizes, default 200,000 and 1,000,000 one-task sets in a JSON file), the phases of
loading apart, in microseconds per record: parse (the file to data), validate (data to task sets), build (the
Workflow: names, dependencies, their order), analyse (levels, workloads, critical path), fit_and_bound (what a
run's summary asks: the fit check and the lower bound, twice), load_workflow (parse, validate and build as one), and
load_workflow_and_analyse. Prints JSON.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from hetflow.spec import Platform, Workflow, load_workflow, read_document
from hetflow.spec.native import task_sets_from_dict
from hetflow.spec.platform import NodeType
from hetflow.spec.resources import GPU_UNIT

try:
    from yaml import CSafeDumper as Dumper
    from yaml import CSafeLoader as Loader
except ImportError:  # PyYAML without libyaml
    from yaml import SafeDumper as Dumper  # type: ignore[assignment]
    from yaml import SafeLoader as Loader  # type: ignore[assignment]


def generate(n_sets: int, per_set: int, width: int, seed: int = 2024) -> dict[str, Any]:
    """A layered random DAG of n_sets task sets, width sets per layer, each depending on 1-3 of the layer above."""
    rng = random.Random(seed)
    tasks: list[dict[str, Any]] = []
    above: list[str] = []
    layer: list[str] = []
    for i in range(n_sets):
        if i and i % width == 0:
            above, layer = layer, []
        task: dict[str, Any] = {
            "name": f"S{i}",
            "count": per_set,
            "cores": rng.choice([1, 2, 4, 8]),
            "gpus": rng.choice([0, 0, 0.25, 1]),
            "memory": rng.choice(["1GiB", "2GiB", "4GiB"]),
            "runtime": round(rng.uniform(10, 600), 1),
        }
        if above:
            task["after"] = rng.sample(above, k=rng.randint(1, min(3, len(above))))
        tasks.append(task)
        layer.append(task["name"])
    return {"workflow": f"bench-{n_sets}x{per_set}", "tasks": tasks}


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    """The shortest of repeat timed calls, in seconds, with the cycle collector paused as the loader pauses it."""
    times = []
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
        del result  # freed outside the timed call, as a caller keeps what it loads
        gc.enable()
    return round(min(times), 4)


_CACHED = ("analysis", "critical_path", "order", "_kid_ids", "_order_ids")  # what a Workflow works out when asked


def analyse_afresh(workflow: Workflow) -> None:
    """The DAG analysis alone, what it caches dropped first."""
    for key in _CACHED:
        workflow.__dict__.pop(key, None)
    _ = workflow.analysis


def bound_afresh(workflow: Workflow, platform: Platform) -> None:
    """What a run's summary asks of the workflow: the fit check and the lower bound (twice, as the summary does),
    with the critical path it caches dropped first."""
    for key in _CACHED:
        workflow.__dict__.pop(key, None)
    platform.check_fits(workflow)
    platform.lower_bound(workflow)
    platform.lower_bound(workflow)


def load_and_analyse(source: object) -> None:
    workflow = load_workflow(source)  # type: ignore[arg-type]
    _ = workflow.analysis


def measure(name: str, doc: dict[str, Any], folder: Path, repeat: int) -> dict[str, Any]:
    yaml_path, json_path = folder / f"{name}.yaml", folder / f"{name}.json"
    yaml_path.write_text(yaml.dump(doc, Dumper=Dumper, sort_keys=False))
    json_path.write_text(json.dumps(doc))
    wf = load_workflow(doc)
    return {
        "sets": len(wf),
        "tasks": wf.n_tasks,
        "levels": wf.analysis.n_levels,
        "yaml_bytes": yaml_path.stat().st_size,
        "json_bytes": json_path.stat().st_size,
        "analysis_only_s": best_of(repeat, lambda: analyse_afresh(wf)),
        "dict_load_s": best_of(repeat, lambda: load_and_analyse(doc)),
        "yaml_load_s": best_of(repeat, lambda: load_and_analyse(yaml_path)),
        "yaml_parse_only_s": best_of(repeat, lambda: yaml.load(yaml_path.read_text(), Loader=Loader)),
        "json_load_s": best_of(repeat, lambda: load_and_analyse(json_path)),
        "json_parse_only_s": best_of(repeat, lambda: json.loads(json_path.read_text())),
    }


def per_record(n_records: int, folder: Path, repeat: int) -> dict[str, Any]:
    """Microseconds per record of each phase of loading n_records one-task sets from a JSON file."""
    path = folder / f"records-{n_records}.json"
    path.write_text(json.dumps(generate(n_records, 1, width=max(1, int(n_records**0.5)))))
    doc: Any = read_document(path)
    name, sets = task_sets_from_dict(doc)
    wf = Workflow(name or "records", tuple(sets))
    pf = Platform("bench", (NodeType("node", count=64, cores=64, gpu_units=4 * GPU_UNIT),))
    seconds = {
        "parse": best_of(repeat, lambda: read_document(path)),
        "validate": best_of(repeat, lambda: task_sets_from_dict(doc)),
        "build": best_of(repeat, lambda: Workflow(name or "records", tuple(sets))),
        "analyse": best_of(repeat, lambda: analyse_afresh(wf)),
        "fit_and_bound": best_of(repeat, lambda: bound_afresh(wf, pf)),
        "load_workflow": best_of(repeat, lambda: load_workflow(path)),
        "load_workflow_and_analyse": best_of(repeat, lambda: load_and_analyse(path)),
    }
    return {
        "records": n_records,
        "json_bytes": path.stat().st_size,
        "us_per_record": {k: round(v / n_records * 1e6, 2) for k, v in seconds.items()},
        "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=1_000_000, help="tasks of the declared workflow")
    parser.add_argument("--per-set", type=int, default=10_000, help="tasks per set of the declared workflow")
    parser.add_argument("--records", type=int, default=20_000, help="sets of one task in the per-record workflow")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per figure; the best is reported")
    parser.add_argument(
        "--per-record", type=int, nargs="*", default=[200_000, 1_000_000], help="sizes for the per-record phases"
    )
    args = parser.parse_args()
    results: dict[str, Any] = {"python": platform.python_version(), "machine": platform.machine()}
    with tempfile.TemporaryDirectory() as tmp:
        declared = generate(args.tasks // args.per_set, args.per_set, width=10)
        results["declared"] = measure("declared", declared, Path(tmp), args.repeat)
        records = generate(args.records, 1, width=max(1, args.records // 100))
        results["per_record"] = measure("per-record", records, Path(tmp), args.repeat)
        results["per_record_phases"] = [per_record(n, Path(tmp), args.repeat) for n in args.per_record]
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
