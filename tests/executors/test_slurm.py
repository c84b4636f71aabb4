"""hetflow on a real Slurm: the recipes of docs/hpc.md, submitted as they are written there.

- The Dask batch script and the Ray batch script are read from docs/hpc.md and submitted with `sbatch`; options on
  the `sbatch` command line shrink them to one node of 2 CPUs and 2 GPUs (the scripts take their cores, GPUs and
  memory from Slurm), the environment line becomes this interpreter's folder on PATH, and two lines appended to each
  write the address the job's cluster listens at and keep the job alive. The test checks what the script's own
  `hetflow run --backend ... --address` wrote, then connects to the same cluster and runs the mixed workflow of
  tests/clusters.py there.
- dask-jobqueue's SLURMCluster as docs/hpc.md shows it: two jobs of one worker each, declaring 2 cores and 1 GPU of
  the Slurm GPU its job was given.

Every job is cancelled at the end (scancel by the test's own job name). Needs a Slurm that answers, with an idle
node of at least 2 CPUs and 2 GPUs (GRES gpu), sharing this machine's file system (the jobs run in the test's
temporary folder): tests/slurm/start-single-node.sh starts such a one here (as root; tests/slurm/stop-single-node.sh
stops it). Skipped otherwise. Marker `slurm`; the Ray test is marked `ray` too."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import hetflow as hf
from hetflow.journal import read_journal
from hetflow.spec.platform import Node
from tests.clusters import assert_within_capacity, mixed_workflow, results_of

pytestmark = pytest.mark.slurm

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "hpc.md"
GIB = 2**30
# what the batch scripts are given on the sbatch command line (it overrides their #SBATCH lines)
SHRINK = ["--nodes=1", "--cpus-per-task=2", "--gres=gpu:2", "--mem=2G", "--time=5"]
ENV_LINE = 'source "$HOME/venvs/hetflow/bin/activate"'
START_TIMEOUT_S = 90.0  # for a job to be running and its cluster to answer
WORKFLOW = (
    "workflow: slurm\n"
    "tasks:\n"
    "  - {name: a, count: 3, cores: 2, command: 'echo $HETFLOW_TASK_ID'}\n"
    "  - {name: g, count: 2, gpus: 0.5, after: [a], command: 'echo $HETFLOW_GPUS $CUDA_VISIBLE_DEVICES'}\n"
    "  - {name: b, after: [g], function: 'tests.runtime.tasks:square'}\n"
)


@hf.task(cores=1, gpus=0.5)
def where_gpu(seconds: float) -> tuple[str | None, str | None, str | None]:
    """The Slurm job a half-GPU task ran in, the device it saw and its share of it."""
    time.sleep(seconds)
    env = os.environ.get
    return env("SLURM_JOB_ID"), env("CUDA_VISIBLE_DEVICES"), env("HETFLOW_GPUS")


# ---- Slurm --------------------------------------------------------------------------------------------------------
def slurm_problem() -> str | None:
    """Why the tests cannot run here (None: they can)."""
    missing = [c for c in ("sbatch", "squeue", "sinfo", "scancel") if shutil.which(c) is None]
    if missing:
        return f"no Slurm here ({', '.join(missing)} not on PATH)"
    try:
        r = subprocess.run(["sinfo", "-h", "-N", "-o", "%N %T %c %G"], capture_output=True, text=True, timeout=5)
    except subprocess.TimeoutExpired:
        return "Slurm does not answer (sinfo took more than 5 s)"
    if r.returncode != 0:
        return f"Slurm does not answer: {r.stderr.strip().splitlines()[-1:] or r.returncode}"
    for line in r.stdout.splitlines():
        _, state, cpus, gres = [*line.split(), "", "", "", ""][:4]
        gpus = sum(int(n) for n in re.findall(r"gpu(?::[^:,(]+)?:(\d+)", gres))
        if state.rstrip("*~#$@").lower() in ("idle", "mixed") and cpus.isdigit() and int(cpus) >= 2 and gpus >= 2:
            return None
    return f"no idle Slurm node with 2 CPUs and 2 GPUs (sinfo: {r.stdout.strip()!r}; tests/slurm/start-single-node.sh)"


@pytest.fixture(scope="module")
def slurm() -> None:
    problem = slurm_problem()
    if problem is not None:
        pytest.skip(problem)


class Jobs:
    """The Slurm jobs of one test, all of one name; cancel() ends them and waits until they are gone."""

    def __init__(self, folder: Path) -> None:
        self.name = f"hetflow-test-{uuid.uuid4().hex[:8]}"
        self.folder = folder
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "SLURM_"))}
        self.env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)

    def submit(self, script: str) -> str:
        path = self.folder / "job.sh"
        path.write_text(script)
        cmd = ["sbatch", "--parsable", f"--job-name={self.name}", f"--output={self.folder}/slurm-%j.out", *SHRINK]
        r = subprocess.run(
            [*cmd, str(path)], cwd=self.folder, env=self.env, capture_output=True, text=True, timeout=30, check=False
        )
        assert r.returncode == 0, f"sbatch: {r.stderr}"
        return r.stdout.strip().split(";")[0]

    def running(self) -> dict[str, tuple[str, str]]:
        """Job id -> (state, nodes) of this test's jobs in the queue."""
        r = subprocess.run(
            ["squeue", "-h", f"--name={self.name}", "-o", "%i %T %N"], capture_output=True, text=True, timeout=10
        )
        rows = [[*line.split(), ""] for line in r.stdout.splitlines() if line.strip()]
        return {row[0]: (row[1], row[2]) for row in rows}

    def output(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(self.folder.glob("slurm-*.out")))

    def wait_for(self, cond: Callable[[], bool], what: str, timeout: float = START_TIMEOUT_S) -> None:
        """Until cond(); fail at once when no job of the test is left, or after timeout, with the jobs' output."""
        end = time.monotonic() + timeout
        while not cond():
            if not self.running() and not cond():
                pytest.fail(f"the job ended before {what}:\n{self.output()}")
            if time.monotonic() > end:
                pytest.fail(f"timed out waiting for {what}:\n{self.output()}")
            time.sleep(0.5)

    def cancel(self) -> None:
        subprocess.run(["scancel", f"--name={self.name}"], capture_output=True, timeout=30, check=False)
        end = time.monotonic() + 60
        while self.running() and time.monotonic() < end:
            time.sleep(0.5)


