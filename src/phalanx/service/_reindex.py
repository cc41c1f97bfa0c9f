"""Computing a side table again for every stored version (``phalanx db reindex``): for versions stored before the
store kept it, or after the way it is computed changed. Versions stored meanwhile get theirs when stored."""

from __future__ import annotations

__all__ = ["each_version"]

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TypeVar

from ..store import Query, Store, StoredVersion, VersionFilter

T = TypeVar("T")


def each_version(store: Store, compute: Callable[[StoredVersion], T],
                 write: Callable[[Sequence[tuple[str, int, T]]], int], *, batch: int = 1000,
                 progress: Callable[[int], None] | None = None) -> int:
    """``write`` the ``(id, version, compute(version))`` of every stored version, a page at a time; how many."""
    done = 0
    query: Query | None = Query(versions=(VersionFilter.ALL,), limit=batch)
    while query is not None:
        page = store.query(query)
        done += write([(item.id, item.version, compute(item)) for item in page.items])
        if progress is not None:
            progress(done)
        query = replace(query, cursor=page.next_cursor) if page.more else None
    return done
