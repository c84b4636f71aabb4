"""The adaptive example's model, after the NWChem / DeepDriveMD mini-app: the machine, the task sets, the uncertainty
that DFT tasks report, and the three strategies as triggers. The same code drives the simulation and the real run.

The machine is made of Summit-like nodes (42 cores, 6 GPUs). Every GPU task holds one core and one GPU, so each node
keeps one core per GPU for the "ddmd" partition (with all the GPUs) and gives the other 36 cores to "uq", where the
DFT tasks run (CPU only).

- UQ: DFT tasks, 6 cores each, three waves of the uq partition. Each reports the uncertainty of its estimate; their
  combined (inverse-variance) uncertainty falls as results come in. "Fully satisfied": it has reached its target,
  which the whole campaign is sized for (so with its last result). "Partly satisfied": within twice the target,
  i.e. after a quarter of the results or more (in practice the first wave).
- One DDMD set: pretraining on the DFT data (GPU), ab-initio MD (CPU), then ITERATIONS x (MD simulation (GPU) ->
  aggregation (CPU) -> training (GPU) -> inference/selection (GPU)), strictly in sequence. Its wide stages are sized
  to half the machine (half the GPUs, or 18 of each node's 42 cores) and the others are narrower, so a DDMD set
  alone leaves at least half of the machine idle. Each selection task selects one structure: the useful results.

Strategies:
- baseline: when UQ is fully satisfied, give the uq cores to ddmd and start a DDMD set.
- design1: when UQ is partly satisfied, start the DDMD set's pretraining on the GPUs that DFT leaves idle; when it is
  fully satisfied, give the uq cores to ddmd; the rest of the DDMD set starts once both UQ and pretraining are done.
- design2: when partly satisfied, split the ddmd partition into two halves and start a second DDMD set (B) in the
  new one; when fully satisfied, give each half half of the uq cores and start the first set (A) as the baseline does.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property, partial
from typing import Any

import numpy as np
from examples.adaptive.tasks import REAL_TIME_SCALE, RUNTIME_S, dft_uncertainty

from hetflow import Trigger
from hetflow.core.triggers import Actions, Observed
from hetflow.metrics.result import RunResult
from hetflow.spec.resources import Resources
from hetflow.spec.workflow import TaskSet, Workflow

STRATEGIES = ("baseline", "design1", "design2")
DFT_CORES = 6
DFT_WAVES = 3
ITERATIONS = 3
PARTLY = 2.0  # partly satisfied: the combined uncertainty within PARTLY x its target
TASKS = "examples.adaptive.tasks"


def combined(uncertainties: Sequence[float]) -> float:
    """The uncertainty of the inverse-variance combination of independent estimates (inf when there are none)."""
    if not uncertainties:
        return math.inf
    return float(1.0 / np.sqrt(np.sum(np.asarray(uncertainties, dtype=float) ** -2)))


@dataclass(frozen=True)
class Setup:
    """`nodes` Summit-like nodes, and the time scale of runs on them (1: simulated seconds)."""

    nodes: int
    time_scale: float = 1.0
    cores: int = 42
    gpus: int = 6

    def platform(self) -> dict[str, Any]:
        return {
            "platform": f"summit-{self.nodes}",
            "nodes": [{"type": "summit", "count": self.nodes, "cores": self.cores, "gpus": self.gpus}],
        }

    @property
    def gpu_share(self) -> float:
        """The fraction of a node's cores that its GPU tasks hold: one per GPU."""
        return self.gpus / self.cores

    def partitions(self) -> dict[str, dict[str, float]]:
        return {"uq": {"cores": 1 - self.gpu_share}, "ddmd": {"cores": self.gpu_share, "gpus": 1.0}}

    @property
    def n_dft(self) -> int:
        return DFT_WAVES * self.nodes * ((self.cores - self.gpus) // DFT_CORES)

    @cached_property
    def target(self) -> float:
        """The uncertainty the UQ campaign is sized for: what all its DFT results give together."""
        return combined([dft_uncertainty(i) for i in range(self.n_dft)])

    def _set(
        self, name: str, kind: str, count: int, cores: int, gpus: int, partition: str, after: tuple[str, ...] = ()
    ) -> TaskSet:
        return TaskSet(
            name,
            count,
            Resources.of(cores, gpus),
            RUNTIME_S[kind] * self.time_scale,
            after,
            function=f"{TASKS}:{kind}",
            partition=partition,
            workload=workload_name(name),
        )

    def dft(self) -> TaskSet:
        return self._set("dft", "dft", self.n_dft, DFT_CORES, 0, "uq")

    def pretrain(self, tag: str, partition: str) -> TaskSet:
        return self._set(f"{tag}-pretrain", "pretrain", self.nodes * self.gpus // 2, 1, 1, partition)

    def after_pretrain(self, tag: str, partition: str, after: tuple[str, ...] = ()) -> list[TaskSet]:
        """Ab-initio MD, then the DDMD loop, of DDMD set `tag`."""
        half_gpus, narrow = self.nodes * self.gpus // 2, max(1, self.nodes // 8)
        sets = [self._set(f"{tag}-aimd", "aimd", self.nodes, (self.cores - self.gpus) // 2, 0, partition, after)]
        for k in range(ITERATIONS):
            for kind, count, cores, gpus in (
                ("md", half_gpus, 1, 1),
                ("aggregate", narrow, DFT_CORES, 0),
                ("train", narrow, 1, 1),
                ("select", half_gpus, 1, 1),
            ):
                sets.append(self._set(f"{tag}-{kind}{k}", kind, count, cores, gpus, partition, (sets[-1].name,)))
        return sets

    def ddmd(self, tag: str, partition: str) -> list[TaskSet]:
        pretrain = self.pretrain(tag, partition)
        return [pretrain, *self.after_pretrain(tag, partition, (pretrain.name,))]


def workload_name(set_name: str) -> str:
    """The workload a set belongs to, named as the report shows it: "UQ" for the DFT campaign, "DDMD A" for the
    sets of DDMD set A (A-pretrain, A-md0, ...), so that a workload keeps its name and colour in every strategy."""
    return "UQ" if set_name == "dft" else f"DDMD {set_name.split('-')[0]}"


SIM = Setup(nodes=256)
REAL = Setup(nodes=1, time_scale=REAL_TIME_SCALE)


@dataclass
class Plan:
    """What a strategy submits first, its partitions, and its triggers."""

    workflow: Workflow
    partitions: dict[str, dict[str, float]]
    triggers: list[Trigger]


def plan(strategy: str, setup: Setup) -> Plan:
    """The DFT campaign and the triggers that make `strategy` of it."""

    def satisfied(factor: float) -> Callable[[Observed], bool]:  # results come in any order: allow for rounding
        return lambda seen: combined(seen.results) <= factor * setup.target * (1 + 1e-9)

    def uq_done(ctx: Actions, shares: dict[str, dict[str, float]]) -> None:
        ctx.repartition({"uq": {"cores": 0.0}, **shares})

    def partly(then: Callable[[Actions], None]) -> Trigger:
        return Trigger(("dft",), then, predicate=satisfied(PARTLY), name="uq partly satisfied")

    def fully(then: Callable[[Actions], None]) -> Trigger:
        return Trigger(("dft",), then, predicate=satisfied(1.0), name="uq fully satisfied")

    def baseline_ddmd(ctx: Actions) -> None:
        uq_done(ctx, {"ddmd": {"cores": 1.0}})
        ctx.submit(setup.ddmd("A", "ddmd"))

    waiting = {"uq", "pretraining"}  # design1 starts the rest of its DDMD set once both are done

    def rest_after(what: str, ctx: Actions) -> None:
        waiting.discard(what)
        if not waiting:
            ctx.submit(setup.after_pretrain("A", "ddmd"))

    def pretrain_early(ctx: Actions) -> None:
        ctx.submit([setup.pretrain("A", "ddmd")])
        ctx.when(Trigger(("A-pretrain",), partial(rest_after, "pretraining"), fraction=1.0, name="pretrained"))

    def uq_done_then_rest(ctx: Actions) -> None:
        uq_done(ctx, {"ddmd": {"cores": 1.0}})
        rest_after("uq", ctx)

    def second_set(ctx: Actions) -> None:
        half = {"cores": setup.gpu_share / 2, "gpus": 0.5}
        ctx.repartition({"ddmd": half, "ddmd2": half})
        ctx.submit(setup.ddmd("B", "ddmd2"))

    def first_set_in_half(ctx: Actions) -> None:
        uq_done(ctx, {"ddmd": {"cores": 0.5}, "ddmd2": {"cores": 0.5}})
        ctx.submit(setup.ddmd("A", "ddmd"))

    triggers = {
        "baseline": [fully(baseline_ddmd)],
        "design1": [partly(pretrain_early), fully(uq_done_then_rest)],
        "design2": [partly(second_set), fully(first_set_in_half)],
    }[strategy]
    return Plan(Workflow(f"adaptive-{strategy}", (setup.dft(),)), setup.partitions(), triggers)


def results(result: RunResult) -> int:
    """Useful results: structures selected (one per selection task done), over every DDMD set and iteration."""
    return sum(iv.n for iv in result.intervals if iv.status == "done" and "-select" in iv.set)


def summary(strategy: str, result: RunResult) -> dict[str, Any]:
    """The --json object of one strategy."""
    return {
        "strategy": strategy,
        "source": result.source,
        "platform": result.platform.name,
        "makespan_s": round(result.makespan_s, 3),
        "results": results(result),
        "cpu_utilization": round(result.cpu_utilization, 4),
        "gpu_utilization": round(result.gpu_utilization, 4),
        "tasks": result.tasks,
        "events": [
            {"t": round(m.t - result.origin, 3), "kind": m.kind, "text": m.text}
            for m in sorted(result.marks, key=lambda m: m.t)
        ],
    }
