"""One live-stream subscriber: catch up from the store, then follow the feed, with no gap and no duplicate.

A subscriber starts at a cursor (the ``date_added`` of the last change it has, from ``Last-Event-ID``). It
reads the store after the cursor page by page through its ``View`` (its policy compiled into the query). Before
every read it starts accepting the feed's changes into its buffer; when a read finds nothing more, it is live:
whatever was committed before that read is in it, whatever after is in the buffer, and changes at or before the
cursor are dropped, so each reaches it once. When a read finds more, the buffer is dropped (the store has it all)
and catching up goes on.

A live subscriber whose buffer passes ``max_buffer`` (a slow reader) is marked lagged and gets nothing more: it
is told where it stopped and resumes from the store with ``Last-Event-ID``. It never slows the feed or others.
"""

from __future__ import annotations

__all__ = ["Frame", "Subscriber", "View"]

import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import Protocol

from ..store import StoredVersion
from ._events import DIRECTORY_CHANGED, Event

Frame = tuple[int | None, bytes]
"""One message for the subscriber: the ``date_added`` it carries (None for a notice), and its encoding."""


class View(Protocol):
    """What one subscriber may see and asked for."""

    def frame(self, item: StoredVersion) -> bytes | None:
        """The message for ``item``, or None when the subscriber may not see it or did not ask for it."""
        ...

    def notice(self, event: Event) -> bytes | None:
        """The message for a notice (a checkpoint), or None."""
        ...

    def catch_up(self, after: int, limit: int) -> tuple[list[Frame], int, bool]:
        """Messages for what was stored after ``after``, read from the store: the frames, the cursor they reach
        (the last ``date_added`` read, sent or filtered out), and whether there is more."""
        ...


class Subscriber:
    def __init__(self, view: View, cursor: int, *, max_buffer: int = 10_000, page: int = 500) -> None:
        self.view = view
        self.cursor = cursor
        """The ``date_added`` of the last change delivered (or skipped by the filters)."""
        self._max = max_buffer
        self._page = page
        self._lock = threading.Lock()
        self._buffer: deque[Frame] = deque()
        self._accepting = False
        self.live = False
        self.lagged = False
        self.stopped = False
        self.recheck_due = False
        """Set when who may read what may have narrowed: the consumer decides access again before it sends."""
        self._waker: Callable[[], None] | None = None

    def on_ready(self, waker: Callable[[], None]) -> None:
        """Call ``waker`` (from any thread) when frames are waiting."""
        self._waker = waker

    def stop(self) -> None:
        """The node is shutting down: the consumer ends the stream (its client resumes elsewhere)."""
        if self.stopped:
            return
        self.stopped = True
        waker = self._waker
        if waker is not None:
            waker()

    def rewind(self) -> None:
        """Drop what waits and catch up again from the cursor (the rules it was judged by changed)."""
        with self._lock:
            self._buffer.clear()
            self._accepting = False
            self.live = False

    # -- the feed's side (its thread) -------------------------------------------------------------------

    def offer(self, items: Sequence[StoredVersion]) -> None:
        if not self._accepting or self.lagged:
            return
        frames: list[Frame] = []
        for item in items:
            encoded = self.view.frame(item)
            if encoded is not None:
                frames.append((item.date_added, encoded))
        if frames:
            self._push(frames)

    def notice(self, event: Event) -> None:
        if event.kind == DIRECTORY_CHANGED:  # decide access again before anything more is sent
            self.recheck_due = True
            waker = self._waker
            if waker is not None:
                waker()
            return
        if self.live and not self.lagged:
            encoded = self.view.notice(event)
            if encoded is not None:
                self._push([(None, encoded)])

    def _push(self, frames: list[Frame]) -> None:
        with self._lock:
            if not self._accepting or self.lagged:
                return
            self._buffer.extend(frames)
            if self.live and len(self._buffer) > self._max:
                self.lagged = True
                self._buffer.clear()
        waker = self._waker
        if waker is not None and self.live:
            waker()

    # -- the consumer's side ---------------------------------------------------------------------------

    def catch_up(self) -> tuple[list[bytes], bool]:
        """One step of catching up (blocking: run it on a worker thread): the messages read, and whether it
        is still catching up (False: it is live from now on)."""
        with self._lock:
            self._accepting = True  # changes committed from here on reach the buffer or this read
        frames, reached, more = self.view.catch_up(self.cursor, self._page)
        self.cursor = max(self.cursor, reached)
        with self._lock:
            if more:
                self._accepting = False
                self._buffer.clear()  # the store has them: the next read gets them in order
            else:
                self.live = True
        return [encoded for _, encoded in frames], more

    def take(self) -> list[bytes]:
        """The frames waiting (live), each change once: those at or before the cursor are dropped."""
        with self._lock:
            waiting, self._buffer = self._buffer, deque()
        out: list[bytes] = []
        for date_added, encoded in waiting:
            if date_added is None:
                out.append(encoded)
            elif date_added > self.cursor:
                self.cursor = date_added
                out.append(encoded)
        return out
