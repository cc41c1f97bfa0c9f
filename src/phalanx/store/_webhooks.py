"""Webhooks: an organization's durable subscriptions, where each one is, and what was tried.

A webhook is a subscriber that remembers where it is: its cursor is the ``date_added`` of the last change it
has handled (delivered, dead-lettered, or left out by its filters). The batch being delivered is stored
(``stage``) before the first attempt, so its delivery id, body and attempt count survive a restart and a
change of the process that delivers it (``claim``: a lease, as for peers). ``settle`` records one attempt and
what follows from it, in one transaction: delivered (the cursor moves past the batch), retried later, or moved
to the dead letters (the cursor moves past it too, so one bad batch never blocks the rest). A dead letter is
settled the same way when it is redelivered on request.
"""

from __future__ import annotations

__all__ = ["KEEP_DEAD_LETTERS", "KEEP_DELIVERIES", "Attempt", "Batch", "MemoryWebhooks", "Outcome",
           "WebhookRecord", "WebhookState", "Webhooks"]

import enum
import threading
from dataclasses import dataclass, replace
from typing import Protocol, runtime_checkable

from ..errors import Conflict, NotFound

KEEP_DELIVERIES = 1000
"""Delivery attempts kept per webhook (the newest)."""
KEEP_DEAD_LETTERS = 1000
"""Dead letters kept per webhook (the newest)."""


@dataclass(frozen=True, slots=True)
class WebhookRecord:
    id: str
    org_id: str
    """The organization it belongs to: it receives what this organization may see."""
    url: str
    secret: str
    """The HMAC key its payloads are signed with (kept so that the node can sign)."""
    created: int
    collections: tuple[str, ...] = ()
    """Collection ids; empty: every collection the organization may read, now and later."""
    types: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    min_confidence: int | None = None


@dataclass(frozen=True, slots=True)
class Batch:
    """Events posted together under one delivery id: the pending batch of a webhook, or a dead letter."""

    delivery: str
    through: int
    """The ``date_added`` the cursor moves to once the batch is settled (at least its last event's)."""
    events: int
    first: int
    last: int
    """The ids (``date_added``) of its first and last events."""
    body: bytes
    created: int
    attempts: int = 0
    next_attempt: int = 0
    """When the next attempt is due (pending batches)."""
    updated: int = 0
    """When it was last attempted (0: never)."""
    last_error: str = ""


class Outcome(enum.Enum):
    DELIVERED = "delivered"
    RETRY = "retry"
    """Failed; the same batch is tried again later."""
    DEAD_LETTERED = "dead-lettered"
    """Failed for the last time: the batch is now a dead letter."""
    FAILED = "failed"
    """A redelivery of a dead letter failed: it stays a dead letter."""


@dataclass(frozen=True, slots=True)
class Attempt:
    """One POST of a batch, as the delivery log shows it."""

    at: int
    delivery: str
    attempt: int
    """1 for the first attempt of the batch, 2 for the next..."""
    events: int
    first: int
    last: int
    status: int | None
    """The HTTP status answered; None when there was no answer (a network error, a timeout)."""
    error: str
    duration: int
    """Microseconds."""
    outcome: Outcome


@dataclass(frozen=True, slots=True)
class WebhookState:
    active: bool
    cursor: int
    pending: Batch | None = None


@runtime_checkable
class Webhooks(Protocol):
    def add(self, record: WebhookRecord, *, cursor: int) -> None:
        """Raises ``Conflict`` when a webhook with that id exists."""
        ...

    def get(self, webhook_id: str) -> WebhookRecord:
        """Raises ``NotFound``."""
        ...

    def all(self, org_id: str | None = None) -> list[WebhookRecord]:
        """Every webhook (of one organization), oldest first."""
        ...

    def remove(self, webhook_id: str) -> None:
        """The webhook, its batches and its log."""
        ...

    def state(self, webhook_id: str) -> WebhookState: ...

    def set_active(self, webhook_id: str, active: bool) -> None: ...

    def skip(self, webhook_id: str, *, after: int, through: int) -> bool:
        """Move the cursor from ``after`` to ``through`` (changes the filters left out); False, changing nothing,
        when the cursor is not at ``after`` or a batch is pending."""
        ...

    def stage(self, webhook_id: str, batch: Batch, *, after: int) -> bool:
        """Make ``batch`` the pending one; False, changing nothing, when the cursor is not at ``after`` or a
        batch is pending already."""
        ...

    def settle(self, webhook_id: str, attempt: Attempt, *, retry_at: int = 0) -> bool:
        """Log ``attempt`` and apply its outcome to the batch ``attempt.delivery`` (pending or dead): DELIVERED
        drops it (a pending one moves the cursor to its ``through``); RETRY keeps it pending until ``retry_at``;
        DEAD_LETTERED moves it to the dead letters and the cursor past it; FAILED (a dead letter) keeps it dead.
        False when there is no such batch (it was settled meanwhile; the attempt is logged all the same)."""
        ...

    def dead_letters(self, webhook_id: str, limit: int = 100) -> list[Batch]:
        """The dead letters, newest first."""
        ...

    def dead_letter(self, webhook_id: str, delivery: str) -> Batch:
        """Raises ``NotFound``."""
        ...

    def deliveries(self, webhook_id: str, limit: int = 100) -> list[Attempt]:
        """The latest attempts, newest first."""
        ...

    def claim(self, webhook_id: str, runner: str, *, now: int, ttl: int) -> bool:
        """Take (or renew) the lease to deliver ``webhook_id`` for ``runner`` until ``now + ttl``; False when
        another runner holds an unexpired lease."""
        ...


