"""What a reader may see across several collections, as one SQL condition on a membership ``m`` and its version
``v``: the queries that look across collections (correlation, text search) share it."""

from __future__ import annotations

__all__ = ["readable_condition"]

from collections.abc import Mapping

from .._protocol import Visibility
from . import _objects  # a module: _objects imports the modules that import this one
from ._tx import Tx, placeholders


def readable_condition(tx: Tx, readable: Mapping[str, Visibility], types: Mapping[str, tuple[str, ...]] | None
                       ) -> tuple[str, list[object]] | None:
    """``(condition, its parameters)``: the membership is in one of the collections of ``readable``, of a type
    that collection serves the reader (``types``; none listed: any), and the reader sees it there (the policy's
    ``Visibility`` compiled as ``Store.query`` compiles it). None when the reader may read no collection.
    Collections with the same visibility and types share one clause."""
    groups: dict[tuple[Visibility, tuple[str, ...]], list[str]] = {}
    for collection, seen in readable.items():
        served = tuple(sorted(set((types or {}).get(collection, ()))))
        groups.setdefault((seen, served), []).append(collection)
    if not groups:
        return None
    scopes = {}
    for seen, _ in groups:
        scopes.update(_objects._scope_keys(tx, seen))
    clauses: list[str] = []
    params: list[object] = []
    for (seen, served), collections in groups.items():
        parts = [f"m.collection IN (SELECT key FROM collection_keys WHERE id IN ({placeholders(len(collections))}))"]
        params.extend(collections)
        if served:
            parts.append(f"v.type IN ({placeholders(len(served))})")
            params.extend(served)
        _objects._visible(seen, scopes, parts, params)
        clauses.append("(" + " AND ".join(parts) + ")")
    return "(" + " OR ".join(clauses) + ")", params
