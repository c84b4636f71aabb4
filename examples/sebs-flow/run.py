"""Run the six SeBS-Flow benchmark shapes for real (one local Session, each with its input.json) and simulate each
on platform.yaml as its side.yaml assumes; print one JSON object per example.

    python examples/sebs-flow/run.py [NAME ...]

The same from the command line, one example at a time:
    hetflow run examples/sebs-flow/ml/definition.json --functions examples/sebs-flow/ml/functions.py \
        --side examples/sebs-flow/ml/side.yaml --input examples/sebs-flow/ml/input.json
    hetflow simulate examples/sebs-flow/ml/definition.json --side examples/sebs-flow/ml/side.yaml \
        --platform examples/sebs-flow/platform.yaml
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from hetflow.flows.functions import flow_functions
from hetflow.flows.interpreter import run_flow
from hetflow.flows.unroll import unrolled
from hetflow.runtime import Session
from hetflow.sim.simulator import run_simulation
from hetflow.spec.flowside import load_side
from hetflow.spec.load import load_definition, load_platform, read_document
from hetflow.spec.sebsflow import Flow

HERE = Path(__file__).resolve().parent
EXAMPLES = ("trip-booking", "map-reduce", "video", "excamera", "ml", "genomes")


def flow_of(name: str) -> Flow:
    flow = load_definition(HERE / name / "definition.json")
    assert isinstance(flow, Flow)
    return flow


def main(names: list[str]) -> list[dict[str, Any]]:
    rows = []
    platform = load_platform(HERE / "platform.yaml")
    with Session(platform=platform) as session:  # declared: tasks may ask more cores than this machine has
        for name in names:
            flow = flow_of(name)
            side = load_side(HERE / name / "side.yaml", flow)
            functions = flow_functions(flow, str(HERE / name / "functions.py"))
            start = time.perf_counter()
            run = run_flow(session, flow, functions, read_document(HERE / name / "input.json"), side)
            real_s = time.perf_counter() - start
            error = run.future.exception()
            simulated = run_simulation(unrolled(flow, side), platform, "task", "fifo")
            rows.append(
                {
                    "example": name,
                    "ok": error is None,
                    "error": None if error is None else str(error),
                    "output": None if error is not None else run.result(),
                    "states": run.visited,
                    "handled": run.handled,
                    "tasks": run.tasks,
                    "real_s": round(real_s, 3),
                    "simulated_tasks": simulated.tasks,
                    "simulated_makespan_s": simulated.makespan_s,
                }
            )
    return rows


if __name__ == "__main__":
    for row in main(sys.argv[1:] or list(EXAMPLES)):
        print(json.dumps(row, default=repr))