def no_webhook(webhook_id: str) -> NotFound:
    return NotFound(f"no webhook {webhook_id}",
                    hint="List the webhooks: 'phalanx webhook list' (GET /api/v1/webhooks).")


def no_dead_letter(webhook_id: str, delivery: str) -> NotFound:
    return NotFound(f"webhook {webhook_id} has no dead letter {delivery}",
                    hint="List them: 'phalanx webhook dead-letters ID' (GET /api/v1/webhooks/ID/dead-letters).")


@dataclass
class _Entry:
    record: WebhookRecord
    state: WebhookState
    dead: list[Batch]
    log: list[Attempt]
    lease: tuple[str, int] | None = None


class MemoryWebhooks:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}

    def _entry(self, webhook_id: str) -> _Entry:
        entry = self._entries.get(webhook_id)
        if entry is None:
            raise no_webhook(webhook_id)
        return entry

    def add(self, record: WebhookRecord, *, cursor: int) -> None:
        with self._lock:
            if record.id in self._entries:
                raise Conflict(f"a webhook {record.id} exists")
            self._entries[record.id] = _Entry(record, WebhookState(True, cursor), [], [])

    def get(self, webhook_id: str) -> WebhookRecord:
        with self._lock:
            return self._entry(webhook_id).record

    def all(self, org_id: str | None = None) -> list[WebhookRecord]:
        with self._lock:
            found = [e.record for e in self._entries.values() if org_id is None or e.record.org_id == org_id]
        return sorted(found, key=lambda r: (r.created, r.id))

    def remove(self, webhook_id: str) -> None:
        with self._lock:
            self._entry(webhook_id)
            del self._entries[webhook_id]

    def state(self, webhook_id: str) -> WebhookState:
        with self._lock:
            return self._entry(webhook_id).state

    def set_active(self, webhook_id: str, active: bool) -> None:
        with self._lock:
            entry = self._entry(webhook_id)
            entry.state = replace(entry.state, active=active)

    def skip(self, webhook_id: str, *, after: int, through: int) -> bool:
        with self._lock:
            entry = self._entry(webhook_id)
            if entry.state.cursor != after or entry.state.pending is not None:
                return False
            entry.state = replace(entry.state, cursor=max(after, through))
            return True

    def stage(self, webhook_id: str, batch: Batch, *, after: int) -> bool:
        with self._lock:
            entry = self._entry(webhook_id)
            if entry.state.cursor != after or entry.state.pending is not None:
                return False
            entry.state = replace(entry.state, pending=batch)
            return True

    def settle(self, webhook_id: str, attempt: Attempt, *, retry_at: int = 0) -> bool:
        with self._lock:
            entry = self._entry(webhook_id)
            entry.log = [*entry.log, attempt][-KEEP_DELIVERIES:]
            pending, state = entry.state.pending, entry.state
            if pending is not None and pending.delivery == attempt.delivery:
                tried = replace(pending, attempts=attempt.attempt, updated=attempt.at, last_error=attempt.error,
                                next_attempt=retry_at)
                if attempt.outcome is Outcome.DELIVERED:
                    entry.state = replace(state, pending=None, cursor=max(state.cursor, pending.through))
                elif attempt.outcome is Outcome.DEAD_LETTERED:
                    entry.state = replace(state, pending=None, cursor=max(state.cursor, pending.through))
                    entry.dead = [*entry.dead, tried][-KEEP_DEAD_LETTERS:]
                else:
                    entry.state = replace(state, pending=tried)
                return True
            for index, letter in enumerate(entry.dead):
                if letter.delivery == attempt.delivery:
                    if attempt.outcome is Outcome.DELIVERED:
                        del entry.dead[index]
                    else:
                        entry.dead[index] = replace(letter, attempts=attempt.attempt, updated=attempt.at,
                                                    last_error=attempt.error, next_attempt=retry_at)
                    return True
            return False

    def dead_letters(self, webhook_id: str, limit: int = 100) -> list[Batch]:
        with self._lock:
            return list(reversed(self._entry(webhook_id).dead))[:limit]

    def dead_letter(self, webhook_id: str, delivery: str) -> Batch:
        with self._lock:
            for letter in self._entry(webhook_id).dead:
                if letter.delivery == delivery:
                    return letter
        raise no_dead_letter(webhook_id, delivery)

    def deliveries(self, webhook_id: str, limit: int = 100) -> list[Attempt]:
        with self._lock:
            return list(reversed(self._entry(webhook_id).log))[:limit]

    def claim(self, webhook_id: str, runner: str, *, now: int, ttl: int) -> bool:
        with self._lock:
            entry = self._entry(webhook_id)
            if entry.lease is not None and entry.lease[0] != runner and entry.lease[1] > now:
                return False
            entry.lease = (runner, now + ttl)
            return True
