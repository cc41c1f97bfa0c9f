"""The object store over SQL: put_many writes a ``Plan``; queries compile to one SELECT with parameters.

Tables (see migrations/*/0001_initial.sql):
  versions         one row per (id, version); ``seq`` = the date_added when first stored (unique, ordered);
                   ``is_first``/``is_last`` mark the oldest/newest version of the id store-wide.
  collection_keys  collection id -> a small integer ``key``, the form memberships hold it in.
  memberships      one row per (collection, version): the collection's key and the version's ``seq``
                   (``vseq``); ``date_added`` unique across the store; type copied from the version;
                   ``is_first``/``is_last`` within the collection.
  revoked          id -> oldest revoked version.

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
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from ...errors import NotFound
from .._cursor import check_query, encode_cursor
from .._plan import Known, Plan, check_rows, make_plan
from .._protocol import (
    INT64_MAX,
    Hidden,
    Page,
    PutResult,
    Query,
    StoredVersion,
    StoreStats,
    VersionFilter,
    VersionRow,
    is_int64,
)
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
)
_MEMBER_COLUMNS = ("date_added", "collection", "vseq", "type", "is_first", "is_last")
_COLLECTION_KEY = "(SELECT key FROM collection_keys WHERE id = ?)"
_SELECT = (
    "v.id, v.type, v.spec_version, v.version, v.created, v.revoked, v.canonical, v.digest, "
    "v.marking_refs, v.created_by_ref, v.contributor"
)


def _refs(refs: tuple[str, ...]) -> str:
    return orjson.dumps(refs).decode() if refs else ""


def _stored(row: Row, collection: str | None) -> StoredVersion:
    date, oid, typ, spec, ver, created, revoked, canonical, dig, refs, by, contributor = row
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
    )


class SqlStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # writing ------------------------------------------------------------------------------------------

    def put_many(self, collection: str, rows: Iterable[VersionRow], *, contributor: str) -> list[PutResult]:
        batch = list(rows)
        check_rows(batch)
        if not batch:
            return []

        def work(tx: Tx) -> list[PutResult]:
            tx.serialize_writers()  # before reading anything the plan depends on, the key included
            key = self._collection_key(tx, collection)
            known = self._known(tx, key, batch)
            plan = make_plan(batch, known, tx.allocate)
            if plan.memberships and key is None:
                ((key,),) = tx.rows("INSERT INTO collection_keys (id) VALUES (?) RETURNING key", [collection])
            self._write(tx, key, contributor, plan, known.seqs)
            return plan.results

        return self._engine.write(work)

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
            for oid, ver, dig, seq in tx.rows(f"SELECT id, version, digest, seq FROM versions WHERE {cond}", params):
                if oid not in wanted:  # another id whose key collides: not ours
                    continue
                known.digests[(oid, ver)] = dig
                known.seqs[(oid, ver)] = seq
                if not held or held[-1] != oid:
                    held.append(oid)
        # Only stored versions can be in the collection, or have made their id revoked: a batch of ids the
        # store does not hold (a bulk import) needs no more look-ups. A collection never seen holds nothing.
        by_seq = {seq: pair for pair, seq in known.seqs.items()}
        seqs = sorted(by_seq)
        for start in range(0, len(seqs) if key is not None else 0, _CHUNK):
            cond, params = tx.any_of("vseq", seqs[start : start + _CHUNK])
            members = tx.rows(
                f"SELECT vseq, date_added FROM memberships WHERE collection = ? AND {cond}", [key, *params]
            )
            for seq, date in members:
                known.members[by_seq[seq]] = date
        for start in range(0, len(held), _CHUNK):
            cond, params = tx.any_of("id", held[start : start + _CHUNK])
            for oid, ver in tx.rows(f"SELECT id, version FROM revoked WHERE {cond}", params):
                known.min_revoked[oid] = ver
        return known

    def _write(self, tx: Tx, key: int | None, contributor: str, plan: Plan, seqs: dict[tuple[str, int], int]) -> None:
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
                    )
                    for v in plan.versions
                    for r in (v.row,)
                ],
            )
        if plan.memberships:
            tx.insert_many(
                "memberships",
                _MEMBER_COLUMNS,
                [(m.date_added, key, m.vseq, m.type, int(m.is_first), int(m.is_last)) for m in plan.memberships],
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
                "versions v CROSS JOIN memberships m",
                ["m.vseq = v.seq", f"m.collection = {_COLLECTION_KEY}"],
                [collection],
            )
        return "memberships m JOIN versions v ON v.seq = m.vseq", [f"m.collection = {_COLLECTION_KEY}"], [collection]

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
        order = "DESC LIMIT 1" if newest_only else "ASC"
        sql = f"SELECT {date}, {_SELECT} FROM {source} WHERE {' AND '.join(where)} ORDER BY v.version {order}"
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
        after = check_query(query)
        sql, params = compile_query(query, after)
        rows = self._engine.read(lambda tx: tx.rows(sql, params))
        more = len(rows) > query.limit
        items = [_stored(r, query.collection) for r in rows[: query.limit]]
        return Page(items, more, encode_cursor(items[-1].date_added) if more else None)

    def is_revoked(self, object_id: str) -> bool:
        return bool(self._engine.read(lambda tx: tx.rows("SELECT 1 FROM revoked WHERE id = ?", [object_id])))

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

    def close(self) -> None:
        """The backend owns the connections; ``Backend.close`` releases them."""


def _in(column: str, values: Sequence[Any], where: list[str], params: list[object]) -> None:
    if len(values) == 1:
        where.append(f"{column} = ?")
    else:
        where.append(f"{column} IN ({placeholders(len(values))})")
    params.extend(values)


_LIKE = "v.marking_refs LIKE ? ESCAPE '\\'"


def _contains(marking: str) -> str:
    """A LIKE pattern matching the quoted id inside the JSON array, with LIKE's wildcards taken literally."""
    quoted = orjson.dumps(marking).decode()
    return "%" + quoted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _hide(hidden: Hidden, where: list[str], params: list[object]) -> None:
    """``marking_refs`` holds the JSON array of the version's marking ids: match each id with its quotes."""
    carries = [_contains(m) for m in hidden.markings]
    reasons = [_LIKE for _ in carries]
    if hidden.unmarked:
        levels = [_contains(m) for m in hidden.levels]
        reasons.append("NOT (" + " OR ".join(_LIKE for _ in levels) + ")" if levels else "1 = 1")
        carries += levels
    if not reasons:
        return
    where.append(f"(v.contributor = ? OR NOT ({' OR '.join(reasons)}))")
    params.append(hidden.contributor)
    params.extend(carries)


def compile_query(query: Query, after: int | None) -> tuple[str, list[object]]:
    """One SELECT for one page (limit + 1 rows, to learn whether there is more)."""
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
    if not query.include_revoked:
        where.append("NOT EXISTS (SELECT 1 FROM revoked r WHERE r.id = v.id)")
    if query.hidden is not None:
        _hide(query.hidden, where, params)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    params.append(min(query.limit + 1, INT64_MAX))  # limit may be INT64_MAX itself
    return f"SELECT {date}, {_SELECT} FROM {source}{clause} ORDER BY {date} LIMIT ?", params
