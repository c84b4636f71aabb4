"""Graph analysis of a workflow's task sets: order, cycles, levels, workloads and longest paths.

Every function works on the set-level DAG (a dependency on a set means on all its tasks), given as a list of
names and a mapping from each name to its parents. All are linear in the size of the graph, except workload
derivation, which recomputes connected components only at fork points. `workloads` finds the branches and
`workload_labels` names them, for both the workflow's analysis and the engine (one naming rule).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import chain, compress, repeat
from operator import contains, not_

from hetflow.errors import CycleError
from hetflow.spec.passes import path_weights


def children_of(names: Sequence[str], parents: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """Invert the parent mapping."""
    kids: dict[str, list[str]] = {n: [] for n in names}
    for n in names:
        for p in parents[n]:
            kids[p].append(n)
    return kids


def _ids(names: Sequence[str], parents: Mapping[str, Sequence[str]]) -> list[list[int]]:
    """The parents of each name as positions in names."""
    index = {n: i for i, n in enumerate(names)}
    return [[index[p] for p in parents[n]] for n in names]


def topological_order(names: Sequence[str], parents: Mapping[str, Sequence[str]]) -> list[str]:
    """Kahn's order, stable in declaration order; raises CycleError naming one cycle."""
    pids = _ids(names, parents)
    order = order_ids(pids, kid_ids(pids))
    if len(order) != len(names):
        placed = set(order)
        raise cycle_error([n for i, n in enumerate(names) if i not in placed], parents)
    return [names[i] for i in order]


def cycle_error(left: Iterable[str], parents: Mapping[str, Sequence[str]]) -> CycleError:
    """The error for nodes that Kahn's algorithm could not order: it names one cycle among them."""
    cycle = find_cycle(left, parents)
    return CycleError(
        "the dependencies form a cycle: " + " -> ".join(cycle),
        place="tasks",
        fix=f"remove one of the edges of the cycle, e.g. {cycle[-1]} after {cycle[-2]}",
    )


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
    level = level_ids(range(len(order)), _ids(order, parents))
    return dict(zip(order, level, strict=True))


def longest_path(
    order: Sequence[str], parents: Mapping[str, Sequence[str]], weight: Callable[[str], float]
) -> tuple[float, list[str]]:
    """The heaviest path through the DAG (node weights), and the nodes on it."""
    best, path = heaviest_ids(range(len(order)), _ids(order, parents), [weight(n) for n in order])
    return best, [order[i] for i in path]


# ---- the same on integer ids: node i has parents[i] (ids), kids[i], weight[i] -----------------------------------
# A workflow of many one-task sets analyses in lists indexed by id: no dict of names is looked up per edge.


def kid_ids(parents: Sequence[Sequence[int]]) -> list[list[int]]:
    """The children of each node, in id order."""
    kids: list[list[int]] = [[] for _ in parents]
    each = chain.from_iterable(map(repeat, range(len(parents)), map(len, parents)))  # a node once per parent
    deque(map(list.append, map(kids.__getitem__, chain.from_iterable(parents)), each), 0)  # (the loop, in C)
    return kids


def declared_in_order(parents: Sequence[tuple[int, ...]]) -> bool:
    """True when every node comes after all its parents: the ids are then a topological order (so no cycle), and
    what needs only some topological order (levels, path weights) walks them without Kahn's algorithm."""
    ids = range(len(parents))
    return all(map(int.__gt__, compress(ids, parents), map(max, compress(parents, parents))))


def order_ids(parents: Sequence[Sequence[int]], kids: Sequence[Sequence[int]]) -> list[int]:
    """Kahn's order, stable in id order; shorter than the graph when some nodes are on or after a cycle."""
    indegree = [len(ps) for ps in parents]
    order = [n for n, d in enumerate(indegree) if d == 0]
    for n in order:  # the list is its own FIFO queue: what joins it is visited in turn
        for c in kids[n]:
            indegree[c] -= 1
            if indegree[c] == 0:
                order.append(c)
    return order


def level_ids(order: Iterable[int], parents: Sequence[Sequence[int]]) -> list[int]:
    """Level of each node (by id): length in edges of the longest path from a root."""
    level = [0] * len(parents)
    at = level.__getitem__
    for n in order:
        ps = parents[n]
        if ps:
            level[n] = 1 + max(map(at, ps))
    return level


def heaviest_ids(
    order: Sequence[int], parents: Sequence[Sequence[int]], weight: Sequence[float]
) -> tuple[float, list[int]]:
    """The heaviest path (node weights) and its nodes; ties go to the parent listed first, the end first in order."""
    if not order:
        return 0.0, []
    best, via = path_weights(order, parents, weight)
    return path_to(max(order, key=best.__getitem__), best, via)


def heaviest_ends(best: list[float]) -> list[int]:
    """The nodes where a heaviest path ends (those of the highest weight), in id order."""
    total = sum(best)
    if total != total:  # a NaN among them: no order of comparisons is safe to assume, so none is found
        return []
    return list(compress(range(len(best)), map(max(best, default=0.0).__eq__, best)))


