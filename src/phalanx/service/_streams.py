"""The live stream, as each subscriber may see it: the policy decides per subscriber, at every hop.

``Streams.open`` checks the collections asked for (those the actor may read; all of them by default), and
builds the subscriber's ``View``: catching up reads the store through ``Reader.page`` (the policy compiled into
the query, granular markings applied), and live changes from the feed pass the same ``Visibility`` in Python
(``Visibility.admits``, which the store conformance suite holds equal to the SQL) and the same redaction.
"""

from __future__ import annotations

__all__ = ["Streams"]

import threading
from collections.abc import Sequence

from ..config import Settings
from ..errors import InvalidParameter, StoreUnavailable
from ..identity import Actor
from ..policy import visibility
from ..stix import now_micros
from ..store import Query, StoredVersion, VersionFilter, Visibility
from ..streams import Event
from ..streams._feed import Feed
from ..streams._live import Frame, Subscriber
from ..streams._sse import StreamFilter, message, notice_message
from ._read import CollectionAccess, Reader


class _Messages:
    """The message of each change, encoded once for every subscriber that gets the whole object (the feed's
    thread is the only caller)."""

    _KEEP = 20_000

    def __init__(self) -> None:
        self._encoded: dict[tuple[str | None, int], bytes] = {}

    def of(self, item: StoredVersion) -> bytes:
        key = (item.collection, item.date_added)
        encoded = self._encoded.get(key)
        if encoded is None:
            if len(self._encoded) >= self._KEEP:
                self._encoded.clear()
            encoded = self._encoded[key] = message(item)
        return encoded


class _PolicyView:
    """What one actor may see of the collections it subscribed to, and what it asked for."""

    def __init__(self, reader: Reader, actor: Actor, accesses: Sequence[CollectionAccess],
                 wanted: StreamFilter, messages: _Messages | None = None) -> None:
        self._messages = messages or _Messages()
        self._reader = reader
        self.wanted = wanted
        self.update(actor, accesses)

    def update(self, actor: Actor, accesses: Sequence[CollectionAccess]) -> bool:
        """What ``actor`` may see now (the feed's thread reads the new table as a whole); whether it changed."""
        table = {a.collection.id: (a, visibility(actor, a.venue), self._reader.types_for(actor, a.collection))
                 for a in accesses}
        changed = getattr(self, "_by_id", None) != table
        self._actor = actor
        self._by_id: dict[str, tuple[CollectionAccess, Visibility, tuple[str, ...] | None]] = table
        return changed

    def frame(self, item: StoredVersion) -> bytes | None:
        found = self._by_id.get(item.collection or "")
        if found is None:
            return None
        access, seen, allowed = found
        if (allowed is not None and item.type not in allowed) or not self.wanted.admits_type(item.type):
            return None
        if not seen.admits(level=item.level, scope=item.scope, contributor=item.contributor,
                           sharer=item.sharer or item.contributor):
            return None
        served = self._reader.served(self._actor, access.venue, item)
        if not self.wanted.admits(item.type, served.canonical):
            return None
        return self._messages.of(item) if served is item else message(served)

    def notice(self, event: Event) -> bytes | None:
        return notice_message(event)

    def catch_up(self, after: int, limit: int) -> tuple[list[Frame], int, bool]:
        items, reached, more = self.items(after, limit)
        return [(item.date_added, message(item)) for item in items], reached, more

    def items(self, after: int, limit: int) -> tuple[list[StoredVersion], int, bool]:
        """What was stored after ``after``, read from the store, as the actor may see it and asked for it: the
        versions in ``date_added`` order, the cursor they reach (the last ``date_added`` read, kept or filtered
        out), and whether there is more."""
        # Each collection is read in its own query, so the reads are not one snapshot: only what was committed
        # before they began counts (date_added increases in commit order), and what comes later waits for the
        # next step, rather than a version committed into a collection already read being skipped.
        settled = self._reader.last_change()
        if settled <= after:
            return [], after, False
        pages = [self._reader.page(self._actor, Query(
            collection=cid, versions=(VersionFilter.ALL,), added_after=after, types=self.wanted.types, limit=limit))
            for cid in self._by_id]
        # Merge the collections by date_added, up to where every one of them is known to be complete.
        bound = min([settled, *(page.items[-1].date_added for page in pages if page.more)])
        items = sorted((item for page in pages for item in page.items if item.date_added <= bound),
                       key=lambda item: item.date_added)
        more = bound < settled or any(page.more for page in pages)
        return [item for item in items if self.wanted.admits(item.type, item.canonical)], bound, more


class Streams:
    def __init__(self, reader: Reader, feed: Feed, settings: Settings) -> None:
        self._reader = reader
        self._feed = feed
        self._settings = settings
        self._messages = _Messages()
        # Re-entrant: stop() runs in signal handlers, which may interrupt the main thread inside this lock (a
        # second SIGTERM while the first is handled deadlocked a plain Lock).
        self._lock = threading.RLock()
        self._open: set[Subscriber] = set()
        self._stopping = False

    def open(self, actor: Actor, wanted: StreamFilter, last_event_id: str | None = None) -> Subscriber:
        """A subscriber for ``actor``, attached to the feed: it first catches up after ``last_event_id`` (from
        the time it connects, when None). Raises ``NotFound``/``PermissionDenied`` for a collection it may not
        read, ``InvalidParameter`` for an id that is not one."""
        accesses = self._accesses(actor, wanted)
        cursor = now_micros() if last_event_id is None else _event_id(last_event_id)
        subscriber = Subscriber(_PolicyView(self._reader, actor, accesses, wanted, self._messages), cursor,
                                max_buffer=self._settings.stream_buffer)
        with self._lock:
            if self._stopping:
                raise StoreUnavailable("this node is shutting down", hint="Reconnect in a moment.")
            self._open.add(subscriber)
        self._feed.attach(subscriber)
        return subscriber

    def _accesses(self, actor: Actor, wanted: StreamFilter) -> list[CollectionAccess]:
        if wanted.collections:
            return [self._reader.readable(actor, ref) for ref in wanted.collections]
        return [a for a in self._reader.collections(actor) if a.can_read]

    def recheck(self, subscriber: Subscriber, actor: Actor) -> None:
        """Decide again what ``subscriber`` may see (``actor`` as its key authenticates now): membership, key and
        egress changes apply to open streams too. Raises ``NotFound``/``PermissionDenied`` when a collection it
        asked for is no longer readable: the stream ends."""
        view = subscriber.view
        assert isinstance(view, _PolicyView)
        if view.update(actor, self._accesses(actor, view.wanted)):
            subscriber.rewind()  # what waits was judged by the old rules: read it again from the store

    def close(self, subscriber: Subscriber) -> None:
        self._feed.detach(subscriber)
        with self._lock:
            self._open.discard(subscriber)

    def stop(self) -> None:
        """End every open stream now (the server is shutting down), and open no more."""
        with self._lock:
            self._stopping = True
            subscribers = list(self._open)
        for subscriber in subscribers:
            subscriber.stop()


def _event_id(text: str) -> int:
    value = text.strip()
    if not value.isdigit() or len(value) > 18:
        raise InvalidParameter(f"Last-Event-ID {text!r} is not an event id of this stream",
                               hint="Send the id of the last event you received, or 0 for everything.")
    return int(value)
