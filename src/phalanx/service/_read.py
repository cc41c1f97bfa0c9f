"""Reading objects back, as an actor may see them: the policy compiled into every query, granular markings
applied to every object served.

A collection an actor may neither read nor write does not exist for it (``NotFound``, the same answer as for
an unknown one), and neither does an object outside its audience.
"""

from __future__ import annotations

__all__ = ["CollectionAccess", "Explanation", "Reader"]

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import orjson

from ..config import Settings
from ..errors import NotFound, PermissionDenied
from ..identity import Actor, Collection, Directory, Role
from ..ledger import unsigned
from ..policy import (
    Decision,
    Shared,
    Venue,
    level_story,
    may_read,
    may_see,
    may_write,
    require,
    visibility,
    visible_up_to,
)
from ..stix import Tlp, canonical
from ..stix._markings import marked_above, redact
from ..store import Egress, Page, Query, Store, StoredVersion, StoreStats, Visibility


@dataclass(frozen=True, slots=True)
class CollectionAccess:
    """A collection, and what the caller may do with it."""

    collection: Collection
    venue: Venue
    """Its community and that community's members, as the policy reads them."""
    read: Decision
    can_write: bool

    @property
    def can_read(self) -> bool:
        return self.read.allowed


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why an actor sees (or does not see) one version of an object in one collection."""

    collection: Collection
    version: StoredVersion
    access: Decision
    """Whether the actor may read the collection at all."""
    decision: Decision
    """Whether the actor may see this version there."""
    level: str
    """The version's level, and where it came from."""
    removed: tuple[str, ...]
    """The parts (selectors) removed from the copy the actor gets."""


