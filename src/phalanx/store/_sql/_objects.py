"""The object store over SQL: put_many writes a ``Plan``; queries compile to one SELECT with parameters.

Tables (see migrations/*/0001_initial.sql):
  versions         one row per (id, version); ``seq`` = the date_added when first stored (unique, ordered);
                   ``is_first``/``is_last`` mark the oldest/newest version of the id store-wide.
  collection_keys  collection id -> a small integer ``key``, the form memberships hold it in.
  memberships      one row per (collection, version): the collection's key and the version's ``seq``
                   (``vseq``); ``date_added`` unique across the store; type copied from the version;
                   ``is_first``/``is_last`` within the collection.
  revoked          id -> oldest revoked version.
  scopes           a set of principals a membership was narrowed to (``scope``), by a small integer key;
  scope_principals principal -> the scopes that list it: what a visibility's grants look up.
  sightings        one row per sighting version (``vseq``): what it reports, for the aggregates (``_sightings``).
  observables      the correlation keys of each version (``vseq``, ``key``): what ``_correlation`` looks up.

Only ``versions_id_key`` is keyed by the object id, and by 64 bits of its hash (``id_key``) rather than the
45-character text: the index stays a third of the size, so at a million ids it still mostly fits the cache.
The key is not unique to an id: every lookup compares the id itself too, and uniqueness of (id, version) is
the plan's job (one writer at a time, on both backends). Reading through a collection with ids therefore
starts from ``versions`` (``versions v CROSS JOIN memberships m``: SQLite keeps that join order, PostgreSQL
plans it as any inner join), and a collection id is turned into its key by a scalar subquery the database
evaluates once per statement.
"""

from __future__ import annotations

__all__ = ["SqlStore"]

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson

from ...errors import NotFound
from .._activity import Activity
from .._cursor import check_changes, check_limit, check_query, encode_cursor, version_chosen
from .._plan import Known, Plan, check_rows, make_plan
from .._protocol import (
    INT64_MAX,
    Accepted,
    Carrier,
    Deleted,
    Page,
    PutResult,
    Query,
    Reporter,
    ScopeTest,
    StoredVersion,
    StoreStats,
    TextMatch,
    TextQuery,
    Unlogged,
    VersionFilter,
    VersionRow,
    Visibility,
    WriteGuard,
    is_int64,
)
from .._sightings import SightingTally
from ._activity import find_activity
from ._correlation import delete_keys, find_carriers, find_reporters, insert_keys, replace_keys, stored_keys
from ._search import FtsIndex, TextIndex
from ._sightings import insert_sightings, tally_sightings
from ._tx import Engine, Row, Tx, placeholders

_CHUNK = 500


def id_key(object_id: str) -> int:
    """The first 64 bits (signed) of BLAKE2b of the id: what the versions index is keyed by. It is narrow, so
    a million ids keep their index small enough for the cache; every lookup compares the id itself too."""
    return int.from_bytes(hashlib.blake2b(object_id.encode("utf-8", "surrogatepass"), digest_size=8).digest(),
                          "big", signed=True)
_VERSION_COLUMNS = (
    "seq",
    "id",
    "id_key",
    "version",
    "type",
    "spec_version",
    "created",
    "revoked",
    "canonical",
    "digest",
    "marking_refs",
    "created_by_ref",
    "contributor",
    "is_first",
    "is_last",
    "level",
    "top_level",
)
_MEMBER_COLUMNS = ("date_added", "collection", "vseq", "type", "is_first", "is_last", "scope", "sharer")
_COLLECTION_KEY = "(SELECT key FROM collection_keys WHERE id = ?)"
_SELECT = (
    "v.id, v.type, v.spec_version, v.version, v.created, v.revoked, v.canonical, v.digest, "
    "v.marking_refs, v.created_by_ref, v.contributor, v.level"
)
_SELECT_MEMBER = ", m.sharer, s.principals"
_SELECT_NO_MEMBER = ", NULL, NULL"
_SCOPES = " LEFT JOIN scopes s ON s.key = m.scope"
_CHANGES = (
    # Memberships in date_added order, across collections: a range scan of the memberships primary key (the
    # rowid on SQLite), then one primary-key look-up each in versions, collection_keys and scopes. CROSS JOIN
    # keeps that join order on SQLite; PostgreSQL plans it as any inner join.
    f"SELECT m.date_added, {_SELECT}{_SELECT_MEMBER}, k.id "
    f"FROM memberships m CROSS JOIN versions v CROSS JOIN collection_keys k{_SCOPES} "
    "WHERE v.seq = m.vseq AND k.key = m.collection AND m.date_added > ? ORDER BY m.date_added LIMIT ?"
)


