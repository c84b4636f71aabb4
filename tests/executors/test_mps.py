"""gpu_sharing="mps" for real, without a GPU: a fake nvidia-cuda-mps-control, first on PATH, behaves like the daemon's
start (-d: it leaves its pipe in CUDA_MPS_PIPE_DIRECTORY) and quit (`quit` on stdin: it removes it, and fails when
there is no daemon) and writes a line per call into a log; the tasks write theirs into the same log. A real Session
and a real `hetflow run` then show the daemon started before the first task with a private pipe folder, that the
tasks saw it, and that quit was sent at the end, after an interrupt and after Ctrl-C."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from hetflow.cli import main
from hetflow.errors import SpecError
from hetflow.runtime import Session
from tests.procs import wait_for

HETFLOW = str(Path(sys.executable).parent / "hetflow")
FAKE = """#!/bin/sh
if [ "$1" = "-d" ]; then
  mode=$(stat -c %a "$(dirname "$CUDA_MPS_PIPE_DIRECTORY")")
  echo "start pipe=$CUDA_MPS_PIPE_DIRECTORY log=$CUDA_MPS_LOG_DIRECTORY mode=$mode" >> "$FAKE_MPS_LOG"
  touch "$CUDA_MPS_PIPE_DIRECTORY/control"
  exit 0
