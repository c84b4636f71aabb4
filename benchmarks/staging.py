"""What moving a file between two endpoints costs (faas/stager.py: GET from one endpoint streamed into a PUT on the
other, through this process; the receiver hashes it before keeping it). Two local endpoints on loopback; prints JSON.

    PYTHONPATH=src python benchmarks/staging.py [--sizes 1,16,64] [--repeats 5] [--peers dask,ray,ray-1node,http]

Per size (MB): the median seconds of a site-to-site copy and its MB/s, beside a plain read of the same bytes from
the first endpoint (GET alone) to show what the second leg (the PUT, hashed and written) adds; and the two moves
at the origin: a workflow input file uploaded from this machine's disk to an endpoint (upload) and a final output
brought back from an endpoint into a folder here (download), as `hetflow run --sites` makes them.

In the same run, for the same sizes and repeats (after the endpoints stop; --no-peer or --peers to choose): what
peer systems do for the same job (benchmarks/staging_peers.py says how each is measured): Dask moving the bytes from
one worker process to another, Ray between two nodes' object stores (ray) and within one node (ray-1node: shared
memory, no transfer), and a GET from Python's http.server; per size, `vs_peers` gives hetflow / peer (copy against
the moves, GET against http.server's GET).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import hetflow as hf
from hetflow.faas.stager import auth, connection, copy, download, stored, upload

sys.path.insert(0, str(Path(__file__).resolve().parent))
from staging_peers import PEERS, ratios, run_peers

MB = 1024 * 1024
PLATFORM = {"platform": "bench", "nodes": [{"type": "cpu", "count": 1, "cores": 2}]}


def start_endpoint(folder: Path, max_mb: int, token_file: Path) -> tuple[subprocess.Popen[str], str, str]:
    """`hetflow endpoint start` as a process, its journal (and so its file store) in folder; (process, URL, token)."""
    (folder / "platform.json").write_text(json.dumps(PLATFORM))
    cmd = [sys.executable, "-c", "from hetflow.cli import main; main()", "endpoint", "start", "--platform",
           str(folder / "platform.json"), "--token-file", str(token_file), "--rate-limit", "0", "--max-payload",
           f"{max_mb}MiB", "--journal", str(folder / "ep.db")]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("endpoint: "):
            return proc, line.split(" ", 1)[1].strip(), token_file.read_text().strip()
    raise SystemExit("the endpoint did not start")


def put(ep: hf.Endpoint, data: bytes) -> str:
    sha = hashlib.sha256(data).hexdigest()
    conn = connection(ep)
    conn.request("PUT", f"/v1/files/{sha}", data, auth(ep))
    answer = conn.getresponse()
    answer.read()
    conn.close()
    assert answer.status == 201, answer.status
    return sha


def read(ep: hf.Endpoint, sha: str) -> int:
    conn = connection(ep)
    conn.request("GET", f"/v1/files/{sha}", headers=auth(ep))
    got = conn.getresponse()
    n = 0
    while chunk := got.read(MB):
        n += len(chunk)
    conn.close()
    return n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1,16,64", help="file sizes in MB")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--peers", default=",".join(PEERS), help=f"peers to run, of {','.join(PEERS)}")
    ap.add_argument("--no-peer", action="store_true", help="run no peer")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    peers = [] if args.no_peer else [p for p in args.peers.split(",") if p]
    if unknown := set(peers) - set(PEERS):
        ap.error(f"unknown peers {sorted(unknown)}: choose among {','.join(PEERS)}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        procs, clients = [], []
        try:
            for name in ("a", "b"):
                folder = Path(tmp) / name
                folder.mkdir()
                proc, url, token = start_endpoint(folder, max(sizes) + 1, Path(tmp) / "token")
                procs.append(proc)
                clients.append(hf.Endpoint(url, token=token))
            a, b = clients
            for size in sizes:
                data = os.urandom(size * MB)
                sha = put(a, data)
                copies, reads, ups, downs = [], [], [], []
                here = Path(tmp) / f"input-{size}"
                here.write_bytes(data)
                for _ in range(args.repeats):
                    (Path(tmp) / "b" / "ep.db.files" / "blobs" / sha).unlink(missing_ok=True)
                    t = time.perf_counter()
                    upload(here, b, sha, len(data))
                    ups.append(time.perf_counter() - t)
                    t = time.perf_counter()
                    download(b, sha, Path(tmp) / "back")
                    downs.append(time.perf_counter() - t)
                    assert (Path(tmp) / "back").stat().st_size == len(data)
                    (Path(tmp) / "b" / "ep.db.files" / "blobs" / sha).unlink(missing_ok=True)
                    t = time.perf_counter()
                    copy(a, b, sha, len(data))
                    copies.append(time.perf_counter() - t)
                    assert stored(b, sha) == len(data)
                    t = time.perf_counter()
                    assert read(a, sha) == len(data)
                    reads.append(time.perf_counter() - t)
                c, r = statistics.median(copies), statistics.median(reads)
                u, d = statistics.median(ups), statistics.median(downs)
                rows.append({"mb": size, "copy_s": round(c, 4), "copy_mb_s": round(size / c, 1),
                             "get_s": round(r, 4), "get_mb_s": round(size / r, 1),
                             "upload_s": round(u, 4), "upload_mb_s": round(size / u, 1),
                             "download_s": round(d, 4), "download_mb_s": round(size / d, 1)})  # fmt: skip
        finally:
            for client in clients:
                client.close()
            for proc in procs:
                proc.kill()
                proc.wait()
        found = run_peers(peers, Path(tmp), sizes, args.repeats)
    for row in rows:
        if found:
            row["vs_peers"] = ratios(row, found)
    print(json.dumps({"machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
                      "repeats": args.repeats, "sizes": rows, "peers": found}, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