@pytest.fixture
def jobs(slurm: None, tmp_path: Path) -> Iterator[Jobs]:
    j = Jobs(tmp_path)
    try:
        yield j
    finally:
        j.cancel()


# ---- the documented scripts ---------------------------------------------------------------------------------------
def documented_script(heading: str) -> str:
    """The first ```bash block after a heading of docs/hpc.md."""
    text = DOCS.read_text()
    at = text.index(heading)
    m = re.compile(r"```bash\n(.*?)```", re.S).search(text, at)
    assert m is not None, f"no bash block after {heading!r} in {DOCS}"
    return m.group(1)


def as_submitted(script: str, *, keep_alive: str) -> str:
    """The documented script with this interpreter's environment instead of the documented one, and keep_alive
    (lines that write where its cluster is) appended, then a sleep that keeps the job until it is cancelled."""
    assert ENV_LINE in script, f"docs/hpc.md changed its environment line: {ENV_LINE!r} not in the script"
    script = script.replace(ENV_LINE, f'export PATH="{Path(sys.executable).parent}:$PATH"')
    return f"{script.rstrip()}\n{keep_alive.strip()}\nsleep 600\n"


def cli_result(folder: Path, backend: str, address: str) -> None:
    """What the script's own `hetflow run --json` wrote: every task ran, on the cluster at address; the half-GPU
    commands saw their share of a GPU of the job's (HETFLOW_GPUS INDEX:0.5, CUDA_VISIBLE_DEVICES that GPU's)."""
    (summary,) = json.loads((folder / "result.json").read_text())
    assert (summary["tasks"], summary["failed"], summary["platform"]) == (6, 0, f"{backend}-{address}")
    logs = next(folder.glob("run-*.db.logs"))
    assert [(logs / f"a@{i}.out").read_text() for i in range(3)] == [f"a[{i}]\n" for i in range(3)]
    for i in range(2):
        share, device = (logs / f"g@{i}.out").read_text().split()
        index, fraction = share.split(":")
        assert fraction == "0.5" and device == index, f"g[{i}]: {share} {device}"  # the job's GPUs are 0,1


