"""Files at an endpoint, for the data a multi-site run moves between sites: a store of files named by their sha256
(a folder beside the endpoint's journal, `JOURNAL.files`, or a temporary one), and its routes:

    PUT  /v1/files/{sha256}   the bytes (Content-Length required, at most --max-payload: 413 before reading);
                              kept only when they hash to the name (else 400); 201 {sha256, size}
    GET  /v1/files/{sha256}   the bytes; 404
    HEAD /v1/files/{sha256}   200 with its Content-Length, or 404 (whether a transfer is needed at all)

The Guard (security.py) has checked the token and the size before a route runs; a body streams to a temporary
file in the store, hashed on the way, and is renamed into place only when it is whole and its hash is its name, so
a corrupted or cut upload leaves nothing. Staged tasks run in working folders under the store (faas/workdir.py,
which finds the store through HETFLOW_FILES, set here for the endpoint's workers)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import tempfile
import weakref
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from hetflow.faas.model import Refused
from hetflow.faas.workdir import FILES_ENV, blobs_of

SHA256 = re.compile(r"^[0-9a-f]{64}$")


class BlobResponse(FileResponse):
    """A blob sent 1 MiB a read: starlette's 64 KiB reads each cost a hop to a thread, which made a 64 MB GET 4-10x
    slower than a plain file server (benchmarks/staging.py)."""

    chunk_size = 1 << 20


class FileStore:
    """The endpoint's files: blobs/SHA256, incoming/ (uploads until checked), work/ (tasks' working folders). The
    blobs outlive a restart on the same journal; what a crash left in incoming/ and work/ is removed at start."""

    def __init__(self, journal: Path | None) -> None:
        if journal is not None:
            self.root = journal.with_name(journal.name + ".files")
        else:  # an endpoint without a journal keeps nothing after it exits
            self.root = Path(tempfile.mkdtemp(prefix="hetflow-files-"))
            weakref.finalize(self, shutil.rmtree, self.root, True)
        self.blobs = blobs_of(self.root)
        self.incoming = self.root / "incoming"
        for left in (self.incoming, self.root / "work"):  # a crash's leftovers: no upload or task runs at start
            shutil.rmtree(left, ignore_errors=True)
        for folder in (self.blobs, self.incoming, self.root / "work"):
            folder.mkdir(parents=True, exist_ok=True)
        os.environ[FILES_ENV] = str(self.root)  # the workers, started by this process, inherit it

    def blob(self, sha: str) -> Path:
        if not SHA256.fullmatch(sha):
            raise Refused(400, "a file is named by its sha256: 64 lowercase hex digits")
        return self.blobs / sha

    async def receive(self, request: Request, sha: str) -> int:
        """The body of a PUT kept as the blob `sha` (its size), or Refused: no Content-Length, fewer bytes than it
        said, or bytes that do not hash to the name."""
        target = self.blob(sha)
        length = request.headers.get("content-length")
        if length is None or not length.isdigit():
            raise Refused(411, "give the file's size in Content-Length")
        fd, tmp = tempfile.mkstemp(dir=self.incoming)
        digest, size = hashlib.sha256(), 0
        try:
            with os.fdopen(fd, "wb") as f:
                async for chunk in request.stream():
                    digest.update(chunk)
                    size += len(chunk)
                    f.write(chunk)
            if size != int(length):
                raise Refused(400, f"got {size} bytes of the {length} Content-Length said")
            if digest.hexdigest() != sha:
                raise Refused(400, f"the bytes hash to {digest.hexdigest()}, not to the file's name {sha}")
            os.replace(tmp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        return size


def file_routes(store: FileStore) -> list[Route]:
    """The routes of the store, for the endpoint's app."""

    async def put(request: Request) -> Response:
        sha = request.path_params["sha"]
        size = await store.receive(request, sha)
        return JSONResponse({"sha256": sha, "size": size}, status_code=201)

    async def get(request: Request) -> Response:
        path = store.blob(request.path_params["sha"])
        if not path.is_file():
            raise Refused(404, "no such file")
        if request.method == "HEAD":
            return Response(headers={"content-length": str(path.stat().st_size)})
        return BlobResponse(path, media_type="application/octet-stream")

    return [
        Route("/v1/files/{sha}", put, methods=["PUT"]),
        Route("/v1/files/{sha}", get, methods=["GET", "HEAD"]),
    ]
