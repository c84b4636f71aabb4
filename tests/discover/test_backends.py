"""Nodes carry features on every backend: declared in the platform, else discovered on the node at start-up (the
local machine; each Dask worker through client.run; each Ray node through a task pinned to it); a real run puts a
variant only where its requirement holds."""

from __future__ import annotations

import os
import platform as pyplatform
import subprocess
import sys
from pathlib import Path

import pytest

import hetflow as hf
from hetflow.discover.cpu import parse_cpuinfo
from hetflow.journal import read_journal

MACHINE = subprocess.run(["uname", "-m"], capture_output=True, text=True, check=True).stdout.strip()
_, HERE_ISA = parse_cpuinfo(Path("/proc/cpuinfo").read_text()) if Path("/proc/cpuinfo").exists() else (None, set())
REAL_EXT = sorted(HERE_ISA)[0] if HERE_ISA else "neon"  # an extension this machine has
PLATFORM = {
    "platform": "tagged-and-plain",
    "nodes": [
        # described as a machine with a made-up extension, and without the real one: declared features win
        {"type": "tagged", "cores": 1, "features": {"arch": MACHINE, "isa": ["hetflow_test_ext"]}},
        {"type": "plain", "cores": 1},  # described by discovery on the node
    ],
}
WORKFLOW = {
    "workflow": "placed-by-features",
    "tasks": [
        {"name": "special", "count": 3, "command": "true", "requires": {"isa": "hetflow_test_ext"}},
        {"name": "native", "count": 3, "command": "true", "requires": {"arch": MACHINE, "isa": REAL_EXT}},
        {"name": "anywhere", "count": 2, "command": "true"},
    ],
}
BACKENDS = ["local", "dask", pytest.param("ray", marks=[pytest.mark.ray, pytest.mark.slow])]


@pytest.mark.skipif(pyplatform.system() != "Linux", reason="reads /proc/cpuinfo")
@pytest.mark.parametrize("backend", BACKENDS)
def test_nodes_are_described_and_variants_go_where_their_features_are(backend: str, tmp_path: Path) -> None:
    pytest.importorskip({"local": "hetflow", "dask": "distributed", "ray": "ray"}[backend])
    journal = tmp_path / "run.db"
    with hf.Session(backend, platform=PLATFORM, journal=journal) as s:
        tagged, plain = s.platform.node_types
        assert tagged.features is not None and tagged.features.isa == {"hetflow_test_ext"}
        assert plain.features is not None, "the plain node was not described by discovery"
        assert plain.features.arch == MACHINE and REAL_EXT in plain.features.isa
        assert plain.features.isa == HERE_ISA
        assert s.run(WORKFLOW).ok
    placed: dict[str, set[str]] = {}
    for iv in read_journal(journal).intervals():
        placed.setdefault(iv.set, set()).add(iv.node)
    assert placed["special"] == {"tagged-0"}
    assert placed["native"] == {"plain-0"}
    assert placed["anywhere"] <= {"tagged-0", "plain-0"}


def test_a_run_whose_set_fits_no_node_is_one_line_and_exit_2(tmp_path: Path) -> None:
    import yaml

    wf, plat = tmp_path / "wf.yaml", tmp_path / "p.yaml"
    wf.write_text(yaml.safe_dump({"tasks": [{"name": "md", "command": "true", "requires": {"isa": "no_such_ext"}}]}))
    plat.write_text(yaml.safe_dump(PLATFORM))
    for command in ("validate", "simulate", "run"):
        r = subprocess.run(
            [sys.executable, "-c", "from hetflow.cli import main; main()", command, str(wf), "--platform", str(plat)],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=_env(),
            timeout=120,
        )
        assert r.returncode == 2, (command, r.stdout, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1, (command, r.stderr)
        assert "tasks[0] (md).requires: no node of platform 'tagged-and-plain' has the features md requires" in lines[0]
        assert "no no_such_ext" in lines[0]


def _env() -> dict[str, str]:
    """This checkout's sources first (the console script runs the installed ones)."""
    return {**os.environ, "PYTHONPATH": str(Path(hf.__file__).parents[1])}


def test_a_dask_worker_that_joins_later_takes_its_node_types_features() -> None:
    pytest.importorskip("distributed")
    from hetflow.executors.dask import DaskExecutor
    from hetflow.spec import load_platform
    from tests.procs import wait_for

    ex = DaskExecutor()
    worker: subprocess.Popen[bytes] | None = None
    try:
        platform = ex.connect(load_platform({"platform": "one", "nodes": [{"type": "n", "cores": 1}]}))
        (described,) = platform.node_types
        assert described.features is not None and described.features.arch == MACHINE
        ex.start(platform.nodes())
        address = ex.client.scheduler.address
        cmd = [sys.executable, "-m", "distributed.cli.dask_worker", address, "--name", "n-1", "--nthreads", "1"]
        cmd += ["--no-nanny", "--no-dashboard", "--resources", "cores=1", "--memory-limit", "0"]  # the shape of n
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        worker = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        joined = []

        def seen() -> bool:
            ex.poll(0.2)
            joined.extend(c for c in ex.changes() if c.node is not None)
            return bool(joined)

        wait_for(seen, timeout=60, what="the new worker to join")
        assert joined[0].name == "n-1" and joined[0].node is not None
        assert joined[0].node.features == described.features
    finally:
        ex.close()
        if worker is not None:
            worker.kill()
            worker.wait(timeout=30)