def _refs(refs: tuple[str, ...]) -> str:
    return orjson.dumps(refs).decode() if refs else ""


def _stored(row: Row, collection: str | None) -> StoredVersion:
    date, oid, typ, spec, ver, created, revoked, canonical, dig, refs, by, contributor, level, sharer, scope = row
    return StoredVersion(
        oid,
        typ,
        spec,
        ver,
        created,
        bool(revoked),
        bytes(canonical),
        dig,
        tuple(orjson.loads(refs)) if refs else (),
        by,
        contributor,
        date,
        collection,
        level,
        None if collection is None else sharer or contributor,
        frozenset(orjson.loads(scope)) if scope else None,
    )


def _scope_text(scope: frozenset[str]) -> str:
    return orjson.dumps(sorted(scope)).decode()


class SqlStore:
    def __init__(self, engine: Engine, *, collate: str = "", text: TextIndex | None = None) -> None:
        self._engine = engine
        self._collate = collate  # ' COLLATE "C"' on PostgreSQL: text ordered as Python orders it
        self._text = text if text is not None else FtsIndex()  # PostingsIndex on PostgreSQL

    # writing ------------------------------------------------------------------------------------------

    def put_many(self, collection: str, rows: Iterable[VersionRow], *, contributor: str,
                 scope: frozenset[str] | None = None, guard: WriteGuard | None = None) -> list[PutResult]:
        batch = list(rows)
        check_rows(batch)
        if not batch:
            return []

        def work(tx: Tx) -> list[PutResult]:
            tx.serialize_writers()  # before reading anything the plan depends on, the key included
            key = self._collection_key(tx, collection)
            known = self._known(tx, key, batch)
            plan = make_plan(batch, known, tx.allocate, contributor=contributor, guard=guard)
            if plan.memberships and key is None:
                ((key,),) = tx.rows("INSERT INTO collection_keys (id) VALUES (?) RETURNING key", [collection])
            scope_key = self._scope_key(tx, scope) if scope and plan.memberships else None
            self._write(tx, key, contributor, scope_key, plan, known.seqs)
            return plan.results

        return self._engine.write(work)

    @staticmethod
    def _scope_key(tx: Tx, scope: frozenset[str]) -> int:
        """The key of ``scope`` (made the first time a scope with exactly these principals is used)."""
        text = _scope_text(scope)
        found = tx.rows("SELECT key FROM scopes WHERE principals = ?", [text])
        if found:
            return int(found[0][0])
        ((key,),) = tx.rows("INSERT INTO scopes (principals) VALUES (?) RETURNING key", [text])
        tx.insert_many("scope_principals", ("principal", "scope"), [(p, key) for p in sorted(scope)])
        return int(key)

    @staticmethod
    def _collection_key(tx: Tx, collection: str) -> int | None:
        found = tx.rows("SELECT key FROM collection_keys WHERE id = ?", [collection])
        return int(found[0][0]) if found else None

    def _known(self, tx: Tx, key: int | None, batch: Sequence[VersionRow]) -> Known:
        known = Known()
        ids = sorted({row.id for row in batch})  # in index order: neighbouring probes share pages
        held: list[str] = []
        for start in range(0, len(ids), _CHUNK):
            wanted = set(ids[start : start + _CHUNK])
            cond, params = tx.any_of("id_key", sorted({id_key(i) for i in wanted}))
            for oid, ver, dig, seq, by, top in tx.rows(
                f"SELECT id, version, digest, seq, contributor, top_level FROM versions WHERE {cond}", params
            ):
                if oid not in wanted:  # another id whose key collides: not ours
                    continue
                known.digests[(oid, ver)] = dig
                known.seqs[(oid, ver)] = seq
                known.contributors[(oid, ver)] = by
                known.top_levels[(oid, ver)] = top
                if not held or held[-1] != oid:
                    held.append(oid)
        # Only stored versions can be in the collection, or have made their id revoked: a batch of ids the
        # store does not hold (a bulk import) needs no more look-ups. A collection never seen holds nothing.
        by_seq = {seq: pair for pair, seq in known.seqs.items()}
        seqs = sorted(by_seq)
        for start in range(0, len(seqs) if key is not None else 0, _CHUNK):
            cond, params = tx.any_of("m.vseq", seqs[start : start + _CHUNK])
            members = tx.rows(
                f"SELECT m.vseq, m.date_added, m.sharer, s.principals FROM memberships m{_SCOPES} "
                f"WHERE m.collection = ? AND {cond}", [key, *params]
            )
            for seq, date, sharer, scope in members:
                pair = by_seq[seq]
                known.members[pair] = date
                known.member_scopes[pair] = (sharer or known.contributors[pair],
                                             frozenset(orjson.loads(scope)) if scope else None)
        for start in range(0, len(held), _CHUNK):
            cond, params = tx.any_of("id", held[start : start + _CHUNK])
            for oid, ver in tx.rows(f"SELECT id, version FROM revoked WHERE {cond}", params):
                known.min_revoked[oid] = ver
        return known

    def _write(self, tx: Tx, key: int | None, contributor: str, scope: int | None, plan: Plan,
               seqs: dict[tuple[str, int], int]) -> None:
        # Flags only move on versions stored before the batch: their seq is known.
        for flag, pairs in (("is_first", plan.clear_version_first), ("is_last", plan.clear_version_last)):
            if pairs:
                tx.run_many(f"UPDATE versions SET {flag} = 0 WHERE seq = ?", [(seqs[p],) for p in pairs])
        for flag, pairs in (("is_first", plan.clear_member_first), ("is_last", plan.clear_member_last)):
            if pairs:
                tx.run_many(
                    f"UPDATE memberships SET {flag} = 0 WHERE vseq = ? AND collection = ?",
                    [(seqs[p], key) for p in pairs],
                )
        if plan.versions:
            tx.insert_many(
                "versions",
                _VERSION_COLUMNS,
                [
                    (
                        v.seq,
                        r.id,
                        id_key(r.id),
                        r.version,
                        r.type,
                        r.spec_version,
                        r.created,
                        int(r.revoked),
                        r.canonical,
                        r.digest,
                        _refs(r.marking_refs),
                        r.created_by_ref,
                        contributor,
                        int(v.is_first),
                        int(v.is_last),
                        r.level,
                        r.top_level,
                    )
                    for v in plan.versions
                    for r in (v.row,)
                ],
            )
            insert_sightings(tx, [(v.seq, contributor, facts) for v in plan.versions
                                  if (facts := v.row.sighting) is not None])
            insert_keys(tx, plan.versions)
            self._text.insert(tx, plan.versions)
        if plan.memberships:
            tx.insert_many(
                "memberships",
                _MEMBER_COLUMNS,
                [(m.date_added, key, m.vseq, m.type, int(m.is_first), int(m.is_last), scope,
                  contributor if m.passed_on else None) for m in plan.memberships],
            )
        if plan.revoked:
            tx.run_many("DELETE FROM revoked WHERE id = ?", [(oid,) for oid in plan.revoked])
            tx.insert_many("revoked", ("id", "version"), list(plan.revoked.items()))

    # reading ------------------------------------------------------------------------------------------

    @staticmethod
    def _source(collection: str | None, by_id: bool) -> tuple[str, list[str], list[object]]:
        """FROM clause, its WHERE conditions, and their parameters. Columns of the version (id, version,
        spec_version) are read from ``v``; the flags, type and date of the membership from ``m``."""
        if collection is None:
            return "versions v", [], []
        if by_id:  # few versions by id, then each one's membership: keep that order (see the module doc)
            return (
                "versions v CROSS JOIN memberships m" + _SCOPES,
                ["m.vseq = v.seq", f"m.collection = {_COLLECTION_KEY}"],
                [collection],
            )
        return ("memberships m JOIN versions v ON v.seq = m.vseq" + _SCOPES, [f"m.collection = {_COLLECTION_KEY}"],
                [collection])

    def _fetch(
        self, object_id: str, version: int | None, collection: str | None, newest_only: bool
    ) -> list[StoredVersion]:
        source, where, params = self._source(collection, by_id=True)
        where.append("v.id_key = ? AND v.id = ?")
        params.extend((id_key(object_id), object_id))
        if version is not None:
            where.append("v.version = ?")
            params.append(version)
        date = "v.seq" if collection is None else "m.date_added"
        member = _SELECT_NO_MEMBER if collection is None else _SELECT_MEMBER
        order = "DESC LIMIT 1" if newest_only else "ASC"
        sql = (f"SELECT {date}, {_SELECT}{member} FROM {source} WHERE {' AND '.join(where)} "
               f"ORDER BY v.version {order}")
        return [_stored(r, collection) for r in self._engine.read(lambda tx: tx.rows(sql, params))]

    def get(self, object_id: str, version: int | None = None, *, collection: str | None = None) -> StoredVersion:
        found: list[StoredVersion] = []
        if version is None or is_int64(version):  # no column holds any other version: it is not stored
            found = self._fetch(object_id, version, collection, newest_only=True)
        if not found:
            where = "" if collection is None else f" in collection {collection}"
            what = object_id if version is None else f"{object_id} version {version}"
            raise NotFound(f"no object {what}{where}")
        return found[0]

    def versions(self, object_id: str, *, collection: str | None = None) -> list[StoredVersion]:
        return self._fetch(object_id, None, collection, newest_only=False)

    def query(self, query: Query) -> Page:
        after, before = check_query(query)

        def work(tx: Tx) -> list[Row]:
            sql, params = compile_query(query, after, _scope_keys(tx, query.visibility), before=before)
            return tx.rows(sql, params)

        rows = self._engine.read(work)
        more = len(rows) > query.limit
        items = [_stored(r, query.collection) for r in rows[: query.limit]]
        return Page(items, more,
                    encode_cursor(items[-1].date_added, newest_first=query.newest_first) if more else None)

    def delete(self, collection: str, object_id: str, *,
               versions: tuple[VersionFilter | int, ...] = (VersionFilter.ALL,), spec_versions: tuple[str, ...] = (),
               owner: str | None = None, logged_through: int | None = None) -> Deleted:
        def work(tx: Tx) -> Deleted:
            tx.serialize_writers()
            key = self._collection_key(tx, collection)
            if key is None:
                return Deleted(())
            held = tx.rows(
                "SELECT v.version, v.seq, m.date_added, v.spec_version, v.contributor, m.sharer, v.revoked "
                "FROM versions v CROSS JOIN memberships m "
                "WHERE m.vseq = v.seq AND m.collection = ? AND v.id_key = ? AND v.id = ? ORDER BY v.version",
                [key, id_key(object_id), object_id],
            )
            ordered = [int(r[0]) for r in held]
            doomed = [
                r for r in held
                if version_chosen(int(r[0]), ordered, versions)
                and (not spec_versions or r[3] in spec_versions)
                and (owner is None or owner in (r[4], r[5] or r[4]))
            ]
            if not doomed:
                return Deleted(())
            cond, params = tx.any_of("date_added", [r[2] for r in doomed])
            tx.run(f"DELETE FROM memberships WHERE {cond}", params)
            left = [r for r in held if r not in doomed]
            if left:  # first and last of the id in the collection, among what is left
                first, last = left[0][0], left[-1][0]
                tx.run_many("UPDATE memberships SET is_first = ?, is_last = ? WHERE date_added = ?",
                            [(int(r[0] == first), int(r[0] == last), r[2]) for r in left])
            orphans = [r[1] for r in doomed if not tx.rows("SELECT 1 FROM memberships WHERE vseq = ?", [r[1]])]
            if logged_through is not None and any(seq > logged_through for seq in orphans):
                raise Unlogged(f"a version of {object_id} is not in the ledger yet")  # rolls the delete back
            if orphans:
                cond, params = tx.any_of("seq", orphans)
                tx.run(f"DELETE FROM versions WHERE {cond}", params)
                cond, params = tx.any_of("vseq", orphans)
                tx.run(f"DELETE FROM sightings WHERE {cond}", params)
                delete_keys(tx, orphans)
                self._text.delete(tx, orphans)
                remaining = tx.rows("SELECT version, seq, revoked FROM versions WHERE id_key = ? AND id = ? "
                                    "ORDER BY version", [id_key(object_id), object_id])
                if remaining:
                    first, last = remaining[0][0], remaining[-1][0]
                    tx.run_many("UPDATE versions SET is_first = ?, is_last = ? WHERE seq = ?",
                                [(int(r[0] == first), int(r[0] == last), r[1]) for r in remaining])
                tx.run("DELETE FROM revoked WHERE id = ?", [object_id])
                revoked = [r[0] for r in remaining if r[2]]
                if revoked:
                    tx.run("INSERT INTO revoked (id, version) VALUES (?, ?)", [object_id, min(revoked)])
            return Deleted(tuple((object_id, int(r[0])) for r in doomed))

        return self._engine.write(work)

    def is_revoked(self, object_id: str) -> bool:
        return bool(self._engine.read(lambda tx: tx.rows("SELECT 1 FROM revoked WHERE id = ?", [object_id])))

    def accepted_since(self, after: int, limit: int) -> list[Accepted]:
        def work(tx: Tx) -> list[Accepted]:
            return [Accepted(int(seq), oid, int(ver), dig, bytes(text), by) for seq, oid, ver, dig, text, by in tx.rows(
                "SELECT seq, id, version, digest, canonical, contributor FROM versions WHERE seq > ? "
                "ORDER BY seq LIMIT ?", [after, limit])]

        return self._engine.read(work)

    def changes(self, after: int, limit: int) -> list[StoredVersion]:
        check_changes(after, limit)
        rows = self._engine.read(lambda tx: tx.rows(_CHANGES, [after, limit]))
        return [_stored(r[:-1], r[-1]) for r in rows]  # the last column: the collection's id

    def last_change(self) -> int:
        ((last,),) = self._engine.read(lambda tx: tx.rows("SELECT max(date_added) FROM memberships"))
        return 0 if last is None else int(last)

    def horizon(self, collection: str, rows: int, *, before: int | None = None) -> int | None:
        check_limit(rows)
        bound = INT64_MAX if before is None else before
        found = self._engine.read(lambda tx: tx.rows(
            f"SELECT m.date_added FROM memberships m WHERE m.collection = {_COLLECTION_KEY} AND m.date_added < ? "
            "ORDER BY m.date_added DESC LIMIT 1 OFFSET ?", [collection, bound, rows - 1]))
        return int(found[0][0]) if found else None

    def stats(self) -> StoreStats:
        def work(tx: Tx) -> StoreStats:
            ((objects, versions),) = tx.rows("SELECT count(DISTINCT id), count(*) FROM versions")
            collections = tx.rows(
                "SELECT k.id, c.n FROM (SELECT collection, count(*) AS n FROM memberships GROUP BY collection) c "
                "JOIN collection_keys k ON k.key = c.collection"
            )
            types = tx.rows("SELECT type, count(*) FROM versions GROUP BY type")
            return StoreStats(
                int(objects),
                int(versions),
                {c: int(n) for c, n in collections},
                {t: int(n) for t, n in types},
            )

        return self._engine.read(work)

    def sighting_tallies(self, sighted: Sequence[str], readable: Mapping[str, Visibility], *,
                         own: str | None = None) -> dict[str, SightingTally]:
        return self._engine.read(lambda tx: tally_sightings(tx, sighted, readable, own))

    def carriers(self, keys: Sequence[str], readable: Mapping[str, Visibility], *, limit: int,
                 types: Mapping[str, tuple[str, ...]] | None = None) -> list[Carrier]:
        return self._engine.read(lambda tx: find_carriers(tx, keys, readable, limit, types, self._collate))

    def reporters(self, keys: Sequence[str], readable: Mapping[str, Visibility], *,
                  types: Mapping[str, tuple[str, ...]] | None = None) -> list[Reporter]:
        return self._engine.read(lambda tx: find_reporters(tx, keys, readable, types, self._collate))

    def activity(self, readable: Mapping[str, Visibility], *, since: int, until: int, limit: int,
                 reporting: tuple[str, ...] = ("indicator",),
                 types: Mapping[str, tuple[str, ...]] | None = None) -> Activity:
        return self._engine.read(lambda tx: find_activity(tx, readable, since, until, limit, reporting, types))

    def set_keys(self, keyed: Sequence[tuple[str, int, tuple[str, ...]]]) -> int:
        return self._engine.write(lambda tx: replace_keys(tx, keyed))

    def keys_of(self, object_id: str, version: int) -> tuple[str, ...]:
        if not is_int64(version):
            return ()
        return self._engine.read(lambda tx: stored_keys(tx, object_id, version))

    def search(self, query: TextQuery, readable: Mapping[str, Visibility], *,
               types: Mapping[str, tuple[str, ...]] | None = None) -> list[TextMatch]:
        return self._engine.read(lambda tx: self._text.search(tx, query, readable, types))

    def search_horizon(self, query: TextQuery, rows: int) -> int | None:
        return self._engine.read(lambda tx: self._text.horizon(tx, query, rows))

    def set_terms(self, keyed: Sequence[tuple[str, int, tuple[str, ...]]]) -> int:
        return self._engine.write(lambda tx: self._text.replace(tx, keyed))

    def close(self) -> None:
        """The backend owns the connections; ``Backend.close`` releases them."""


