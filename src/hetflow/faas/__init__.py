"""Function serving: hetflow endpoints (a site's cores and GPUs behind an HTTP API, warm worker pools, leases) and
their Python client, Endpoint. The server side (service, routes, channel, pool) is imported only by `hetflow
endpoint start`; importing this package loads the client alone (the standard library, cloudpickle when needed)."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hetflow.faas.client import Endpoint, InvocationFuture, Lease
    from hetflow.faas.failures import (
        AuthError,
        EndpointError,
        InvocationError,
        LeaseRefused,
        PayloadTooLarge,
        RateLimited,
        RemoteError,
    )
else:
    from hetflow.lazy import exports

    __getattr__ = exports(
        __name__,
        {
            "hetflow.faas.client": ["Endpoint", "InvocationFuture", "Lease"],
            "hetflow.faas.failures": [
                "AuthError", "EndpointError", "InvocationError", "LeaseRefused", "PayloadTooLarge", "RateLimited",
                "RemoteError",
            ],
        },
    )  # fmt: skip

__all__ = [
    "AuthError",
    "Endpoint",
    "EndpointError",
    "InvocationError",
    "InvocationFuture",
    "Lease",
    "LeaseRefused",
    "PayloadTooLarge",
    "RateLimited",
    "RemoteError",
]
