"""`hetflow endpoint start`: serve this site's cores and GPUs as a function endpoint, until SIGTERM or Ctrl-C."""

from __future__ import annotations

import math
from pathlib import Path

import click

from hetflow.cli.group import main
from hetflow.errors import SpecError
from hetflow.faas.security import DEFAULT_TOKEN_FILE

PORT = click.IntRange(0, 65535)


@main.group()
def endpoint() -> None:
    """Function endpoints: serve this machine (or a platform of it) to hetflow.Endpoint clients."""


@endpoint.command()
@click.option(
    "--platform", "platform_path", metavar="P", help="The platform served (default: this machine, discovered)."
)
@click.option(
    "--backend",
    type=click.Choice(["local", "dask", "ray"]),
    default="local",
    show_default=True,
    help="Where invocations run: warm worker processes on this machine (local), or the workers of a Dask "
    "or Ray cluster (--address, else one started shaped like --platform and stopped with the endpoint).",
)
@click.option("--address", metavar="A", help="The Dask scheduler's or Ray head's address (dask and ray backends).")
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", type=PORT, default=0, show_default=True, help="The HTTP port (0: any free one).")
@click.option("--channel-port", type=PORT, default=0, show_default=True, help="The fast channel's port (0: any).")
@click.option(
    "--token-file",
    default=DEFAULT_TOKEN_FILE,
    show_default=True,
    metavar="F",
    help="The access token: read from F, or made and written there (mode 0600) when F does not exist.",
)
@click.option("--max-payload", default="10MB", show_default=True, help="The largest request or invocation accepted.")
@click.option(
    "--max-result",
    default="256MiB",
    show_default=True,
    help="The largest result a function may return; a larger one fails its invocation (never held in memory).",
)
@click.option(
    "--keep-warm",
    type=float,
    default=600.0,
    show_default=True,
    metavar="S",
    help="Seconds an idle worker of a function stays alive for the next call.",
)
@click.option(
    "--journal",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="SQLite journal of invocations and results: a restart on it runs again or reports what was "
    "accepted and had not ended.",
)
@click.option("--certfile", type=click.Path(exists=True, dir_okay=False), help="TLS certificate (PEM).")
@click.option("--keyfile", type=click.Path(exists=True, dir_okay=False), help="TLS private key (PEM).")
@click.option(
    "--rate-limit",
    type=float,
    default=20_000.0,
    show_default=True,
    help="Requests (invocations) a second per client on average (0: no limit); bursts of twice that.",
)
@click.option(
    "--max-workers", type=int, default=0, help="Worker processes at most (0: twice the platform's cores, at least 4)."
)
@click.option(
    "--result-ttl",
    type=float,
    default=3600.0,
    show_default=True,
    metavar="S",
    help="Seconds a result not fetched is kept.",
)
@click.option(
    "--max-pending",
    type=click.IntRange(min=0),
    default=0,
    help="Invocations accepted and not ended at most; more are refused (503 busy) (0: no bound).",
)
def start(
    platform_path: str | None, backend: str, address: str | None, host: str, port: int, channel_port: int,
    token_file: str, max_payload: str, max_result: str, keep_warm: float, journal: str | None, certfile: str | None,
    keyfile: str | None, rate_limit: float, max_workers: int, result_ttl: float, max_pending: int,
) -> None:  # fmt: skip
    """Serve function invocations over HTTP (/v1, OpenAPI at /v1/openapi.json) and a fast channel for the Python
    client. Prints `endpoint: URL` on stdout once it serves; SIGTERM or Ctrl-C drains it and exits 0."""
    from hetflow.faas.security import load_token
    from hetflow.faas.serve import Settings, serve
    from hetflow.spec.load import load_platform
    from hetflow.spec.local import local_platform
    from hetflow.spec.resources import parse_memory

    payload = parse_memory(max_payload, "--max-payload")
    if payload <= 0:
        raise SpecError("the payload limit must be > 0", place="--max-payload", fix="e.g. 10MB")
    result_limit = parse_memory(max_result, "--max-result")
    if result_limit <= 0:
        raise SpecError("the result limit must be > 0", place="--max-result", fix="e.g. 256MiB")
    if not all(math.isfinite(x) for x in (keep_warm, result_ttl, rate_limit)) or (
        keep_warm < 0 or result_ttl <= 0 or rate_limit < 0 or max_workers < 0
    ):
        where = "--keep-warm/--result-ttl/--rate-limit/--max-workers"
        raise SpecError("a negative or infinite duration or count", place=where, fix="give finite numbers >= 0")
    if address is not None and backend == "local":
        raise SpecError("--address is the address of a cluster", place="--address", fix="add --backend dask or ray")
    if (certfile is None) != (keyfile is None):
        raise SpecError("TLS needs both --certfile and --keyfile", place="--certfile", fix="give both, or neither")
    platform = load_platform(platform_path) if platform_path is not None else local_platform()
    token, made = load_token(token_file)
    path = Path(token_file).expanduser()
    click.echo(f"token: {'written to' if made else 'read from'} {path}", err=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(f"warning: listening on {host}: anyone who can reach it and has the token can run code", err=True)
    settings = Settings(
        platform, host, port, channel_port, token, payload, keep_warm, Path(journal) if journal else None, certfile,
        keyfile, rate_limit, 2 * rate_limit, max_workers, result_ttl, backend=backend, address=address,
        max_pending=max_pending, max_result=result_limit,
    )  # fmt: skip
    serve(settings, lambda url: click.echo(f"endpoint: {url}"))  # a busy port or a bad PEM: a SpecError naming it
