"""Graph analysis of a workflow's task sets: order, cycles, levels, workloads and longest paths.

Every function works on the set-level DAG (a dependency on a set means on all its tasks), given as a list of
names and a mapping from each name to its parents. All are linear in the size of the graph, except workload
derivation, which recomputes connected components only at fork points. `workloads` finds the branches and
`workload_labels` names them, for both the workflow's analysis and the engine (one naming rule).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence

from hetflow.errors import CycleError


def children_of(names: Sequence[str], parents: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """Invert the parent mapping."""
    kids: dict[str, list[str]] = {n: [] for n in names}
    for n in names:
        for p in parents[n]:
            kids[p].append(n)
    return kids


def topological_order(names: Sequence[str], parents: Mapping[str, Sequence[str]]) -> list[str]:
    """Kahn's order, stable in declaration order; raises CycleError naming one cycle."""
    kids = children_of(names, parents)
    indegree = {n: len(parents[n]) for n in names}
    queue = deque(n for n in names if indegree[n] == 0)
    order: list[str] = []
    while queue:
        n = queue.popleft()
        order.append(n)
        for c in kids[n]:
            indegree[c] -= 1
            if indegree[c] == 0:
                queue.append(c)
    if len(order) != len(names):
        cycle = find_cycle([n for n in names if indegree[n] > 0], parents)
        raise CycleError(
            "the dependencies form a cycle: " + " -> ".join(cycle),
            place="tasks",
            fix=f"remove one of the edges of the cycle, e.g. {cycle[-1]} after {cycle[-2]}",
        )
    return order


def find_cycle(candidates: Iterable[str], parents: Mapping[str, Sequence[str]]) -> list[str]:
    """One cycle among nodes that Kahn's algorithm could not order, as a closed walk along dependencies."""
    left = set(candidates)
    start = next(iter(sorted(left)))
    seen: dict[str, int] = {}
    walk: list[str] = []
    node = start
    while node not in seen:  # every left node has a parent that is left too, so this walk must repeat
        seen[node] = len(walk)
        walk.append(node)
        node = next(p for p in parents[node] if p in left)
    cycle = [*walk[seen[node] :], node]
    cycle.reverse()  # walked child -> parent; print in dependency order parent -> child
    return cycle


def levels(order: Sequence[str], parents: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """Level of each node: length in edges of the longest path from a root (roots are level 0)."""
    level: dict[str, int] = {}
    for n in order:
        ps = parents[n]
        level[n] = 1 + max(level[p] for p in ps) if ps else 0
    return level


def longest_path(
    order: Sequence[str], parents: Mapping[str, Sequence[str]], weight: Callable[[str], float]
) -> tuple[float, list[str]]:
    """The heaviest path through the DAG (node weights), and the nodes on it."""
    best: dict[str, float] = {}
    via: dict[str, str | None] = {}
    for n in order:
        top, arg = 0.0, None
        for p in parents[n]:
            if best[p] > top or arg is None:
                top, arg = best[p], p
        best[n] = top + weight(n)
        via[n] = arg
    if not best:
        return 0.0, []
    end = max(order, key=lambda n: best[n])
    path: list[str] = []
    cur: str | None = end
    while cur is not None:
        path.append(cur)
        cur = via[cur]
    path.reverse()
    return best[end], path


def bottom_levels(
    order: Sequence[str], kids: Mapping[str, Sequence[str]], weight: Callable[[str], float]
) -> dict[str, float]:
    """Longest remaining path from each node to a leaf, the node's own weight included (the upward rank)."""
    rank: dict[str, float] = {}
    for n in reversed(order):
        rank[n] = weight(n) + max((rank[c] for c in kids[n]), default=0.0)
    return rank


def _components(
    members: set[str], parents: Mapping[str, Sequence[str]], kids: Mapping[str, Sequence[str]]
) -> list[set[str]]:
    """Weakly connected components of the subgraph induced by members."""
    parts: list[set[str]] = []
    unseen = set(members)
    while unseen:
        seed = unseen.pop()
        part = {seed}
        stack = [seed]
        while stack:
            n = stack.pop()
            for m in (*parents[n], *kids[n]):
                if m in unseen:
                    unseen.discard(m)
                    part.add(m)
                    stack.append(m)
        parts.append(part)
    return parts


def _split(
    comp: set[str], parents: Mapping[str, Sequence[str]], kids: Mapping[str, Sequence[str]]
) -> tuple[list[str], list[set[str]]]:
    """Peel the single-source chain off a component until it forks into separate branches.

    Returns (shared ancestors, branches) when it forks, or ([], [comp]) when the component is one workload.
    """
    sources = [n for n in comp if not any(p in comp for p in parents[n])]
    if len(sources) != 1:
        return [], [comp]
    rest = set(comp)
    chain: list[str] = []
    src = sources[0]
    while True:
        chain.append(src)
        rest.discard(src)
        if not rest:
            return [], [comp]
        inside = [c for c in kids[src] if c in rest]
        new_sources = [c for c in inside if not any(p in rest for p in parents[c])]
        if len(inside) > 1:
            parts = _components(rest, parents, kids)
            if len(parts) > 1:
                return chain, parts
        if len(new_sources) != 1:
            return [], [comp]
        src = new_sources[0]


def workloads(order: Sequence[str], parents: Mapping[str, Sequence[str]]) -> tuple[list[list[str]], list[str]]:
    """Non-merging branches of the DAG, and the shared ancestors set apart from them.

    Components of the DAG are split wherever a single-source chain forks into branches that never merge again;
    the chain up to the fork is shared by those branches and belongs to none of them. Branches are returned in
    declaration order of their first member, members in declaration order.
    """
    kids = children_of(order, parents)
    rank = {n: i for i, n in enumerate(order)}
    branches: list[set[str]] = []
    shared: list[str] = []
    stack = _components(set(order), parents, kids)
    while stack:
        comp = stack.pop()
        chain, parts = _split(comp, parents, kids)
        if chain:
            shared.extend(chain)
            stack.extend(parts)
        else:
            branches.extend(parts)
    ordered = sorted((sorted(b, key=rank.__getitem__) for b in branches), key=lambda b: rank[b[0]])
    return ordered, sorted(shared, key=rank.__getitem__)


def workload_labels(branches: Sequence[Sequence[str]], shared: Iterable[str], prefix: str = "") -> dict[str, str]:
    """The workload name of each task set, from what `workloads` found: the branches are prefix + A, B, ..., Z, AA,
    AB, ... in order, and a shared ancestor is a workload of its own, named after itself (never prefixed)."""
    label: dict[str, str] = {}
    for i, members in enumerate(branches):
        name = prefix + _letters(i)
        for m in members:
            label[m] = name
    for m in shared:
        label[m] = m
    return label


def _letters(i: int) -> str:
    """The i-th (from 0) of A, B, ..., Z, AA, AB, ..."""
    name = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        name = chr(65 + r) + name
    return name
