"""`python -m hetflow.dashboard JOURNAL --token T [--port P] [--host H] [--logs DIR] [--parent PID]`: the server a
Session starts for its live dashboard (live.py). Its first line on stdout is the URL; it stops when its parent does."""

from __future__ import annotations

import argparse
import os
import sys

from hetflow.dashboard.app import bind, serve, url
from hetflow.dashboard.data import JournalSource
from hetflow.dashboard.live import DEFAULT_PORT


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hetflow.dashboard")
    parser.add_argument("journal")
    parser.add_argument("--token", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--any-port", action="store_true", help="take any free port when --port is taken")
    parser.add_argument("--logs", default=None, help="the folder of the tasks' logs (default: JOURNAL.logs)")
    parser.add_argument("--parent", type=int, default=None, help="stop when this process is gone")
    args = parser.parse_args(argv)
    try:
        sock = bind(args.host, args.port, fallback=args.any_port)
    except OSError as exc:
        print(f"error: dashboard: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 2
    print(url(sock, args.token), flush=True)
    parent = args.parent

    def orphaned() -> bool:
        return parent is not None and os.getppid() != parent

    serve([JournalSource(args.journal, args.logs)], sock, args.token, until=orphaned)
    return 0


if __name__ == "__main__":
    sys.exit(main())
