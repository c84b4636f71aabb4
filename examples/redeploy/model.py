"""The GROMACS-like workflow of the redeploy example, its platforms and its three strategies, as one stated model.

Every system of a study (a protein to simulate) goes through the same chain of GROMACS functions: prep (pdb2gmx,
editconf, solvate, genion), em (energy minimisation), nvt and npt (equilibration), prod (production MD), analysis
(rms, gyrate, energy). The four mdrun functions are intensive: they have a GPU build, several times faster.

- monolith: one big task per system running the whole chain in one container (one image, one cold start per node),
  CPU only, holding the mdrun's cores throughout, light steps included.
- nhha (decomposed, heterogeneity-oblivious): each function its own task set and its own container image (one
  portable CPU build), so each pays its cold start on each node it first runs on; fifo (the first way to run that
  fits, first node): the GPU nodes are just more cores to it.
- hha (decomposed, heterogeneity-aware): the same sets, the intensive ones with a second way to run, the CUDA build
  on the GPU nodes (its own image, a longer cold start); policy hha (earliest finish over node types and ways to
  run, cold starts included), so when the GPU nodes join, the sets not yet started move there.
In every strategy the GPU nodes join the run at JOIN_S (an allocation granted while the workflow runs).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from hetflow.spec.platform import NodeType, Platform
from hetflow.spec.resources import GPU_UNIT, Resources
from hetflow.spec.workflow import TaskSet, Variant, Workflow

STRATEGIES = ("monolith", "nhha", "hha")
POLICY = {"monolith": "fifo", "nhha": "fifo", "hha": "hha"}


@dataclass(frozen=True)
class Function:
    """One GROMACS function: cores and run time of its portable CPU build; with gpu_s, its CUDA build's run time."""

    name: str
    cores: int
    cpu_s: float
    gpu_s: float | None = None  # None: not intensive, no GPU build


CHAIN = (
    Function("prep", 1, 30.0),
    Function("em", 6, 120.0, 30.0),
    Function("nvt", 6, 600.0, 100.0),
    Function("npt", 6, 600.0, 100.0),
    Function("prod", 6, 3000.0, 500.0),
    Function("analysis", 1, 60.0),
)
CPU_COLD_S = 15.0  # a function's portable container: pull (cached) and start, on a node it has not run on
GPU_COLD_S = 30.0  # a CUDA build's container: larger image, CUDA context
MONOLITH_COLD_S = 30.0  # the one image with every step


@dataclass(frozen=True)
class Scale:
    """How big a run is: systems, CPU nodes from the start, GPU nodes joining at join_s, seconds per model second."""

    systems: int
    cpu_nodes: int
    gpu_nodes: int
    cores: int
    gpus: int
    join_s: float
    time_scale: float = 1.0

    def platform(self) -> Platform:
        return Platform("cpu", (NodeType("cpu", self.cpu_nodes, self.cores),))

    def joining(self) -> Platform:
        return Platform("gpu", (NodeType("gpu", self.gpu_nodes, self.cores, self.gpus * GPU_UNIT),))

    def both(self) -> Platform:
        """CPU and GPU nodes from the start (the real run's: the local backend adds no node while running)."""
        return Platform("cpu+gpu", (*self.platform().node_types, *self.joining().node_types))


# the seed's scale: 30 Summit-like nodes (42 cores, 6 GPUs), of which the 6 with GPUs join after 10 minutes; 128
# systems, so that the intensive tasks queue for the 36 GPUs (SWEEP: other numbers of systems)
SIM = Scale(systems=128, cpu_nodes=24, gpu_nodes=6, cores=42, gpus=6, join_s=600.0)
SWEEP = (36, 64, 128, 256)
# for real: 4 systems on 2 CPU nodes and 1 GPU node with 4 GPUs (declared: no GPU here), 1 model second = 1 ms
REAL = Scale(systems=4, cpu_nodes=2, gpu_nodes=1, cores=24, gpus=4, join_s=0.0, time_scale=1e-3)


def workflow(strategy: str, scale: Scale, functions: bool = False) -> Workflow:
    """The strategy's workflow at that scale; functions: each set names its function in examples/redeploy/tasks.py
    (the real run), and its run times and cold starts are scaled to real seconds."""
    k, n = scale.time_scale, scale.systems
    fn = (lambda name: f"examples.redeploy.tasks:{name}") if functions else (lambda name: None)
    if strategy == "monolith":
        cores = max(f.cores for f in CHAIN)
        total = sum(f.cpu_s for f in CHAIN)
        one = TaskSet(
            "monolith", n, Resources(cores), total * k, function=fn("monolith"), cold_start=MONOLITH_COLD_S * k
        )
        return Workflow("gromacs-monolith", (one,))
    sets: list[TaskSet] = []
    before: tuple[str, ...] = ()
    for f in CHAIN:
        variants: tuple[Variant, ...] = ()
        if strategy == "hha" and f.gpu_s is not None:
            gpu = Resources(f.cores, GPU_UNIT)
            variants = (Variant(gpu, f.gpu_s * k, "gpu", image=f"{f.name}-cuda", cold_start=GPU_COLD_S * k),)
        cpu, cold = Resources(f.cores), CPU_COLD_S * k
        sets.append(
            TaskSet(f.name, n, cpu, f.cpu_s * k, before, function=fn(f.name), variants=variants, cold_start=cold)
        )
        before = (f.name,)
    return Workflow(f"gromacs-{strategy}", tuple(sets))


def warm(w: Workflow) -> Workflow:
    """The same workflow with no cold start anywhere: what the cold starts cost is the difference."""
    sets = tuple(
        replace(s, cold_start=0.0, variants=tuple(replace(v, cold_start=0.0) for v in s.variants)) for s in w.sets
    )
    return Workflow(w.name, sets)


FACTS = [
    "the seed's experiment compares three deployments of a GROMACS workflow: a serial monolith, a decomposed one"
    " that is heterogeneity-oblivious (NHHA) and pays container cold starts, and a decomposed heterogeneity-aware"
    " one (HHA) that moves intensive functions to GPU nodes when they become available; HHA is the fastest"
    " (issue #17's account of it)",
    "the platform scale: 30 Summit-like nodes of 42 cores and 6 GPUs (the seed's summit-30, itself inferred)",
]
RECONSTRUCTED = [
    "the seed material holds no GROMACS numbers: every run time, core count, cold start and the join time here is a"
    " stated model, not a measurement",
    "the chain prep, em, nvt, npt, prod, analysis per system; 128 systems (36 to 256 in the sweep);"
    " intensive: the four mdrun steps",
    "the monolith: the whole chain per system as one task and one image (the seed names a serial monolith; what a"
    " step of it held is not stated)",
    "CPU run times (6 cores): em 120 s, nvt 600 s, npt 600 s, prod 3000 s; light: prep 30 s, analysis 60 s (1 core)",
    "GPU build (6 cores + 1 GPU): em 30 s, nvt 100 s, npt 100 s, prod 500 s, i.e. 4-6x, the usual range of GROMACS"
    " GPU offload against a CPU share of a node",
    "cold starts: 15 s per function container on a node it has not run on, 30 s for a CUDA build or the monolith"
    " image; warm afterwards (no keep-warm expiry)",
    "24 CPU nodes from the start, the 6 GPU nodes join at 600 s",
]
