"""Reading objects back: a page of a collection for an actor, or an export of a filter for the operator."""

from __future__ import annotations

__all__ = ["Reader"]

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from ..config import Settings
from ..errors import PermissionDenied
from ..identity import Actor, Collection, Directory
from ..policy import may_read, read_limits, require
from ..stix import Tlp, marking_ids
from ..store import Hidden, Page, Query, Store, StoredVersion, StoreStats


class Reader:
    def __init__(self, store: Store, directory: Directory, settings: Settings) -> None:
        self._store = store
        self._directory = directory
        self._settings = settings

    def collections(self, actor: Actor) -> list[Collection]:
        """The collections ``actor`` may read."""
        visible = []
        for collection in self._directory.list_collections():
            members = set(self._directory.members(collection.community))
            if may_read(actor, community=collection.community, members=members).allowed:
                visible.append(collection)
        return visible

    def page(self, actor: Actor, query: Query) -> Page:
        """One page of ``query.collection`` as ``actor`` may see it. The collection is required."""
        if query.collection is None:
            raise PermissionDenied("reading across all collections is for the node operator; name a collection")
        collection = self._directory.get_collection(query.collection)
        members = set(self._directory.members(collection.community))
        require(may_read(actor, community=collection.community, members=members))
        limit = max(1, min(query.limit, self._settings.page_size_max))
        return self._store.query(_with(query, collection=collection.id, limit=limit, hidden=self._hidden(actor)))

    def _hidden(self, actor: Actor) -> Hidden | None:
        """The policy's read limits, in the form the store compiles into its query."""
        limits = read_limits(actor, default_tlp=self._settings.default_tlp)
        if limits is None:
            return None
        return Hidden(markings=tuple(sorted(limits.hidden_markings)), contributor=limits.contributor,
                      unmarked=limits.hide_unmarked, levels=marking_ids(Tlp))

    def stats(self) -> StoreStats:
        """What the store holds (operator only)."""
        return self._store.stats()

    def export(self, query: Query) -> Iterator[StoredVersion]:
        """Every version matching ``query`` (operator only: no actor), page by page with flat memory."""
        page_query = query
        while True:
            page = self._store.query(page_query)
            yield from page.items
            if not page.more:
                return
            page_query = _with(page_query, cursor=page.next_cursor)


def _with(query: Query, **changes: Any) -> Query:
    return replace(query, **changes)
