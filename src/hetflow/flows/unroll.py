"""A SeBS-Flow definition unrolled into a workflow of task sets, for the simulator (and validate's summary).

What a real run decides from the payload, the side file assumes: a map's array length N, a loop's length, a switch's
branch (else its default). A task is a set of one task; a map over one function is one set of N tasks; a map whose
body has several states is N copies of the body (NAME#i/STATE), so each element goes on as soon as its own previous
step is done, as in a real run; repeat and loop are chains of sets (NAME#k); parallel branches (NAME/ROOT/...) all
start after the state before them, and the state after waits for every branch. A task's failure state is not
simulated (failures are not assumed).
"""

from __future__ import annotations

from hetflow.errors import SpecError
from hetflow.spec.flowside import Cost, FlowSide
from hetflow.spec.sebsflow import Flow, Loop, Map, Parallel, Repeat, State, Switch, Task
from hetflow.spec.workflow import TaskSet, Workflow


class Unroller:
    def __init__(self, flow: Flow, side: FlowSide) -> None:
        self.top = flow
        self.side = side
        self.sets: list[TaskSet] = []

    def cost(self, func_name: str) -> Cost:
        cost = self.side.cost(func_name)
        if cost is None:
            raise SpecError(
                f"no run time for function {func_name!r}",
                source=self.side.source,
                place=f"functions.{func_name}",
                fix=f"add functions: {{{func_name}: {{runtime: S}}}} or a default: to the side file",
            )
        return cost

    def length(self, state: Map | Loop) -> int:
        n = self.side.lengths.get(state.name)
        if n is None:
            raise SpecError(
                f"{state.name} is a {type(state).__name__.lower()} over {state.array!r}, whose length is not assumed",
                source=self.side.source,
                place=f"states.{state.name}",
                fix=f"add states: {{{state.name}: {{length: N}}}} to the side file",
            )
        return n

    def add(self, name: str, count: int, cost: Cost, after: tuple[str, ...]) -> tuple[str, ...]:
        self.sets.append(TaskSet(name, count, cost.resources, cost.runtime, after, retries=cost.retries))
        return (name,)

    def flow(self, flow: Flow, prefix: str, after: tuple[str, ...]) -> tuple[str, ...]:
        """Add the sets of one walk through flow, after the given sets; the sets the next state waits for."""
        name: str | None = flow.root
        while name is not None:
            state = flow.states[name]
            after = self.state(flow, state, prefix, after)
            name = self.side.branches.get(state.name, state.default) if isinstance(state, Switch) else state.next
        return after

    def state(self, flow: Flow, state: State, prefix: str, after: tuple[str, ...]) -> tuple[str, ...]:
        label = prefix + state.name
        if isinstance(state, Task):
            return self.add(label, 1, self.cost(state.func_name), after)
        if isinstance(state, Repeat | Loop):
            cost = self.cost(state.func_name)
            times = state.count if isinstance(state, Repeat) else self.length(state)
            for k in range(times):
                after = self.add(f"{label}#{k}" if times > 1 else label, 1, cost, after)
            return after
        if isinstance(state, Map):
            n = self.length(state)
            if state.single is not None:
                return self.add(label, n, self.cost(state.single), after)
            ends: list[str] = []
            for i in range(n):
                ends.extend(self.flow(state.body, f"{label}#{i}/", after))
            return tuple(ends)
        if isinstance(state, Parallel):
            ends = []
            for branch in state.branches:
                ends.extend(self.flow(branch, f"{label}/", after))
            return tuple(ends)
        return after  # a switch runs nothing: the walk goes on along its branch


def unrolled(flow: Flow, side: FlowSide) -> Workflow:
    """The workflow of task sets one run of the flow would submit, as the side file assumes it."""
    u = Unroller(flow, side)
    u.flow(flow, "", ())
    return Workflow(flow.name, tuple(u.sets), flow.source)
