"""The object store over SQL: put_many writes a ``Plan``; queries compile to one SELECT with parameters.

Tables (see migrations/*/0001_initial.sql):
  versions     one row per (id, version); ``seq`` = the date_added when first stored (unique, ordered);
               ``is_first``/``is_last`` mark the oldest/newest version of the id store-wide.
  memberships  one row per (collection, id, version); ``date_added`` unique across the store; type and
               spec_version copied from the version; ``is_first``/``is_last`` within the collection.
  revoked      id -> oldest revoked version.
"""

from __future__ import annotations

__all__ = ["SqlStore"]

from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from ...errors import NotFound
from .._cursor import check_query, encode_cursor
from .._plan import Known, Plan, check_rows, make_plan
from .._protocol import (
    INT64_MAX,
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
_VERSION_COLUMNS = (
    "seq",
    "id",
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
_MEMBER_COLUMNS = (
    "date_added",
    "collection",
    "id",
    "version",
    "vseq",
    "type",
    "spec_version",
    "is_first",
    "is_last",
)
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
            tx.serialize_writers()
            plan = make_plan(batch, self._known(tx, collection, batch), tx.allocate)
            self._write(tx, collection, contributor, plan)
            return plan.results

        return self._engine.write(work)

    def _known(self, tx: Tx, collection: str, batch: Sequence[VersionRow]) -> Known:
        known = Known()
        ids = sorted({row.id for row in batch})
        for start in range(0, len(ids), _CHUNK):
            cond, params = tx.any_of("id", ids[start : start + _CHUNK])
            for oid, ver, dig, seq in tx.rows(f"SELECT id, version, digest, seq FROM versions WHERE {cond}", params):
                known.digests[(oid, ver)] = dig
                known.seqs[(oid, ver)] = seq
            for oid, ver, date in tx.rows(
                f"SELECT id, version, date_added FROM memberships WHERE collection = ? AND {cond}",
                [collection, *params],
            ):
                known.members[(oid, ver)] = date
            for oid, ver in tx.rows(f"SELECT id, version FROM revoked WHERE {cond}", params):
                known.min_revoked[oid] = ver
        return known

    def _write(self, tx: Tx, collection: str, contributor: str, plan: Plan) -> None:
        for flag, pairs in (("is_first", plan.clear_version_first), ("is_last", plan.clear_version_last)):
            if pairs:
                tx.run_many(f"UPDATE versions SET {flag} = 0 WHERE id = ? AND version = ?", pairs)
        for flag, pairs in (("is_first", plan.clear_member_first), ("is_last", plan.clear_member_last)):
            if pairs:
                tx.run_many(
                    f"UPDATE memberships SET {flag} = 0 WHERE collection = ? AND id = ? AND version = ?",
                    [(collection, oid, ver) for oid, ver in pairs],
                )
        if plan.versions:
            tx.insert_many(
                "versions",
                _VERSION_COLUMNS,
                [
                    (
                        v.seq,
                        v.row.id,
                        v.row.version,
                        v.row.type,
                        v.row.spec_version,
                        v.row.created,
                        int(v.row.revoked),
                        v.row.canonical,
                        v.row.digest,
                        _refs(v.row.marking_refs),
                        v.row.created_by_ref,
                        contributor,
                        int(v.is_first),
                        int(v.is_last),
                    )
                    for v in plan.versions
                ],
            )
        if plan.memberships:
            tx.insert_many(
                "memberships",
                _MEMBER_COLUMNS,
                [
                    (
                        m.date_added,
                        collection,
                        m.id,
                        m.version,
                        m.vseq,
                        m.type,
                        m.spec_version,
                        int(m.is_first),
                        int(m.is_last),
                    )
                    for m in plan.memberships
                ],
            )
        if plan.revoked:
            tx.run_many("DELETE FROM revoked WHERE id = ?", [(oid,) for oid in plan.revoked])
            tx.insert_many("revoked", ("id", "version"), list(plan.revoked.items()))

    # reading ------------------------------------------------------------------------------------------

    @staticmethod
    def _source(collection: str | None) -> tuple[str, str, list[object]]:
        """FROM clause, the alias carrying the filter columns, and the base parameters."""
        if collection is None:
            return "versions v", "v", []
        return "memberships m JOIN versions v ON v.seq = m.vseq", "m", [collection]

    def _fetch(
        self, object_id: str, version: int | None, collection: str | None, newest_only: bool
    ) -> list[StoredVersion]:
        source, a, params = self._source(collection)
        where = [f"{a}.id = ?"]
        if collection is not None:
            where.insert(0, "m.collection = ?")
        params.append(object_id)
        if version is not None:
            where.append(f"{a}.version = ?")
            params.append(version)
        date = "v.seq" if collection is None else "m.date_added"
        order = "DESC LIMIT 1" if newest_only else "ASC"
        sql = f"SELECT {date}, {_SELECT} FROM {source} WHERE {' AND '.join(where)} ORDER BY {a}.version {order}"
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
            collections = tx.rows("SELECT collection, count(*) FROM memberships GROUP BY collection")
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


def compile_query(query: Query, after: int | None) -> tuple[str, list[object]]:
    """One SELECT for one page (limit + 1 rows, to learn whether there is more)."""
    source, a, params = SqlStore._source(query.collection)
    date = "v.seq" if query.collection is None else "m.date_added"
    where: list[str] = [] if query.collection is None else ["m.collection = ?"]
    if query.ids:
        _in(f"{a}.id", sorted(set(query.ids)), where, params)
    if query.types:
        _in(f"{a}.type", sorted(set(query.types)), where, params)
    if query.spec_versions:
        _in(f"{a}.spec_version", sorted(set(query.spec_versions)), where, params)
    if query.versions and VersionFilter.ALL not in query.versions:
        alternatives: list[str] = []
        if VersionFilter.FIRST in query.versions:
            alternatives.append(f"{a}.is_first = 1")
        if VersionFilter.LAST in query.versions:
            alternatives.append(f"{a}.is_last = 1")
        exact = sorted({v for v in query.versions if not isinstance(v, VersionFilter)})
        if exact:
            extra: list[str] = []
            _in(f"{a}.version", exact, extra, params)
            alternatives.extend(extra)
        where.append(alternatives[0] if len(alternatives) == 1 else "(" + " OR ".join(alternatives) + ")")
    if after is not None:
        where.append(f"{date} > ?")
        params.append(after)
    if not query.include_revoked:
        where.append(f"NOT EXISTS (SELECT 1 FROM revoked r WHERE r.id = {a}.id)")
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    params.append(min(query.limit + 1, INT64_MAX))  # limit may be INT64_MAX itself
    return f"SELECT {date}, {_SELECT} FROM {source}{clause} ORDER BY {date} LIMIT ?", params
