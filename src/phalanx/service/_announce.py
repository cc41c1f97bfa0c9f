"""Announcing what was stored: one typed event per version that entered a collection, after the commit, and
one per checkpoint the ledger signs."""

from __future__ import annotations

__all__ = ["Announcer"]

from collections.abc import Sequence

from ..store import PutResult, PutStatus, VersionRow
from ..store._ledger import StoredCheckpoint
from ..streams import CHECKPOINT_PUBLISHED, Bus, Event, kind_of
from ..streams._feed import Feed

_ENTERED = (PutStatus.ADDED, PutStatus.LINKED)


class Announcer:
    def __init__(self, bus: Bus, feed: Feed, origin: str) -> None:
        self._bus = bus
        self._feed = feed
        self._origin = origin
        self._last_size = -1

    def stored(self, collection: str, rows: Sequence[VersionRow], results: Sequence[PutResult]) -> None:
        """``put_many`` committed ``rows`` into ``collection`` with ``results`` (in the same order)."""
        entered = False
        for row, result in zip(rows, results, strict=True):
            if result.status in _ENTERED:
                entered = True
                self._bus.publish(Event(kind_of(row.type, row.revoked), {
                    "collection": collection, "date_added": result.date_added, "id": row.id,
                    "version": row.version, "type": row.type}))
        if entered:
            self._feed.poke()  # this process's subscribers need not wait for the bus

    def checkpoint(self, checkpoint: StoredCheckpoint) -> None:
        if checkpoint.size != self._last_size:
            self._last_size = checkpoint.size
            self._bus.publish(Event(CHECKPOINT_PUBLISHED, {"origin": self._origin, "size": checkpoint.size,
                                                           "note": checkpoint.note}))
