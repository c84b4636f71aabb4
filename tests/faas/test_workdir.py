"""A staged task's working folder at an endpoint (faas/workdir.py, called here as the endpoint's worker calls it):
inputs copied in by name, the command run there, declared outputs kept in the store under their sha256, the folder
gone afterwards; a missing input or output is the task's failure with the reason in its stderr."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from hetflow.faas.workdir import FILES_ENV, staged


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for folder in ("blobs", "work"):
        (tmp_path / folder).mkdir()
    monkeypatch.setenv(FILES_ENV, str(tmp_path))
    return tmp_path


def keep(store: Path, data: bytes) -> str:
    sha = hashlib.sha256(data).hexdigest()
    (store / "blobs" / sha).write_bytes(data)
    return sha


def test_inputs_in_outputs_kept_folder_removed(store: Path) -> None:
    sha = keep(store, b"abc")
    done = staged("tr a-z A-Z < in.txt > out.txt; ln -s out.txt link.txt; echo hi > in.txt", {"in.txt": sha},
                  ["out.txt", "link.txt"])  # fmt: skip
    assert done["returncode"] == 0, done["stderr"]
    want = hashlib.sha256(b"ABC").hexdigest()
    assert done["outputs"] == {"out.txt": [want, 3], "link.txt": [want, 3]}  # a link's content, not the link
    assert (store / "blobs" / want).read_bytes() == b"ABC" and not (store / "blobs" / want).is_symlink()
    assert (store / "blobs" / sha).read_bytes() == b"abc"  # the task wrote into its copy, not into the store
    assert list((store / "work").iterdir()) == []


def test_a_missing_input_or_output_fails_the_task(store: Path) -> None:
    done = staged("true", {"in.txt": "0" * 64}, [])
    assert done["returncode"] == 1 and "input file 'in.txt' is not at this endpoint" in done["stderr"]
    done = staged("echo made", {}, ["out.txt"])
    assert done["returncode"] == 1 and "did not write its output file 'out.txt'" in done["stderr"]
    assert done["stdout"] == "made\n" and done["outputs"] == {}
    assert staged("exit 3", {}, ["out.txt"])["returncode"] == 3  # its own failure first
    assert list((store / "work").iterdir()) == []


def test_without_the_endpoints_file_store_it_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FILES_ENV, raising=False)  # as on a Dask or Ray worker
    with pytest.raises(RuntimeError, match="staged files need the local backend"):
        staged("true", {}, [])
