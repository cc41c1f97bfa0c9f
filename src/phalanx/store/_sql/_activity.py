"""``Store.activity`` over SQL: ``phalanx.store._activity.compute`` asking, in one read, the statements below.

The reader's collections and what it sees in each compile into one condition on a membership ``m`` and its
version ``v`` (as a page of objects compiles it, ``_objects._visible``; collections with the same visibility and
served types share one part), and every statement that reads a membership puts it there. Nothing is filtered
after fetching.

- ``newest``: the newest ``limit`` visible memberships of the window, read collection by collection through
  ``memberships_added`` (collection, date_added) backwards, each stopping after ``limit`` rows, then the newest
  ``limit`` of those: the one statement whose cost grows with ``limit`` (a membership row and a version row each).
- ``seen_before``: one visible membership older than those, if any (the first one found).
- ``sightings`` and ``keys``: the counted versions' rows in ``sightings`` and ``observables``, and which counted
  ids are ``revoked``, by primary key.
- ``reported_before``: for the values two organizations carry (or an object sighted carries), one probe each
  through ``observables_key`` for a visible reporting version that entered before the counted ones.

Only the first reads the window; the others look up what it found, by key, in statements of up to ``_CHUNK``
values. Grouping is ``compute``'s, the same for every backend.
"""

from __future__ import annotations

__all__ = ["find_activity"]

from collections.abc import Collection, Mapping, Sequence

from .._activity import REF_PREFIX, Activity, Counted, check_window, compute
from .._protocol import Visibility
from .._sightings import SightingKind
from . import _objects  # the module: it imports this one, and is not finished when it does
from ._correlation import key_hash
from ._tx import Tx, placeholders

_SEEN = SightingKind.SEEN.code
_CHUNK = 500
"""Values per look-up statement: with many more, PostgreSQL's planner takes a parallel scan of the whole table
for ``= ANY(array)`` over a primary key."""


class _Readable:
    """The reader's collections as SQL: one condition on ``m`` and ``v`` for all of them, and one per collection.

    Collections are named by their keys, looked up first (a collection the store has no key for holds nothing):
    so PostgreSQL plans each read knowing which collection it reads, and takes ``memberships_added`` for a small
    one rather than walking every collection's dates."""

    def __init__(self, tx: Tx, readable: Mapping[str, Visibility], types: Mapping[str, tuple[str, ...]] | None
                 ) -> None:
        ids, id_params = tx.any_of("id", sorted(readable))
        self.keys = {str(cid): int(key) for cid, key in
                     tx.rows(f"SELECT id, key FROM collection_keys WHERE {ids}", id_params)}
        self._readable = readable
        self._types = types or {}
        self._scopes: _objects.ScopeKeys = {}
        for seen in set(readable.values()):
            self._scopes.update(_objects._scope_keys(tx, seen))
        groups: dict[tuple[Visibility, tuple[str, ...]], list[int]] = {}
        for collection, key in sorted(self.keys.items()):
            groups.setdefault((readable[collection], self._served(collection)), []).append(key)
        parts: list[str] = []
        self.params: list[object] = list(self.keys.values())
        for (seen, served), keys in groups.items():
            parts.append(self._condition(seen, served, keys, self.params))
        self.sql = (f"m.collection IN ({placeholders(len(self.keys))}) AND ({' OR '.join(parts)})" if self.keys
                    else "1 = 0")

    def _served(self, collection: str) -> tuple[str, ...]:
        return tuple(sorted(set(self._types.get(collection, ()))))

    def _condition(self, seen: Visibility, served: tuple[str, ...], keys: list[int], params: list[object]) -> str:
        where = [f"m.collection IN ({placeholders(len(keys))})"]
        params.extend(keys)
        if served:
            where.append(f"v.type IN ({placeholders(len(served))})")
            params.extend(served)
        _objects._visible(seen, self._scopes, where, params)
        return "(" + " AND ".join(where) + ")"

    def one(self, collection: str) -> tuple[str, list[object]]:
        """The condition for one collection the store has a key for."""
        params: list[object] = []
        return self._condition(self._readable[collection], self._served(collection), [self.keys[collection]],
                               params), params


