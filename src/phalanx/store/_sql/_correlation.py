"""Correlation keys over SQL: the ``observables`` table (migrations/*/0007_observables.sql) and the queries that
find the objects carrying a key for one reader.

Each row is (``vseq``, ``key_hash``, ``key``): a version (its id, contributor, level and revocation live in
``versions``) and one key it carries. Lookups go through ``observables_key`` (64 bits of a hash of the key: a
narrow index, as ``versions_id_key``; the key itself is compared too), then the version by primary key, then its
memberships through ``memberships_key`` (vseq, collection). A version counts only when one of its memberships in
the reader's collections passes that collection's visibility: the conditions a page of objects compiles
(``_objects._visible``), never a filter after fetching. Collections with the same visibility share one
condition; everything is grouped in the database.
"""

from __future__ import annotations

__all__ = [
    "delete_keys",
    "find_carriers",
    "find_reporters",
    "insert_keys",
    "key_hash",
    "replace_keys",
    "stored_keys",
]

import hashlib
from collections.abc import Mapping, Sequence

from .._correlation import check_keys
from .._plan import VersionInsert
from .._protocol import Carrier, Reporter, Visibility, is_int64
from . import _objects  # a module: _objects imports this one, and is not finished when it does
from ._readable import readable_condition
from ._tx import Tx


def key_hash(key: str) -> int:
    """The first 64 bits (signed) of BLAKE2b of a correlation key: what ``observables_key`` is keyed by."""
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest(),
                          "big", signed=True)


def _hashed(keys: Sequence[str]) -> dict[int, str]:
    """Each key by its hash: one row per (version, hash), the first key of a (vanishingly rare) collision kept."""
    found: dict[int, str] = {}
    for key in keys:
        found.setdefault(key_hash(key), key)
    return found


def insert_keys(tx: Tx, versions: Sequence[VersionInsert]) -> None:
    """Index the correlation keys of new versions."""
    values = [(v.seq, h, k) for v in versions for h, k in _hashed(v.row.correlation_keys).items()]
    if values:
        tx.insert_many("observables", ("vseq", "key_hash", "key"), values)


def delete_keys(tx: Tx, seqs: Sequence[int]) -> None:
    """Forget the keys of versions removed from the store."""
    if seqs:
        cond, params = tx.any_of("vseq", list(seqs))
        tx.run(f"DELETE FROM observables WHERE {cond}", params)


def replace_keys(tx: Tx, keyed: Sequence[tuple[str, int, tuple[str, ...]]]) -> int:
    """``Store.set_keys``: the versions' seqs by id (500 ids a statement), then their keys replaced."""
    wanted: dict[tuple[str, int], tuple[str, ...]] = {}
    for oid, ver, keys in keyed:
        if is_int64(ver):
            wanted[(oid, ver)] = tuple(keys)
    ids = sorted({oid for oid, _ in wanted})
    seqs: dict[tuple[str, int], int] = {}
    for start in range(0, len(ids), 500):
        chunk = set(ids[start : start + 500])
        cond, params = tx.any_of("id_key", sorted({_objects.id_key(i) for i in chunk}))
        for seq, oid, ver in tx.rows(f"SELECT seq, id, version FROM versions WHERE {cond}", params):
            if (oid, ver) in wanted:
                seqs[(oid, ver)] = int(seq)
    found = sorted(seqs.values())
    for start in range(0, len(found), 500):
        delete_keys(tx, found[start : start + 500])
    values = [(seq, h, k) for pair, seq in seqs.items() for h, k in _hashed(wanted[pair]).items()]
    if values:
        tx.insert_many("observables", ("vseq", "key_hash", "key"), values)
    return len(seqs)


def stored_keys(tx: Tx, object_id: str, version: int) -> tuple[str, ...]:
    rows = tx.rows("SELECT DISTINCT o.key FROM versions v CROSS JOIN observables o "
                   "WHERE v.id_key = ? AND v.id = ? AND v.version = ? AND o.vseq = v.seq",
                   [_objects.id_key(object_id), object_id, version])
    return tuple(sorted(str(k) for (k,) in rows))


def _carried(tx: Tx, keys: list[str], readable: Mapping[str, Visibility],
             types: Mapping[str, tuple[str, ...]] | None) -> tuple[str, list[object]] | None:
    """A SELECT of (key, id, type, contributor, version, revoked, first): each version carrying a key, once per
    membership in the reader's collections where the reader sees it (``first``: that membership's date)."""
    condition = readable_condition(tx, readable, types) if keys else None
    if condition is None:
        return None
    visible, params = condition
    hashes, hash_params = tx.any_of("o.key_hash", sorted({key_hash(k) for k in keys}))
    texts, text_params = tx.any_of("o.key", keys)
    sql = ("SELECT o.key AS key, v.id AS id, v.type AS type, v.contributor AS contributor, v.version AS version, "
           "v.revoked AS revoked, m.date_added AS first "
           "FROM observables o CROSS JOIN versions v CROSS JOIN memberships m "
           f"WHERE {hashes} AND {texts} AND v.seq = o.vseq AND m.vseq = v.seq AND {visible}")
    return sql, [*hash_params, *text_params, *params]


def find_carriers(tx: Tx, keys: Sequence[str], readable: Mapping[str, Visibility], limit: int,
                  types: Mapping[str, tuple[str, ...]] | None, collate: str) -> list[Carrier]:
    """``Store.carriers`` in one statement."""
    carried = _carried(tx, check_keys(keys, limit), readable, types)
    if carried is None:
        return []
    sql, params = carried
    rows = tx.rows(f"SELECT key, id, min(type), contributor, min(first), max(version), max(revoked) FROM ({sql}) c "
                   "GROUP BY key, id, contributor "
                   f"ORDER BY 5, id{collate}, key{collate}, contributor{collate} LIMIT ?", [*params, limit])
    return [Carrier(str(k), str(i), str(t), str(by), int(first), int(ver), bool(rev))
            for k, i, t, by, first, ver, rev in rows]


def find_reporters(tx: Tx, keys: Sequence[str], readable: Mapping[str, Visibility],
                   types: Mapping[str, tuple[str, ...]] | None, collate: str) -> list[Reporter]:
    """``Store.reporters`` in one statement: per object first, then per organization."""
    carried = _carried(tx, check_keys(keys), readable, types)
    if carried is None:
        return []
    sql, params = carried
    rows = tx.rows("SELECT key, contributor, count(*), min(first) FROM ("
                   f"SELECT key, id, contributor, min(first) AS first, max(revoked) AS revoked FROM ({sql}) c "
                   "GROUP BY key, id, contributor) g "
                   f"WHERE revoked = 0 GROUP BY key, contributor ORDER BY key{collate}, 4, contributor{collate}",
                   params)
    return [Reporter(str(k), str(by), int(n), int(first)) for k, by, n, first in rows]
