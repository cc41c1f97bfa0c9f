"""The newest intelligence an actor may read, across its collections: what the dashboard's live feed shows.

Each readable collection is read newest first through ``Reader.page`` (the policy compiled into the query,
granular markings applied), the pages are merged by ``date_added``, and an object read through several
collections shows once, at its newest. Filters the store can apply (types, and communities, which choose
collections) go into the query; the others (TLP, contributor, label) are applied to the rows read.

The reading is bounded whatever the reader may see: each collection is read only within its newest ``scan`` rows
(``Reader.horizon``), so a member who may see few of a million objects, or a filter that matches nothing recent,
gets its answer at once, with ``before`` to look further back. When rows are filtered after reading, each
collection is read in pages growing 4x (from ``max(limit, 50)`` up to the reader's page size), so that reaching the
horizon takes a few queries, not ``scan / 50`` of them.
"""

from __future__ import annotations

__all__ = ["FeedFilter", "FeedPage", "Overview"]

import heapq
from collections.abc import Iterator
from dataclasses import dataclass, replace

import orjson

from ..identity import Actor
from ..policy import is_anonymous, may_learn_contributor
from ..stix import Tlp
from ..store import Query, StoredVersion, VersionFilter
from ..store._cursor import encode_cursor
from ._read import CollectionAccess, Reader


@dataclass(frozen=True, slots=True)
class FeedFilter:
    types: tuple[str, ...] = ()
    levels: tuple[Tlp, ...] = ()
    communities: tuple[str, ...] = ()
    contributors: tuple[str, ...] = ()
    """Organization ids."""
    labels: tuple[str, ...] = ()

    @property
    def filters_after_reading(self) -> bool:
        """Whether rows are filtered after they are read (TLP, contributor, label): the store's query does not."""
        return bool(self.levels or self.contributors or self.labels)

    def admits(self, item: StoredVersion, actor: Actor) -> bool:
        """Whether ``item`` passes the filters, for ``actor``: the contributor filter matches only versions whose
        contributor ``actor`` may learn (never another organization's anonymous sighting)."""
        if self.levels and Tlp.of_rank(item.level) not in self.levels:
            return False
        if self.contributors and (item.contributor not in self.contributors or not may_learn_contributor(
                actor, contributor=item.contributor, anonymous=is_anonymous(item)).allowed):
            return False
        if self.labels:
            labels = orjson.loads(item.canonical).get("labels")
            if not isinstance(labels, list) or not any(label in self.labels for label in labels):
                return False
        return True


@dataclass(frozen=True, slots=True)
class FeedPage:
    items: list[StoredVersion]
    newest: int | None
    """The ``date_added`` of the newest row read (a later ``after`` continues from it), None when none was."""
    scanned: int
    older: int | None = None
    """Where the reading stopped (pass it as ``before`` to look further back); None when nothing is older."""

    @property
    def exhausted(self) -> bool:
        """Whether every row matching the store-side filters was read (False: ``scan`` stopped the reading)."""
        return self.older is None


class Overview:
    def __init__(self, reader: Reader) -> None:
        self._reader = reader

    def collections(self, actor: Actor, communities: tuple[str, ...] = ()) -> list[CollectionAccess]:
        return [a for a in self._reader.collections(actor)
                if a.can_read and (not communities or a.collection.community in communities)]

    def feed(self, actor: Actor, wanted: FeedFilter = FeedFilter(), *, limit: int = 50, after: int | None = None,
             before: int | None = None, scan: int = 2000) -> FeedPage:
        """The newest ``limit`` versions ``actor`` may read that ``wanted`` admits (only those added after
        ``after``, and before ``before``, when given), newest first, one per object, among the newest ``scan`` rows
        of each collection."""
        streams = []
        older: int | None = None
        for access in self.collections(actor, wanted.communities):
            horizon = self._reader.horizon(actor, access.collection.id, scan, before=before)
            if horizon is not None:
                older = horizon if older is None else max(older, horizon)
            floor = horizon - 1 if horizon is not None else None  # the horizon's own row is within the bound
            low = floor if after is None else after if floor is None else max(after, floor)
            streams.append(self._newest(actor, access, wanted.types, low, before, min(max(limit, 50), scan),
                                        grow=wanted.filters_after_reading))
        items: list[StoredVersion] = []
        shown: set[str] = set()
        scanned, newest = 0, None
        for item in heapq.merge(*streams, key=lambda i: -i.date_added):
            if newest is None:
                newest = item.date_added
            scanned += 1
            if item.id in shown or not wanted.admits(item, actor):
                continue
            shown.add(item.id)
            items.append(item)
            if len(items) >= limit:
                older = item.date_added
                break
        return FeedPage(items, newest, scanned, older)

    def _newest(self, actor: Actor, access: CollectionAccess, types: tuple[str, ...], after: int | None,
                before: int | None, batch: int, *, grow: bool = False) -> Iterator[StoredVersion]:
        """The collection's versions newest first, in pages of ``batch``; with ``grow`` (rows filtered after
        reading: the reading may go down to the horizon), each page 4x the one before, so that reaching the
        horizon takes a few queries rather than ``scan / batch`` of them."""
        cursor = None if before is None else encode_cursor(before, newest_first=True)
        query: Query | None = Query(collection=access.collection.id, types=types, versions=(VersionFilter.LAST,),
                                    added_after=after, limit=batch, newest_first=True, cursor=cursor)
        while query is not None:
            page = self._reader.page(actor, query)
            yield from page.items
            size = min(query.limit * 4, 1 << 16) if grow else query.limit  # the reader caps it lower
            query = replace(query, cursor=page.next_cursor, limit=size) if page.more else None
