"""Run a SeBS-Flow definition for real on a Session, deciding every step from the payload as it arrives.

The payload flows as in SeBS-Flow: each function takes the payload and returns the next one. A task state is one
`Session.submit`; a map over one function is one `Session.map` (a task set of N tasks, one per element of the array
the previous state returned); a map with nested states runs them once per element, each element going on as soon
as its own step is done; the results replace the array. Nothing is submitted before its input is known: each step is
a done-callback of the futures before it, so a switch reads the payload that reached it, a loop the array it got,
and the engine places each set with its policy, mode, resources and partition, and the journal records each set
as it comes (kind call or map). Callbacks run in the driver thread and never wait; the caller waits on
`FlowRun.result()`.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from hetflow.errors import HetflowError
from hetflow.flows.payload import FlowError, array_at, chosen, get_path, with_path
from hetflow.runtime.task import TaskFunction, TaskOptions
from hetflow.spec.flowside import FlowSide
from hetflow.spec.sebsflow import Flow, Loop, Map, Parallel, Repeat, Switch, Task

if TYPE_CHECKING:
    from hetflow.runtime.session import Session

log = logging.getLogger("hetflow")
Then = Callable[[Any], None]  # what to do with the payload a (sub)flow ends with


class Gather:
    """Results of n parts that end in any order, handed on in order once the last one is in."""

    def __init__(self, n: int, then: Callable[[list[Any]], None]) -> None:
        self.left = n
        self.results: list[Any] = [None] * n
        self.then = then
        self.lock = threading.Lock()

    def put(self, i: int, value: Any) -> None:
        with self.lock:
            self.results[i] = value
            self.left -= 1
            if self.left:
                return
        self.then(self.results)

    def slot(self, i: int) -> Then:
        """What part i hands its result to."""
        return lambda value: self.put(i, value)


class FlowRun:
    """One run of a flow on a started Session. `visited` lists the states entered, in order (a nested one as
    MAP#i/STATE, a branch's as PARALLEL/STATE); `handled` the failures a task's failure state took over;
    `tasks` how many function calls were submitted."""

    def __init__(
        self,
        session: Session,
        flow: Flow,
        functions: Mapping[str, Callable[..., Any]],
        side: FlowSide | None = None,
    ) -> None:
        self.session = session
        self.flow = flow
        self.future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self.visited: list[str] = []
        self.handled: list[tuple[str, str]] = []
        self.tasks = 0
        self.lock = threading.Lock()
        self.calls: dict[str, TaskFunction] = {}
        for name, fn in functions.items():
            cost = side.cost(name) if side is not None else None
            opts = TaskOptions(name=name.replace("[", "(").replace("]", ")"))
            if cost is not None:
                opts = TaskOptions(cost.resources, cost.retries, cost.timeout, cost.runtime, opts.name)
            self.calls[name] = TaskFunction(fn, opts)

    # ---- the caller's side ---------------------------------------------------------------------------------------
    def start(self, payload: Any) -> FlowRun:
        self.guard(self.enter, self.flow, self.flow.root, payload, "", self.finish)
        return self

    def result(self, timeout: float | None = None) -> Any:
        """The payload the flow ended with; the FlowError (or the session's error) that stopped it."""
        return self.future.result(timeout)

    # ---- outcomes ------------------------------------------------------------------------------------------------
    def finish(self, payload: Any) -> None:
        with contextlib.suppress(concurrent.futures.InvalidStateError):
            self.future.set_result(payload)

    def fail(self, exc: BaseException) -> None:
        if not isinstance(exc, HetflowError):
            exc = FlowError(f"{type(exc).__name__}: {exc}")
        with contextlib.suppress(concurrent.futures.InvalidStateError):
            self.future.set_exception(exc)

    def guard(self, fn: Callable[..., None], *args: Any) -> None:
        """Run one step; whatever it raises ends the flow (a callback's exception would only be logged)."""
        try:
            fn(*args)
        except BaseException as exc:
            self.fail(exc)

    def on_done(self, fut: concurrent.futures.Future[Any], place: str, then: Then) -> None:
        """then(result) once a task ends well; the flow fails when it does not."""

        def done(f: concurrent.futures.Future[Any]) -> None:
            exc = concurrent.futures.CancelledError() if f.cancelled() else f.exception()
            if exc is not None:
                self.fail(FlowError(f"{place}: {type(exc).__name__}: {exc}"))
            else:
                self.guard(then, f.result())

        fut.add_done_callback(done)

    def submit(self, func_name: str, payload: Any) -> concurrent.futures.Future[Any]:
        with self.lock:
            self.tasks += 1
        return self.session.submit(self.calls[func_name], payload)

    # ---- the states ----------------------------------------------------------------------------------------------
    def enter(self, flow: Flow, name: str, payload: Any, prefix: str, then: Then) -> None:
        if self.future.done():  # failed elsewhere: start nothing more
            return
        state = flow.states[name]
        label = prefix + name
        with self.lock:
            self.visited.append(label)
        place = f"{flow.at(name)} ({label})"
        if isinstance(state, Switch):
            target = chosen(state.cases, state.default, payload, place)
            log.debug("flow %s: %s goes to %s", self.flow.name, label, target)
            self.enter(flow, target, payload, prefix, then)
            return
        go_on = self.continuation(flow, state.next, prefix, then)
        if isinstance(state, Task):
            self.task(flow, state, payload, prefix, place, then)
        elif isinstance(state, Repeat):
            self.chain([payload] * state.count, state.func_name, place, go_on, chained=True)
        elif isinstance(state, Loop):
            items = array_at(payload, state.array, place)
            self.chain(items, state.func_name, place, lambda _: go_on(payload), chained=False)
        elif isinstance(state, Map):
            self.map(state, payload, label, place, go_on)
        else:
            self.parallel(state, payload, label, go_on)

    def continuation(self, flow: Flow, nxt: str | None, prefix: str, then: Then) -> Then:
        """What follows a state: its next state, or the end of its flow."""
        if nxt is None:
            return then
        return lambda payload: self.enter(flow, nxt, payload, prefix, then)

    def task(self, flow: Flow, state: Task, payload: Any, prefix: str, place: str, then: Then) -> None:
        fut = self.submit(state.func_name, payload)
        go_on = self.continuation(flow, state.next, prefix, then)
        if state.failure is None:
            self.on_done(fut, place, go_on)
            return
        failure = state.failure

        def done(f: concurrent.futures.Future[Any]) -> None:
            if f.cancelled():
                self.fail(FlowError(f"{place}: the task was cancelled"))
                return
            if f.exception() is None:
                self.guard(go_on, f.result())
                return
            error = f"{type(f.exception()).__name__}: {f.exception()}"
            with self.lock:
                self.handled.append((prefix + state.name, error))
            log.info("flow %s: %s failed (%s), going to %s", self.flow.name, prefix + state.name, error, failure)
            base = payload if isinstance(payload, dict) else {"payload": payload}
            self.guard(self.enter, flow, failure, {**base, "error": error}, prefix, then)

        fut.add_done_callback(done)

    def chain(self, inputs: list[Any], func_name: str, place: str, then: Then, *, chained: bool) -> None:
        """Call the function on each input in turn (repeat: each call gets the last one's result; loop: each
        element, the results dropped); then() gets the last result."""

        def step(i: int, last: Any) -> None:
            if i == len(inputs):
                then(last)
                return
            fut = self.submit(func_name, last if chained and i else inputs[i])
            self.on_done(fut, f"{place} #{i}", lambda result: step(i + 1, result))

        step(0, inputs[0] if inputs else None)

    def map(self, state: Map, payload: Any, label: str, place: str, then: Then) -> None:
        items = array_at(payload, state.array, place)
        shared = {p: get_path(payload, p, place) for p in state.common_params}
        elements = [{"array_element": e, **shared} for e in items] if shared else items
        gather = Gather(len(elements), lambda results: then(with_path(payload, state.array, results)))
        if not elements:
            gather.then([])
        elif state.single is not None:  # one function: one task set of N tasks
            with self.lock:
                self.tasks += len(elements)
            futures = self.session.map(self.calls[state.single], elements)
            for i, fut in enumerate(futures):
                self.on_done(fut, f"{place} [{i}]", gather.slot(i))
        else:
            body = state.body
            for i, element in enumerate(elements):
                self.enter(body, body.root, element, f"{label}#{i}/", gather.slot(i))

    def parallel(self, state: Parallel, payload: Any, label: str, then: Then) -> None:
        roots = [b.root for b in state.branches]
        gather = Gather(len(roots), lambda results: then(dict(zip(roots, results, strict=True))))
        for i, branch in enumerate(state.branches):
            self.enter(branch, branch.root, payload, f"{label}/", gather.slot(i))


def run_flow(
    session: Session,
    flow: Flow,
    functions: Mapping[str, Callable[..., Any]],
    payload: Any = None,
    side: FlowSide | None = None,
    wait: bool = True,
) -> FlowRun:
    """Start a flow on a started session with its first payload (default {}); with wait, return once it ended."""
    run = FlowRun(session, flow, functions, side).start({} if payload is None else payload)
    if wait:
        with contextlib.suppress(HetflowError):
            run.result()
    return run
