"""The in-memory store and directory: the model the conformance suite holds the SQL backends to.

Queries here are evaluated the plain way (scan, compute first/last per id on the fly), on purpose: the SQL
backends maintain first/last flags and compile filters to SQL, and the suite checks both agree.
"""

from __future__ import annotations

__all__ = ["MemoryStore"]

import bisect
import heapq
import threading
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

from ..errors import NotFound, StoreError
from ..stix._timestamps import now_micros
from ._activity import Activity, Counted, check_window, compute, counted_keys
from ._correlation import Carried, check_keys, to_carriers, to_reporters
from ._cursor import check_changes, check_limit, check_query, encode_cursor, version_chosen
from ._plan import Known, check_rows, make_plan
from ._protocol import (
    INT64_MAX,
    Accepted,
    Carrier,
    Deleted,
    Page,
    PutResult,
    Query,
    Reporter,
    StoredVersion,
    StoreStats,
    TextMatch,
    TextQuery,
    Unlogged,
    VersionFilter,
    VersionRow,
    Visibility,
    WriteGuard,
)
from ._search import check_text_query
from ._sightings import Sighted, SightingKind, SightingTally, add_up


@dataclass(frozen=True, slots=True)
class _Version:
    row: VersionRow
    contributor: str
    seq: int


@dataclass(frozen=True, slots=True)
class _Member:
    date_added: int
    sharer: str
    scope: frozenset[str] | None


