"""The documentation site: `mkdocs build --strict` passes (no broken link, no docstring griffe cannot read, no name
that does not resolve), every page is in the navigation, every public name of `hetflow` has its reference entry, and
the shell-completion lines of docs/usage.md work as written."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import hetflow
import hetflow.errors
from tests.shared import REPO

DOCS = REPO / "docs"
USAGE = DOCS / "usage.md"


def nav_pages(node: object) -> list[str]:
    """Every page file the navigation of mkdocs.yml names."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [p for v in node.values() for p in nav_pages(v)]
    if isinstance(node, list):
        return [p for v in node for p in nav_pages(v)]
    return []


def env_with_src() -> dict[str, str]:
    paths = [str(REPO / "src"), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p), "NO_MKDOCS_2_WARNING": "1"}


def test_every_page_is_in_the_navigation() -> None:
    config = yaml.safe_load((REPO / "mkdocs.yml").read_text())
    listed = nav_pages(config["nav"])
    pages = sorted(str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md"))
    assert sorted(listed) == pages


def test_every_public_name_and_error_has_a_reference_entry() -> None:
    documented = set()
    for page in (DOCS / "api").glob("*.md"):
        text = page.read_text()  # an entry, or the heading of one (hetflow.task: hetflow.runtime.task is a module too)
        documented |= set(re.findall(r"^(?:::: |      heading: )(hetflow\.[\w.]+)$", text, re.M))
    errors = [
        f"hetflow.errors.{n}"
        for n, v in vars(hetflow.errors).items()
        if isinstance(v, type) and v.__module__ == "hetflow.errors"
    ]
    wanted = sorted({f"hetflow.{n}" for n in hetflow.__all__} | set(errors))
    missing = [n for n in wanted if n not in documented]
    assert not missing, f"no `::: NAME` entry in docs/api/ for {missing}"


def test_the_site_builds_without_a_warning(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs", reason="the dev extra installs mkdocs")
    site = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=REPO,
        env=env_with_src(),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    assert "WARNING" not in done.stderr, done.stderr
    api = (site / "api" / "session" / "index.html").read_text()
    assert "hetflow.Session" in api and "One task per item" in api  # rendered from Session.map's docstring
    assert "Make a function a task" in api  # the decorator's docstring, not its module's
    cli = (site / "cli" / "index.html").read_text()
    assert "hetflow simulate [OPTIONS] WORKFLOW" in cli  # rendered from the click group
    index = (site / "index.html").read_text()
    assert "square" in index and "start_training" in index  # the README's examples, included


def completion_lines() -> dict[str, str]:
    """The documented completion command of each shell, by shell name."""
    found = re.findall(r"^(.*_HETFLOW_COMPLETE=(\w+)_source hetflow.*?)\s+# ", USAGE.read_text(), re.M)
    return {shell: line for line, shell in found}


@pytest.fixture
def hetflow_on_path(tmp_path: Path) -> dict[str, str]:
    """An environment with a `hetflow` command (this interpreter, these sources) first on the PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "hetflow"
    code = "from hetflow.cli import main; main(prog_name='hetflow')"
    exe.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -c "{code}" "$@"\n')
    exe.chmod(0o755)
    env = env_with_src()
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    return env


def test_the_documented_bash_completion_completes_commands(hetflow_on_path: dict[str, str]) -> None:
    lines = completion_lines()
    assert set(lines) == {"bash", "zsh", "fish"}
    complete = 'COMP_WORDS=(hetflow si); COMP_CWORD=1; _hetflow_completion hetflow; echo "${COMPREPLY[@]}"'
    script = f"{lines['bash']}\n{complete}"
    done = subprocess.run(["bash", "-c", script], env=hetflow_on_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["simulate"]


@pytest.mark.parametrize(("shell", "start"), [("zsh", "#compdef hetflow"), ("fish", "function _hetflow_completion")])
def test_the_documented_zsh_and_fish_lines_give_their_scripts(
    shell: str, start: str, hetflow_on_path: dict[str, str]
) -> None:
    source = re.search(r"_HETFLOW_COMPLETE=\w+ hetflow", completion_lines()[shell])
    assert source is not None
    done = subprocess.run(
        ["bash", "-c", source.group(0)], env=hetflow_on_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(start), done.stdout[:200]
