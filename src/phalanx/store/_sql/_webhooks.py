"""Webhooks over SQL: ``webhooks`` (settings as JSON, the cursor, the lease), ``webhook_batches`` (the pending
batch and the dead letters) and ``webhook_deliveries`` (the log)."""

from __future__ import annotations

__all__ = ["SqlWebhooks"]

from typing import Any

import orjson

from ...errors import Conflict
from .._webhooks import (
    KEEP_DEAD_LETTERS,
    KEEP_DELIVERIES,
    Attempt,
    Batch,
    Outcome,
    WebhookRecord,
    WebhookState,
    no_dead_letter,
    no_webhook,
)
from ._lease import claim
from ._tx import Engine, Row, Tx

_BATCH = ("delivery, through, events, first_event, last_event, body, created, attempts, next_attempt, updated, "
          "last_error")
_ATTEMPT = "at, delivery, attempt, events, first_event, last_event, status, error, duration, outcome"


def _settings(record: WebhookRecord) -> str:
    return orjson.dumps({"url": record.url, "secret": record.secret, "collections": record.collections,
                         "types": record.types, "labels": record.labels,
                         "min_confidence": record.min_confidence}).decode()


def _record(webhook_id: str, org_id: str, created: int, text: str) -> WebhookRecord:
    data: dict[str, Any] = orjson.loads(text)
    return WebhookRecord(webhook_id, org_id, data["url"], data["secret"], int(created),
                         tuple(data["collections"]), tuple(data["types"]), tuple(data["labels"]),
                         data["min_confidence"])


def _batch(row: Row) -> Batch:
    delivery, through, events, first, last, body, created, attempts, next_attempt, updated, error = row
    return Batch(delivery, int(through), int(events), int(first), int(last), bytes(body), int(created),
                 int(attempts), int(next_attempt), int(updated), error)


def _attempt(row: Row) -> Attempt:
    at, delivery, attempt, events, first, last, status, error, duration, outcome = row
    return Attempt(int(at), delivery, int(attempt), int(events), int(first), int(last),
                   None if status is None else int(status), error, int(duration), Outcome(outcome))


