"""The object store: every version of every STIX object a node holds, and the collections it belongs to.

The interface is narrow and speaks the domain, not HTTP or TAXII: put versions into a collection, read them back,
page through them in the order they were added. Three implementations sit behind it (memory, SQLite,
PostgreSQL) and one conformance suite (tests/conformance/test_store.py) runs against all three.
"""

from __future__ import annotations

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "LEVELS",
    "Accepted",
    "Carrier",
    "Deleted",
    "Grant",
    "Page",
    "PutResult",
    "PutStatus",
    "Query",
    "Reporter",
    "ScopeTest",
    "Store",
    "StoreStats",
    "StoredVersion",
    "TextMatch",
    "TextQuery",
    "Unlogged",
    "VersionFilter",
    "VersionRow",
    "Visibility",
    "WriteGuard",
    "is_int64",
]

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from ..errors import Conflict
from ._activity import Activity
from ._sightings import Sighted, SightingTally

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
"""Every integer the store holds or compares (versions, created, date_added, limits) is a signed 64-bit
integer, on every backend: values outside are refused before they reach a database."""


def is_int64(value: object) -> bool:
    """Whether ``value`` is an ``int`` (not a bool) the store can hold."""
    return isinstance(value, int) and not isinstance(value, bool) and INT64_MIN <= value <= INT64_MAX


LEVELS = (0, 1, 2, 3, 4)
"""The sharing levels a version can carry, least restrictive first (the TLP 2.0 levels CLEAR, GREEN, AMBER,
AMBER+STRICT and RED, as ``phalanx.policy`` assigns them). The store only compares them for equality."""


@dataclass(frozen=True, slots=True)
class VersionRow:
    """One object version, ready to store: what ``phalanx.stix`` produces from a validated object.

    ``version`` is the ``modified`` timestamp in microseconds since the epoch (``created`` when the object has
    no ``modified``, 0 when it has neither, as SCOs). ``canonical`` is the RFC 8785 JSON, ``digest`` its SHA-256.
    ``level`` is the sharing level ``phalanx.policy`` gave the version (one of ``LEVELS``); it defaults to the
    most restrictive, so that a row built without one stays hidden rather than shown. ``top_level`` is the most
    restrictive level any part of it carries (its granular markings included): how far the whole may travel.
    """

    id: str
    type: str
    spec_version: str
    version: int
    created: int | None
    revoked: bool
    canonical: bytes
    digest: str
    marking_refs: tuple[str, ...] = ()
    created_by_ref: str | None = None
    level: int = LEVELS[-1]
    top_level: int = LEVELS[-1]
    sighting: Sighted | None = None
    """For a sighting version that counts in the aggregates: what it reports (``Store.sighting_tallies``)."""
    correlation_keys: tuple[str, ...] = ()
    """What correlation finds the version by (``Store.carriers``): ``kind:value`` for each observable it carries,
    ``ref:<id>`` for each object it refers to (``phalanx.analysis.correlation_keys`` computes them)."""
    search_terms: tuple[str, ...] = ()
    """What a text search finds the version by (``Store.search``): any strings, kept as the backend likes
    (``phalanx.analysis.text_terms`` computes them: the words of its text, and markers for its type and labels)."""


@dataclass(frozen=True, slots=True)
class StoredVersion:
    """One object version as the store holds it, seen through one collection (or the whole store)."""

    id: str
    type: str
    spec_version: str
    version: int
    created: int | None
    revoked: bool
    canonical: bytes
    digest: str
    marking_refs: tuple[str, ...]
    created_by_ref: str | None
    contributor: str
    """The organization (its STIX identity id) that contributed this version to the node."""
    date_added: int
    """Microseconds since the epoch; strictly increasing within a collection (and within the whole store)."""
    collection: str | None
    """The collection this row was read through; None for reads across the whole store."""
    level: int = LEVELS[-1]
    sharer: str | None = None
    """The organization that put this version into ``collection`` (the contributor, unless another organization
    passed the version on); None for reads across the whole store."""
    scope: frozenset[str] | None = None
    """The principals the sharer narrowed this membership to (None: not narrowed, or a read across the store)."""


