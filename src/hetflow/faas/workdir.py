"""A staged task at an endpoint (run by reference in its worker): a working folder of its own under the endpoint's
file store, its input files copied in from the store by name, its command run there, and the files it declared
as outputs hashed into the store afterwards, so that the session can move them to the sites of its dependents.

Copies, not links: a task that writes into an input file must not change what the store holds for others."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hetflow.faas.builtins import shell

FILES_ENV = "HETFLOW_FILES"  # the endpoint's file store, for its workers (faas/files.py sets it)
CHUNK = 1 << 20


def blobs_of(root: Path) -> Path:
    return root / "blobs"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def plain(name: str) -> bool:
    """A file name in the working folder itself (no folder, no way out of it)."""
    return name not in ("", ".", "..") and "/" not in name and "\\" not in name and "\0" not in name


def staged(command: str, inputs: dict[str, str], outputs: list[str], env: dict[str, str] | None = None,
           timeout: float | None = None) -> dict[str, Any]:  # fmt: skip
    """Run the command in a new working folder holding `inputs` (file name -> sha256 in the store); then keep each
    of `outputs` in the store. The shell's answer, with outputs {name: [sha256, size]}; a missing input or output
    is the task's failure (exit status 1, the reason in stderr)."""
    if FILES_ENV not in os.environ:  # a Dask or Ray worker: the endpoint's file store is not on its machine
        raise RuntimeError("staged files need the local backend (this endpoint runs on --backend dask or ray)")
    root = Path(os.environ[FILES_ENV])
    blobs = blobs_of(root)
    work = Path(tempfile.mkdtemp(prefix="task-", dir=root / "work"))
    try:
        for name, sha in inputs.items():
            if not plain(name) or not (blobs / sha).is_file():
                return failed(f"input file {name!r} is not at this endpoint")
            shutil.copyfile(blobs / sha, work / name)
        done = shell(command, str(work), env, timeout)
        done["outputs"] = {}
        if done["returncode"] != 0:
            return done
        made: dict[str, Path] = {}
        for name in outputs:  # all found before any is moved (one may be a link to another)
            path = work / name
            if not plain(name) or not path.is_file():
                return failed(f"the task did not write its output file {name!r}", done)
            if path.is_symlink():  # its content is kept, not the link (its target may go with the folder)
                fd, copy = tempfile.mkstemp(dir=work)
                os.close(fd)
                path = Path(shutil.copyfile(path, copy))
            made[name] = path
        for name, path in made.items():
            sha, size = sha256_of(path), path.stat().st_size
            os.replace(path, blobs / sha)
            done["outputs"][name] = [sha, size]
        return done
    finally:
        shutil.rmtree(work, ignore_errors=True)


def failed(why: str, done: dict[str, Any] | None = None) -> dict[str, Any]:
    out = dict(done or {"stdout": "", "stderr": "", "seconds": 0.0})
    out.update(returncode=1, stderr=f"{out.get('stderr') or ''}{why}\n", outputs={})
    return out
