"""The in-memory store and directory: the model the conformance suite holds the SQL backends to.

Queries here are evaluated the plain way (scan, compute first/last per id on the fly), on purpose: the SQL
backends maintain first/last flags and compile filters to SQL, and the suite checks both agree.
"""

from __future__ import annotations

__all__ = ["MemoryStore"]

import bisect
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import NotFound, StoreError
from ..stix._timestamps import now_micros
from ._cursor import check_query, encode_cursor
from ._plan import Known, check_rows, make_plan
from ._protocol import Page, PutResult, Query, StoredVersion, StoreStats, VersionFilter, VersionRow


@dataclass(frozen=True, slots=True)
class _Version:
    row: VersionRow
    contributor: str
    seq: int


class MemoryStore:
    """Everything in dictionaries, guarded by one lock. For tests, demos and as the reference model."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._closed = False
        self._clock = 0
        self._versions: dict[tuple[str, int], _Version] = {}
        self._by_id: dict[str, list[int]] = {}  # id -> sorted versions
        self._order: list[tuple[int, str, int]] = []  # (seq, id, version), seq ascending
        self._members: dict[str, dict[tuple[str, int], int]] = {}  # collection -> (id, version) -> date_added
        self._member_order: dict[str, list[tuple[int, str, int]]] = {}
        self._member_by_id: dict[str, dict[str, list[int]]] = {}
        self._min_revoked: dict[str, int] = {}

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("the store is closed", hint="Open the backend again (open_backend).")

    def _allocate(self, count: int) -> int:
        start = max(self._clock + 1, now_micros())
        self._clock = start + count - 1
        return start

    def put_many(self, collection: str, rows: Iterable[VersionRow], *, contributor: str) -> list[PutResult]:
        batch = list(rows)
        check_rows(batch)
        with self._lock:
            self._check_open()
            members = self._members.get(collection, {})
            known = Known()
            for oid in {row.id for row in batch}:
                for ver in self._by_id.get(oid, ()):
                    stored = self._versions[(oid, ver)]
                    known.digests[(oid, ver)] = stored.row.digest
                    known.seqs[(oid, ver)] = stored.seq
                    if (oid, ver) in members:
                        known.members[(oid, ver)] = members[(oid, ver)]
                if oid in self._min_revoked:
                    known.min_revoked[oid] = self._min_revoked[oid]
            plan = make_plan(batch, known, self._allocate)
            for item in plan.versions:
                key = (item.row.id, item.row.version)
                self._versions[key] = _Version(item.row, contributor, item.seq)
                bisect.insort(self._by_id.setdefault(item.row.id, []), item.row.version)
                self._order.append((item.seq, item.row.id, item.row.version))
            members = self._members.setdefault(collection, {})
            order = self._member_order.setdefault(collection, [])
            by_id = self._member_by_id.setdefault(collection, {})
            for m in plan.memberships:
                members[(m.id, m.version)] = m.date_added
                order.append((m.date_added, m.id, m.version))
                bisect.insort(by_id.setdefault(m.id, []), m.version)
            self._min_revoked.update(plan.revoked)
            return plan.results

    def _stored(self, oid: str, ver: int, collection: str | None) -> StoredVersion:
        v = self._versions[(oid, ver)]
        date = v.seq if collection is None else self._members[collection][(oid, ver)]
        r = v.row
        return StoredVersion(
            r.id,
            r.type,
            r.spec_version,
            r.version,
            r.created,
            r.revoked,
            r.canonical,
            r.digest,
            r.marking_refs,
            r.created_by_ref,
            v.contributor,
            date,
            collection,
        )

    def _versions_of(self, oid: str, collection: str | None) -> list[int]:
        if collection is None:
            return self._by_id.get(oid, [])
        return self._member_by_id.get(collection, {}).get(oid, [])

    def get(self, object_id: str, version: int | None = None, *, collection: str | None = None) -> StoredVersion:
        with self._lock:
            self._check_open()
            held = self._versions_of(object_id, collection)
            if not held or (version is not None and version not in held):
                where = "" if collection is None else f" in collection {collection}"
                what = object_id if version is None else f"{object_id} version {version}"
                raise NotFound(f"no object {what}{where}")
            return self._stored(object_id, held[-1] if version is None else version, collection)

    def versions(self, object_id: str, *, collection: str | None = None) -> list[StoredVersion]:
        with self._lock:
            self._check_open()
            return [self._stored(object_id, v, collection) for v in self._versions_of(object_id, collection)]

    def query(self, query: Query) -> Page:
        after = check_query(query)
        with self._lock:
            self._check_open()
            order = self._order if query.collection is None else self._member_order.get(query.collection, [])
            start = 0 if after is None else bisect.bisect_right(order, after, key=lambda item: item[0])
            wanted_all = not query.versions or VersionFilter.ALL in query.versions
            items: list[StoredVersion] = []
            more = False
            for _, oid, ver in order[start:]:
                row = self._versions[(oid, ver)].row
                if query.ids and oid not in query.ids:
                    continue
                if query.types and row.type not in query.types:
                    continue
                if query.spec_versions and row.spec_version not in query.spec_versions:
                    continue
                if not query.include_revoked and oid in self._min_revoked:
                    continue
                if query.hidden is not None and query.hidden.hides(
                    row.marking_refs, self._versions[(oid, ver)].contributor
                ):
                    continue
                if not wanted_all:
                    held = self._versions_of(oid, query.collection)
                    if not any(
                        (f is VersionFilter.FIRST and ver == held[0])
                        or (f is VersionFilter.LAST and ver == held[-1])
                        or (not isinstance(f, VersionFilter) and ver == f)
                        for f in query.versions
                    ):
                        continue
                if len(items) == query.limit:
                    more = True
                    break
                items.append(self._stored(oid, ver, query.collection))
            cursor = encode_cursor(items[-1].date_added) if more else None
            return Page(items, more, cursor)

    def is_revoked(self, object_id: str) -> bool:
        with self._lock:
            self._check_open()
            return object_id in self._min_revoked

    def stats(self) -> StoreStats:
        with self._lock:
            self._check_open()
            types = Counter(v.row.type for v in self._versions.values())
            return StoreStats(
                objects=len(self._by_id),
                versions=len(self._versions),
                collections={c: len(m) for c, m in self._members.items() if m},
                types=dict(types),
            )

    def close(self) -> None:
        with self._lock:
            self._closed = True
