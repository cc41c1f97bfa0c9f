"""The neighbourhood of an object: the small graph of objects around it, as one actor may see them.

Two objects are linked when

- they carry the same observable ("shares ipv4-addr 198.51.100.7");
- a relationship joins them ("relationship: indicates"; the relationship is the edge, through ``via``);
- one refers to the other ("reference: sighting_of_ref", "reference: object_refs"...).

From the object, each step follows every link of the objects reached at the step before (``depth`` 1 or 2), and
stops adding objects at ``limit`` nodes (``truncated`` then says so). Every object in the graph, every
relationship behind an edge, is one the actor may read (its latest version, as ``Reader.page`` serves it): the
others are neither drawn nor counted.
"""

from __future__ import annotations

__all__ = ["MAX_NODES", "Edge", "GraphNode", "Neighbourhood", "attributed", "draw", "graph_json"]

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..analysis import REF, references
from ..errors import InvalidParameter
from ..identity import Actor
from ..stix._validate._vocab import SCO_TYPES, SDO_TYPES, SRO_TYPES
from ..store import Visibility

if TYPE_CHECKING:
    from ._correlation import Correlation, Seen

_OBSERVATIONS = SCO_TYPES | {"observed-data", "sighting"}
_NAMED = (SDO_TYPES | SRO_TYPES) - _OBSERVATIONS


def attributed(type_: str) -> bool:
    """Whether correlation names the organization behind an object of this type: STIX domain objects and
    relationships, not observations (SCOs, observed-data, sightings: what an organization saw, perhaps for an
    anonymous sighting) nor custom types."""
    return type_ in _NAMED

MAX_NODES = 200
_LABEL = 200


@dataclass(frozen=True, slots=True)
class GraphNode:
    id: str
    type: str
    label: str
    """Its name, value or pattern (cut at 200 characters), or its id."""
    org_id: str | None
    """The contributing organization (None for observations: SCOs, observed-data, sightings)."""
    org_name: str | None
    depth: int
    """Steps from the object the graph is drawn around (0: that object)."""


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    target: str
    reason: str
    via: str | None = None
    """The relationship this edge stands for, if it is one."""


@dataclass(frozen=True, slots=True)
class Neighbourhood:
    root: str
    nodes: tuple[GraphNode, ...]
    edges: tuple[Edge, ...]
    truncated: bool
    """More objects are linked than ``limit`` nodes allowed."""


def _label(data: Mapping[str, Any]) -> str:
    for name in ("name", "value", "pattern", "relationship_type", "result"):
        value = data.get(name)
        if isinstance(value, str) and value:
            return value if len(value) <= _LABEL else value[: _LABEL - 1] + "…"
    return str(data.get("id", ""))


def _relationship_ends(data: Mapping[str, Any]) -> tuple[str, str] | None:
    source, target = data.get("source_ref"), data.get("target_ref")
    if isinstance(source, str) and isinstance(target, str):
        return source.lower(), target.lower()
    return None