def _in(column: str, values: Sequence[Any], where: list[str], params: list[object]) -> None:
    if len(values) == 1:
        where.append(f"{column} = ?")
    else:
        where.append(f"{column} IN ({placeholders(len(values))})")
    params.extend(values)


_INLINE_SCOPES = 2000
"""Up to this many scope keys are written into the query as a list; more are looked up by a subquery."""
ScopeKeys = dict[tuple[str, ...], list[int] | None]
"""For each grant's principals: the keys of the scopes that list one of them (None: too many to list)."""


def _scope_keys(tx: Tx, visibility: Visibility | None) -> ScopeKeys:
    """Look the grants' principals up in scope_principals before the page's query, so that the query holds a
    short list of integers: a subquery there makes PostgreSQL's planner expect a costly scan and choose a
    parallel plan that takes milliseconds to start for a page it then reads in a fraction of one."""
    found: ScopeKeys = {}
    for grant in visibility.grants if visibility is not None else ():
        if grant.scope is ScopeTest.ANY or not grant.principals or grant.principals in found:
            continue
        rows = tx.rows(f"SELECT DISTINCT scope FROM scope_principals WHERE principal IN "
                       f"({placeholders(len(grant.principals))}) LIMIT {_INLINE_SCOPES + 1}", list(grant.principals))
        found[grant.principals] = sorted(int(k) for (k,) in rows) if len(rows) <= _INLINE_SCOPES else None
    return found


