"""Delivering webhooks: read what each one's organization may see after its cursor, POST it, settle the attempt.

One dispatcher runs per process (started by ``phalanx serve``); each webhook is delivered by one process of a
hub at a time (the store's lease). A webhook's step, on a worker thread:

1. If it has no pending batch, read the next changes after its cursor through a ``_PolicyView`` for its
   organization (role reader: the organization receives what its members may read, the policy compiled into
   the query) and its filters; stage them as a batch with a new delivery id (when the filters left nothing,
   move the cursor past what was read).
2. When the batch is due, POST it, signed (``phalanx.streams._webhook``), and settle the attempt: 2xx moves
   the cursor past it; a failure schedules the same batch (same delivery id, same body) after an exponential
   backoff with jitter; after ``webhook_max_attempts`` it becomes a dead letter and the cursor moves on.

The dispatcher wakes when the feed reads new changes (any process of the hub may have stored them), when a
retry falls due, and at least every ``_POLL`` seconds. A webhook is read again only when the feed has seen a
change newer than its last read, or every ``_RECHECK`` seconds.
"""

from __future__ import annotations

__all__ = ["Dispatcher", "backoff"]

import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from ..config import Settings
from ..errors import Error
from ..identity import Actor, Role
from ..store import Attempt, Batch, Outcome, WebhookRecord, Webhooks
from ..streams._feed import Feed
from ..streams._sse import StreamFilter
from ..streams._webhook import Poster, encode_batch, headers
from ._read import Reader
from ._streams import _PolicyView

_JITTER = random.Random()
"""Our own: the module-level generator's state is the program's (and hypothesis checks it is left alone)."""

_log = logging.getLogger("phalanx.webhooks")
_POLL = 1.0
_RECHECK = 30.0
_WORKERS = 8
"""Webhooks delivered at the same time by one process (a slow receiver holds one worker, not the others)."""
_STEPS = 10
"""Steps (batches) one webhook takes on a worker before letting the others have a turn."""


