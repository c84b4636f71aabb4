"""What the endpoint's service keeps: registered functions, invocations and their results, and Refused, the one
way a request is turned down (an HTTP status and one line of why)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hetflow.faas.pool import Call


class Refused(Exception):
    """A request the endpoint will not serve: an HTTP status and one line of why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class Function:
    fid: str
    name: str
    kind: str  # "ref" | "pickle"
    data: bytes

    @property
    def definition(self) -> tuple[bytes, bytes]:
        return (b"r" if self.kind == "ref" else b"p", self.data)


@dataclass(slots=True, eq=False)
class Result:
    status: str  # done | failed | timeout | lost | cancelled
    kind: str  # cold | warm | hot ("" when it never ran)
    value: bytes  # done: the value (pickled, or JSON); failed: the worker's failure record; else the error, UTF-8
    error: str = ""
    timings: dict[str, float] = field(default_factory=dict)  # received, queued, started, ended (returned: when sent)
    node: str = ""
    worker: int = 0
    at: float = 0.0  # monotonic time it ended (for its expiry)

    def summary(self) -> dict[str, Any]:
        return {"status": self.status, "kind": self.kind, "error": self.error, "timings": self.timings,
                "node": self.node, "worker": self.worker}  # fmt: skip


@dataclass(slots=True, eq=False)
class Invocation:
    id: str
    fid: str
    fmt: str  # "pickle" | "json"
    payload: bytes
    cores: int = 1
    gpus: float = 0.0
    memory: int = 0
    timeout: float | None = None
    lease: str | None = None
    received: float = 0.0
    queued: float = 0.0
    attempts: int = 0
    result: Result | None = None
    call: Call | None = None
    node: str = ""
    task: tuple[str, int] | None = None  # its task (set, index) in the endpoint's Session, to cancel it
    waiters: list[Callable[[Invocation], None]] = field(default_factory=list)

    def row(self) -> tuple[Any, ...]:
        return (self.id, self.fid, self.fmt, self.payload, self.cores, self.gpus, self.memory, self.timeout,
                self.lease, self.received)  # fmt: skip


def new_id() -> str:
    return secrets.token_hex(16)
