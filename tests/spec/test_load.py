"""Loading from files, mappings and models; every way a file can be unusable is one SpecError naming it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import hetflow
from hetflow.errors import SpecError
from hetflow.spec import Platform, Workflow, load_platform, load_workflow, read_document, recorded_platform
from tests.shared import FIXTURES, SEED_PLATFORM, SEED_WORKFLOW

NATIVE = (
    "workflow: small\ntasks:\n  - {name: a, count: 2, cores: 2, runtime: 5}\n  - {name: b, after: [a], gpus: 0.5}\n"
)


def test_exported_from_the_package() -> None:
    assert hetflow.load_workflow is load_workflow and hetflow.load_platform is load_platform


@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".json", ".YAML"])
def test_each_suffix(tmp_path: Path, suffix: str) -> None:
    text = NATIVE if "y" in suffix.lower() else '{"workflow": "small", "tasks": [{"name": "a", "count": 2}]}'
    path = tmp_path / f"w{suffix}"
    path.write_text(text)
    w = load_workflow(path)
    assert w.name == "small" and w.sets[0].count == 2 and w.source == str(path)
    assert load_workflow(str(path)) == w


def test_name_defaults_to_the_file_stem(tmp_path: Path) -> None:
    (tmp_path / "my-flow.yaml").write_text("tasks: [{name: a}]\n")
    (tmp_path / "my-site.yaml").write_text("nodes: [{type: n, cores: 4}]\n")
    assert load_workflow(tmp_path / "my-flow.yaml").name == "my-flow"
    assert load_platform(tmp_path / "my-site.yaml").name == "my-site"


def test_models_pass_through_and_mappings_load() -> None:
    w, p = load_workflow(SEED_WORKFLOW), load_platform(SEED_PLATFORM)
    assert load_workflow(w) is w and load_platform(p) is p
    doc = read_document(SEED_WORKFLOW)
    assert isinstance(doc, dict)
    assert load_workflow(doc) == w and load_workflow(doc).source is None
    assert isinstance(load_platform({"nodes": [{"type": "n", "cores": 1}]}), Platform)


def test_recorded_platform_only_for_wfformat() -> None:
    assert recorded_platform(SEED_WORKFLOW) is None
    assert recorded_platform(FIXTURES / "wfformat-1.5-tiny.json") is not None
    assert isinstance(load_workflow(FIXTURES / "wfformat-1.4-tiny.json"), Workflow)


def refused(path: Path, *, place: str | None, says: str) -> SpecError:
    with pytest.raises(SpecError) as caught:
        load_workflow(path)
    err = caught.value
    assert err.source == str(path) and err.place == place and says in err.problem
    assert err.fix and "\n" not in err.line()
    return err


def test_missing_file(tmp_path: Path) -> None:
    refused(tmp_path / "nope.yaml", place=None, says="no such file")


def test_a_directory(tmp_path: Path) -> None:
    refused(tmp_path, place=None, says="is a directory")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads every file")
def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "locked.yaml"
    path.write_text(NATIVE)
    path.chmod(0)
    refused(path, place=None, says="permission denied")


def test_unknown_suffix(tmp_path: Path) -> None:
    (tmp_path / "w.toml").write_text("x = 1")
    (tmp_path / "workflow").write_text(NATIVE)
    refused(tmp_path / "w.toml", place=None, says="unknown file type '.toml'")
    refused(tmp_path / "workflow", place=None, says="no suffix")


def test_empty_and_binary_files(tmp_path: Path) -> None:
    (tmp_path / "empty.yaml").write_text("# nothing but a comment\n")
    (tmp_path / "binary.yaml").write_bytes(b"\xff\xfe\x00garbage")
    refused(tmp_path / "empty.yaml", place=None, says="empty")
    refused(tmp_path / "binary.yaml", place=None, says="not UTF-8")


@pytest.mark.parametrize(
    ("text", "place", "says"),
    [
        ("workflow: w\ntasks:\n  - name: a\n  cores 2\n", "line 5, column 1", "could not find expected ':'"),
        ("workflow: w\ntasks: [{name: a}\n", "line 3, column 1", "malformed YAML"),
        ("workflow: w\ntasks:\n\t- name: a\n", "line 3, column 1", "malformed YAML"),
        ("workflow: w\ntasks:\n  - name: a\n    cores: 2\n    cores: 3\n", "line 5", "key 'cores' appears twice"),
        ("tasks:\n  - name: a\n    memory: !!python/name:os.system\n", "line 3, column 13", "malformed YAML"),
    ],
)
def test_malformed_yaml(tmp_path: Path, text: str, place: str, says: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    refused(path, place=place, says=says)


@pytest.mark.parametrize(
    ("text", "place", "says"),
    [
        ('{"tasks": [{"name": "a",}]}', "line 1, column 25", "malformed JSON"),
        ('{"tasks": [\n  {"name": "a"}\n', "line 3, column 1", "malformed JSON"),
        ('{"tasks": [{"name": "a", "name": "b"}]}', None, "key 'name' appears twice"),
    ],
)
def test_malformed_json(tmp_path: Path, text: str, place: str | None, says: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    refused(path, place=place, says=says)


def test_the_wrong_kind_of_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="this is a platform, not a workflow"):
        load_workflow(SEED_PLATFORM)
    with pytest.raises(SpecError, match="this is a workflow, not a platform"):
        load_platform(SEED_WORKFLOW)


def test_errors_name_the_file_given(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text("tasks:\n  - {name: a, coers: 2}\n")
    err = refused(path, place="tasks[0] (a).coers", says="unknown key 'coers'")
    assert err.line() == f"{path}: tasks[0] (a).coers: unknown key 'coers' (fix: did you mean 'cores'?)"