def path_to(end: int, best: Sequence[float], via: Sequence[int]) -> tuple[float, list[int]]:
    """The weight of the heaviest path that ends at end, and its nodes from its root, by path_weights' links."""
    high = best[end]
    path: list[int] = []
    cur = end
    while cur >= 0:
        path.append(cur)
        cur = via[cur]
    path.reverse()
    return high, path


def bottom_levels(
    order: Sequence[str], kids: Mapping[str, Sequence[str]], weight: Callable[[str], float]
) -> dict[str, float]:
    """Longest remaining path from each node to a leaf, the node's own weight included (the upward rank)."""
    rank: dict[str, float] = {}
    for n in reversed(order):
        rank[n] = weight(n) + max((rank[c] for c in kids[n]), default=0.0)
    return rank


def workloads(order: Sequence[str], parents: Mapping[str, Sequence[str]]) -> tuple[list[list[str]], list[str]]:
    """Non-merging branches of the DAG, and the shared ancestors set apart from them.

    Components of the DAG are split wherever a single-source chain forks into branches that never merge again;
    the chain up to the fork is shared by those branches and belongs to none of them. Branches are returned in
    declaration order of their first member, members in declaration order.
    """
    pids = _ids(order, parents)
    branches, shared = workload_ids(range(len(order)), pids, kid_ids(pids))
    return [[order[i] for i in b] for b in branches], [order[i] for i in shared]


def workload_ids(
    order: Sequence[int], parents: Sequence[Sequence[int]], kids: Sequence[Sequence[int]]
) -> tuple[list[list[int]], list[int]]:
    """`workloads` on ids: branches ordered by their first member in order, members and shared ancestors in order."""
    rank = [0] * len(parents)
    for r, n in enumerate(order):
        rank[n] = r
    split = _Splitter(parents, kids)
    branches: list[list[int]] = []
    shared: list[int] = []
    stack = split.components(list(order), 0)
    while stack:
        comp = stack.pop()
        chain, parts = split.split(comp)
        if chain:
            shared.extend(chain)
            stack.extend(parts)
        else:
            branches.extend(parts)
    by_rank = rank.__getitem__
    ordered = sorted((sorted(b, key=by_rank) for b in branches), key=lambda b: rank[b[0]])
    return ordered, sorted(shared, key=by_rank)


class _Splitter:
    """Weak components and their splitting at forks; `member[n]` is the token of the part n is in (-1: taken out
    as a shared ancestor), so that membership is one list look-up."""

    def __init__(self, parents: Sequence[Sequence[int]], kids: Sequence[Sequence[int]]) -> None:
        self.parents, self.kids = parents, kids
        self.member = [0] * len(parents)
        self.tokens = 0

    def components(self, nodes: list[int], token: int) -> list[list[int]]:
        """Weakly connected components of the nodes (all of part token), each given a token of its own."""
        member, parents, kids = self.member, self.parents, self.kids
        parts: list[list[int]] = []
        for seed in nodes:
            if member[seed] != token:
                continue
            self.tokens += 1
            mine = member[seed] = self.tokens
            part = [seed]
            for n in part:  # grows while it is walked: a breadth-first search
                for m in parents[n]:
                    if member[m] == token:
                        member[m] = mine
                        part.append(m)
                for m in kids[n]:
                    if member[m] == token:
                        member[m] = mine
                        part.append(m)
            parts.append(part)
        return parts

    def split(self, comp: list[int]) -> tuple[list[int], list[list[int]]]:
        """Peel the single-source chain off a component until it forks into separate branches.

        Returns (shared ancestors, branches) when it forks, or ([], [comp]) when the component is one workload.
        """
        member, parents, kids = self.member, self.parents, self.kids
        token = member[comp[0]]
        at = member.__getitem__
        tokens_above = map(map, repeat(at), map(parents.__getitem__, comp))  # per node, its parents' tokens
        sources = list(compress(comp, map(not_, map(contains, tokens_above, repeat(token)))))  # type: ignore[arg-type]
        if len(sources) != 1:
            return [], [comp]
        left = len(comp)
        chain: list[int] = []
        src = sources[0]
        while True:
            chain.append(src)
            member[src] = -1
            left -= 1
            if not left:
                return [], [comp]
            inside = [c for c in kids[src] if member[c] == token]
            new_sources = [c for c in inside if token not in map(at, parents[c])]
            if len(inside) > 1:
                parts = self.components([n for n in comp if member[n] == token], token)
                if len(parts) > 1:
                    return chain, parts
                token = member[parts[0][0]]
            if len(new_sources) != 1:
                return [], [comp]
            src = new_sources[0]


def workload_labels(branches: Sequence[Sequence[str]], shared: Iterable[str], prefix: str = "") -> dict[str, str]:
    """The workload name of each task set, from what `workloads` found: the branches are prefix + A, B, ..., Z, AA,
    AB, ... in order, and a shared ancestor is a workload of its own, named after itself (never prefixed)."""
    label: dict[str, str] = {}
    for i, members in enumerate(branches):
        label.update(dict.fromkeys(members, prefix + _letters(i)))
    label.update({m: m for m in shared})
    return label


def _letters(i: int) -> str:
    """The i-th (from 0) of A, B, ..., Z, AA, AB, ..."""
    name = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        name = chr(65 + r) + name
    return name
