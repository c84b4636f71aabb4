"""Small functions the flow tests' definitions name (imported by reference in the workers: tests.flows.functions)."""

from __future__ import annotations

import os
import time
from typing import Any

Payload = dict[str, Any]


def start(p: Payload) -> Payload:
    return {**p, "steps": ["start"]}


def middle(p: Payload) -> Payload:
    return {**p, "steps": [*p["steps"], "middle"]}


def end(p: Payload) -> Payload:
    return {**p, "steps": [*p["steps"], "end"], "pid": os.getpid()}


def numbers(p: Payload) -> Payload:
    return {"items": list(range(1, p.get("n", 5) + 1)), "tag": p.get("tag", "t")}


def square(x: int) -> int:
    return x * x


def double(x: int) -> int:
    return 2 * x


def add_one(x: int) -> int:
    return x + 1


def total(p: Payload) -> Payload:
    return {**p, "total": sum(p["items"])}


def rows(p: Payload) -> Payload:
    return {"rows": [{"cells": list(range(k, k + 3))} for k in range(p.get("rows", 3))]}


def row_sum(p: Payload) -> Payload:
    return {**p, "sum": sum(p["cells"])}


def increment(p: Payload) -> Payload:
    return {**p, "value": p.get("value", 0) + 1, "calls": p.get("calls", 0) + 1}


def stamp(element: Payload) -> Payload:
    """Append when it started and ended to a file (the loop test reads the order and that calls never overlap)."""
    began = time.time()
    time.sleep(0.05)
    with open(element["log"], "a") as f:
        f.write(f"{element['i']} {began} {time.time()}\n")
    return {"i": element["i"], "ignored": True}


def mark(tag: str) -> Any:
    def fn(p: Payload) -> Payload:
        return {**p, "path": [*p.get("path", []), tag]}

    return fn


small = mark("small")
large = mark("large")
after = mark("after")


def left(p: Payload) -> Payload:
    return {"side": "left", "value": p["value"] * 10}


def right(p: Payload) -> Payload:
    return {"side": "right", "value": p["value"] + 1}


def right_again(p: Payload) -> Payload:
    return {**p, "value": p["value"] * 2}


def combine(p: Payload) -> Payload:
    return {"left": p["left"]["value"], "right": p["right"]["value"]}


def fail(p: Payload) -> Payload:
    raise ValueError(f"cannot handle {p.get('value')}")


def recover(p: Payload) -> Payload:
    return {"recovered": True, "error": p["error"]}


def with_common(p: Payload) -> Payload:
    return {"item": p["array_element"], "scaled": p["array_element"] * p["factor"]}


def params(p: Payload) -> Payload:
    return {"values": [1, 2, 3], "factor": 7}


def flaky(p: Payload) -> Payload:
    """Fail on the first call for this marker file, succeed on the next (a retry)."""
    marker = p["marker"]
    if not os.path.exists(marker):
        open(marker, "w").close()
        raise RuntimeError("first try fails")
    return {**p, "tried": True}


def sleepy(p: Payload) -> Payload:
    time.sleep(5)
    return p
