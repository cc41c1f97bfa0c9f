"""Status records: what became of each object of one request that shared objects (a TAXII status resource).

A record is made when the request arrives, with every object pending or already settled; ``settle`` records
the outcome of some of them as batches are stored. Records live in the node's database, so any process of a
hub answers a poll, and a record outlives a restart.
"""

from __future__ import annotations

__all__ = ["MemoryStatuses", "StatusEntry", "StatusOutcome", "StatusRecord", "Statuses"]

import enum
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol, runtime_checkable

from ..errors import Conflict, NotFound


class StatusOutcome(enum.Enum):
    SUCCESS = 0
    FAILURE = 1
    PENDING = 2


@dataclass(frozen=True, slots=True)
class StatusEntry:
    """One object of the request: its id and version as sent (empty when it had none), and what became of it."""

    object_id: str
    version: str
    outcome: StatusOutcome
    message: str = ""


@dataclass(frozen=True, slots=True)
class StatusRecord:
    id: str
    owner: str
    """The organization that made the request: the only one (with node administrators) that may read it."""
    collection: str
    created: int
    """Microseconds since the epoch, when the request arrived."""
    updated: int
    """When an entry last changed."""
    entries: tuple[StatusEntry, ...]
    """One per object, in the order of the request."""


@runtime_checkable
class Statuses(Protocol):
    def create(self, record: StatusRecord) -> None:
        """Store a new record (``Conflict`` if its id exists)."""
        ...

    def settle(self, status_id: str, entries: Sequence[tuple[int, StatusEntry]], *, now: int) -> None:
        """Replace the entries at these positions; ``updated`` becomes ``now``."""
        ...

    def get(self, status_id: str) -> StatusRecord:
        """The record; ``NotFound`` when there is none."""
        ...

    def prune(self, before: int) -> int:
        """Delete the records created before ``before`` (microseconds); return how many."""
        ...


class MemoryStatuses:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, StatusRecord] = {}

    def create(self, record: StatusRecord) -> None:
        with self._lock:
            if record.id in self._records:
                raise Conflict(f"status {record.id} exists")
            self._records[record.id] = record

    def settle(self, status_id: str, entries: Sequence[tuple[int, StatusEntry]], *, now: int) -> None:
        with self._lock:
            record = self._records.get(status_id)
            if record is None:
                raise NotFound(f"no status {status_id}")
            changed = list(record.entries)
            for position, entry in entries:
                changed[position] = entry
            self._records[status_id] = replace(record, entries=tuple(changed), updated=now)

    def get(self, status_id: str) -> StatusRecord:
        with self._lock:
            record = self._records.get(status_id)
            if record is None:
                raise NotFound(f"no status {status_id}")
            return record

    def prune(self, before: int) -> int:
        with self._lock:
            old = [sid for sid, record in self._records.items() if record.created < before]
            for sid in old:
                del self._records[sid]
            return len(old)