def _listed(grant_principals: tuple[str, ...], scopes: ScopeKeys, params: list[object]) -> str:
    """The condition "the membership's scope lists one of the principals"."""
    if not grant_principals:
        return "1 = 0"
    keys = scopes.get(grant_principals)
    if keys is None:  # not looked up (or too many): the subquery
        params.extend(grant_principals)
        return (f"m.scope IN (SELECT scope FROM scope_principals WHERE principal IN "
                f"({placeholders(len(grant_principals))}))")
    if not keys:
        return "1 = 0"
    params.extend(keys)
    return f"m.scope IN ({placeholders(len(keys))})"


def _visible(visibility: Visibility, scopes: ScopeKeys, where: list[str], params: list[object]) -> None:
    """One condition: contributed or shared by the owner, or admitted by a grant (by level and scope)."""
    alternatives: list[str] = []
    if visibility.owner is not None:
        alternatives.append("(v.contributor = ? OR m.sharer = ?)")
        params.extend((visibility.owner, visibility.owner))
    for grant in visibility.grants:
        if not grant.levels:
            continue
        parts: list[str] = []
        _in("v.level", sorted(set(grant.levels)), parts, params)
        if grant.scope is not ScopeTest.ANY:
            listed = _listed(grant.principals, scopes, params)
            parts.append(f"(m.scope IS NULL OR {listed})" if grant.scope is ScopeTest.UNSCOPED_OR_LISTED else listed)
        alternatives.append("(" + " AND ".join(parts) + ")")
    where.append("(" + " OR ".join(alternatives) + ")" if alternatives else "1 = 0")
    if visibility.not_from is not None:
        where.append("v.contributor <> ? AND (m.sharer IS NULL OR m.sharer <> ?)")  # NULL: the contributor
        params.extend((visibility.not_from, visibility.not_from))


