"""The object store: every version of every STIX object a node holds, and the collections it belongs to.

The interface is narrow and speaks the domain, not HTTP or TAXII: put versions into a collection, read them back,
page through them in the order they were added. Three implementations sit behind it (memory, SQLite,
PostgreSQL) and one conformance suite (tests/conformance/test_store.py) runs against all three.
"""

from __future__ import annotations

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "Hidden",
    "Page",
    "PutResult",
    "PutStatus",
    "Query",
    "Store",
    "StoreStats",
    "StoredVersion",
    "VersionFilter",
    "VersionRow",
    "is_int64",
]

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
"""Every integer the store holds or compares (versions, created, date_added, limits) is a signed 64-bit
integer, on every backend: values outside are refused before they reach a database."""


def is_int64(value: object) -> bool:
    """Whether ``value`` is an ``int`` (not a bool) the store can hold."""
    return isinstance(value, int) and not isinstance(value, bool) and INT64_MIN <= value <= INT64_MAX


@dataclass(frozen=True, slots=True)
class VersionRow:
    """One object version, ready to store: what ``phalanx.stix`` produces from a validated object.

    ``version`` is the ``modified`` timestamp in microseconds since the epoch (``created`` when the object has
    no ``modified``, 0 when it has neither, as SCOs). ``canonical`` is the RFC 8785 JSON, ``digest`` its SHA-256.
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


@dataclass(frozen=True, slots=True)
class Hidden:
    """Versions a reader must not see, compiled into the query (never filtered after fetching): those whose
    ``marking_refs`` hold any of ``markings`` or, when ``unmarked``, none of ``levels`` — unless
    ``contributor`` contributed them. The store knows no policy: ``phalanx.policy`` decides what goes here."""

    markings: tuple[str, ...]
    contributor: str
    unmarked: bool = False
    levels: tuple[str, ...] = ()

    def hides(self, marking_refs: Sequence[str], contributor: str) -> bool:
        """The same rule in Python, for the memory store."""
        if contributor == self.contributor:
            return False
        if any(m in marking_refs for m in self.markings):
            return True
        return self.unmarked and not any(m in marking_refs for m in self.levels)


@dataclass(frozen=True, slots=True)
class Query:
    """Which versions to read. Empty tuples mean "no constraint". Results are ordered by ``date_added``."""

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
    hidden: Hidden | None = None
    """What the reader may not see (None: everything matching)."""
    limit: int = 100
    cursor: str | None = None
    """Opaque: the ``next_cursor`` of the previous page. Continues exactly where that page stopped."""


@dataclass(frozen=True, slots=True)
class Page:
    items: Sequence[StoredVersion]
    more: bool
    next_cursor: str | None
    """Set whenever ``more`` is true."""


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
        self, collection: str, rows: Iterable[VersionRow], *, contributor: str
    ) -> list[PutResult]:
        """Store ``rows`` in ``collection`` in one transaction: all of the accepted ones, or none (on error).

        Idempotent for the same (id, version, digest). Refusals (CONFLICT, REVOKED) are reported per row and do
        not stop the others. When this returns, the accepted rows are durable.
        """
        ...

    def get(self, object_id: str, version: int | None = None, *, collection: str | None = None) -> StoredVersion:
        """The latest version of ``object_id`` (or the given version); raises ``NotFound``."""
        ...

    def versions(self, object_id: str, *, collection: str | None = None) -> list[StoredVersion]:
        """Every version of ``object_id``, oldest ``version`` first (empty when unknown)."""
        ...

    def query(self, query: Query) -> Page:
        """One page of versions matching ``query``, ordered by ``date_added``."""
        ...

    def is_revoked(self, object_id: str) -> bool:
        """Whether any stored version of ``object_id`` is revoked."""
        ...

    def stats(self) -> StoreStats:
        ...

    def close(self) -> None:
        """Release connections and threads; the store cannot be used afterwards."""
        ...
