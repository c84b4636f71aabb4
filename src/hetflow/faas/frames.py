"""The fast channel's frames (the Python client's persistent TCP connection to an endpoint, beside its HTTP API):
a 4-byte big-endian length, then a body whose first byte says what it is. Standard library only.

    client -> endpoint   H token                       hello: the first frame, at most HELLO_MAX bytes
                         I INVOKE payload              an invocation (payload: pickle of (args, kwargs), fmt p,
                                                       or the same with out-of-band buffers, fmt b: worker.py)
                         A id id ...                   results received: the endpoint may drop them
    endpoint -> client   W json                        welcome: {"time", "max_payload"}
                         E json                        {"error", "status"}, then the endpoint closes
                         R RESULT RETURNED body        a result (body as in the HTTP API's value, raw bytes)
Ids are 16 raw bytes (32 hexadecimal digits in the HTTP API). A client that reconnects sends again the invocations
it has no result for: the endpoint runs an id once, and answers one it knows with its result.
"""

from __future__ import annotations

import struct

from hetflow.faas.worker import Part

HEAD = struct.Struct("!I")
INVOKE = struct.Struct("!16s16scHdQd16s")  # id, function, fmt (p|j), cores, gpus, memory, timeout (0: none), lease
RESULT = struct.Struct("!16sBBH4d")  # id, status, kind, HTTP-like code, received, queued, started, ended
RETURNED = struct.Struct("!d")  # after RESULT: when the endpoint sent it
HELLO_MAX = 4096
NO_LEASE = bytes(16)
STATUSES = ("done", "failed", "timeout", "lost", "cancelled", "refused")
KINDS = ("", "cold", "warm", "hot")


def frame(*parts: bytes) -> bytes:
    """One frame, joined in one copy."""
    return b"".join((HEAD.pack(sum(len(p) for p in parts)), *parts))


def frame_parts(*parts: Part) -> list[Part]:
    """One frame as parts (the large ones not copied: sent with sendmsg)."""
    return [HEAD.pack(sum(p.nbytes if isinstance(p, memoryview) else len(p) for p in parts)), *parts]