class _SqlActivity:
    """``ActivitySource`` over SQL, in one read."""

    def __init__(self, tx: Tx, seen: _Readable, since: int, until: int) -> None:
        self._tx, self._seen, self._since, self._until = tx, seen, since, until

    def newest(self, limit: int) -> list[Counted]:
        parts: list[str] = []
        params: list[object] = []
        if not self._seen.keys:
            return []
        for collection in sorted(self._seen.keys):
            cond, cond_params = self._seen.one(collection)
            parts.append("SELECT * FROM (SELECT m.date_added AS at, v.seq AS seq, v.id AS id, v.version AS version, "
                         "v.type AS type, v.contributor AS contributor, v.is_last AS is_last "
                         "FROM memberships m CROSS JOIN versions v "
                         f"WHERE m.date_added >= ? AND m.date_added < ? AND v.seq = m.vseq AND {cond} "
                         "ORDER BY m.date_added DESC LIMIT ?) c")
            params += [self._since, self._until, *cond_params, limit]
        rows = self._tx.rows("SELECT at, seq, id, version, type, contributor, is_last "
                             f"FROM ({' UNION ALL '.join(parts)}) u ORDER BY at DESC LIMIT ?", [*params, limit])
        return [Counted(at, seq, oid, ver, kind, by, last == 1) for at, seq, oid, ver, kind, by, last in rows]

    def seen_before(self, before: int) -> bool:
        return bool(self._tx.rows(
            "SELECT 1 FROM memberships m CROSS JOIN versions v "
            f"WHERE m.date_added >= ? AND m.date_added < ? AND v.seq = m.vseq AND {self._seen.sql} LIMIT 1",
            [self._since, before, *self._seen.params]))

    def sightings(self, counted: Sequence[Counted]) -> dict[int, tuple[str, str]]:
        found: dict[int, tuple[str, str]] = {}
        for start in range(0, len(counted), _CHUNK):
            chunk = counted[start : start + _CHUNK]
            seqs, seq_params = self._tx.any_of("vseq", [r.seq for r in chunk])
            facts = self._tx.rows(f"SELECT vseq, sighted, org FROM sightings WHERE {seqs} AND kind = {_SEEN}",
                                  seq_params)
            ids, id_params = self._tx.any_of("id", sorted({r.id for r in chunk}))
            revoked = {str(i) for (i,) in self._tx.rows(f"SELECT id FROM revoked WHERE {ids}", id_params)}
            by_seq = {r.seq: r for r in chunk}
            found.update((int(seq), (str(sighted), str(org))) for seq, sighted, org in facts
                         if by_seq[int(seq)].id not in revoked)
        return found

    def keys(self, counted: Sequence[Counted]) -> dict[int, list[str]]:
        found: dict[int, list[str]] = {}
        for start in range(0, len(counted), _CHUNK):
            seqs, params = self._tx.any_of("vseq", [r.seq for r in counted[start : start + _CHUNK]])
            for seq, key in self._tx.rows(f"SELECT vseq, key FROM observables WHERE {seqs} "
                                          f"AND substr(key, 1, {len(REF_PREFIX)}) <> ?", [*params, REF_PREFIX]):
                found.setdefault(seq, []).append(key)
        return found

    def reported_before(self, keys: Collection[str], before: int, reporting: tuple[str, ...]) -> set[str]:
        """One probe per value: its versions through ``observables_key`` (those stored from ``before`` on are left
        out there: a version is stored no later than it enters a collection), then each one's memberships through
        ``memberships_key`` (``+ 0`` keeps the dates off the primary key)."""
        wanted = sorted(keys)
        found: set[str] = set()
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            asked = set(chunk)
            hashes, hash_params = self._tx.any_of("o.key_hash", sorted({key_hash(k) for k in chunk}))
            rows = self._tx.rows(
                "SELECT DISTINCT o.key FROM observables o CROSS JOIN versions v CROSS JOIN memberships m "
                f"WHERE {hashes} AND o.vseq < ? AND v.seq = o.vseq AND v.type IN ({placeholders(len(reporting))}) "
                f"AND m.vseq = v.seq AND m.date_added + 0 < ? AND {self._seen.sql}",
                [*hash_params, before, *reporting, before, *self._seen.params])
            found.update(str(k) for (k,) in rows if k in asked)
        return found


def find_activity(tx: Tx, readable: Mapping[str, Visibility], since: int, until: int, limit: int,
                  reporting: tuple[str, ...], types: Mapping[str, tuple[str, ...]] | None) -> Activity:
    """``Store.activity``."""
    check_window(since, until, limit)
    if not readable or since == until:
        return Activity(0, since, True, (), (), ())
    return compute(_SqlActivity(tx, _Readable(tx, readable, types), since, until), since=since, limit=limit,
                   reporting=reporting)
