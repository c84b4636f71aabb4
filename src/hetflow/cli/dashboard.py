"""`hetflow dashboard`: serve the web dashboard of recorded runs (journals), until Ctrl-C."""

from __future__ import annotations

import secrets
from pathlib import Path

import click

from hetflow.cli.group import main
from hetflow.errors import SpecError


def journals(paths: tuple[str, ...]) -> list[Path]:
    """The journal files given; a folder stands for its *.db files (none given: the current folder's)."""
    out: list[Path] = []
    for raw in paths or (".",):
        p = Path(raw)
        if p.is_dir():
            out += sorted(q for q in p.glob("*.db") if q.is_file())
        elif p.is_file():
            out.append(p)
        else:
            raise SpecError("no such journal or folder", source=raw, fix="give journal files written by hetflow run")
    if not out:
        raise SpecError(
            "no journal to show (no *.db file here)", source=paths[0] if paths else ".", fix="give journal files"
        )
    return out


@main.command()
@click.argument("journal", nargs=-1)
@click.option("--port", type=int, default=8787, show_default=True, help="The port to listen on (0: any free one).")
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option(
    "--token",
    envvar="HETFLOW_DASHBOARD_TOKEN",
    metavar="T",
    help="The access token (default: a random one; from $HETFLOW_DASHBOARD_TOKEN, so a Prometheus scrape job can "
    "send it as a Bearer token).",
)
def dashboard(journal: tuple[str, ...], port: int, host: str, token: str | None) -> None:
    """Serve a web dashboard of the runs JOURNAL files record (a folder: its *.db files; none: the current folder's):
    progress per task set, cores and GPUs busy, the timeline, tasks with their logs, simulated vs real, and
    /metrics for Prometheus. The URL printed holds the access token."""
    from hetflow.dashboard.app import bind, serve, url
    from hetflow.dashboard.data import JournalSource

    sources = [JournalSource(p) for p in journals(journal)]
    try:
        sock = bind(host, port)
    except OSError as exc:
        raise SpecError(
            f"cannot listen on {host}:{port} ({exc.strerror})", place="--port", fix="choose another port (0: any)"
        ) from None
    if token is not None and len(token) < 16:
        raise SpecError("the token is too short", place="--token", fix="give 16 characters or more (or none: random)")
    token = token or secrets.token_urlsafe(18)
    click.echo(f"dashboard: {url(sock, token)}", err=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(f"warning: listening on {host}: anyone who can reach it and has the URL sees the runs", err=True)
    click.echo("press Ctrl-C to stop", err=True)
    serve(sources, sock, token)