def compile_query(query: Query, after: int | None, scopes: ScopeKeys | None = None, *,
                  before: int | None = None) -> tuple[str, list[object]]:
    """One SELECT for one page (limit + 1 rows, to learn whether there is more); ``after`` and ``before``
    the exclusive bounds on the date (as ``check_query`` gives them), ``scopes`` as ``_scope_keys`` found them
    (None: the subquery form).

    Newest first, the same SELECT orders by the date descending: the date is the last column of the index the
    page is read through (the memberships primary key and (collection[, type], date_added) indexes, the
    versions rowid / primary key and (type, seq)), and both SQLite and PostgreSQL walk a B-tree backwards, so
    the page is still a range scan that stops after limit + 1 rows, without sorting."""
    source, where, params = SqlStore._source(query.collection, by_id=bool(query.ids))
    m = "v" if query.collection is None else "m"  # the row carrying type, flags and date
    date = "v.seq" if query.collection is None else "m.date_added"
    if query.ids:
        _in("v.id_key", sorted({id_key(i) for i in query.ids}), where, params)
        _in("v.id", sorted(set(query.ids)), where, params)
    if query.types:
        _in(f"{m}.type", sorted(set(query.types)), where, params)
    if query.spec_versions:
        _in("v.spec_version", sorted(set(query.spec_versions)), where, params)
    if query.versions and VersionFilter.ALL not in query.versions:
        alternatives: list[str] = []
        if VersionFilter.FIRST in query.versions:
            alternatives.append(f"{m}.is_first = 1")
        if VersionFilter.LAST in query.versions:
            alternatives.append(f"{m}.is_last = 1")
        exact = sorted({v for v in query.versions if not isinstance(v, VersionFilter)})
        if exact:
            extra: list[str] = []
            _in("v.version", exact, extra, params)
            alternatives.extend(extra)
        where.append(alternatives[0] if len(alternatives) == 1 else "(" + " OR ".join(alternatives) + ")")
    if after is not None:
        where.append(f"{date} > ?")
        params.append(after)
    if before is not None:
        where.append(f"{date} < ?")
        params.append(before)
    if not query.include_revoked:
        where.append("NOT EXISTS (SELECT 1 FROM revoked r WHERE r.id = v.id)")
    if query.visibility is not None:
        _visible(query.visibility, scopes or {}, where, params)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    params.append(min(query.limit + 1, INT64_MAX))  # limit may be INT64_MAX itself
    member = _SELECT_NO_MEMBER if query.collection is None else _SELECT_MEMBER
    direction = " DESC" if query.newest_first else ""
    return f"SELECT {date}, {_SELECT}{member} FROM {source}{clause} ORDER BY {date}{direction} LIMIT ?", params

