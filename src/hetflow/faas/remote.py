"""How the multi-site executor talks to one endpoint: the nodes it advertises as the session's node types, one
execution as one invocation, what came back as an Outcome, and a heartbeat probe of its health.

A function call goes as itself; a workflow's "pkg.mod:func" and a call whose keyword arguments clash with
Endpoint.submit's own go through faas/tasks.py; a shell command through the endpoint's built-in shell function,
its output written here, where the CommandResult says it is (the session's log folder), the clocks reconciled with
the client's estimate of the endpoint's clock offset (SeBS's minimum round trip).
"""

from __future__ import annotations

import http.client
import json
import pickle
import ssl
import subprocess
from concurrent.futures import CancelledError, Future
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from hetflow.executors.api import (
    CANCELLED,
    DONE,
    FAILED,
    LOST,
    REFUSED,
    TIMEOUT,
    CommandResult,
    Outcome,
    TaskRun,
    log_paths,
)
from hetflow.faas.client import Endpoint, dumps
from hetflow.faas.failures import EndpointError, InvocationError
from hetflow.spec.features import features_from_dict
from hetflow.spec.platform import NodeType
from hetflow.spec.resources import GPU_UNIT

UNREACHABLE: Final = "unreachable"  # no answer: the heartbeat decides whether the site is lost
AGAIN = frozenset({409, 429, 503})  # not taken now (no room, rate limit, busy or draining): the engine places it again
SUBMIT_OWN = frozenset({"cores", "gpus", "memory", "timeout"})
SHELL = "hetflow.faas.builtins:shell"
STAGED = "hetflow.faas.workdir:staged"  # a command in a working folder of declared files (faas/stager.py)
CALL_REFERENCE = "hetflow.faas.tasks:call_reference"
APPLY = "hetflow.faas.tasks:apply"
STATUS = {"timeout": TIMEOUT, "lost": LOST, "cancelled": CANCELLED}


def client(url: str, token: str | None, patience: float) -> Endpoint:
    """A client of the endpoint (it says hello now: one that does not answer raises EndpointError)."""
    return Endpoint(url, token=token, patience=patience) if token is not None else Endpoint(url)


def node_types(site: str, described: dict[str, Any]) -> list[NodeType]:
    """The node types of what an endpoint's resources() lists: "SITE/TYPE", one per type and shape (cores, GPUs,
    memory, speed, GPU model, sharing mode and features, as the endpoint's platform declares or discovered them)."""
    shapes: dict[str, tuple[Any, ...]] = {}
    counts: dict[str, int] = {}
    for node in described.get("nodes", []):
        found = node.get("features")  # what the endpoint's nodes are (declared or discovered there), for requires:
        shape = (
            int(node["cores"]), round(float(node.get("gpus", 0)) * GPU_UNIT), int(node.get("memory") or 0),
            float(node.get("speed", 1.0)), node.get("gpu_model"), str(node.get("gpu_sharing") or "mps"),
            None if found is None else features_from_dict(found, f"{site}: {node.get('name')}.features"),
        )  # fmt: skip
        name = f"{site}/{node.get('type', 'node')}"
        if shapes.setdefault(name, shape) != shape:
            name = f"{name}-{shape[0]}c{shape[1] / GPU_UNIT:g}g"
            shapes.setdefault(name, shape)
        counts[name] = counts.get(name, 0) + 1
    return [
        NodeType(
            name,
            counts[name],
            cores,
            units,
            memory,
            speed,
            gpu_model=model,
            gpu_sharing=sharing,
            features=features,
            site=site,
        )
        for name, (cores, units, memory, speed, model, sharing, features) in ((n, shapes[n]) for n in counts)
    ]


def send(ep: Endpoint, run: TaskRun, gpus: float, files: dict[str, str] | None = None) -> Future[Any]:
    """Invoke one execution on the endpoint with the resources the session's engine gave it. files: for a command
    that reads or writes declared files, its inputs (name -> sha256 at the endpoint): it runs in a working folder."""
    res: dict[str, Any] = {"cores": run.cores, "gpus": gpus, "memory": run.memory}
    if run.command is not None:
        env = {"HETFLOW_TASK_ID": run.task_id}
        if run.inputs or run.outputs:
            return ep.submit(STAGED, run.command, files or {}, list(run.outputs), env, run.timeout, **res)
        return ep.submit(SHELL, run.command, None, env, run.timeout, **res)
    res["timeout"] = run.timeout
    if isinstance(run.fn, str):
        return ep.submit(CALL_REFERENCE, run.fn, run.index, **res)
    assert run.fn is not None
    kwargs = run.kwargs or {}
    if SUBMIT_OWN.intersection(kwargs):
        return ep.submit(APPLY, run.fn, run.args, kwargs, **res)
    return ep.submit(run.fn, *run.args, **res, **kwargs)


