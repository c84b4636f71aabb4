"""The compiled modules' sources are the reference: the suite runs the build (compiled where a C compiler is), and
this runs the tests of the engine, the call path and the simulator again on the sources (HETFLOW_PURE=1 makes a
process import them where extensions were built), so that an install without a compiler gives the same schedules
and a mypyc-only behaviour (a type checked at an attribute, say) cannot hide in one of the two."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TESTS = [
    "tests/core",
    "tests/runtime/test_call_path.py",
    "tests/runtime/test_calls.py",
    "tests/runtime/test_calls_in_flight.py",
    "tests/runtime/test_session.py",
    "tests/runtime/test_fake_clock.py",
    "tests/runtime/test_fake_executor.py",
    "tests/runtime/test_futures.py",
    "tests/sim/test_flat.py",
    "tests/sim/test_properties.py",
    "tests/sim/test_policies.py",
    "tests/sim/test_one_task_sets.py",
    "tests/sim/test_user_policy.py",
]
CHECK = (
    "import importlib; from hetflow import built; "
    "hows = {m: built.how(importlib.import_module(m)) for m in sorted(built.COMPILED)}; "
    "assert all(h.startswith('interpreted') for h in hows.values()), hows"
)


@pytest.mark.slow
def test_the_engine_and_call_path_tests_pass_on_the_sources() -> None:
    env = {**os.environ, "HETFLOW_PURE": "1"}
    subprocess.run([sys.executable, "-c", CHECK], cwd=REPO, env=env, check=True, timeout=60)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not slow", *TESTS],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
