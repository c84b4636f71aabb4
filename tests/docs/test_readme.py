"""The README's code runs as written: every ```python block, each in a fresh interpreter in an empty folder (with the
repository's examples/ beside it), and what the comments say it prints is what it prints.

A block that truly cannot run here (it needs a cluster, say) is fenced ```python no-run, and the text around it says
why; no block is so marked today.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.shared import REPO

README = REPO / "README.md"
FENCE = re.compile(r"^```python([^\n]*)\n(.*?)^```", re.M | re.S)
TAGS = {"no-run"}
SECONDS = 60  # a bound on a hang; each block takes about a second
# a line each block prints, as its comments say (a block not listed here must still exit 0)
PRINTS = {
    "square.map(": "285 11",
    "hf.simulate(": "1700.0 ",
    "hf.Trigger(": "real: ",
    "FakeExecutor(": "42 25.0",
}


def python_blocks(text: str) -> list[tuple[set[str], str]]:
    """(tags, code) of every ```python block, in order."""
    return [(set(tags.split()), code) for tags, code in FENCE.findall(text)]


def test_the_readme_opens_with_the_two_commands_then_the_quick_start() -> None:
    text = README.read_text()
    assert text.startswith("# hetflow\n\n```\nmake demo    # ")
    assert text.splitlines()[4].startswith("make test    # ") and text.splitlines()[5] == "```"
    tags, quick = python_blocks(text)[0]
    assert not tags and text.index("```python") > text.index("make test")
    for used in ("@hf.task", "hf.Session(", ".map(", ".result()"):
        assert used in quick, f"the quick start does not show {used}"
    assert len([line for line in quick.splitlines() if line.strip()]) <= 15


def test_every_python_block_is_run_or_marked() -> None:
    blocks = python_blocks(README.read_text())
    assert len(blocks) >= 4
    for tags, code in blocks:
        assert tags <= TAGS, f"unknown tag {sorted(tags - TAGS)} on the block starting {code.splitlines()[0]!r}"
    # every block whose output the comments state is one this suite runs
    runnable = [code for tags, code in blocks if "no-run" not in tags]
    for marker in PRINTS:
        assert sum(marker in code for code in runnable) == 1, f"no single runnable block uses {marker}"


RUNNABLE = [(i, code) for i, (tags, code) in enumerate(python_blocks(README.read_text())) if "no-run" not in tags]


@pytest.mark.parametrize("code", [pytest.param(code, id=f"block{i}") for i, code in RUNNABLE])
def test_readme_block_runs_as_written(code: str, tmp_path: Path) -> None:
    (tmp_path / "examples").symlink_to(REPO / "examples", target_is_directory=True)
    script = tmp_path / "block.py"
    script.write_text(code)
    paths = [str(REPO / "src"), str(REPO), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=SECONDS
    )
    took = time.monotonic() - start
    assert done.returncode == 0, f"the README block failed:\n{code}\n{done.stderr}"
    assert "Traceback" not in done.stderr and "Warning" not in done.stderr, done.stderr
    for marker, line in PRINTS.items():
        if marker in code:
            assert any(out.startswith(line) for out in done.stdout.splitlines()), (line, done.stdout)
    assert took < SECONDS / 2, f"a README block should take seconds, this one took {took:.1f} s"
