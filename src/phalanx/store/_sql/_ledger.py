"""The ledger's storage over SQL (SQLite and PostgreSQL): the tables of migration 0003."""

from __future__ import annotations

__all__ = ["SqlLedgerStorage"]

from collections.abc import Sequence

from ...errors import Conflict, KeyNotValid, NotFound, StoreError
from ...stix import now_micros
from .._ledger import Appended, StoredCheckpoint, WitnessedLog
from ._objects import id_key
from ._tx import Engine, Tx


class SqlLedgerStorage:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def state(self) -> tuple[int, int]:
        def work(tx: Tx) -> tuple[int, int]:
            rows = tx.rows("SELECT size, cursor FROM ledger_state WHERE id = 1")
            if not rows:
                raise StoreError("the ledger_state row is missing", hint="Restore the database from a backup.")
            return int(rows[0][0]), int(rows[0][1])

        return self._engine.read(work)

    def append(self, expected_size: int, entries: Sequence[Appended], tiles: dict[int, bytes], *,
               cursor: int | None = None, keys: Sequence[tuple[str, str, str, bytes | None]] = ()) -> None:
        def work(tx: Tx) -> None:
            # The state row is the sequencer's lock: whoever updates it first wins, the other gets Conflict.
            changed = tx.run(
                "UPDATE ledger_state SET size = ?, cursor = CASE WHEN ? THEN ? ELSE cursor END "
                "WHERE id = 1 AND size = ?",
                [expected_size + len(entries), cursor is not None, cursor or 0, expected_size],
            )
            if not changed:
                raise Conflict(f"the ledger does not have {expected_size} entries: another sequencer appended first")
            if entries:
                tx.insert_many("ledger_entries", ("idx", "object_key", "data"), [
                    (expected_size + i, id_key(e.object_id) if e.object_id else 0, e.data)
                    for i, e in enumerate(entries)
                ])
            if tiles:
                tx.run_many("INSERT INTO ledger_tiles (key, hashes) VALUES (?, ?) "
                            "ON CONFLICT (key) DO UPDATE SET hashes = excluded.hashes", list(tiles.items()))
            for key_id, org, record, private in keys:
                # A key stays its organization's: an update for another one changes nothing, and is refused.
                if not tx.run("INSERT INTO signing_keys (key_id, org, record, private, seq) VALUES (?, ?, ?, ?, ?) "
                              "ON CONFLICT (key_id) DO UPDATE SET record = excluded.record, "
                              "private = COALESCE(excluded.private, signing_keys.private) "
                              "WHERE signing_keys.org = excluded.org",
                              [key_id, org, record, private, now_micros()]):
                    raise KeyNotValid(f"key {key_id} is published for another organization")

        self._engine.write(work)

    def tiles(self, keys: list[int]) -> dict[int, bytes]:
        def work(tx: Tx) -> dict[int, bytes]:
            cond, params = tx.any_of("key", keys)
            return {int(k): bytes(h) for k, h in tx.rows(f"SELECT key, hashes FROM ledger_tiles WHERE {cond}", params)}

        return self._engine.read(work) if keys else {}

    def entries(self, start: int, end: int) -> list[bytes]:
        def work(tx: Tx) -> list[bytes]:
            return [bytes(d) for (d,) in tx.rows(
                "SELECT data FROM ledger_entries WHERE idx >= ? AND idx < ? ORDER BY idx", [start, end])]

        return self._engine.read(work)

    def find(self, object_id: str) -> list[tuple[int, bytes]]:
        def work(tx: Tx) -> list[tuple[int, bytes]]:
            # "<> 0" repeats the partial index's condition: SQLite uses the index only when the query implies it.
            return [(int(i), bytes(d)) for i, d in tx.rows(
                "SELECT idx, data FROM ledger_entries WHERE object_key = ? AND object_key <> 0 ORDER BY idx",
                [id_key(object_id)])]

        return self._engine.read(work)

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        def work(tx: Tx) -> StoredCheckpoint | None:
            rows = tx.rows("SELECT c.size, c.note, c.created FROM ledger_latest l "
                           "JOIN ledger_checkpoints c ON c.size = l.size WHERE l.id = 1")
            return StoredCheckpoint(int(rows[0][0]), rows[0][1], int(rows[0][2])) if rows else None

        return self._engine.read(work)

    def checkpoint(self, size: int) -> StoredCheckpoint:
        def work(tx: Tx) -> StoredCheckpoint:
            rows = tx.rows("SELECT size, note, created FROM ledger_checkpoints WHERE size = ?", [size])
            if not rows:
                raise NotFound(f"the log signed no checkpoint of size {size}")
            return StoredCheckpoint(int(rows[0][0]), rows[0][1], int(rows[0][2]))

        return self._engine.read(work)

    def checkpoint_before(self, size: int) -> StoredCheckpoint | None:
        def work(tx: Tx) -> StoredCheckpoint | None:
            rows = tx.rows("SELECT size, note, created FROM ledger_checkpoints WHERE size < ? "
                           "ORDER BY size DESC LIMIT 1", [size])
            return StoredCheckpoint(int(rows[0][0]), rows[0][1], int(rows[0][2])) if rows else None

        return self._engine.read(work)

    def add_checkpoint(self, checkpoint: StoredCheckpoint, *, previous: int | None) -> None:
        def work(tx: Tx) -> None:
            guard = "size IS NULL" if previous is None else "size = ?"
            if not tx.run(f"UPDATE ledger_latest SET size = ? WHERE id = 1 AND {guard}",
                          [checkpoint.size] + ([] if previous is None else [previous])):
                raise Conflict(f"the latest checkpoint is no longer of size {previous}")
            if tx.rows("SELECT 1 FROM ledger_checkpoints WHERE size = ?", [checkpoint.size]):
                raise Conflict(f"a checkpoint of size {checkpoint.size} was signed already")
            tx.run("INSERT INTO ledger_checkpoints (size, note, created) VALUES (?, ?, ?)",
                   [checkpoint.size, checkpoint.note, checkpoint.created])

        self._engine.write(work)

    def add_cosignature(self, size: int, witness: str, line: str) -> None:
        self._engine.write(lambda tx: tx.run(
            "INSERT INTO ledger_cosignatures (size, witness, line) VALUES (?, ?, ?) "
            "ON CONFLICT (size, witness) DO UPDATE SET line = excluded.line", [size, witness, line]))

    def cosignatures(self, size: int) -> list[str]:
        return self._engine.read(lambda tx: [line for (line,) in tx.rows(
            "SELECT line FROM ledger_cosignatures WHERE size = ? ORDER BY witness", [size])])

    def key(self, key_id: str) -> tuple[str, bytes | None]:
        def work(tx: Tx) -> tuple[str, bytes | None]:
            rows = tx.rows("SELECT record, private FROM signing_keys WHERE key_id = ?", [key_id])
            if not rows:
                raise NotFound(f"no signing key {key_id}")
            record, private = rows[0]
            return record, None if private is None else bytes(private)

        return self._engine.read(work)

    def keys(self, org: str | None = None) -> list[tuple[str, str]]:
        def work(tx: Tx) -> list[tuple[str, str]]:
            if org is None:
                return [(k, r) for k, r in tx.rows("SELECT key_id, record FROM signing_keys ORDER BY seq, key_id")]
            return [(k, r) for k, r in tx.rows(
                "SELECT key_id, record FROM signing_keys WHERE org = ? ORDER BY seq, key_id", [org])]

        return self._engine.read(work)

    def node_key(self) -> tuple[str, str] | None:
        def work(tx: Tx) -> tuple[str, str] | None:
            rows = tx.rows("SELECT signer, verifier FROM node_keys WHERE id = 1")
            return (rows[0][0], rows[0][1]) if rows else None

        return self._engine.read(work)

    def set_node_key(self, signer: str, verifier: str) -> None:
        def work(tx: Tx) -> None:
            if tx.rows("SELECT 1 FROM node_keys WHERE id = 1"):
                raise Conflict("the node has a ledger key already")
            tx.run("INSERT INTO node_keys (id, signer, verifier) VALUES (1, ?, ?)", [signer, verifier])

        self._engine.write(work)

    def witnesses(self) -> list[tuple[str, str, str, int]]:
        return self._engine.read(lambda tx: [(n, u, v, int(s)) for n, u, v, s in tx.rows(
            "SELECT name, url, vkey, size FROM ledger_witnesses ORDER BY name")])

    def set_witness(self, name: str, url: str, vkey: str) -> None:
        self._engine.write(lambda tx: tx.run(
            "INSERT INTO ledger_witnesses (name, url, vkey, size) VALUES (?, ?, ?, 0) "
            "ON CONFLICT (name) DO UPDATE SET url = excluded.url, vkey = excluded.vkey, size = 0", [name, url, vkey]))

    def remove_witness(self, name: str) -> None:
        if not self._engine.write(lambda tx: tx.run("DELETE FROM ledger_witnesses WHERE name = ?", [name])):
            raise NotFound(f"no witness {name!r}")

    def witness_progress(self, name: str, size: int) -> None:
        self._engine.write(lambda tx: tx.run("UPDATE ledger_witnesses SET size = ? WHERE name = ?", [size, name]))

    def witnessed(self, origin: str) -> WitnessedLog:
        def work(tx: Tx) -> WitnessedLog:
            rows = tx.rows("SELECT origin, vkey, size, root, note FROM witnessed_logs WHERE origin = ?", [origin])
            if not rows:
                raise NotFound(f"this node does not witness the log {origin!r}")
            o, v, s, r, n = rows[0]
            return WitnessedLog(o, v, int(s), bytes(r), n)

        return self._engine.read(work)

    def witnessed_logs(self) -> list[WitnessedLog]:
        return self._engine.read(lambda tx: [WitnessedLog(o, v, int(s), bytes(r), n) for o, v, s, r, n in tx.rows(
            "SELECT origin, vkey, size, root, note FROM witnessed_logs ORDER BY origin")])

    def set_witnessed(self, log: WitnessedLog, *, previous_size: int | None) -> None:
        def work(tx: Tx) -> None:
            if previous_size is None:
                if tx.rows("SELECT 1 FROM witnessed_logs WHERE origin = ?", [log.origin]):
                    raise Conflict(f"this node witnesses {log.origin!r} already")
                tx.run("INSERT INTO witnessed_logs (origin, vkey, size, root, note) VALUES (?, ?, ?, ?, ?)",
                       [log.origin, log.vkey, log.size, log.root, log.note])
            elif not tx.run("UPDATE witnessed_logs SET vkey = ?, size = ?, root = ?, note = ? "
                            "WHERE origin = ? AND size = ?",
                            [log.vkey, log.size, log.root, log.note, log.origin, previous_size]):
                raise Conflict(f"the witnessed state of {log.origin!r} changed meanwhile")

        self._engine.write(work)