class MemoryStore:
    """Everything in dictionaries, guarded by one lock. For tests, demos and as the reference model."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._closed = False
        self._clock = 0
        self._versions: dict[tuple[str, int], _Version] = {}
        self._by_id: dict[str, list[int]] = {}  # id -> sorted versions
        self._order: list[tuple[int, str, int]] = []  # (seq, id, version), seq ascending
        self._members: dict[str, dict[tuple[str, int], _Member]] = {}  # collection -> (id, version) -> membership
        self._member_order: dict[str, list[tuple[int, str, int]]] = {}
        self._member_by_id: dict[str, dict[str, list[int]]] = {}
        self._changes: list[tuple[int, str, str, int]] = []  # (date_added, collection, id, version), ascending
        self._min_revoked: dict[str, int] = {}
        self._sightings: dict[str, dict[tuple[str, int], Sighted]] = {}  # sighted id -> (id, version) -> facts
        self._keyed: dict[str, set[tuple[str, int]]] = {}  # correlation key -> the (id, version) carrying it
        self._termed: dict[str, set[tuple[str, int]]] = {}  # search term -> the (id, version) carrying it

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("the store is closed", hint="Open the backend again (open_backend).")

    def _allocate(self, count: int) -> int:
        start = max(self._clock + 1, now_micros())
        self._clock = start + count - 1
        return start

    def put_many(self, collection: str, rows: Iterable[VersionRow], *, contributor: str,
                 scope: frozenset[str] | None = None, guard: WriteGuard | None = None) -> list[PutResult]:
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
                    known.contributors[(oid, ver)] = stored.contributor
                    known.top_levels[(oid, ver)] = stored.row.top_level
                    if (oid, ver) in members:
                        member = members[(oid, ver)]
                        known.members[(oid, ver)] = member.date_added
                        known.member_scopes[(oid, ver)] = (member.sharer, member.scope)
                if oid in self._min_revoked:
                    known.min_revoked[oid] = self._min_revoked[oid]
            plan = make_plan(batch, known, self._allocate, contributor=contributor, guard=guard)
            for item in plan.versions:
                key = (item.row.id, item.row.version)
                self._versions[key] = _Version(item.row, contributor, item.seq)
                bisect.insort(self._by_id.setdefault(item.row.id, []), item.row.version)
                self._order.append((item.seq, item.row.id, item.row.version))
                if item.row.sighting is not None:
                    self._sightings.setdefault(item.row.sighting.sighted, {})[key] = item.row.sighting
                for carried in item.row.correlation_keys:
                    self._keyed.setdefault(carried, set()).add(key)
                for term in item.row.search_terms:
                    self._termed.setdefault(term, set()).add(key)
            members = self._members.setdefault(collection, {})
            order = self._member_order.setdefault(collection, [])
            by_id = self._member_by_id.setdefault(collection, {})
            for m in plan.memberships:
                members[(m.id, m.version)] = _Member(m.date_added, contributor, scope or None)
                order.append((m.date_added, m.id, m.version))
                self._changes.append((m.date_added, collection, m.id, m.version))
                bisect.insort(by_id.setdefault(m.id, []), m.version)
            self._min_revoked.update(plan.revoked)
            return plan.results

    def _stored(self, oid: str, ver: int, collection: str | None) -> StoredVersion:
        v = self._versions[(oid, ver)]
        member = None if collection is None else self._members[collection][(oid, ver)]
        date = v.seq if member is None else member.date_added
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
            r.level,
            None if member is None else member.sharer,
            None if member is None else member.scope,
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

    def delete(self, collection: str, object_id: str, *,
               versions: tuple[VersionFilter | int, ...] = (VersionFilter.ALL,), spec_versions: tuple[str, ...] = (),
               owner: str | None = None, logged_through: int | None = None) -> Deleted:
        with self._lock:
            self._check_open()
            held = self._member_by_id.get(collection, {}).get(object_id, [])
            members = self._members.get(collection, {})
            doomed = [
                ver for ver in held
                if version_chosen(ver, held, versions)
                and (not spec_versions or self._versions[(object_id, ver)].row.spec_version in spec_versions)
                and (owner is None or owner in (members[(object_id, ver)].sharer,
                                                self._versions[(object_id, ver)].contributor))
            ]
            if logged_through is not None and any(
                    self._versions[(object_id, ver)].seq > logged_through
                    and not any((object_id, ver) in m for c, m in self._members.items() if c != collection)
                    for ver in doomed):
                raise Unlogged(f"a version of {object_id} is not in the ledger yet")
            for ver in doomed:
                date = members.pop((object_id, ver)).date_added
                del self._changes[bisect.bisect_left(self._changes, (date,))]  # date_added is unique
                held.remove(ver)
            if doomed:
                gone = set(doomed)
                order = self._member_order[collection]
                order[:] = [item for item in order if not (item[1] == object_id and item[2] in gone)]
                if not held:
                    del self._member_by_id[collection][object_id]
                self._drop_orphans(object_id, doomed)
            return Deleted(tuple((object_id, ver) for ver in doomed))

    def _drop_orphans(self, object_id: str, candidates: list[int]) -> None:
        """Remove versions that are in no collection any more; revocation follows the versions that remain."""
        orphans = {ver for ver in candidates
                   if not any((object_id, ver) in m for m in self._members.values())}
        if not orphans:
            return
        for ver in orphans:
            for carried in self._versions[(object_id, ver)].row.correlation_keys:
                self._keyed[carried].discard((object_id, ver))
            for term in self._versions[(object_id, ver)].row.search_terms:
                self._termed[term].discard((object_id, ver))
        for ver in orphans:
            facts = self._versions.pop((object_id, ver)).row.sighting
            if facts is not None:
                self._sightings[facts.sighted].pop((object_id, ver), None)
        self._by_id[object_id] = [ver for ver in self._by_id[object_id] if ver not in orphans]
        if not self._by_id[object_id]:
            del self._by_id[object_id]
        self._order = [item for item in self._order if not (item[1] == object_id and item[2] in orphans)]
        revoked = [ver for ver in self._by_id.get(object_id, []) if self._versions[(object_id, ver)].row.revoked]
        if revoked:
            self._min_revoked[object_id] = min(revoked)
        else:
            self._min_revoked.pop(object_id, None)

    def query(self, query: Query) -> Page:
        after, before = check_query(query)
        with self._lock:
            self._check_open()
            order = self._order if query.collection is None else self._member_order.get(query.collection, [])
            start = 0 if after is None else bisect.bisect_right(order, after, key=lambda item: item[0])
            end = len(order) if before is None else bisect.bisect_left(order, before, key=lambda item: item[0])
            positions = range(end - 1, start - 1, -1) if query.newest_first else range(start, end)
            wanted_all = not query.versions or VersionFilter.ALL in query.versions
            items: list[StoredVersion] = []
            more = False
            for position in positions:
                _, oid, ver = order[position]
                row = self._versions[(oid, ver)].row
                if query.ids and oid not in query.ids:
                    continue
                if query.types and row.type not in query.types:
                    continue
                if query.spec_versions and row.spec_version not in query.spec_versions:
                    continue
                if not query.include_revoked and oid in self._min_revoked:
                    continue
                if query.visibility is not None:
                    contributor = self._versions[(oid, ver)].contributor
                    member = self._members[query.collection][(oid, ver)] if query.collection is not None else None
                    if member is None or not query.visibility.admits(
                        level=row.level, scope=member.scope, contributor=contributor, sharer=member.sharer
                    ):
                        continue
                if not wanted_all and not version_chosen(ver, self._versions_of(oid, query.collection), query.versions):
                    continue
                if len(items) == query.limit:
                    more = True
                    break
                items.append(self._stored(oid, ver, query.collection))
            cursor = encode_cursor(items[-1].date_added, newest_first=query.newest_first) if more else None
            return Page(items, more, cursor)

    def is_revoked(self, object_id: str) -> bool:
        with self._lock:
            self._check_open()
            return object_id in self._min_revoked

    def accepted_since(self, after: int, limit: int) -> list[Accepted]:
        with self._lock:
            self._check_open()
            start = bisect.bisect_right(self._order, (after, "\U0010ffff", 2**63))
            out = []
            for seq, oid, ver in self._order[start : start + limit]:
                v = self._versions[(oid, ver)]
                out.append(Accepted(seq, oid, ver, v.row.digest, v.row.canonical, v.contributor))
            return out

    def changes(self, after: int, limit: int) -> list[StoredVersion]:
        check_changes(after, limit)
        with self._lock:
            self._check_open()
            start = bisect.bisect_right(self._changes, after, key=lambda item: item[0])
            return [self._stored(oid, ver, collection)
                    for _, collection, oid, ver in self._changes[start : start + limit]]

    def last_change(self) -> int:
        with self._lock:
            self._check_open()
            return self._changes[-1][0] if self._changes else 0

    def horizon(self, collection: str, rows: int, *, before: int | None = None) -> int | None:
        check_limit(rows)
        with self._lock:
            self._check_open()
            order = self._member_order.get(collection, [])
            end = len(order) if before is None else bisect.bisect_left(order, before, key=lambda item: item[0])
            return order[end - rows][0] if end >= rows else None

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

    def sighting_tallies(self, sighted: Sequence[str], readable: Mapping[str, Visibility], *,
                         own: str | None = None) -> dict[str, SightingTally]:
        with self._lock:
            self._check_open()
            tallies: dict[str, SightingTally] = {}
            for ref in sighted:
                counted: list[tuple[str, Sighted]] = []
                for (oid, ver), facts in self._sightings.get(ref, {}).items():
                    if oid in self._min_revoked or self._by_id[oid][-1] != ver:
                        continue  # a revoked sighting, or not its latest version
                    stored = self._versions[(oid, ver)]
                    if any(self._visible_in(collection, seen, oid, ver) for collection, seen in readable.items()):
                        counted.append((stored.contributor, facts))
                tallies[ref] = SightingTally(ref, add_up(counted), add_up(p for p in counted if p[0] == own))
            return tallies

    def _visible_in(self, collection: str, seen: Visibility, oid: str, ver: int) -> bool:
        member = self._members.get(collection, {}).get((oid, ver))
        if member is None:
            return False
        stored = self._versions[(oid, ver)]
        return seen.admits(level=stored.row.level, scope=member.scope, contributor=stored.contributor,
                           sharer=member.sharer)

    def activity(self, readable: Mapping[str, Visibility], *, since: int, until: int, limit: int,
                 reporting: tuple[str, ...] = ("indicator",),
                 types: Mapping[str, tuple[str, ...]] | None = None) -> Activity:
        check_window(since, until, limit)
        with self._lock:
            self._check_open()
            return compute(_MemoryActivity(self, readable, types, since, until), since=since, limit=limit,
                           reporting=reporting)

    def _carried(self, keys: Sequence[str], readable: Mapping[str, Visibility],
                 types: Mapping[str, tuple[str, ...]] | None) -> Iterator[Carried]:
        for carried in keys:
            for oid, ver in self._keyed.get(carried, ()):
                stored = self._versions[(oid, ver)]
                row = stored.row
                for collection, seen in readable.items():
                    served = (types or {}).get(collection)
                    member = self._members.get(collection, {}).get((oid, ver))
                    if member is not None and (not served or row.type in served) and seen.admits(
                            level=row.level, scope=member.scope, contributor=stored.contributor,
                            sharer=member.sharer):
                        yield Carried(carried, oid, row.type, stored.contributor, member.date_added, ver, row.revoked)

    def carriers(self, keys: Sequence[str], readable: Mapping[str, Visibility], *, limit: int,
                 types: Mapping[str, tuple[str, ...]] | None = None) -> list[Carrier]:
        wanted = check_keys(keys, limit)
        with self._lock:
            self._check_open()
            return to_carriers(self._carried(wanted, readable, types), limit)

    def reporters(self, keys: Sequence[str], readable: Mapping[str, Visibility], *,
                  types: Mapping[str, tuple[str, ...]] | None = None) -> list[Reporter]:
        wanted = check_keys(keys)
        with self._lock:
            self._check_open()
            return to_reporters(to_carriers(self._carried(wanted, readable, types), INT64_MAX))

    def set_keys(self, keyed: Sequence[tuple[str, int, tuple[str, ...]]]) -> int:
        with self._lock:
            self._check_open()
            found = 0
            for oid, ver, keys in keyed:
                stored = self._versions.get((oid, ver))
                if stored is None:
                    continue
                found += 1
                for carried in stored.row.correlation_keys:
                    self._keyed[carried].discard((oid, ver))
                for carried in keys:
                    self._keyed.setdefault(carried, set()).add((oid, ver))
                self._versions[(oid, ver)] = replace(stored, row=replace(stored.row, correlation_keys=tuple(keys)))
            return found

    def keys_of(self, object_id: str, version: int) -> tuple[str, ...]:
        with self._lock:
            self._check_open()
            stored = self._versions.get((object_id, version))
            return () if stored is None else tuple(sorted(set(stored.row.correlation_keys)))

    def search(self, query: TextQuery, readable: Mapping[str, Visibility], *,
               types: Mapping[str, tuple[str, ...]] | None = None) -> list[TextMatch]:
        query = check_text_query(query)
        with self._lock:
            self._check_open()
            matches: list[TextMatch] = []
            for oid, ver in self._text_matching(query):
                stored = self._versions[(oid, ver)]
                if query.contributors and stored.contributor not in query.contributors:
                    continue
                if any(self._member_by_id.get(collection, {}).get(oid, [None])[-1] == ver
                       and (not (types or {}).get(collection) or stored.row.type in (types or {})[collection])
                       and self._visible_in(collection, seen, oid, ver)
                       for collection, seen in readable.items()):
                    matches.append(TextMatch(oid, ver, stored.row.type, stored.contributor, stored.seq))
            matches.sort(key=lambda m: -m.stored)
            return matches[: query.limit]

    def search_horizon(self, query: TextQuery, rows: int) -> int | None:
        query = check_text_query(query)
        check_limit(rows)
        with self._lock:
            self._check_open()
            newest = heapq.nlargest(rows, (self._versions[key].seq for key in self._text_matching(query)))
            return newest[-1] if len(newest) >= rows else None

    def _text_matching(self, query: TextQuery) -> set[tuple[str, int]]:
        """The versions carrying every term of ``all_of`` and none of ``none_of``, stored between ``after`` and
        ``before``: what the SQL backends' text index hands over, whoever may see them."""
        postings = sorted((self._termed.get(t, set()) for t in query.all_of), key=len)
        found = set(postings[0]).intersection(*postings[1:])
        for term in query.none_of:
            found -= self._termed.get(term, set())
        if query.after is not None or query.before is not None:
            low = -(1 << 63) if query.after is None else query.after
            high = 1 << 63 if query.before is None else query.before
            found = {key for key in found if low < self._versions[key].seq < high}
        return found

    def set_terms(self, keyed: Sequence[tuple[str, int, tuple[str, ...]]]) -> int:
        with self._lock:
            self._check_open()
            found = 0
            for oid, ver, terms in keyed:
                stored = self._versions.get((oid, ver))
                if stored is None:
                    continue
                found += 1
                for term in stored.row.search_terms:
                    self._termed[term].discard((oid, ver))
                for term in terms:
                    self._termed.setdefault(term, set()).add((oid, ver))
                self._versions[(oid, ver)] = replace(stored, row=replace(stored.row, search_terms=tuple(terms)))
            return found

    def close(self) -> None:
        with self._lock:
            self._closed = True