def outcome(key: int, run: TaskRun, future: Future[Any], offset: float, logs: Path | None) -> Any:
    """The Outcome of a finished invocation (REFUSED: the endpoint did not take it), or UNREACHABLE. offset: the
    endpoint's clock minus ours."""
    info: dict[str, Any] = getattr(future, "info", {})
    timings = info.get("timings", {})
    start = float(timings.get("started") or timings.get("received") or timings.get("got") or 0.0) - offset
    end = max(start, float(timings.get("ended") or timings.get("returned") or 0.0) - offset)
    try:
        value = future.result(timeout=0)
    except CancelledError:
        return Outcome(key, CANCELLED, start, end, error="cancelled")
    except EndpointError as exc:
        if exc.status == 0:
            return UNREACHABLE
        if exc.status in AGAIN:
            return Outcome(key, REFUSED, start, end, error=f"the endpoint refused it ({exc.status}): {exc}")
        return Outcome(key, FAILED, start, end, error=f"the endpoint refused it: {exc}")
    except InvocationError as exc:
        return Outcome(key, STATUS.get(exc.status, FAILED), start, end, error=exc.error or str(exc))
    except subprocess.TimeoutExpired:
        return Outcome(key, TIMEOUT, start, end, error=f"timed out after {run.timeout:g} s")
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}".strip()
        return Outcome(key, FAILED, start, end, error=error, exception=_pickled(exc), traceback=_traceback(exc))
    if run.command is None:
        try:
            return Outcome(key, DONE, start, end, dumps(value))
        except Exception as exc:
            return Outcome(key, FAILED, start, end, error=f"the result could not be pickled: {exc}")
    return _command(key, run, value, start, end, logs)


def _command(key: int, run: TaskRun, value: dict[str, Any], start: float, end: float, logs: Path | None) -> Outcome:
    """A command's outcome: its output written into the log folder (a stream it left empty is no file)."""
    assert logs is not None
    rc = int(value.get("returncode", -1))
    out_path, err_path = log_paths(logs, run)
    for path, text in ((out_path, value.get("stdout") or ""), (err_path, value.get("stderr") or "")):
        if text:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(text)
    blob = pickle.dumps(CommandResult(rc, out_path, err_path))
    if rc == 0:
        return Outcome(key, DONE, start, end, blob)
    last = next((line for line in reversed(str(value.get("stderr") or "").splitlines()) if line.strip()), "")
    error = f"exit status {rc}" + (f": {last.strip()[:200]}" if last else "")
    return Outcome(key, FAILED, start, end, blob, error)


def _pickled(exc: BaseException) -> bytes | None:
    tb = exc.__traceback__
    exc.__traceback__ = None
    try:
        return pickle.dumps(exc)
    except Exception:
        return None
    finally:
        exc.__traceback__ = tb


def _traceback(exc: BaseException) -> str:
    return str(getattr(exc, "remote_traceback", "") or "")


class Probe:
    """The heartbeat's view of one endpoint: GET /v1/health on a connection of its own with a short timeout (the
    client's connection may be busy with a long request, and its timeout is long)."""

    def __init__(self, url: str, token: str | None, timeout: float) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.tls = ssl.create_default_context() if parts.scheme == "https" else None
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.timeout = timeout
        self.conn: http.client.HTTPConnection | None = None

    def healthy(self) -> bool:
        """Whether the endpoint answers that it serves."""
        try:
            conn = self.conn or self._connect()
            conn.request("GET", "/v1/health", headers=self.headers)
            resp = conn.getresponse()
            body = resp.read()
            self.conn = conn
            return resp.status == 200 and json.loads(body).get("status") in ("ok", "draining")
        except (OSError, http.client.HTTPException, ValueError):
            self.close()
            return False

    def _connect(self) -> http.client.HTTPConnection:
        if self.tls is not None:
            return http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout, context=self.tls)
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