class Reader:
    def __init__(self, store: Store, directory: Directory, settings: Settings, *,
                 egress: Callable[[str], Egress | None] | None = None) -> None:
        self._store = store
        self._directory = directory
        self._settings = settings
        self._egress_of = egress
        """The egress allowlists of a peer node's organization (docs/federation.md), if any."""

    def _egress(self, actor: Actor) -> Egress | None:
        if actor.role is not Role.PEER or self._egress_of is None:
            return None
        return self._egress_of(actor.org_id)

    def types_for(self, actor: Actor, collection: Collection) -> tuple[str, ...] | None:
        """The STIX types ``actor`` may get from ``collection``: None for any, empty for none. A collection's
        filter narrows them, and so do a peer node's egress allowlists."""
        allowed: tuple[str, ...] | None = collection.types or None
        egress = self._egress(actor)
        if egress is not None and egress.types:
            allowed = tuple(t for t in allowed if t in egress.types) if allowed is not None else egress.types
        return allowed

    # collections --------------------------------------------------------------------------------------

    def _venue(self, collection: Collection) -> Venue:
        return Venue(collection.community, frozenset(self._directory.members(collection.community)),
                     collection.public)

    def _access(self, actor: Actor, collection: Collection) -> CollectionAccess:
        venue = self._venue(collection)
        egress = self._egress(actor)
        if egress is not None and egress.collections and collection.id not in egress.collections:
            return CollectionAccess(collection, venue, Decision(
                False, "this node's egress rules do not let your node read this collection"), False)
        read = may_read(actor, community=venue.community, members=venue.members, public=venue.public)
        write = may_write(actor, community=venue.community, members=venue.members)
        return CollectionAccess(collection, venue, read, write.allowed)

    def collections(self, actor: Actor) -> list[CollectionAccess]:
        """The collections ``actor`` may read or write, with what it may do."""
        found = [self._access(actor, c) for c in self._directory.list_collections()]
        return [a for a in found if a.can_read or a.can_write]

    def collection(self, actor: Actor, ref: str) -> CollectionAccess:
        """One collection (by id or title) ``actor`` may read or write; ``NotFound`` otherwise, as if there were
        none, so that outsiders learn nothing about which collections exist."""
        try:
            access = self._access(actor, self._directory.get_collection(ref))
        except NotFound:
            access = None
        if access is None or not (access.can_read or access.can_write):
            raise NotFound(f"no collection {ref!r}", hint="List the collections you may use: GET collections/.")
        return access

    def readable(self, actor: Actor, ref: str) -> CollectionAccess:
        """The collection, if ``actor`` may read it (``NotFound`` when it may not even see it, ``PermissionDenied``
        when it may write but not read)."""
        access = self.collection(actor, ref)
        require(access.read)
        return access

    # objects ------------------------------------------------------------------------------------------

    def page(self, actor: Actor, query: Query) -> Page:
        """One page of ``query.collection`` as ``actor`` may see it: only the versions in its audience (the
        policy compiled into the query), each with the parts marked beyond its reach removed."""
        return self.read(actor, query)[1]

    def read(self, actor: Actor, query: Query) -> tuple[CollectionAccess, Page]:
        """``page``, and the collection it was read from (looked up once)."""
        if query.collection is None:
            raise PermissionDenied("reading across all collections is for the node operator; name a collection")
        access = self.readable(actor, query.collection)
        collection, venue = access.collection, access.venue
        types = query.types
        allowed = self.types_for(actor, collection)
        if allowed is not None:
            types = tuple(t for t in types if t in allowed) if types else allowed
            if not types:  # asked only for types this collection does not serve (to this reader)
                return access, Page((), False, None)
        limit = max(1, min(query.limit, self._settings.page_size_max))
        page = self._store.query(replace(query, collection=collection.id, limit=limit, types=types,
                                         visibility=visibility(actor, venue)))
        return access, replace(page, items=[self.served(actor, venue, item) for item in page.items])

    def visibilities(self, actor: Actor, *, community: str | None = None
                     ) -> tuple[dict[str, Visibility], dict[str, tuple[str, ...]]]:
        """Each collection ``actor`` may read (of ``community`` only, when given) with what it sees there, and the
        types those that serve only some types serve it (a collection that serves it no type is left out): what
        queries across collections (``Store.carriers``, ``Store.search``, ``Store.activity``) are given."""
        seen: dict[str, Visibility] = {}
        types: dict[str, tuple[str, ...]] = {}
        for access in self.collections(actor):
            if not access.can_read or (community is not None and access.collection.community != community):
                continue
            allowed = self.types_for(actor, access.collection)
            if allowed is not None and not allowed:
                continue
            seen[access.collection.id] = visibility(actor, access.venue)
            if allowed is not None:
                types[access.collection.id] = allowed
        return seen, types

    def horizon(self, actor: Actor, ref: str, rows: int, *, before: int | None = None) -> int | None:
        """``Store.horizon`` of a collection ``actor`` may read: a bound that keeps a newest-first read within the
        collection's last ``rows`` rows (it tells nothing of what they hold)."""
        return self._store.horizon(self.readable(actor, ref).collection.id, rows, before=before)

    def served(self, actor: Actor, venue: Venue, item: StoredVersion) -> StoredVersion:
        """The copy of ``item`` ``actor`` gets: without the parts granular markings put beyond its reach."""
        if b'"granular_markings"' not in item.canonical:
            return item
        reach = visible_up_to(actor, self._shared(item, venue))
        if reach is None:  # cannot happen for a row the query admitted; never serve it whole if it does
            raise PermissionDenied("this object is not for you")
        data: dict[str, Any] = orjson.loads(item.canonical)
        if not marked_above(data, reach):
            return item
        # A copy with parts removed is no longer what its contributor signed: it goes without the signature,
        # rather than with one that fails (the whole object's proof bundle is for those who see it whole).
        return replace(item, canonical=canonical(unsigned(redact(data, above=reach))))

    @staticmethod
    def _shared(item: StoredVersion, venue: Venue) -> Shared:
        return Shared(Tlp.of_rank(item.level), item.contributor, item.sharer or item.contributor, item.scope, venue)

    def explain(self, actor: Actor, object_id: str) -> list[Explanation]:
        """Every version of ``object_id`` in every collection, and what ``actor`` may see of it (for the
        operator: this names collections and versions the actor cannot see)."""
        found: list[Explanation] = []
        for collection in self._directory.list_collections():
            access = self._access(actor, collection)
            for item in self._store.versions(object_id, collection=collection.id):
                shared = self._shared(item, access.venue)
                decision = may_see(actor, shared) if access.can_read else access.read
                found.append(Explanation(collection, item, access.read, decision, self._level_story(item),
                                         self._removed(actor, shared, item) if decision.allowed else ()))
        if not found:
            raise NotFound(f"no object {object_id} in any collection")
        return found

    def _level_story(self, item: StoredVersion) -> str:
        return level_story(orjson.loads(item.canonical), Tlp.of_rank(item.level), default=self._settings.default_tlp)

    @staticmethod
    def _removed(actor: Actor, shared: Shared, item: StoredVersion) -> tuple[str, ...]:
        reach = visible_up_to(actor, shared)
        return () if reach is None else tuple(marked_above(orjson.loads(item.canonical), reach))

    # the operator -------------------------------------------------------------------------------------

    def last_change(self) -> int:
        """The ``date_added`` of the newest membership in the store (it tells nothing about what it is)."""
        return self._store.last_change()

    def stats(self) -> StoreStats:
        """What the store holds (operator only)."""
        return self._store.stats()

    def export(self, query: Query, *, actor: Actor | None = None) -> Iterator[StoredVersion]:
        """Every version matching ``query``, page by page with flat memory. Without ``actor``: everything (the
        operator). With one: what it may see, from ``query.collection`` or (None) every collection it may
        read, each version once."""
        if actor is None:
            yield from self._pages(self._store.query, query)
            return
        refs = [query.collection] if query.collection else [a.collection.id for a in self.collections(actor)
                                                            if a.can_read]
        seen: set[tuple[str, int]] = set()
        for ref in refs:
            for item in self._pages(lambda q: self.page(actor, q), replace(query, collection=ref)):
                if (item.id, item.version) not in seen:
                    seen.add((item.id, item.version))
                    yield item

    @staticmethod
    def _pages(fetch: Callable[[Query], Page], query: Query) -> Iterator[StoredVersion]:
        page_query = query
        while True:
            page = fetch(page_query)
            yield from page.items
            if not page.more:
                return
            page_query = replace(page_query, cursor=page.next_cursor)