def check_mixed(got: Any, shares: set[str]) -> None:
    ones, twos, halves, last = got
    assert list(ones) == [3 * i for i in range(8)]
    assert list(twos) == [3 * i + 100 for i in range(4)]
    assert [h[0] for h in halves] == [3 * i + 100 + 3 * (i + 4) for i in range(4)]
    assert {h[1] for h in halves} <= shares and {h[2] for h in halves} == {"50"}
    assert last == sum(h[0] for h in halves)


def wrote(folder: Path) -> list[str]:
    path = folder / "address"
    return path.read_text().split() if path.exists() else []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("", 0))
        return int(s.getsockname()[1])


# ---- Dask ---------------------------------------------------------------------------------------------------------
def test_the_dask_batch_script_runs_hetflow_on_its_worker(jobs: Jobs, tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    script = documented_script("## Slurm, with a batch script (`dask scheduler` + `srun dask worker`)")
    (tmp_path / "workflow.yaml").write_text(WORKFLOW)
    job = jobs.submit(as_submitted(script, keep_alive='echo "$ADDR" > address.tmp && mv address.tmp address'))
    jobs.wait_for(lambda: bool(wrote(tmp_path)), "the script to run hetflow and write its scheduler's address")
    (address,) = wrote(tmp_path)
    cli_result(tmp_path, "dask", address)

    journal = tmp_path / "again.db"
    with hf.Session("dask", address=address, journal=journal) as s:
        nodes = s.platform.nodes()
        assert [(n.name, n.type, n.cores, n.gpu_units, n.memory) for n in nodes] == [("gpu-0", "gpu", 2, 20_000, 0)]
        workers = s.executor.client.run(os.getenv, "SLURM_JOB_ID")
        assert list(workers.values()) == [job]  # the one node is the worker the job started
        check_mixed(results_of(mixed_workflow()), {"0:0.5", "1:0.5"})
    assert_within_capacity(journal, nodes)
    state, where = jobs.running()[job]
    assert state == "RUNNING" and where


def test_slurmcluster_jobs_are_the_nodes_of_the_platform(jobs: Jobs, tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    jobqueue = pytest.importorskip("dask_jobqueue")
    from distributed import Client

    cluster = jobqueue.SLURMCluster(  # as docs/hpc.md shows it, on a node of 2 CPUs and 2 GPUs: two jobs of half
        cores=1,
        processes=1,
        memory="1GB",
        walltime="00:05:00",
        job_name=jobs.name,
        log_directory=str(tmp_path),
        job_extra_directives=["--gres=gpu:1"],
        job_script_prologue=[f"export PYTHONPATH={jobs.env['PYTHONPATH']}"],
        worker_extra_args=["--resources", "cores=2,gpus=1", "--memory-limit", "0"],
        scheduler_options={"dashboard_address": ":0"},
    )
    try:
        cluster.scale(jobs=2)
        with Client(cluster) as c:
            try:
                c.wait_for_workers(2, timeout=START_TIMEOUT_S)
            except TimeoutError:
                pytest.fail(f"the SLURMCluster workers did not come:\n{cluster.job_script()}\n{jobs.output()}")
        journal = tmp_path / "run.db"
        with hf.Session("dask", address=cluster.scheduler_address, journal=journal) as s:
            nodes = s.platform.nodes()
            shapes = [(n.name, n.type, n.cores, n.gpu_units, n.memory) for n in nodes]
            assert shapes == [(f"SLURMCluster-{i}", "SLURMCluster", 2, 10_000, 0) for i in range(2)]
            client = s.executor.client
            info = client.scheduler_info(n_workers=-1)["workers"]
            job_of = client.run(os.getenv, "SLURM_JOB_ID")
            device_of = client.run(os.getenv, "CUDA_VISIBLE_DEVICES")
            assert sorted(w["name"] for w in info.values()) == ["SLURMCluster-0", "SLURMCluster-1"]
            running = jobs.running()
            assert sorted(job_of.values()) == sorted(running)  # one node per job, every job a node
            assert {state for state, _ in running.values()} == {"RUNNING"}
            device = {job_of[a]: device_of[a] for a in info}
            assert sorted(device.values()) == ["0", "1"]  # each job was given one of the node's two GPUs

            check_mixed(results_of(mixed_workflow()), {"0:0.5"})
            seen = [f.result(timeout=60) for f in where_gpu.map([0.3] * 6)]
        assert {j for j, _, _ in seen} == set(device)  # on both nodes
        for j, dev, share in seen:  # hetflow's GPU 0 of each node is the device Slurm gave that node's job
            assert (dev, share) == (device[j], "0:0.5")
        assert_within_capacity(journal, nodes)
        placed = {(iv.set.rsplit("-", 1)[0], iv.node) for iv in read_journal(journal).intervals()}
        assert {n for _, n in placed} <= {"SLURMCluster-0", "SLURMCluster-1"}
    finally:
        cluster.close()


# ---- Ray ----------------------------------------------------------------------------------------------------------
DRIVER = """
import json, sys
import hetflow as hf
from tests.clusters import mixed_workflow, results_of
with hf.Session("ray", address=sys.argv[1], journal=sys.argv[2]) as s:
    nodes = [[n.name, n.type, n.cores, n.gpu_units, n.memory] for n in s.platform.nodes()]
    got = results_of(mixed_workflow())
print(json.dumps({"nodes": nodes, "results": got}))
"""


@pytest.mark.ray
def test_the_ray_batch_script_runs_hetflow_on_its_nodes(jobs: Jobs, tmp_path: Path) -> None:
    pytest.importorskip("ray")
    script = documented_script("### Slurm, with a batch script (`ray start` on every node)")
    assert script.count("6379") >= 2
    port = free_port()  # 6379 may be taken here: the script's port, whatever else runs on this machine
    script = script.replace("6379", str(port))
    keep = 'printf "%s %s\\n" "$RAY_ADDRESS" "$RAY_AUTH_TOKEN" > address.tmp && mv address.tmp address'
    (tmp_path / "workflow.yaml").write_text(WORKFLOW)
    job = jobs.submit(as_submitted(script, keep_alive=keep))
    jobs.wait_for(lambda: bool(wrote(tmp_path)), "the script to run hetflow and write its head's address")
    address, token = wrote(tmp_path)
    assert address.endswith(f":{port}")
    cli_result(tmp_path, "ray", address)

    # a second driver, outside the job: the job's address, token authentication and token (docs/hpc.md)
    env = {**jobs.env, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token}
    journal = tmp_path / "again.db"
    r = subprocess.run(
        [sys.executable, "-c", DRIVER, address, str(journal)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert r.returncode == 0, f"{r.stdout}\n{r.stderr}"
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["nodes"] == [["gpu-0", "gpu", 2, 20_000, 2 * GIB]]  # the head: cores, GPUs and --mem of the job
    check_mixed(out["results"], {"0:0.5", "1:0.5"})
    assert_within_capacity(journal, [Node(*n) for n in out["nodes"]])
    state, where = jobs.running()[job]
    assert state == "RUNNING" and where