class PutStatus(enum.Enum):
    """What ``put_many`` did with one version."""

    ADDED = "added"
    """A new version: stored, and placed in the collection."""
    LINKED = "linked"
    """The same version (same id, version and digest) was stored already; it is now also in this collection."""
    DUPLICATE = "duplicate"
    """The same version was already in this collection: nothing changed."""
    CONFLICT = "conflict"
    """Another version with the same (id, version) but a different digest is stored: refused."""
    REVOKED = "revoked"
    """A newer version of an object whose stored version is revoked: refused (revocation is final)."""
    FOREIGN = "foreign"
    """A new version of an object another organization contributed, from a writer the guard does not let add
    versions to others' objects: refused."""
    RESTRICTED = "restricted"
    """A version another organization contributed, at a level the guard does not let this writer pass on into
    another collection: refused."""


class Unlogged(Conflict):
    """A delete would remove a version from the store before the ledger logged it: log it first, then retry."""


@dataclass(frozen=True, slots=True)
class Accepted:
    """A version as first stored, for the ledger, which logs every version the store accepts in this order."""

    seq: int
    """The version's store-wide sequence number: the microsecond it was first stored, increasing in commit order."""
    id: str
    version: int
    digest: str
    canonical: bytes
    contributor: str


@dataclass(frozen=True, slots=True)
class PutResult:
    id: str
    version: int
    status: PutStatus
    date_added: int | None
    """When the version entered the collection (set for ADDED and LINKED, and for DUPLICATE the earlier time)."""

    @property
    def accepted(self) -> bool:
        return self.status in (PutStatus.ADDED, PutStatus.LINKED, PutStatus.DUPLICATE)


class VersionFilter(enum.Enum):
    FIRST = "first"
    LAST = "last"
    ALL = "all"


class ScopeTest(enum.Enum):
    """How a ``Grant`` looks at the scope a membership was narrowed to."""

    ANY = "any"
    """Whatever the scope."""
    UNSCOPED_OR_LISTED = "unscoped-or-listed"
    """Memberships that were not narrowed, or whose scope lists one of the grant's principals."""
    LISTED = "listed"
    """Only memberships whose scope lists one of the grant's principals."""


@dataclass(frozen=True, slots=True)
class Grant:
    """Versions at one of ``levels`` whose membership passes ``scope`` (with ``principals``)."""

    levels: tuple[int, ...]
    scope: ScopeTest = ScopeTest.ANY
    principals: tuple[str, ...] = ()

    def admits(self, level: int, scope: frozenset[str] | None) -> bool:
        if level not in self.levels:
            return False
        if self.scope is ScopeTest.ANY:
            return True
        if scope is None:
            return self.scope is ScopeTest.UNSCOPED_OR_LISTED
        return any(p in scope for p in self.principals)


@dataclass(frozen=True, slots=True)
class Visibility:
    """The versions one reader may see, compiled into the query (never filtered after fetching): those the
    organization ``owner`` contributed or shared into the collection, and those any grant admits. With no owner
    and no grants, nothing (it fails closed). The store knows no policy: ``phalanx.policy`` builds these."""

    owner: str | None = None
    grants: tuple[Grant, ...] = ()
    not_from: str | None = None
    """Versions this organization contributed, or shared into the collection, are left out whatever admits
    them: a peer node is never sent back what it sent."""

    def admits(self, *, level: int, scope: frozenset[str] | None, contributor: str, sharer: str) -> bool:
        """The same rule in Python, for the memory store and the live stream."""
        if self.not_from is not None and self.not_from in (contributor, sharer):
            return False
        if self.owner is not None and self.owner in (contributor, sharer):
            return True
        return any(g.admits(level, scope) for g in self.grants)


