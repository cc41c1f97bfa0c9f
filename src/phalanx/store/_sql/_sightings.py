"""Sightings over SQL: the ``sightings`` table (migrations/*/0006_sightings.sql) and the one query that adds
them up per sighted object for a reader.

The tally reads, for each sighted id, its rows through the ``sightings_sighted`` index, each one's version by
primary key (it must be the latest of its id, and the id not revoked), and asks whether one of its memberships
in the collections the reader may read passes that collection's visibility: the same conditions a page of
objects compiles (``_objects._visible``), never a filter after fetching. Collections whose visibility is the
same (those of one community) share one condition. Everything is grouped by the sighted id in the database,
so one row per id comes back, however many sightings there are.
"""

from __future__ import annotations

__all__ = ["insert_sightings", "tally_sightings"]

from collections.abc import Iterable, Mapping, Sequence

from .._protocol import Visibility
from .._sightings import Sighted, SightingKind, SightingTally, Tally
from . import _objects  # the module: it imports this one, and is not finished when it does
from ._tx import Row, Tx, placeholders

_COLUMNS = ("vseq", "sighted", "org", "kind", "count", "first_seen", "last_seen")
_CHUNK = 500
_SEEN, _FALSE_POSITIVE, _EXPIRED = (k.code for k in SightingKind)


def insert_sightings(tx: Tx, rows: Iterable[tuple[int, str, Sighted]]) -> None:
    """Keep the facts of new sighting versions: ``(seq, contributing organization, facts)`` each."""
    values = [(seq, f.sighted, org, f.kind.code, f.count, f.first_seen, f.last_seen) for seq, org, f in rows]
    if values:
        tx.insert_many("sightings", _COLUMNS, values)


def _tally_columns(org_test: str) -> str:
    """The aggregate columns of one tally, over the rows that pass ``org_test`` too. Its placeholders (if any)
    appear ``_TESTS`` times."""
    seen, fp, expired = (f"g.kind = {_SEEN} AND {org_test}", f"g.kind = {_FALSE_POSITIVE} AND {org_test}",
                         f"g.kind = {_EXPIRED} AND {org_test}")
    return (f"count(DISTINCT CASE WHEN {seen} THEN g.org END), count(DISTINCT CASE WHEN {fp} THEN g.org END), "
            f"count(DISTINCT CASE WHEN {expired} THEN g.org END), sum(CASE WHEN {seen} THEN 1 ELSE 0 END), "
            f"sum(CASE WHEN {seen} THEN g.count ELSE 0 END), min(CASE WHEN {seen} THEN g.first_seen END), "
            f"max(CASE WHEN {seen} THEN g.last_seen END)")


_TESTS = 7


def _tally(values: Row) -> Tally:
    seen, fp, expired, sightings, count, first, last = values
    return Tally(int(seen), int(fp), int(expired), int(sightings or 0), int(count or 0),
                 None if first is None else int(first), None if last is None else int(last))


def tally_sightings(tx: Tx, sighted: Sequence[str], readable: Mapping[str, Visibility],
                    own: str | None) -> dict[str, SightingTally]:
    """``Store.sighting_tallies`` in one statement per 500 ids."""
    wanted = list(dict.fromkeys(sighted))
    tallies = {ref: SightingTally(ref, Tally(), Tally()) for ref in wanted}
    groups: dict[Visibility, list[str]] = {}  # collections with the same visibility share one condition
    for collection, seen in readable.items():
        groups.setdefault(seen, []).append(collection)
    if not wanted or not groups:
        return tallies
    scopes = {}
    for seen in groups:
        scopes.update(_objects._scope_keys(tx, seen))
    visible: list[str] = []
    visible_params: list[object] = []
    for seen, collections in groups.items():
        parts = [f"m.collection IN (SELECT key FROM collection_keys WHERE id IN ({placeholders(len(collections))}))"]
        visible_params.extend(collections)
        _objects._visible(seen, scopes, parts, visible_params)
        visible.append("(" + " AND ".join(parts) + ")")
    mine, mine_params = ("g.org = ?", [own] * _TESTS) if own is not None else ("1 = 0", [])
    for start in range(0, len(wanted), _CHUNK):
        cond, refs = tx.any_of("g.sighted", wanted[start : start + _CHUNK])
        sql = (f"SELECT g.sighted, {_tally_columns('1 = 1')}, {_tally_columns(mine)} "
               "FROM sightings g CROSS JOIN versions v "
               f"WHERE {cond} AND v.seq = g.vseq AND v.is_last = 1 "
               "AND NOT EXISTS (SELECT 1 FROM revoked r WHERE r.id = v.id) "
               f"AND EXISTS (SELECT 1 FROM memberships m WHERE m.vseq = v.seq AND ({' OR '.join(visible)})) "
               "GROUP BY g.sighted")
        for row in tx.rows(sql, [*mine_params, *refs, *visible_params]):
            tallies[row[0]] = SightingTally(row[0], _tally(row[1:8]), _tally(row[8:15]))
    return tallies
