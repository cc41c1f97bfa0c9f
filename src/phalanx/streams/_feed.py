"""The feed: one reader per process that follows the store's changes and hands them to this process's live
subscribers (SSE connections, webhook dispatch).

It reads ``Store.changes`` after its watermark whenever the bus announces something (another process of the
hub included) and at least every ``poll`` seconds, so a lost event costs latency, never data. Each change is read
once per process however many subscribers there are; each subscriber then applies its own policy and filters.
Checkpoint events, which are not store changes, are passed on as notices. Watchers (``watch``) only learn how far
the store got: when no sink needs the rows, the feed reads only ``Store.last_change``.
"""

from __future__ import annotations

__all__ = ["Feed", "Sink"]

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Protocol

from ..errors import Error
from ..store import Store, StoredVersion
from ._bus import Bus, Subscription
from ._events import CHECKPOINT_PUBLISHED, DIRECTORY_CHANGED, Event

_log = logging.getLogger("phalanx.streams")

class Sink(Protocol):
    def offer(self, items: Sequence[StoredVersion]) -> None:
        """New memberships, in ``date_added`` order (called on the feed's thread; must not block)."""
        ...

    def notice(self, event: Event) -> None:
        """An event that is not a store change (a checkpoint)."""
        ...


class Feed:
    def __init__(self, store: Store, bus: Bus, *, poll: float = 1.0, page: int = 1000) -> None:
        self._store = store
        self._bus = bus
        self._poll = poll
        self._page = page
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._sinks: tuple[Sink, ...] = ()
        self._watchers: tuple[Callable[[int], None], ...] = ()
        self._thread: threading.Thread | None = None
        self._subscription: Subscription | None = None
        self._watermark = 0
        self.last_error: Error | None = None

    @property
    def watermark(self) -> int:
        """The ``date_added`` of the last change handed to the sinks."""
        return self._watermark

    def attach(self, sink: Sink) -> None:
        """Hand ``sink`` every change read from now on; starts the feed on first use."""
        with self._lock:
            self._start()
            self._sinks = (*self._sinks, sink)

    def detach(self, sink: Sink) -> None:
        with self._lock:
            self._sinks = tuple(s for s in self._sinks if s is not sink)

    def watch(self, watcher: Callable[[int], None]) -> None:
        """Call ``watcher(date_added)`` (on the feed's thread; it must not block) each time the store got
        further; starts the feed on first use."""
        with self._lock:
            self._start()
            self._watchers = (*self._watchers, watcher)

    def unwatch(self, watcher: Callable[[int], None]) -> None:
        with self._lock:
            self._watchers = tuple(w for w in self._watchers if w != watcher)  # bound methods: equal, not same

    def _start(self) -> None:
        if self._stop.is_set():
            raise RuntimeError("the feed is closed")
        if self._thread is None:
            # Commits after this read get a later date_added (they are given it in commit order).
            self._watermark = self._store.last_change()
            self._subscription = self._bus.subscribe(self._on_event)
            self._thread = threading.Thread(target=self._run, name="phalanx-feed", daemon=True)
            self._thread.start()

    def poke(self) -> None:
        """Something was stored in this process: read it now."""
        self._wake.set()

    def _on_event(self, event: Event) -> None:
        if event.kind in (CHECKPOINT_PUBLISHED, DIRECTORY_CHANGED):
            for sink in self._sinks:
                sink.notice(event)
        else:
            self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._poll)
            self._wake.clear()
            try:
                self._drain()
                self.last_error = None
            except Error as exc:  # the database is away: try again at the next event or poll
                if self.last_error is None:
                    _log.warning("feed: %s", exc.diagnostics())
                self.last_error = exc

    def _drain(self) -> None:
        before = self._watermark
        if self._sinks:
            self._read()
        else:  # only watchers: how far the store got is all they need
            self._watermark = max(self._watermark, self._store.last_change())
        if self._watermark > before:
            for watcher in self._watchers:
                try:
                    watcher(self._watermark)
                except Exception:
                    _log.exception("feed: a watcher failed; dropping it")
                    self.unwatch(watcher)

    def _read(self) -> None:
        while not self._stop.is_set():
            items = self._store.changes(self._watermark, self._page)
            if not items:
                return
            self._watermark = items[-1].date_added
            for sink in self._sinks:
                try:
                    sink.offer(items)
                except Exception:  # a broken subscriber is dropped, never allowed to stop the others
                    _log.exception("feed: a subscriber failed; detaching it")
                    self.detach(sink)
            if len(items) < self._page:
                return

    def close(self) -> None:
        with self._lock:
            self._stop.set()
            thread, self._thread = self._thread, None
            subscription, self._subscription = self._subscription, None
        if subscription is not None:
            subscription.close()
        self._wake.set()
        if thread is not None:
            thread.join(timeout=10)
