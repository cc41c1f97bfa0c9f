"""Status records over SQL: ``statuses`` (one row per request) and ``status_entries`` (one per object)."""

from __future__ import annotations

__all__ = ["SqlStatuses"]

from collections.abc import Sequence

from ...errors import Conflict, NotFound
from .._statuses import StatusEntry, StatusOutcome, StatusRecord
from ._tx import Engine, Tx

_ENTRY_COLUMNS = ("status", "position", "object_id", "version", "outcome", "message")


class SqlStatuses:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(self, record: StatusRecord) -> None:
        def work(tx: Tx) -> None:
            if tx.rows("SELECT 1 FROM statuses WHERE id = ?", [record.id]):
                raise Conflict(f"status {record.id} exists")
            tx.run("INSERT INTO statuses (id, owner, collection, created, updated) VALUES (?, ?, ?, ?, ?)",
                   [record.id, record.owner, record.collection, record.created, record.updated])
            tx.insert_many("status_entries", _ENTRY_COLUMNS, [
                (record.id, position, e.object_id, e.version, e.outcome.value, e.message)
                for position, e in enumerate(record.entries)
            ])

        self._engine.write(work)

    def settle(self, status_id: str, entries: Sequence[tuple[int, StatusEntry]], *, now: int) -> None:
        def work(tx: Tx) -> None:
            if not tx.run("UPDATE statuses SET updated = ? WHERE id = ?", [now, status_id]):
                raise NotFound(f"no status {status_id}")
            tx.run_many(
                "UPDATE status_entries SET object_id = ?, version = ?, outcome = ?, message = ? "
                "WHERE status = ? AND position = ?",
                [(e.object_id, e.version, e.outcome.value, e.message, status_id, position) for position, e in entries],
            )

        self._engine.write(work)

    def get(self, status_id: str) -> StatusRecord:
        def work(tx: Tx) -> StatusRecord:
            found = tx.rows("SELECT id, owner, collection, created, updated FROM statuses WHERE id = ?", [status_id])
            if not found:
                raise NotFound(f"no status {status_id}")
            ((sid, owner, collection, created, updated),) = found
            entries = tx.rows("SELECT object_id, version, outcome, message FROM status_entries WHERE status = ? "
                              "ORDER BY position", [status_id])
            return StatusRecord(sid, owner, collection, int(created), int(updated), tuple(
                StatusEntry(oid, ver, StatusOutcome(int(outcome)), message) for oid, ver, outcome, message in entries
            ))

        return self._engine.read(work)

    def prune(self, before: int) -> int:
        def work(tx: Tx) -> int:
            old = [sid for (sid,) in tx.rows("SELECT id FROM statuses WHERE created < ?", [before])]
            for start in range(0, len(old), 500):
                cond, params = tx.any_of("status", old[start : start + 500])
                tx.run(f"DELETE FROM status_entries WHERE {cond}", params)
                cond, params = tx.any_of("id", old[start : start + 500])
                tx.run(f"DELETE FROM statuses WHERE {cond}", params)
            return len(old)

        return self._engine.write(work)