@dataclass(frozen=True, slots=True)
class WriteGuard:
    """What ``put_many`` refuses on behalf of ``phalanx.policy``, decided in the same transaction as the write
    (so no concurrent writer can slip between a check and the change it allows)."""

    may_version_others: bool = False
    """Whether the writer may add versions to (and so revoke) objects another organization contributed; when
    not, such rows are FOREIGN."""
    relays: frozenset[str] = frozenset()
    """Organizations whose objects the writer may add versions to all the same (the organizations standing for
    peer nodes, when the writer is one too: a relayed object's later versions may come through another peer)."""
    pass_on: tuple[int, ...] = LEVELS
    """The levels at which the writer may put a version another organization contributed into this
    collection, judged by the version's stored ``top_level``. Any other row naming such a version is RESTRICTED,
    whether its content is the same or not: so the answer never tells whether a guess of the content is right."""
    sees: Visibility | None = None
    """What the writer may read in this collection. A row naming another organization's version that is in the
    collection already is a DUPLICATE (or a CONFLICT) only when the writer sees the whole of it there (at its
    ``top_level``): then the answer tells it nothing it does not know. Otherwise it is RESTRICTED."""


@dataclass(frozen=True, slots=True)
class Deleted:
    """What ``delete`` removed from a collection: the (id, version) pairs, oldest first per id."""

    versions: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class Query:
    """Which versions to read. Empty tuples mean "no constraint". Results are ordered by ``date_added``, oldest
    first unless ``newest_first``."""

    collection: str | None = None
    """Read through one collection, or across the whole store (None)."""
    ids: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    spec_versions: tuple[str, ...] = ()
    versions: tuple[VersionFilter | int, ...] = (VersionFilter.LAST,)
    """Any of: first, last, all, or specific versions (microseconds). Default: the latest version of each id."""
    added_after: int | None = None
    """Only versions added strictly after this time (microseconds)."""
    include_revoked: bool = True
    visibility: Visibility | None = None
    """What the reader may see (None: everything matching). Needs a collection: scopes belong to memberships."""
    limit: int = 100
    cursor: str | None = None
    """Opaque: the ``next_cursor`` of the previous page. Continues exactly where that page stopped; it is
    ``InvalidCursor`` to give it to a query ordered the other way (see ``newest_first``)."""
    newest_first: bool = False
    """Order by ``date_added`` descending: the newest versions first (a live feed's "the latest N"). Filters
    and ``added_after`` (still a lower bound) are the same; the next page continues strictly before the last
    row, so versions added while paging are not in this listing (ask again without a cursor for them)."""


@dataclass(frozen=True, slots=True)
class Page:
    items: Sequence[StoredVersion]
    more: bool
    next_cursor: str | None
    """Set whenever ``more`` is true."""


@dataclass(frozen=True, slots=True)
class Carrier:
    """An object carrying a correlation key, as one reader sees it: through versions of it the reader sees."""

    key: str
    id: str
    type: str
    contributor: str
    first_added: int
    """The earliest ``date_added`` of a version the reader sees that carries the key (in any of its collections)."""
    version: int
    """The newest version the reader sees that carries the key."""
    revoked: bool
    """Whether one of those versions is revoked (the object was withdrawn)."""


@dataclass(frozen=True, slots=True)
class Reporter:
    """One organization's objects carrying a correlation key, counted among those one reader sees (not revoked)."""

    key: str
    contributor: str
    objects: int
    first_added: int


@dataclass(frozen=True, slots=True)
class TextQuery:
    """Which versions a text search finds (``Store.search``): those carrying every term of ``all_of`` and none
    of ``none_of``, by one of ``contributors`` (empty: anyone), first stored strictly between ``after`` and
    ``before`` (microseconds; None: unbounded), newest first, at most ``limit``."""

    all_of: tuple[str, ...]
    none_of: tuple[str, ...] = ()
    contributors: tuple[str, ...] = ()
    after: int | None = None
    before: int | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True)
class TextMatch:
    """A version a text search found: the latest version of its object in a collection where the reader sees it."""

    id: str
    version: int
    type: str
    contributor: str
    stored: int
    """When the store first stored the version (its sequence number, microseconds): what results are ordered
    by, newest first, and what ``TextQuery.before`` continues from."""


@dataclass(frozen=True, slots=True)
class StoreStats:
    objects: int
    """Distinct object ids."""
    versions: int
    collections: dict[str, int] = field(default_factory=dict)
    """Versions per collection."""
    types: dict[str, int] = field(default_factory=dict)
    """Versions per STIX type."""


