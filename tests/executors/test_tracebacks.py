"""The traceback of a failed Python task defined in a script (sent by value with cloudpickle, whose code names its
file "<dynamic-code>") names the script's file and line, with the line's source, on the local backend and on Dask."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = """
import sys
import traceback

import hetflow as hf


def helper(x):
    raise ValueError(f"bad {x}")


@hf.task
def boom(x):
    return helper(x) + 1


if __name__ == "__main__":
    with hf.Session(sys.argv[1], platform={"platform": "one", "nodes": [{"type": "n", "cores": 1}]}) as s:
        try:
            boom(3).result(timeout=120)
        except ValueError:
            traceback.print_exc()
"""


@pytest.mark.parametrize("backend", ["local", "dask"])
def test_the_remote_traceback_names_the_script(tmp_path: Path, backend: str) -> None:
    if backend == "dask":
        pytest.importorskip("distributed")
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path.cwd()), *sys.path]))
    out = subprocess.run(
        [sys.executable, str(script), backend], capture_output=True, text=True, timeout=300, env=env, check=False
    )
    assert out.returncode == 0, out.stderr
    remote = out.stderr.split('"""')[1]  # the RemoteTraceback, the exception's cause
    assert f'File "{script}", line 14, in boom\n    return helper(x) + 1\n' in remote, out.stderr
    assert f'File "{script}", line 9, in helper\n    raise ValueError(f"bad {{x}}")\n' in remote
    assert "<dynamic-code>" not in out.stderr