class _MemoryActivity:
    """``ActivitySource`` over the memory store's dictionaries (its lock held by the caller)."""

    def __init__(self, store: MemoryStore, readable: Mapping[str, Visibility],
                 types: Mapping[str, tuple[str, ...]] | None, since: int, until: int) -> None:
        self._store, self._readable, self._types, self._since, self._until = store, readable, types or {}, since, until

    def _sees(self, collection: str, oid: str, ver: int) -> bool:
        served = self._types.get(collection)
        return (not served or self._store._versions[(oid, ver)].row.type in served) and self._store._visible_in(
            collection, self._readable[collection], oid, ver)

    def _seen(self, before: int | None = None) -> list[tuple[int, str, int]]:
        found: list[tuple[int, str, int]] = []
        for collection in self._readable:
            order = self._store._member_order.get(collection, [])
            low = bisect.bisect_left(order, self._since, key=lambda item: item[0])
            high = bisect.bisect_left(order, self._until if before is None else before, key=lambda item: item[0])
            found.extend(item for item in order[low:high] if self._sees(collection, item[1], item[2]))
        return sorted(found, reverse=True)

    def newest(self, limit: int) -> list[Counted]:
        counted = []
        for date, oid, ver in self._seen()[:limit]:
            stored = self._store._versions[(oid, ver)]
            counted.append(Counted(date, stored.seq, oid, ver, stored.row.type, stored.contributor,
                                   self._store._by_id[oid][-1] == ver))
        return counted

    def seen_before(self, before: int) -> bool:
        return bool(self._seen(before))

    def sightings(self, counted: Sequence[Counted]) -> dict[int, tuple[str, str]]:
        found: dict[int, tuple[str, str]] = {}
        for row in counted:
            stored = self._store._versions[(row.id, row.version)]
            facts = stored.row.sighting
            if facts is not None and facts.kind is SightingKind.SEEN and row.id not in self._store._min_revoked:
                found[row.seq] = (facts.sighted, stored.contributor)
        return found

    def keys(self, counted: Sequence[Counted]) -> dict[int, tuple[str, ...]]:
        return counted_keys({row.seq: self._store._versions[(row.id, row.version)].row.correlation_keys
                             for row in counted})

    def reported_before(self, keys: Collection[str], before: int, reporting: tuple[str, ...]) -> set[str]:
        found: set[str] = set()
        for key in keys:
            for oid, ver in self._store._keyed.get(key, ()):
                if self._store._versions[(oid, ver)].row.type not in reporting:
                    continue
                if any(member.date_added < before and self._sees(collection, oid, ver)
                       for collection in self._readable
                       if (member := self._store._members.get(collection, {}).get((oid, ver))) is not None):
                    found.add(key)
                    break
        return found