class _Drawing:
    def __init__(self, correlation: Correlation, actor: Actor, readable: dict[str, Visibility],
                 types: dict[str, tuple[str, ...]], limit: int) -> None:
        self.correlation = correlation
        self.actor = actor
        self.readable = readable
        self.types = types
        self.limit = limit
        self.nodes: dict[str, GraphNode] = {}
        self.seen: dict[str, Seen] = {}
        self.edges: dict[tuple[str, str, str], Edge] = {}
        self.truncated = False
        self.names: dict[str, str] = {}

    def add(self, seen: Seen, depth: int) -> bool:
        item = seen.version
        if item.id in self.nodes:
            return True
        if len(self.nodes) >= self.limit:
            self.truncated = True
            return False
        org = item.contributor if attributed(item.type) else None
        name = None if org is None else self.correlation.name_of(org, self.names)
        self.nodes[item.id] = GraphNode(item.id, item.type, _label(seen.data), org, name, depth)
        self.seen[item.id] = seen
        return True

    def links(self, node_id: str) -> list[Edge]:
        """Every link of one object (to objects that may not be drawn yet, or be invisible: checked later)."""
        seen, store = self.seen[node_id], self.correlation.store
        found: list[Edge] = []
        # (1) shared observables
        keys = [k for k in store.keys_of(node_id, seen.version.version) if not k.startswith(REF)]
        if keys:
            for c in store.carriers(keys, self.readable, limit=self.limit + 1, types=self.types):
                if c.id != node_id and not c.revoked:  # a shared value links both ways: one edge, in id order
                    kind, value = c.key.split(":", 1)
                    low, high = sorted((node_id, c.id))
                    found.append(Edge(low, high, f"shares {kind} {value}"))
        # (2) what it refers to: a relationship joins its two ends
        ends = _relationship_ends(seen.data) if seen.version.type == "relationship" else None
        if ends is not None:
            found.append(Edge(*ends, f"relationship: {seen.data.get('relationship_type', '')}", node_id))
        else:
            found.extend(Edge(node_id, target, f"reference: {prop}") for prop, target in references(seen.data))
        # (3) what refers to it, the relationships to it included
        referrers = store.carriers([REF + node_id], self.readable, limit=self.limit + 1, types=self.types)
        visible = self.correlation.visible(self.actor, [c.id for c in referrers if not c.revoked], self.readable)
        for referrer in visible.values():
            data, rid = referrer.data, referrer.version.id
            ends = _relationship_ends(data) if referrer.version.type == "relationship" else None
            if ends is not None and node_id in ends:
                found.append(Edge(*ends, f"relationship: {data.get('relationship_type', '')}", rid))
            else:
                found.extend(Edge(rid, node_id, f"reference: {prop}") for prop, target in references(data)
                             if target == node_id)
        return found

    def step(self, frontier: list[str], depth: int) -> list[str]:
        """Follow every link of ``frontier``; draw the objects reached (up to the limit); return the new ones."""
        pending: list[Edge] = []
        for node_id in frontier:
            pending.extend(e for e in self.links(node_id) if e.source != e.target)
        reached = [i for e in pending for i in (e.source, e.target) if i not in self.nodes]
        found = self.correlation.visible(self.actor, reached, self.readable)
        added: list[str] = []
        for object_id in dict.fromkeys(reached):
            if object_id in found and self.add(found[object_id], depth):
                added.append(object_id)
        for edge in pending:
            if edge.source in self.nodes and edge.target in self.nodes:
                if len(self.edges) >= 4 * self.limit:
                    self.truncated = True
                    break
                self.edges.setdefault((edge.source, edge.target, edge.reason), edge)
        return added


def draw(correlation: Correlation, actor: Actor, object_id: str, *, depth: int = 1,
         limit: int = 50) -> Neighbourhood:
    """The neighbourhood of ``object_id`` (see the module doc); ``NotFound`` when ``actor`` may not see it."""
    if depth not in (1, 2) or isinstance(depth, bool):
        raise InvalidParameter("depth must be 1 or 2")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_NODES:
        raise InvalidParameter(f"limit must be a whole number from 1 to {MAX_NODES}")
    readable, types = correlation.readable(actor)
    root = correlation.seen(actor, object_id, readable)
    drawing = _Drawing(correlation, actor, readable, types, limit)
    drawing.add(root, 0)
    frontier = [root.version.id]
    for level in range(1, depth + 1):
        frontier = drawing.step(frontier, level)
        if not frontier:
            break
    return Neighbourhood(root.version.id, tuple(drawing.nodes.values()), tuple(drawing.edges.values()),
                         drawing.truncated)


def graph_json(graph: Neighbourhood) -> dict[str, Any]:
    return {"root": graph.root,
            "nodes": [{"id": n.id, "type": n.type, "label": n.label, "organization": n.org_id,
                       "organization_name": n.org_name, "depth": n.depth} for n in graph.nodes],
            "edges": [{"source": e.source, "target": e.target, "reason": e.reason, "via": e.via}
                      for e in graph.edges],
            "truncated": graph.truncated}