fi
echo "stdin=$(cat) args=$# pipe=$CUDA_MPS_PIPE_DIRECTORY" >> "$FAKE_MPS_LOG"
[ -e "$CUDA_MPS_PIPE_DIRECTORY/control" ] || { echo "no daemon" >&2; exit 1; }
rm "$CUDA_MPS_PIPE_DIRECTORY/control"
"""
TASK = (
    'echo "task pipe=$CUDA_MPS_PIPE_DIRECTORY up=$(ls $CUDA_MPS_PIPE_DIRECTORY)'
    ' pct=$CUDA_MPS_ACTIVE_THREAD_PERCENTAGE" >> "$FAKE_MPS_LOG"'
)
PLATFORM = {"platform": "g", "nodes": [{"type": "n", "cores": 2, "gpus": 1}]}


@pytest.fixture
def mps_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "nvidia-cuda-mps-control"
    fake.write_text(FAKE)
    fake.chmod(0o755)
    log = tmp_path / "mps.log"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_MPS_LOG", str(log))
    return log


def lines(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def check_run(log: Path, tasks: int) -> str:
    """The log of a whole run: start, the tasks (each saw the daemon's pipe), quit; the pipe folder, now gone."""
    got = lines(log)
    assert got[0].startswith("start pipe=") and got[0].endswith(" mode=700"), got
    pipe = got[0].split()[1].removeprefix("pipe=")
    assert Path(pipe).name == "pipe" and Path(pipe).parent.name.startswith("hetflow-mps-")
    assert got[0].split()[2] == f"log={Path(pipe).parent / 'log'}"
    assert got[1 : 1 + tasks] == [got[1]] * tasks and got[1].startswith(f"task pipe={pipe} up=control"), got
    assert got[1 + tasks :] == [f"stdin=quit args=0 pipe={pipe}"], got
    assert not Path(pipe).parent.exists()
    return got[1]


def test_a_session_starts_the_daemon_before_its_tasks_and_quits_it_at_the_end(mps_log: Path) -> None:
    with Session(platform=PLATFORM, gpu_sharing="mps") as s:
        futures = [s.shell(TASK, gpus=0.5) for _ in range(3)]
        assert all(f.result().returncode == 0 for f in futures)
    assert check_run(mps_log, 3).endswith(" pct=50")  # fractions keep their thread percentage under the daemon


def test_an_interrupted_session_quits_the_daemon(mps_log: Path, tmp_path: Path) -> None:
    s = Session(platform=PLATFORM, gpu_sharing="mps").start()
    f = s.shell(f"{TASK}; sleep 60", gpus=1)
    wait_for(lambda: len(lines(mps_log)) == 2, timeout=20)
    s.interrupt()
    assert f.cancelled() or f.done()
    check_run(mps_log, 1)


def test_hetflow_run_gpu_sharing_mps_and_its_ctrl_c(mps_log: Path, tmp_path: Path) -> None:
    wf, pf = tmp_path / "wf.yaml", tmp_path / "g.yaml"
    wf.write_text(f"workflow: w\ntasks:\n  - name: a\n    count: 2\n    gpus: 0.5\n    command: '{TASK}'\n")
    pf.write_text("platform: g\nnodes:\n  - {type: n, cores: 2, gpus: 1}\n")
    r = CliRunner().invoke(main, ["run", str(wf), "-p", str(pf), "--gpu-sharing", "mps", "--json"])
    assert r.exit_code == 0, r.output
    check_run(mps_log, 2)

    mps_log.unlink()
    wf.write_text(f"workflow: w\ntasks:\n  - name: a\n    gpus: 1\n    command: '{TASK}; sleep 60'\n")
    proc = subprocess.Popen(
        [HETFLOW, "run", str(wf), "-p", str(pf), "--gpu-sharing", "mps"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    wait_for(lambda: len(lines(mps_log)) == 2, timeout=30)
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    check_run(mps_log, 1)


def test_without_the_control_binary_it_is_one_line_and_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing there
    with pytest.raises(SpecError, match="MPS needs nvidia-cuda-mps-control on PATH"):
        Session(platform=PLATFORM, gpu_sharing="mps")
    wf = tmp_path / "wf.yaml"
    wf.write_text("workflow: w\ntasks:\n  - {name: a, command: 'true'}\n")
    r = CliRunner().invoke(main, ["run", str(wf), "--gpu-sharing", "mps"])
    assert r.exit_code == 2
    assert r.stderr.strip().splitlines() == [
        "error: --gpu-sharing: MPS needs nvidia-cuda-mps-control on PATH (fix: install the NVIDIA driver's CUDA MPS "
        "tools (or put their folder on PATH), or leave --gpu-sharing out)"
    ]


def test_dask_and_ray_refuse_it_in_one_line() -> None:
    for backend in ("dask", "ray"):
        with pytest.raises(SpecError, match=f"--gpu-sharing is for the local backend, not {backend}"):
            Session(backend, gpu_sharing="mps")


BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_sharing.py"
HAS_GPU = shutil.which("nvidia-smi") is not None and shutil.which("nvidia-cuda-mps-control") is not None


def bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(BENCH), "--json", *args], capture_output=True, text=True, timeout=280)


@pytest.mark.skipif(HAS_GPU, reason="a GPU is here: the benchmark runs (test_the_benchmark_on_a_real_gpu)")
def test_the_benchmark_without_a_gpu_says_skipped_and_exits_0(mps_log: Path) -> None:
    done = bench("--copies", "2")  # the fake daemon is on PATH: what is missing is the GPU
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"skipped": "no GPU usable from PyTorch (with CUDA) or CuPy"}
    assert not mps_log.exists()  # nothing was started


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_GPU, reason="needs an NVIDIA GPU, its driver and nvidia-cuda-mps-control")
def test_the_benchmark_on_a_real_gpu() -> None:
    done = bench("--copies", "3", "--size", "1024", "--iters", "200")
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    assert "skipped" not in got, got
    assert got["copies"] == 3 and len(got["mps_1_over_n"]["kernel_s"]) == 3
    assert got["exclusive_over_mps"] > 0


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_GPU, reason="needs an NVIDIA GPU, its driver and nvidia-cuda-mps-control")
def test_a_real_mps_daemon_runs_for_a_session_and_quits_after() -> None:
    probe = 'echo get_server_list | nvidia-cuda-mps-control && echo "pipe=$CUDA_MPS_PIPE_DIRECTORY"'
    with Session(platform=PLATFORM, gpu_sharing="mps") as s:
        out = s.shell(probe, gpus=0.5).result()
        assert out.returncode == 0, out.stderr  # the task reached the run's daemon through its private pipe folder
        pipe = out.stdout.strip().splitlines()[-1].removeprefix("pipe=")  # read before the temporary logs go
    assert Path(pipe).parent.name.startswith("hetflow-mps-") and not Path(pipe).exists()