class SqlWebhooks:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @staticmethod
    def _cursor(tx: Tx, webhook_id: str) -> int:
        """The webhook's cursor; ``NotFound`` when there is no such webhook."""
        found = tx.rows("SELECT cursor_added FROM webhooks WHERE id = ?", [webhook_id])
        if not found:
            raise no_webhook(webhook_id)
        return int(found[0][0])

    @staticmethod
    def _pending(tx: Tx, webhook_id: str) -> Batch | None:
        found = tx.rows(f"SELECT {_BATCH} FROM webhook_batches WHERE webhook = ? AND dead = 0", [webhook_id])
        return _batch(found[0]) if found else None

    def add(self, record: WebhookRecord, *, cursor: int) -> None:
        def work(tx: Tx) -> None:
            if tx.rows("SELECT 1 FROM webhooks WHERE id = ?", [record.id]):
                raise Conflict(f"a webhook {record.id} exists")
            tx.run("INSERT INTO webhooks (id, org_id, record, created, cursor_added) VALUES (?, ?, ?, ?, ?)",
                   [record.id, record.org_id, _settings(record), record.created, cursor])

        self._engine.write(work)

    def get(self, webhook_id: str) -> WebhookRecord:
        def work(tx: Tx) -> WebhookRecord:
            found = tx.rows("SELECT id, org_id, created, record FROM webhooks WHERE id = ?", [webhook_id])
            if not found:
                raise no_webhook(webhook_id)
            return _record(*found[0])

        return self._engine.read(work)

    def all(self, org_id: str | None = None) -> list[WebhookRecord]:
        where, params = ("", []) if org_id is None else ("WHERE org_id = ? ", [org_id])
        return self._engine.read(lambda tx: [_record(*row) for row in tx.rows(
            f"SELECT id, org_id, created, record FROM webhooks {where}ORDER BY created, id", params)])

    def remove(self, webhook_id: str) -> None:
        def work(tx: Tx) -> None:
            self._cursor(tx, webhook_id)
            for table in ("webhook_deliveries", "webhook_batches"):
                tx.run(f"DELETE FROM {table} WHERE webhook = ?", [webhook_id])
            tx.run("DELETE FROM webhooks WHERE id = ?", [webhook_id])

        self._engine.write(work)

    def state(self, webhook_id: str) -> WebhookState:
        def work(tx: Tx) -> WebhookState:
            found = tx.rows("SELECT active, cursor_added FROM webhooks WHERE id = ?", [webhook_id])
            if not found:
                raise no_webhook(webhook_id)
            ((active, cursor),) = found
            return WebhookState(bool(active), int(cursor), self._pending(tx, webhook_id))

        return self._engine.read(work)

    def set_active(self, webhook_id: str, active: bool) -> None:
        def work(tx: Tx) -> None:
            self._cursor(tx, webhook_id)
            tx.run("UPDATE webhooks SET active = ? WHERE id = ?", [int(active), webhook_id])

        self._engine.write(work)

    def skip(self, webhook_id: str, *, after: int, through: int) -> bool:
        def work(tx: Tx) -> bool:
            if self._cursor(tx, webhook_id) != after or self._pending(tx, webhook_id) is not None:
                return False
            tx.run("UPDATE webhooks SET cursor_added = ? WHERE id = ?", [max(after, through), webhook_id])
            return True

        return self._engine.write(work)

    def stage(self, webhook_id: str, batch: Batch, *, after: int) -> bool:
        def work(tx: Tx) -> bool:
            if self._cursor(tx, webhook_id) != after or self._pending(tx, webhook_id) is not None:
                return False
            tx.run(f"INSERT INTO webhook_batches (webhook, dead, {_BATCH}) VALUES ({'?, ' * 12}?)",
                   [webhook_id, 0, batch.delivery, batch.through, batch.events, batch.first, batch.last, batch.body,
                    batch.created, batch.attempts, batch.next_attempt, batch.updated, batch.last_error])
            return True

        return self._engine.write(work)

    def settle(self, webhook_id: str, attempt: Attempt, *, retry_at: int = 0) -> bool:
        def work(tx: Tx) -> bool:
            self._cursor(tx, webhook_id)
            tx.run(f"INSERT INTO webhook_deliveries (webhook, {_ATTEMPT}) VALUES ({'?, ' * 10}?)",
                   [webhook_id, attempt.at, attempt.delivery, attempt.attempt, attempt.events, attempt.first,
                    attempt.last, attempt.status, attempt.error, attempt.duration, attempt.outcome.value])
            self._trim(tx, "webhook_deliveries", "", webhook_id, KEEP_DELIVERIES)
            found = tx.rows("SELECT id, dead, through FROM webhook_batches WHERE webhook = ? AND delivery = ?",
                            [webhook_id, attempt.delivery])
            if not found:
                return False
            ((batch_id, dead, through),) = found
            if attempt.outcome is Outcome.DELIVERED:
                tx.run("DELETE FROM webhook_batches WHERE id = ?", [batch_id])
            else:
                tx.run("UPDATE webhook_batches SET attempts = ?, updated = ?, last_error = ?, next_attempt = ?, "
                       "dead = ? WHERE id = ?",
                       [attempt.attempt, attempt.at, attempt.error, retry_at,
                        int(bool(dead) or attempt.outcome is Outcome.DEAD_LETTERED), batch_id])
            if not dead and attempt.outcome in (Outcome.DELIVERED, Outcome.DEAD_LETTERED):
                tx.run("UPDATE webhooks SET cursor_added = ? WHERE id = ? AND cursor_added < ?",
                       [int(through), webhook_id, int(through)])
                self._trim(tx, "webhook_batches", "AND dead = 1 ", webhook_id, KEEP_DEAD_LETTERS)
            return True

        return self._engine.write(work)

    @staticmethod
    def _trim(tx: Tx, table: str, where: str, webhook_id: str, keep: int) -> None:
        """Keep the newest ``keep`` rows of ``table`` (those ``where`` selects) for the webhook."""
        oldest = tx.rows(f"SELECT id FROM {table} WHERE webhook = ? {where}ORDER BY id DESC LIMIT 1 OFFSET ?",
                         [webhook_id, keep - 1])
        if oldest:
            tx.run(f"DELETE FROM {table} WHERE webhook = ? {where}AND id < ?", [webhook_id, oldest[0][0]])

    def dead_letters(self, webhook_id: str, limit: int = 100) -> list[Batch]:
        def work(tx: Tx) -> list[Batch]:
            self._cursor(tx, webhook_id)
            return [_batch(row) for row in tx.rows(
                f"SELECT {_BATCH} FROM webhook_batches WHERE webhook = ? AND dead = 1 ORDER BY id DESC LIMIT ?",
                [webhook_id, limit])]

        return self._engine.read(work)

    def dead_letter(self, webhook_id: str, delivery: str) -> Batch:
        def work(tx: Tx) -> Batch:
            self._cursor(tx, webhook_id)
            found = tx.rows(f"SELECT {_BATCH} FROM webhook_batches WHERE webhook = ? AND delivery = ? AND dead = 1",
                            [webhook_id, delivery])
            if not found:
                raise no_dead_letter(webhook_id, delivery)
            return _batch(found[0])

        return self._engine.read(work)

    def deliveries(self, webhook_id: str, limit: int = 100) -> list[Attempt]:
        def work(tx: Tx) -> list[Attempt]:
            self._cursor(tx, webhook_id)
            return [_attempt(row) for row in tx.rows(
                f"SELECT {_ATTEMPT} FROM webhook_deliveries WHERE webhook = ? ORDER BY id DESC LIMIT ?",
                [webhook_id, limit])]

        return self._engine.read(work)

    def claim(self, webhook_id: str, runner: str, *, now: int, ttl: int) -> bool:
        def work(tx: Tx) -> bool:
            self._cursor(tx, webhook_id)
            return claim(tx, "webhooks", "id", webhook_id, runner, now=now, ttl=ttl)

        return self._engine.write(work)
