"""Submissions: objects shared in one request, with a status record their sender can poll (TAXII 2.1 status).

A request of up to ``batch_size`` objects is stored before the answer, and its record is complete. A larger one
is answered at once with every object pending; a background worker stores it batch by batch and settles the
record after each batch, so a poll shows successes, failures (with the reason) and what is still pending. If
the process stops before the worker is done, the record stops changing: a poll then reports the objects still
pending as failed, with what to do.
"""

from __future__ import annotations

__all__ = ["StatusView", "Submissions"]

import logging
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from ..errors import Error, NotFound
from ..identity import Actor
from ..policy import may_read_status
from ..stix import Parsed, Refused, StixObject, format_micros, parse_micros
from ..store import StatusEntry, Statuses, StatusOutcome, StatusRecord
from ._ingest import Ingest, Sharing
from ._results import ObjectResult

_LOG = logging.getLogger("phalanx.submissions")
STALE_AFTER = 120 * 1_000_000
"""Microseconds after its last change a record with pending objects counts as abandoned (the worker is gone)."""
_PRUNE_EVERY = 3600 * 1_000_000
_ABANDONED = "not stored: the server stopped before it got to this object; send it again"


@dataclass(frozen=True, slots=True)
class StatusView:
    """A status record as its reader gets it: abandoned pendings turned into failures."""

    record: StatusRecord
    complete: bool

    def of(self, outcome: StatusOutcome) -> list[StatusEntry]:
        return [e for e in self.record.entries if e.outcome is outcome]


def _version(item: Parsed) -> str:
    """The version a status entry names: the object's ``modified`` (else ``created``); for an object with
    neither (an SCO), the time it is added, once it is (TAXII 2.1 section 3.4.2); for a refused one, what it
    said, if anything."""
    if isinstance(item, Refused):
        try:
            return format_micros(parse_micros(item.version))
        except ValueError:
            return item.version
    if item.version == 0 and item.created is None:
        return ""
    return format_micros(item.version)


def _entry(item: Parsed) -> StatusEntry:
    object_id = item.id if isinstance(item, StixObject) else item.object_id
    return StatusEntry(object_id, _version(item), StatusOutcome.PENDING)


def _settled(entry: StatusEntry, result: ObjectResult) -> StatusEntry:
    outcome = StatusOutcome.SUCCESS if result.outcome == "accepted" else StatusOutcome.FAILURE
    message = result.detail + ("; " + "; ".join(result.warnings) if result.warnings else "")
    version = entry.version or (format_micros(result.date_added) if result.date_added is not None else "")
    return replace(entry, version=version, outcome=outcome, message=message)


class Submissions:
    def __init__(self, ingest: Ingest, statuses: Statuses, clock: Callable[[], int], *, batch_size: int,
                 retention: int) -> None:
        self._ingest = ingest
        self._statuses = statuses
        self._clock = clock
        self._batch_size = batch_size
        self._retention = retention
        self._pruned = 0
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="phalanx-submissions")

    def submit(self, sharing: Sharing, parsed: Sequence[Parsed]) -> StatusView:
        """Store ``parsed`` (now, or in the background when there are many) and return its status."""
        now = self._clock()
        if now - self._pruned > _PRUNE_EVERY:  # statuses older than the retention go, at most once an hour
            self._pruned = now
            self._statuses.prune(now - self._retention)
        record = StatusRecord(str(uuid.uuid4()), sharing.actor.org_id, sharing.collection.id, now, now,
                              tuple(_entry(item) for item in parsed))
        if len(parsed) <= self._batch_size:
            entries = list(record.entries)
            for result in self._ingest.parsed(sharing, parsed):
                entries[result.index] = _settled(entries[result.index], result)
            record = replace(record, entries=tuple(entries), updated=self._clock())
            self._statuses.create(record)
            return StatusView(record, True)
        self._statuses.create(record)
        self._worker.submit(self._store_in_background, record, sharing, list(parsed))
        return StatusView(record, False)

    def _store_in_background(self, record: StatusRecord, sharing: Sharing, parsed: list[Parsed]) -> None:
        status_id = record.id
        try:
            for start in range(0, len(parsed), self._batch_size):
                chunk = parsed[start : start + self._batch_size]
                results = self._ingest.parsed(sharing, chunk, first_index=start)
                settled = [(r.index, _settled(record.entries[r.index], r)) for r in results]
                self._statuses.settle(status_id, settled, now=self._clock())
        except Error as exc:  # the store failed: say so for what is left, rather than leave it pending for ever
            _LOG.error("status %s: storing failed: %s", status_id, exc.message)
            self._fail_pending(status_id, f"not stored: {exc.message}")
        except Exception:
            _LOG.exception("status %s: storing failed", status_id)
            self._fail_pending(status_id, "not stored: the server failed; send it again")

    def _fail_pending(self, status_id: str, message: str) -> None:
        try:
            record = self._statuses.get(status_id)
            failed = [(i, replace(e, outcome=StatusOutcome.FAILURE, message=message))
                      for i, e in enumerate(record.entries) if e.outcome is StatusOutcome.PENDING]
            self._statuses.settle(status_id, failed, now=self._clock())
        except Error:
            _LOG.exception("status %s: could not record the failure", status_id)

    def status(self, actor: Actor, status_id: str) -> StatusView:
        """The status of a request: for the organization that made it and node administrators only (to anyone
        else, as to everyone for an unknown id, ``NotFound``)."""
        try:
            record = self._statuses.get(status_id)
        except NotFound:
            record = None
        if record is None or not may_read_status(actor, owner=record.owner).allowed:
            raise NotFound(f"no status {status_id}", hint="Poll the status id the POST of objects returned.")
        pending = any(e.outcome is StatusOutcome.PENDING for e in record.entries)
        if pending and self._clock() - record.updated > STALE_AFTER:
            record = replace(record, entries=tuple(
                replace(e, outcome=StatusOutcome.FAILURE, message=_ABANDONED)
                if e.outcome is StatusOutcome.PENDING else e for e in record.entries))
            pending = False
        return StatusView(record, not pending)

    def close(self) -> None:
        """Finish the submissions in progress (they were acknowledged), then stop the worker."""
        self._worker.shutdown(wait=True)
