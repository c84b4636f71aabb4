"""What the endpoint client raises. Every error derives from hetflow's ExecutionError (a real run cannot go on) or
TaskError (an invocation did not end well)."""

from __future__ import annotations

from hetflow.errors import ExecutionError, TaskError


class EndpointError(ExecutionError):
    """The endpoint refused a request (status: its HTTP status) or cannot be reached (status 0)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class AuthError(EndpointError):
    """401: no token; 403: a wrong one."""


class PayloadTooLarge(EndpointError):
    """413: over the endpoint's --max-payload."""


class RateLimited(EndpointError):
    """429: this client sends faster than the endpoint's --rate-limit."""


class LeaseRefused(EndpointError):
    """409: the resources asked for are not there now (or never were); the message says why."""


class InvocationError(TaskError):
    """An invocation that did not end with a value: status timeout, lost (its worker died twice, or the endpoint
    restarted under it) or cancelled."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(f"{status}: {message}", error=message)
        self.status = status


class RemoteError(TaskError):
    """The function raised an exception that could not be sent back as itself; its text and remote_traceback."""

    remote_traceback = ""


def error_for(status: int, message: str) -> EndpointError:
    kind = {401: AuthError, 403: AuthError, 409: LeaseRefused, 413: PayloadTooLarge, 429: RateLimited}
    return kind.get(status, EndpointError)(status, message)
