"""What the command line tells someone watching: progress lines on long work (not a live bar when stderr is no
terminal), a warning when the lower bound is months, the log (--verbose, --quiet, --log-file) and shell completion."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from hetflow.cli import main, progress
from hetflow.terminal import human_duration

PLATFORM = "platform: p\nnodes:\n  - {type: n, count: 10, cores: 40}\n"
RUN_LINE = re.compile(
    r"^\d\d:\d\d:\d\d running \d+  done \d+/3  failed 0  skipped 0  cores \d+/2"
    r"  ETA (\?|[\d.]+ s \([\d.]+ s - [\d.]+ s\))$",
    re.M,
)
SIM_LINE = re.compile(r"^\d\d:\d\d:\d\d simulating task/fifo: [\d,]+/10,000,000 tasks done, at .* simulated$", re.M)


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    out = {"dir": tmp_path, "platform": tmp_path / "p.yaml", "two": tmp_path / "two.yaml"}
    out["platform"].write_text(PLATFORM)
    out["two"].write_text("platform: two\nnodes:\n  - {type: n, cores: 2}\n")
    for name, count, runtime in (("huge", 10_000_000, 100), ("small", 1000, 100), ("months", 1000, 1e7)):
        out[name] = tmp_path / f"{name}.yaml"
        out[name].write_text(f"workflow: {name}\ntasks:\n  - {{name: T0, count: {count}, runtime: {runtime}}}\n")
    out["naps"] = tmp_path / "naps.yaml"
    out["naps"].write_text("workflow: naps\ntasks:\n  - {name: a, count: 3, command: 'sleep 0.6'}\n")
    return out


def test_a_long_simulation_prints_progress_lines_a_short_one_does_not(files: dict[str, Path]) -> None:
    long = invoke("simulate", files["huge"], "-p", files["platform"], "--json", "--progress-every", "0.05")
    assert long.exit_code == 0 and SIM_LINE.search(long.stderr), long.stderr
    short = invoke("simulate", files["small"], "-p", files["platform"], "--json")  # the first line comes after 2 s
    assert short.exit_code == 0 and short.stderr == ""
    quiet = invoke("-q", "simulate", files["huge"], "-p", files["platform"], "--json", "--progress-every", "0.05")
    assert quiet.exit_code == 0 and quiet.stderr == ""


def test_a_lower_bound_of_months_is_a_warning_before_the_work(files: dict[str, Path]) -> None:
    r = invoke("simulate", files["months"], "-p", files["platform"], "--json")
    assert r.exit_code == 0
    assert r.stderr.splitlines()[0] == (
        "warning: lower bound: 9.5 months on p (1,000 tasks): the workflow cannot end sooner"
    )
    assert (
        "lower bound    25,000,000.0 s (9.5 months)"
        in invoke("validate", files["months"], "-p", files["platform"]).stdout
    )
    assert invoke("simulate", files["small"], "-p", files["platform"], "--json").stderr == ""


def test_human_duration() -> None:
    assert [human_duration(s) for s in (0.5, 42, 210, 7200, 3 * 86400, 1.1e7, 2.5e8)] == [
        "0.5 s", "42.0 s", "3.5 min", "2.0 h", "3.0 days", "4.2 months", "7.9 years",
    ]  # fmt: skip


def test_run_prints_progress_lines_when_stderr_is_no_terminal(files: dict[str, Path]) -> None:
    """As in a batch job: a line every interval, with the time of day, instead of a bar that needs a terminal."""
    r = invoke("run", files["naps"], "-p", files["two"], "--progress-every", "0.2")
    assert r.exit_code == 0, r.output
    assert len(RUN_LINE.findall(r.stderr)) >= 2, r.stderr
    assert "\r" not in r.stderr and "━" not in r.stderr  # no bar
    quiet = invoke("--quiet", "run", files["naps"], "-p", files["two"], "--progress-every", "0.2")
    assert quiet.exit_code == 0 and quiet.stderr == ""
    brief = files["dir"] / "brief.yaml"
    brief.write_text("workflow: brief\ntasks:\n  - {name: a, count: 3, command: 'true'}\n")
    default = invoke("run", brief, "-p", files["two"])  # over within the first 2 s: nothing
    assert default.exit_code == 0 and default.stderr == ""


def test_verbose_and_log_file(files: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(files["dir"]))  # where the kept log folders go
    log = files["dir"] / "run.log"
    failing = files["dir"] / "failing.yaml"
    failing.write_text(
        "workflow: f\ntasks:\n  - {name: ok, command: 'true'}\n"
        "  - {name: bad, command: 'echo broken >&2; exit 3', retries: 1}\n"
    )
    r = invoke("-v", "--log-file", log, "run", failing, "-p", files["two"])
    assert r.exit_code == 1
    says = (
        "hetflow: session: local backend, platform two",
        "hetflow: run started on 1 nodes (local executor)",
        "hetflow: bad: attempt 1 ended (exit status 3: broken): it runs again",
        "hetflow: bad failed: exit status 3: broken",
        "hetflow: run ended: failed (1 failed, 0 skipped)",
        "hetflow: logs of the failed commands kept in ",
    )
    for text in says:
        assert text in r.stderr, (text, r.stderr)
    text = log.read_text()
    assert re.search(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ INFO hetflow: run ended: failed", text, re.M), text
    kept = re.search(r"logs of the failed commands kept in (\S+)", r.stderr)
    assert kept is not None and Path(kept[1]).parent == files["dir"]
    assert sorted(p.name for p in Path(kept[1]).iterdir()) == ["bad.2.err", "bad.err"]  # no empty .out files

    plain = invoke("run", failing, "-p", files["two"])  # by default: warnings only
    assert "run started" not in plain.stderr and "logs of the failed commands kept in" in plain.stderr
    quiet = invoke("-q", "run", failing, "-p", files["two"])
    assert quiet.exit_code == 1 and quiet.stderr == "" and "failed         bad: exit status 3: broken" in quiet.stdout
    both = invoke("-q", "-v", "validate", files["small"])
    assert both.exit_code == 2 and "--quiet and --verbose together" in both.stderr


def test_shell_completion_script() -> None:
    """click's completion, as the README documents it: eval "$(_HETFLOW_COMPLETE=bash_source hetflow)"."""
    exe = Path(sys.executable).parent / "hetflow"
    if not exe.exists():
        pytest.skip("the hetflow console script is not installed")
    env = dict(os.environ, _HETFLOW_COMPLETE="bash_source")
    script = subprocess.run([str(exe)], env=env, capture_output=True, text=True, check=False)
    assert script.returncode == 0 and "_hetflow_completion()" in script.stdout
    assert "complete -o nosort -F _hetflow_completion hetflow" in script.stdout
    env.update(_HETFLOW_COMPLETE="bash_complete", COMP_WORDS="hetflow si", COMP_CWORD="1")
    words = subprocess.run([str(exe)], env=env, capture_output=True, text=True, check=False).stdout
    assert "plain,simulate" in words.splitlines()


def test_quiet_means_no_progress_line_ever(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "FIRST_S", 0.0)
    with click.Context(main, info_name="hetflow") as ctx:
        assert progress.Ticker(0.01).due()
        ctx.params["quiet"] = True
        assert not progress.Ticker(0.01).due() and not progress.Ticker(0).due()