def backoff(attempt: int, *, base: float, cap: float, rand: Callable[[], float] | None = None) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1, 2, ...): ``base`` doubled after each failure,
    at most ``cap``, of which a random half is taken off ("equal jitter": receivers that failed together do
    not all come back at once, and each wait is at least as long as half the one after it)."""
    full = min(cap, base * (1 << min(max(attempt, 1) - 1, 62)))
    return full / 2 + (rand or _JITTER.random)() * full / 2


def _runner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Dispatcher:
    def __init__(self, storage: Webhooks, reader: Reader, feed: Feed, settings: Settings, poster: Poster,
                 clock: Callable[[], int]) -> None:
        self._storage = storage
        self._reader = reader
        self._feed = feed
        self._settings = settings
        self._poster = poster
        self._clock = clock
        self.runner = _runner_id()
        self._ttl = int(max(30.0, 3 * settings.webhook_timeout_seconds) * 1_000_000)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._busy: set[str] = set()
        """Webhooks being stepped on a worker."""
        self._again: set[str] = set()
        """Busy webhooks the loop wanted to step meanwhile."""
        self._claimed: set[str] = set()
        """Webhooks whose lease this dispatcher took."""
        self._seen = 0
        """The newest ``date_added`` the feed has read."""
        self._read_at: dict[str, int] = {}
        """Webhook id -> ``_seen`` when it was last read and nothing was found to send."""
        self._due: float | None = None
        """The monotonic time the soonest retry falls due."""
        self._planned = 0.0
        """The monotonic time the loop looks again at the latest."""
        self.posts = 0
        """POSTs made by this dispatcher."""

    # -- lifecycle --------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Deliver in the background from now on (idempotent)."""
        with self._lock:
            if self._thread is not None or self._stop.is_set():
                return
            self._pool = ThreadPoolExecutor(_WORKERS, thread_name_prefix="phalanx-webhook")
            self._thread = threading.Thread(target=self._run, name="phalanx-webhooks", daemon=True)
            self._wake.set()  # a first look at every webhook: some may have work left from before
            self._thread.start()
        self._feed.watch(self.saw)

    def close(self) -> None:
        """Stop: attempts in progress finish and are settled (so none is repeated after a restart), then the
        leases this process holds are let go, for another process to take over at once."""
        with self._lock:
            self._stop.set()
            thread, self._thread = self._thread, None
            pool, self._pool = self._pool, None
        self._feed.unwatch(self.saw)
        self._wake.set()
        if thread is not None:
            thread.join(timeout=30)
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        self._release()

    def wake(self, webhook_id: str | None = None) -> None:
        """Look at ``webhook_id`` (every webhook: None) now, whatever it was doing."""
        with self._lock:
            if webhook_id is None:
                self._read_at.clear()
            else:
                self._read_at.pop(webhook_id, None)
        self._wake.set()

    def saw(self, date_added: int) -> None:
        """The feed read changes up to ``date_added`` (from the feed's thread)."""
        with self._lock:
            self._seen = max(self._seen, date_added)
        self._wake.set()

    # -- the loop ---------------------------------------------------------------------------------------------

    def _run(self) -> None:
        last_full = time.monotonic()
        while not self._stop.is_set():
            with self._lock:
                now = time.monotonic()
                timeout = _POLL if self._due is None else min(_POLL, max(0.0, self._due - now))
                self._planned = now + timeout
            self._wake.wait(timeout)
            self._wake.clear()
            if self._stop.is_set():
                return
            if time.monotonic() - last_full > _RECHECK:
                last_full = time.monotonic()
                self.wake()
            try:
                records = self._storage.all()
            except Error as exc:
                _log.warning("webhooks: %s", exc.diagnostics())
                continue
            with self._lock:
                self._due = None
            for record in records:
                self._submit(record)

    def _submit(self, record: WebhookRecord) -> None:
        with self._lock:
            pool = self._pool
            if pool is None:
                return
            if record.id in self._busy:  # look again once this step is done: it may have read too early
                self._again.add(record.id)
                return
            self._busy.add(record.id)
        try:
            pool.submit(self._work, record)
        except RuntimeError:  # the pool shut down meanwhile
            with self._lock:
                self._busy.discard(record.id)

    def _work(self, record: WebhookRecord) -> None:
        try:
            for _ in range(_STEPS):  # a backlog goes on here, batch after batch, without a look at every webhook
                if self._stop.is_set() or not self.step(record):
                    break
            else:
                self._wake.set()  # more to do: after the others have had a turn
        except Error as exc:  # the database is away, or the webhook was removed meanwhile
            _log.warning("webhook %s: %s", record.id, exc.diagnostics())
        except Exception:
            _log.exception("webhook %s failed", record.id)
        finally:
            with self._lock:
                self._busy.discard(record.id)
                again = record.id in self._again
                self._again.discard(record.id)
            if again:
                self._wake.set()

    def run_once(self) -> int:
        """One step for every webhook, now, on this thread (for tests and tools); the number of POSTs made."""
        self.wake()
        before = self.posts
        for record in self._storage.all():
            self.step(record)
        return self.posts - before

    # -- one webhook ------------------------------------------------------------------------------------------

    def step(self, record: WebhookRecord) -> bool:
        """One step for ``record``: stage the next batch if none is pending, POST the pending one if it is due.
        True when there may be more to do at once."""
        state = self._storage.state(record.id)
        if not state.active:
            return False
        batch = state.pending
        with self._lock:
            seen, read_at = self._seen, self._read_at.get(record.id)
        if batch is None and read_at is not None and read_at >= seen:
            return False  # read since the last change the feed saw: nothing new
        now = self._clock()
        if batch is not None and batch.next_attempt > now:
            self._retry_in((batch.next_attempt - now) / 1_000_000)
            return False
        if not self._storage.claim(record.id, self.runner, now=now, ttl=self._ttl):
            return False
        with self._lock:
            self._claimed.add(record.id)
        if batch is None:
            batch, more = self._next_batch(record, state.cursor, seen)
            if batch is None:
                return more
        return self._attempt(record, batch)

    def _next_batch(self, record: WebhookRecord, cursor: int, seen: int) -> tuple[Batch | None, bool]:
        actor = Actor(record.org_id, Role.READER)
        wanted = StreamFilter(record.collections, record.types, record.labels, record.min_confidence)
        accesses = [a for a in self._reader.collections(actor)
                    if a.can_read and (not record.collections or a.collection.id in record.collections)]
        limit = self._settings.webhook_batch_size
        items, reached, more = _PolicyView(self._reader, actor, accesses, wanted).items(cursor, limit)
        if len(items) > limit:
            items, reached, more = items[:limit], items[limit - 1].date_added, True
        if not items:
            if reached > cursor:
                self._storage.skip(record.id, after=cursor, through=reached)
            if not more:
                with self._lock:
                    self._read_at[record.id] = seen
            return None, more
        now = self._clock()
        batch = Batch(str(uuid.uuid4()), reached, len(items), items[0].date_added, items[-1].date_added,
                      encode_batch(record.id, items), now, next_attempt=now)
        return (batch if self._storage.stage(record.id, batch, after=cursor) else None), True

    def _attempt(self, record: WebhookRecord, batch: Batch) -> bool:
        number = batch.attempts + 1
        at = self._clock()
        with self._lock:
            self.posts += 1
        reply = self._poster.post(record.url, batch.body,
                                  headers(record.id, batch.delivery, record.secret, at // 1_000_000, batch.body))
        retry_at = 0
        if reply.ok:
            outcome = Outcome.DELIVERED
        elif number >= self._settings.webhook_max_attempts:
            outcome = Outcome.DEAD_LETTERED
            _log.warning("webhook %s: delivery %s failed %d times (%s): moved to the dead letters", record.id,
                         batch.delivery, number, reply.error)
        else:
            outcome = Outcome.RETRY
            wait = backoff(number, base=self._settings.webhook_backoff_seconds,
                           cap=self._settings.webhook_backoff_max_seconds)
            retry_at = self._clock() + int(wait * 1_000_000)
            self._retry_in(wait)
        self._storage.settle(record.id, Attempt(at, batch.delivery, number, batch.events, batch.first, batch.last,
                                                reply.status, reply.error, reply.duration, outcome),
                             retry_at=retry_at)
        return outcome is not Outcome.RETRY

    def redeliver(self, record: WebhookRecord, letter: Batch) -> Attempt:
        """POST a dead letter again, now: delivered, it leaves the dead letters; failed, it stays there."""
        at = self._clock()
        reply = self._poster.post(record.url, letter.body,
                                  headers(record.id, letter.delivery, record.secret, at // 1_000_000, letter.body))
        attempt = Attempt(at, letter.delivery, letter.attempts + 1, letter.events, letter.first, letter.last,
                          reply.status, reply.error, reply.duration,
                          Outcome.DELIVERED if reply.ok else Outcome.FAILED)
        self._storage.settle(record.id, attempt)
        return attempt

    def _retry_in(self, seconds: float) -> None:
        """A retry falls due in ``seconds``: the loop looks again then (waking it now if it would look later)."""
        due = time.monotonic() + seconds
        with self._lock:
            self._due = due if self._due is None else min(self._due, due)
            sooner = due < self._planned
        if sooner:
            self._wake.set()

    def _release(self) -> None:
        """Let go of the leases this dispatcher took (each made to end now)."""
        with self._lock:
            claimed, self._claimed = self._claimed, set()
        for webhook_id in claimed:
            try:
                self._storage.claim(webhook_id, self.runner, now=self._clock(), ttl=0)
            except Error as exc:  # removed meanwhile, or the database is away: the lease lapses by itself
                _log.debug("webhook %s: releasing the lease: %s", webhook_id, exc.message)