@runtime_checkable
class Store(Protocol):
    """Every version of every object, keyed by (id, version); each placed in one or more collections."""

    def put_many(
        self,
        collection: str,
        rows: Iterable[VersionRow],
        *,
        contributor: str,
        scope: frozenset[str] | None = None,
        guard: WriteGuard | None = None,
    ) -> list[PutResult]:
        """Store ``rows`` in ``collection`` in one transaction: all of the accepted ones, or none (on error).

        ``contributor`` is the organization sharing them: the contributor of new versions, and the sharer of
        every membership this call makes; ``scope`` (principals) narrows those memberships. Idempotent for the
        same (id, version, digest): a membership that exists keeps its sharer and scope. Refusals (CONFLICT,
        REVOKED, and FOREIGN and RESTRICTED under ``guard``) are reported per row and do not stop the others.
        When this returns, the accepted rows are durable.
        """
        ...

    def delete(
        self,
        collection: str,
        object_id: str,
        *,
        versions: tuple[VersionFilter | int, ...] = (VersionFilter.ALL,),
        spec_versions: tuple[str, ...] = (),
        owner: str | None = None,
        logged_through: int | None = None,
    ) -> Deleted:
        """Take the matching versions of ``object_id`` out of ``collection`` in one transaction; with ``owner``,
        only those that organization contributed or shared there. A version left in no collection is removed
        from the store. First/last are those of the collection before the delete. With ``logged_through`` (the
        ledger's cursor), raises ``Unlogged`` and changes nothing if a version to remove from the store was
        first stored after it: the ledger has not logged it yet."""
        ...

    def get(self, object_id: str, version: int | None = None, *, collection: str | None = None) -> StoredVersion:
        """The latest version of ``object_id`` (or the given version); raises ``NotFound``."""
        ...

    def versions(self, object_id: str, *, collection: str | None = None) -> list[StoredVersion]:
        """Every version of ``object_id``, oldest ``version`` first (empty when unknown)."""
        ...

    def query(self, query: Query) -> Page:
        """One page of versions matching ``query``, ordered by ``date_added`` (descending when
        ``query.newest_first``)."""
        ...

    def is_revoked(self, object_id: str) -> bool:
        """Whether any stored version of ``object_id`` is revoked."""
        ...

    def accepted_since(self, after: int, limit: int) -> list[Accepted]:
        """Versions first stored after sequence number ``after``, in that order, at most ``limit`` of them.
        Versions are numbered in commit order, so a reader that resumes after the last one it saw misses none
        (except those deleted before it read them)."""
        ...

    def changes(self, after: int, limit: int) -> list[StoredVersion]:
        """Memberships made after ``after`` (a ``date_added``), across every collection, oldest first, at most
        ``limit``: each version as seen through the collection it entered (``collection``, ``date_added``,
        ``level``, ``sharer`` and ``scope`` set, as ``query`` gives them). ``date_added`` increases in commit
        order, so a reader that resumes after the last one it saw misses none (except memberships deleted before
        it read them) and sees none twice. The live stream, webhooks and federation follow the store with it."""
        ...

    def last_change(self) -> int:
        """The ``date_added`` of the newest membership (0 when there is none): where a reader that wants only
        what comes next starts, and how one that needs no rows learns that something changed."""
        ...

    def horizon(self, collection: str, rows: int, *, before: int | None = None) -> int | None:
        """The ``date_added`` of the ``rows``-th newest membership of ``collection`` (added before ``before``,
        when given; None when it holds fewer):
        an ``added_after`` bound that keeps a newest-first read within the last ``rows`` rows of the collection,
        however few of them a reader may see. It tells nothing about what those rows are."""
        ...

    def stats(self) -> StoreStats:
        ...

    def sighting_tallies(self, sighted: Sequence[str], readable: Mapping[str, Visibility], *,
                         own: str | None = None) -> dict[str, SightingTally]:
        """The sightings of each object of ``sighted`` (ids) added up, among those a reader sees: a sighting
        counts when its latest version is, in one of the collections of ``readable`` (collection id -> what the
        reader may see there), a version the reader sees, and the sighting is not revoked. Those ``own`` (the
        reader's organization) contributed are also added up apart. Every id asked for gets a tally."""
        ...

    def carriers(self, keys: Sequence[str], readable: Mapping[str, Visibility], *, limit: int,
                 types: Mapping[str, tuple[str, ...]] | None = None) -> list[Carrier]:
        """The objects carrying any of ``keys`` through a version a reader sees in one of the collections of
        ``readable`` (collection id -> what the reader may see there; ``types``: collection id -> the only types
        it serves to the reader), one entry per (key, id, contributor), the earliest ``first_added`` first, at
        most ``limit``. Nothing else is read: no answer counts or hints at a version outside what it admits."""
        ...

    def reporters(self, keys: Sequence[str], readable: Mapping[str, Visibility], *,
                  types: Mapping[str, tuple[str, ...]] | None = None) -> list[Reporter]:
        """For each key, the organizations whose objects carry it (as ``carriers`` finds them, revoked ones
        left out), with how many objects and the earliest ``first_added``: ordered by key, then that date."""
        ...

    def set_keys(self, keyed: Sequence[tuple[str, int, tuple[str, ...]]]) -> int:
        """Replace the correlation keys of stored versions, given as (id, version, keys), in one transaction (a
        reindex, when the way keys are computed changed or versions were stored before there were keys); versions
        not stored are skipped. Returns how many versions were found."""
        ...

    def keys_of(self, object_id: str, version: int) -> tuple[str, ...]:
        """The correlation keys stored with one version, sorted (empty when it is not stored). The caller checks
        that its reader sees the version first."""
        ...

    def search(self, query: TextQuery, readable: Mapping[str, Visibility], *,
               types: Mapping[str, tuple[str, ...]] | None = None) -> list[TextMatch]:
        """The versions ``query`` asks for (by their ``search_terms``) that are the latest version of their
        object in a collection of ``readable`` (collection id -> what the reader may see there; ``types``:
        collection id -> the only types it serves the reader) where the reader sees them: each version once, the
        last stored first. The visibility is part of the query (the limit counts only what it admits), so no
        answer counts or hints at a version outside what it admits."""
        ...

    def search_horizon(self, query: TextQuery, rows: int) -> int | None:
        """The ``TextMatch.stored`` of the ``rows``-th newest version carrying every term of ``query.all_of`` and
        none of ``query.none_of``, stored between ``query.after`` and ``query.before`` (None when fewer do),
        whoever may see it and whoever contributed it (``contributors`` and ``limit`` are not read): an ``after``
        bound that keeps a ``search`` within the newest ``rows`` versions the index holds for those terms, however
        few of them a reader sees (``Store.horizon`` does the same for a collection). It reads the index alone,
        and tells roughly how many versions carry the terms, nothing about what they are."""
        ...

    def set_terms(self, keyed: Sequence[tuple[str, int, tuple[str, ...]]]) -> int:
        """Replace the search terms of stored versions, given as (id, version, terms), in one transaction (a
        reindex); versions not stored are skipped. Returns how many versions were found."""
        ...

    def activity(self, readable: Mapping[str, Visibility], *, since: int, until: int, limit: int,
                 reporting: tuple[str, ...] = ("indicator",),
                 types: Mapping[str, tuple[str, ...]] | None = None) -> Activity:
        """What the versions a reader sees add up to over a window (``phalanx.store._activity`` says how): the
        memberships that entered a collection of ``readable`` (collection id -> what the reader may see there;
        ``types``: collection id -> the only types it serves to the reader) at ``since`` <= date_added <
        ``until`` where the reader sees the version, the newest ``limit`` of them at most; the objects among
        them by contributor and type, the sightings of them by other organizations, and the values (carried by
        objects of the ``reporting`` types) an organization reported first and others then reported or sighted.
        Nothing else is read: no number counts or hints at a version outside what ``readable`` admits."""
        ...

    def close(self) -> None:
        """Release connections and threads; the store cannot be used afterwards."""
        ...
