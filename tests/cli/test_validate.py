"""`hetflow validate`: the summary it prints, and one line with exit status 2 for every kind of bad input."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from rich.console import Console
from rich.text import Text

from hetflow.cli import main
from hetflow.errors import SpecError
from tests.shared import FIXTURES, SEED_PLATFORM, SEED_WORKFLOW, wfinstance_params

GOOD = "workflow: w\ntasks:\n  - {name: a, count: 2, cores: 2, runtime: 10}\n  - {name: b, after: [a], runtime: 5}\n"
NODE = "platform: p\nnodes:\n  - {type: n, count: 2, cores: 8, gpus: 1, memory: 16GiB}\n"


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def hetflow_exe() -> str:
    """The console script of the interpreter running the tests (the project's .venv)."""
    beside = Path(sys.executable).parent / "hetflow"
    found = str(beside) if beside.exists() else shutil.which("hetflow")
    if found is None:
        pytest.skip("the hetflow console script is not installed")
    return found


def test_the_seed_summary() -> None:
    result = invoke("validate", SEED_WORKFLOW, "--platform", SEED_PLATFORM)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "2,420 tasks in 12 sets, 5 levels" in out
    assert "A = {T1, T3, T4, T5, T7, T8, T10, T11}" in out
    assert "B = {T2, T6, T9}" in out
    assert "shared         T0" in out
    assert "T0 -> T1 -> T3 -> T7 -> T11  (1,350.0 s)" in out
    assert "1,784,000 core-s, 57,000 GPU-s" in out
    assert "summit-30: 30 nodes, 1,260 cores, 180 GPUs" in out
    assert "lower bound    1,415.9 s" in out
    assert "every task set fits" in out
    assert result.stderr == ""


def test_without_a_platform() -> None:
    result = invoke("validate", SEED_WORKFLOW)
    assert result.exit_code == 0
    assert "give --platform" in result.stdout and "lower bound  " not in result.stdout


def test_a_wfformat_file_brings_its_machines() -> None:
    result = invoke("validate", FIXTURES / "wfformat-1.5-tiny.json")
    assert result.exit_code == 0, result.output
    assert "4 tasks in 4 sets, 3 levels" in result.stdout
    assert "2 nodes, 12 cores, 0 GPUs" in result.stdout and "recorded in the workflow file" in result.stdout
    assert "lower bound    45.5 s" in result.stdout


def test_an_explicit_platform_wins_over_recorded_machines(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(NODE)
    result = invoke("validate", FIXTURES / "wfformat-1.4-tiny.json", "-p", tmp_path / "p.yaml")
    assert result.exit_code == 0, result.output
    assert "p: 2 nodes, 16 cores, 2 GPUs" in result.stdout


@pytest.mark.parametrize("path", wfinstance_params())
def test_every_shared_instance_validates(path: Path) -> None:
    result = invoke("validate", path)
    assert result.exit_code == 0, result.output
    assert f"{len(json.loads(path.read_text())['workflow']['specification']['tasks'])} tasks" in result.stdout


def bad_inputs(tmp: Path) -> dict[str, tuple[list[str | Path], str]]:
    """name -> (arguments, text the error line must hold); files written into tmp."""
    files = {
        "malformed.yaml": "workflow: w\ntasks:\n  - name: a\n   cores: 2\n",
        "malformed.json": '{"tasks": [{"name": "a"},]}',
        "unknown-key.yaml": "tasks:\n  - {name: a, runtme: 5}\n",
        "wrong-type.yaml": "tasks:\n  - {name: a, count: many}\n",
        "negative.yaml": "tasks:\n  - {name: a, cores: -4}\n",
        "not-numeric.yaml": "tasks:\n  - {name: a, gpus: half}\n",
        "memory.yaml": "tasks:\n  - {name: a, memory: 2 GX}\n",
        "duplicate.yaml": "tasks:\n  - {name: a}\n  - {name: a}\n",
        "missing-dep.yaml": "tasks:\n  - {name: a, after: [b]}\n",
        "cycle.yaml": "tasks:\n  - {name: a, after: [c]}\n  - {name: b, after: [a]}\n  - {name: c, after: [b]}\n",
        "too-big.yaml": "tasks:\n  - {name: a}\n  - {name: huge, cores: 9, gpus: 2}\n",
        "good.yaml": GOOD,
        "p.yaml": NODE,
        "bad-platform.yaml": "nodes:\n  - {type: n, cores: 4, speed: 0}\n",
        "contradiction.json": json.dumps(
            {
                "name": "x",
                "schemaVersion": "1.5",
                "workflow": {
                    "specification": {
                        "tasks": [
                            {"id": "t1", "name": "t", "parents": [], "children": []},
                            {"id": "t2", "name": "t", "parents": ["t1"], "children": []},
                        ]
                    },
                    "execution": {"tasks": [{"id": "t1", "runtimeInSeconds": 1}, {"id": "t2", "runtimeInSeconds": 1}]},
                },
            }
        ),
    }
    for name, text in files.items():
        (tmp / name).write_text(text)
    (tmp / "folder").mkdir()
    return {
        "unreadable": (["validate", tmp / "absent.yaml"], "absent.yaml: no such file (fix: check the path)"),
        "directory": (["validate", tmp / "folder"], "is a directory"),
        "malformed-yaml": (["validate", tmp / "malformed.yaml"], "malformed.yaml: line 4, column 4: malformed YAML"),
        "malformed-json": (["validate", tmp / "malformed.json"], "malformed.json: line 1, column 26: malformed JSON"),
        "unknown-key": (
            ["validate", tmp / "unknown-key.yaml"],
            "tasks[0] (a).runtme: unknown key 'runtme' (fix: did you mean 'runtime'?)",
        ),
        "wrong-type": (
            ["validate", tmp / "wrong-type.yaml"],
            "tasks[0] (a).count: count must be a whole number of tasks >= 1, not 'many'",
        ),
        "negative": (
            ["validate", tmp / "negative.yaml"],
            "tasks[0] (a).cores: cores must be a whole number of cores >= 0, not -4",
        ),
        "not-numeric": (["validate", tmp / "not-numeric.yaml"], "tasks[0] (a).gpus: gpus must be a number, not 'half'"),
        "memory": (["validate", tmp / "memory.yaml"], "tasks[0] (a).memory: memory unit 'gx' is unknown"),
        "duplicate": (["validate", tmp / "duplicate.yaml"], "tasks[1] (a): task set 'a' is declared twice"),
        "missing-dep": (
            ["validate", tmp / "missing-dep.yaml"],
            "tasks[0] (a).after: a depends on 'b', which is not a task set",
        ),
        "cycle": (["validate", tmp / "cycle.yaml"], "tasks: the dependencies form a cycle: "),
        "no-fit": (
            ["validate", tmp / "too-big.yaml", "--platform", tmp / "p.yaml"],
            "tasks[1] (huge): a task of huge needs 9 cores, 2 GPUs",
        ),
        "bad-platform": (
            ["validate", tmp / "good.yaml", "--platform", tmp / "bad-platform.yaml"],
            "bad-platform.yaml: nodes[0] (n).speed: speed must be",
        ),
        "wrong-kind": (["validate", tmp / "p.yaml"], "this is a platform, not a workflow"),
        "contradiction": (
            ["validate", tmp / "contradiction.json"],
            "task 't2' names 't1' as a parent, but 't1' does not name it as a child",
        ),
    }


CASES = [
    "unreadable",
    "directory",
    "malformed-yaml",
    "malformed-json",
    "unknown-key",
    "wrong-type",
    "negative",
    "not-numeric",
    "memory",
    "duplicate",
    "missing-dep",
    "cycle",
    "no-fit",
    "bad-platform",
    "wrong-kind",
    "contradiction",
]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_one_line_and_status_2(tmp_path: Path, case: str) -> None:
    args, says = bad_inputs(tmp_path)[case]
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {tmp_path}")
    assert says in lines[0]
    assert "(fix: " in lines[0] and "Traceback" not in result.stderr


def test_the_cycle_is_printed(tmp_path: Path) -> None:
    args, _ = bad_inputs(tmp_path)["cycle"]
    line = invoke(*args).stderr.strip()
    assert any(c in line for c in ("a -> b -> c -> a", "b -> c -> a -> b", "c -> a -> b -> c"))


def test_debug_lets_the_error_through(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--debug", "validate", str(tmp_path / "absent.yaml")])
    assert isinstance(result.exception, SpecError) and result.exit_code == 1


def test_the_installed_command(tmp_path: Path) -> None:
    """The console script from the .venv: a real process, a real exit status, a real stderr."""
    exe = hetflow_exe()
    ok = subprocess.run(
        [exe, "validate", str(SEED_WORKFLOW), "--platform", str(SEED_PLATFORM)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0 and "lower bound    1,415.9 s" in ok.stdout and ok.stderr == ""
    args, says = bad_inputs(tmp_path)["cycle"]
    bad = subprocess.run([exe, *map(str, args)], capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and says in bad.stderr and "Traceback" not in bad.stderr
    debug = subprocess.run([exe, "--debug", *map(str, args)], capture_output=True, text=True, check=False)
    assert debug.returncode == 1 and "Traceback" in debug.stderr and "CycleError" in debug.stderr


@pytest.mark.parametrize(
    "env",
    [{}, {"FORCE_COLOR": "1"}, {"FORCE_COLOR": "1", "TERM": "dumb"}, {"FORCE_COLOR": ""}, {"TTY_COMPATIBLE": "1"}],
)
def test_validate_styles_its_lines_as_rich_would(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """validate prints through click (rich would cost it a fifth of its start), so it must look as rich prints."""
    for key in ("FORCE_COLOR", "TTY_COMPATIBLE", "TERM", "NO_COLOR"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    out = invoke("validate", SEED_WORKFLOW, "--platform", SEED_PLATFORM).stdout
    buffer = io.StringIO()
    console = Console(file=buffer, soft_wrap=True, highlight=False)
    for line in out.splitlines():
        plain = re.sub(r"\x1b\[[0-9;]*m", "", line)
        console.print(Text.assemble((plain[:15], "bold"), plain[15:]))
    assert out == buffer.getvalue()
    assert ("\x1b[1m" in out) == (env in ({"FORCE_COLOR": "1"}, {"TTY_COMPATIBLE": "1"}))


def test_every_function_is_imported_and_must_be_callable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """validate imports each `function:` and says, in one line with the file and the task set, which is not one."""
    (tmp_path / "broken_at_import.py").write_text("raise RuntimeError('no GPU here')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    cases = {
        "tests.runtime.tasks:square": None,
        "tests.runtime.nothing_here:f": "cannot import tests.runtime.nothing_here: no module named",
        "tests.runtime.tasks:no_such": "module tests.runtime.tasks has no 'no_such'",
        "os:sep": "os:sep is a str, not a function",
        "broken_at_import:f": "importing broken_at_import failed: RuntimeError: no GPU here",
    }
    for ref, says in cases.items():
        wf = tmp_path / "wf.yaml"
        wf.write_text(f"workflow: w\ntasks:\n  - {{name: a, command: 'true'}}\n  - {{name: b, function: '{ref}'}}\n")
        result = invoke("validate", wf)
        if says is None:
            assert result.exit_code == 0 and "1 function, each importable and callable" in result.stdout
            continue
        assert result.exit_code == 2 and result.stdout == "", ref
        (line,) = result.stderr.splitlines()
        assert line.startswith(f"error: {wf}: tasks[1] (b).function: {says}") and "(fix: " in line, line
        run = invoke("run", wf)  # run checks the same before it starts anything
        assert run.exit_code == 2 and run.stderr.splitlines() == [line]


def test_simulate_never_imports_the_functions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading is not importing: a trace or a plan simulates without the user's modules (or their side effects)."""
    (tmp_path / "marks_import.py").write_text("raise SystemExit('imported')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    wf = tmp_path / "wf.yaml"
    wf.write_text("workflow: w\ntasks:\n  - {name: b, runtime: 5, function: 'marks_import:f'}\n")
    (tmp_path / "p.yaml").write_text(NODE)
    result = invoke("simulate", wf, "-p", tmp_path / "p.yaml", "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)[0]["makespan_s"] == 5.0
    assert "marks_import" not in sys.modules
