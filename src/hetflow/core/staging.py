"""Staging: when the inputs of a task set would arrive at each site, and the transfers that bring them.

A run whose nodes are at several sites moves data: a set reads its parents' output (spec/data.py `reads`), which
lies where the parents' tasks ran, shared among those sites in proportion to the tasks that finished at each. When
the set is released, every source (a parent's share at one site; the workflow's own input files, at the origin from
the set's release) that is at another site than S reaches S at the parent's end (the release) + the link's latency
+ bytes / bandwidth; the set's inputs arrive at S when the last of them does
(within one site nothing moves). Links carry transfers independently of each other (no shared bandwidth). What a
site receives is moved once per set, however many of the set's tasks run there.

The engine places a task of the set on a node only from the time its inputs arrive at the node's site (the view's
`usable_nodes` leaves out nodes they have not reached, and `arrival` tells a policy when they will): a set waiting
for its data holds nothing, and the engine's wake_at includes those times, so the simulator and the runtime both
call it then. The transfers to a site are recorded when the set's first task is placed there.
"""

from __future__ import annotations

from collections.abc import Sequence

from hetflow.core.launches import LaunchRecord
from hetflow.core.sets import SetState
from hetflow.core.view import Link, Links
from hetflow.spec.data import Transfer, external_reads, reads
from hetflow.spec.platform import Node

Source = tuple[str, str, int, float]  # (parent set, its site, bytes, ready at)


def transfer_s(link: Link, size: float) -> float:
    """Seconds to move size bytes over a link: latency + size / bandwidth (nothing to move: no time)."""
    return link.latency + size / link.bandwidth if size > 0 else 0.0


class Staging:
    """Per set: the tasks that finished at each site, when the set ended, where its inputs come from, and when they
    arrive at each site."""

    def __init__(self, links: Links) -> None:
        self.links = links
        self.site_of: list[str | None] = []  # per node index
        self.sites: list[str] = []  # distinct sites, in node order
        self.transfers: list[Transfer] = []
        self._made: dict[int, dict[str, int]] = {}  # set id -> site -> tasks that finished there
        self._ended: dict[int, float] = {}  # set id -> when its last task finished
        self._sources: dict[int, list[Source]] = {}  # set id -> where its inputs come from (released sets)
        self._arrive: dict[int, dict[str, float]] = {}  # set id -> site -> when its inputs are all there
        self._staged: set[tuple[int, str]] = set()  # (set id, site) whose transfers are recorded

    def add_node(self, node: Node) -> None:
        self.site_of.append(node.site)
        if node.site is not None and node.site not in self.sites:
            self.sites.append(node.site)

    def finished(self, rec: LaunchRecord, index: int | None, now: float) -> None:
        """Tasks of a launch finished (all that still run when index is None): count them at their sites."""
        made = self._made.setdefault(rec.set.sid, {})
        site_of = self.site_of
        if index is not None:
            node = rec.part_of(index)[0]
            site = site_of[node] or ""
            made[site] = made.get(site, 0) + 1
        else:
            for part in rec.parts:
                site = site_of[part[0]] or ""
                made[site] = made.get(site, 0) + len(rec.live(part))
        self._ended[rec.set.sid] = now

    def plan(self, st: SetState, parents: Sequence[SetState], now: float) -> list[float]:
        """A set is released: work out its sources (its parents' output, even of those that had ended before it
        was submitted) and when they reach each site; returns the times after now at which its inputs reach some
        site (the engine wakes then)."""
        sources: list[Source] = []
        for p in parents:
            size = reads(st.spec, p.spec)
            made = self._made.get(p.sid)
            if not size or not made:
                continue
            total = sum(made.values())
            at = self._ended.get(p.sid, now)
            sources += [(p.name, site, size * n // total, at) for site, n in made.items() if n]
        outside = external_reads(st.spec, [p.spec for p in parents])
        if outside and self.links.origin:  # the workflow's own inputs, sent from the origin when the set is released
            sources.append(("", self.links.origin, outside, now))
        if not sources:
            return []
        self._sources[st.sid] = sources
        arrive: dict[str, float] = {}
        for dst in self.sites:
            last = now
            for _, src, size, at in sources:
                if src != dst and src:
                    last = max(last, at + transfer_s(self.links.link(src, dst), size))
            if last > now:
                arrive[dst] = last
        if arrive:
            self._arrive[st.sid] = arrive
        return sorted(set(arrive.values()))

    def arrival(self, sid: int, node: int, now: float) -> float:
        """When the inputs of a released set are all at the node's site (now when they are there already)."""
        arrive = self._arrive.get(sid)
        if arrive is None:
            return now
        return max(now, arrive.get(self.site_of[node] or "", now))

    def arrived(self, sid: int, nodes: Sequence[int], now: float) -> Sequence[int]:
        """The nodes among `nodes` that the set's inputs have reached by now."""
        arrive = self._arrive.get(sid)
        if arrive is None:
            return nodes
        site_of = self.site_of
        return [i for i in nodes if arrive.get(site_of[i] or "", now) <= now]

    def placed(self, st: SetState, node: int) -> None:
        """A task of the set was placed on the node: record the transfers to its site, the first time."""
        dst = self.site_of[node]
        sources = self._sources.get(st.sid)
        if dst is None or sources is None or (st.sid, dst) in self._staged:
            return
        self._staged.add((st.sid, dst))
        for parent, src, size, at in sources:
            if src != dst and src and size:
                end = at + transfer_s(self.links.link(src, dst), size)
                self.transfers.append(Transfer(parent, src, st.name, dst, size, at, end))
