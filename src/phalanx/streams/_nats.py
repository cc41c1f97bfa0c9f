"""The NATS JetStream event bus: the processes of a hub that share one database announce events to each other.

    bus = NatsBus("nats://127.0.0.1:4222")         # connects, and makes the stream when it is missing
    subscription = bus.subscribe(wake_worker)      # every event published from now on, by any process
    bus.publish(Event(OBJECT_ADDED, {...}))         # returns at once; the server acknowledges later
    subscription.close()
    bus.close()

Phalanx is synchronous and threaded, nats-py is asyncio: a ``NatsBus`` runs a private event loop in a daemon
thread and hands it work with ``run_coroutine_threadsafe``. Handlers run on that thread.

Events go to ``SUBJECT.events.KIND`` and are kept in one stream (``PHALANX_EVENTS`` for the subject
``phalanx``): file storage, 24 hours, and a duplicate window in which the server drops a second publication of
the same event key (the ``Nats-Msg-Id`` header). A subscription is an ordered push consumer that starts after
the last message stored when it subscribes.

An event is a notice (see ``_events``): a publish that fails is logged and dropped, and consumers catch up from
the store. So ``publish`` never waits for the server, and nats-py reconnects for as long as the bus is open.
"""

from __future__ import annotations

__all__ = ["NatsBus", "redact_bus_url"]

import asyncio
import contextlib
import logging
import math
import re
import threading
from collections.abc import Coroutine
from functools import partial
from typing import Any, TypeVar
from urllib.parse import urlsplit

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy, Header, PubAck, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from ..errors import ConfigError, StoreUnavailable
from ._bus import Handler, Subscription
from ._events import Event

_log = logging.getLogger("phalanx.streams")

T = TypeVar("T")

MAX_AGE = 24 * 3600.0  # seconds an event stays in the stream
DUPLICATE_WINDOW = 120.0  # seconds in which the server drops a second publication of one event key
_REQUEST_TIMEOUT = 5.0  # a JetStream API call, or a publish acknowledgement
_CLOSE_TIMEOUT = 10.0
_RECONNECT_WAIT = 1  # seconds between reconnect attempts (nats-py wants whole seconds)
_PING_INTERVAL = 30  # seconds; a dead server is noticed after two unanswered pings
_HINT = "Start nats-server -js (JetStream enabled) at that address, or set the bus URL to memory://."
_SUBJECT = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*")


def stream_name(subject: str) -> str:
    """The stream that keeps the events published under ``subject``: ``phalanx`` → ``PHALANX_EVENTS``."""
    return re.sub(r"[^A-Z0-9]", "_", subject.upper()) + "_EVENTS"


def _redact(url: str) -> str:
    """``url`` without its secret: the password of ``user:password@``, or a token given as ``token@``."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not sep or not at:
        return url
    user, colon, _ = credentials.partition(":")
    return f"{scheme}://{user}:***@{host}" if colon else f"{scheme}://***@{host}"


def redact_bus_url(url: str) -> str:
    """A bus URL fit to show: each server of a cluster URL without its secret (``_redact``)."""
    return ",".join(_redact(part.strip()) for part in url.split(","))


def _servers(url: str) -> list[str]:
    """The server URLs in ``url`` (several, for a cluster, separated by commas); ConfigError when malformed."""
    servers = [part.strip() for part in url.split(",") if part.strip()]
    for server in servers or [url]:
        try:
            parts = urlsplit(server)
            port = parts.port
        except ValueError as exc:
            raise ConfigError(f"malformed NATS URL {_redact(server)!r}: {exc}",
                              hint="Write the bus URL as nats://HOST:PORT (or tls://HOST:PORT).") from None
        if parts.scheme not in ("nats", "tls") or not parts.hostname or parts.path not in ("", "/") or port == 0:
            raise ConfigError(f"malformed NATS URL {_redact(server)!r}",
                              hint="Write the bus URL as nats://HOST:PORT (or tls://HOST:PORT).")
    return servers


class _NatsSubscription:
    """One handler. ``close`` is thread-safe and idempotent; once it returns the handler is not called again
    (unless it runs at that moment on the bus thread)."""

    def __init__(self, bus: NatsBus, handler: Handler) -> None:
        self._bus = bus
        self.handler = handler
        self.closed = False
        self.last_seq = 0  # the stream sequence of the last message delivered (or skipped)
        self.consumer: JetStreamContext.PushSubscription | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            if self.closed:
                return
            self.closed = True
        self._bus._release(self)

    async def deliver(self, msg: Msg) -> None:
        seq = msg.metadata.sequence.stream
        if self.closed or seq <= self.last_seq:  # an ordered consumer that restarted may send some again
            return
        self.last_seq = seq
        try:
            event = Event.decode(msg.data)
        except ValueError as exc:
            _log.warning("skipping message %d on %s: %s", seq, msg.subject, exc)
            return
        try:
            self.handler(event)
        except Exception:  # one broken consumer must not stop the others, nor the events that follow
            _log.exception("event handler failed on %s", event.kind)


class NatsBus:
    """Carries events through NATS JetStream, between all the processes that open it with the same subject.

    The constructor connects (waiting up to ``connect_timeout`` seconds) and makes sure the stream exists; it
    raises ``StoreUnavailable`` when no server answers, ``ConfigError`` for a malformed URL or subject."""

    def __init__(self, url: str, *, subject: str = "phalanx", connect_timeout: float = 5.0) -> None:
        if not _SUBJECT.fullmatch(subject):
            raise ConfigError(f"invalid NATS subject {subject!r}",
                              hint="Use letters, digits, '-' and '_', in tokens separated by dots (e.g. phalanx).")
        self._servers = _servers(url)
        self.url = _redact(url)
        self.subject = subject
        self.stream = stream_name(subject)
        self._connect_timeout = connect_timeout
        self._closed = False
        self._lock = threading.Lock()
        self._connected = False  # the first connection succeeded: errors after that are about reconnecting
        self._failing = False  # the last publish failed: later failures are logged at debug level
        self._last_error: BaseException | None = None
        self._subscriptions: set[_NatsSubscription] = set()  # on the loop thread only
        self._acks: set[asyncio.Future[PubAck]] = set()
        self._tasks: set[asyncio.Task[None]] = set()  # started by a handler on the loop: referenced until done
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=f"phalanx-nats-{subject}", daemon=True)
        self._thread.start()
        try:
            self._call(self._open(), timeout=connect_timeout + 2 * _REQUEST_TIMEOUT + 1)
        except BaseException:
            self._closed = True
            self._stop()
            raise

    # -- the Bus protocol, called from any thread ---------------------------------------------------------------

    def publish(self, event: Event) -> None:
        """Send ``event``; returns at once. A failure is logged; after ``close`` this does nothing."""
        if self._closed:
            return
        with contextlib.suppress(RuntimeError):  # the loop closed since: close() won the race
            self._loop.call_soon_threadsafe(self._outbox.put_nowait, event)

    def subscribe(self, handler: Handler) -> Subscription:
        """Deliver every event stored from now on to ``handler``, on the bus thread. Waits for the server to
        make the consumer; raises ``StoreUnavailable`` when it does not. Do not call it from a handler."""
        subscription = _NatsSubscription(self, handler)
        if self._closed:
            subscription.closed = True
            return subscription
        try:
            self._call(self._subscribe(subscription), timeout=2 * _REQUEST_TIMEOUT + 1)
        except BaseException:
            subscription.close()  # the consumer may exist if we gave up waiting just as it was made
            raise
        return subscription

    def close(self) -> None:
        """Send what is still queued (waiting a few seconds at most), disconnect and stop the bus thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if threading.current_thread() is self._thread:  # a handler closes the bus: finish without waiting
            self._start(self._shutdown()).add_done_callback(lambda _: self._loop.stop())
            return
        try:
            self._call(self._shutdown(), timeout=_CLOSE_TIMEOUT)
        except StoreUnavailable as exc:
            _log.warning("closing the event bus at %s: %s", self.url, exc.message)
        finally:
            self._stop()

    def delete_stream(self) -> None:
        """Delete the stream and the events in it (tests clean up with this). The bus must be open."""
        if self._closed:
            raise StoreUnavailable(f"the event bus at {self.url} is closed", hint="Delete the stream before close().")
        self._call(self._delete_stream(), timeout=_REQUEST_TIMEOUT + 1)

    def __repr__(self) -> str:
        return f"NatsBus({self.url!r}, subject={self.subject!r})"

    # -- the bridge between the caller's thread and the loop ----------------------------------------------------

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_forever()
        finally:
            try:
                for _ in range(3):  # cancelling a task may start another (nats-py cleans up in tasks)
                    tasks = asyncio.all_tasks(self._loop)
                    if not tasks:
                        break
                    for task in tasks:
                        task.cancel()
                    self._loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
                self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            finally:
                self._loop.close()

    def _stop(self) -> None:
        with contextlib.suppress(RuntimeError):  # already closed
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=_CLOSE_TIMEOUT)

    def _call(self, coro: Coroutine[Any, Any, T], *, timeout: float) -> T:
        """Run ``coro`` on the loop and wait for its result; StoreUnavailable when it takes too long."""
        if threading.current_thread() is self._thread:  # waiting would block the loop that must do the work
            coro.close()
            raise RuntimeError("a NatsBus handler cannot subscribe or delete the stream: hand that to another thread")
        try:
            future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        except RuntimeError:  # the loop is closed
            coro.close()
            raise StoreUnavailable(f"the event bus at {self.url} is closed", hint=_HINT) from None
        try:
            return future.result(timeout=timeout)
        except nats.errors.Error as exc:  # nats.errors.TimeoutError included: the server did not answer in time
            raise StoreUnavailable(f"NATS at {self.url} failed: {str(exc) or type(exc).__name__}",
                                   hint=_HINT) from exc
        except TimeoutError:  # our own wait (TimeoutError is an OSError: this clause comes first)
            future.cancel()
            raise StoreUnavailable(f"NATS at {self.url} did not answer within {timeout:g} s", hint=_HINT) from None
        except OSError as exc:
            raise StoreUnavailable(f"NATS at {self.url} failed: {exc}", hint=_HINT) from exc

    def _start(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Start ``coro`` on the loop, from the loop thread, without waiting for it."""
        task = self._loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _release(self, subscription: _NatsSubscription) -> None:
        """Unsubscribe (called by ``_NatsSubscription.close``, from any thread)."""
        if self._closed:  # close() unsubscribes everything
            return
        if threading.current_thread() is self._thread:  # a handler closes a subscription
            self._start(self._unsubscribe(subscription))
            return
        try:
            self._call(self._unsubscribe(subscription), timeout=_REQUEST_TIMEOUT)
        except StoreUnavailable as exc:  # the handler is not called again either way
            _log.debug("unsubscribing from %s: %s", self.url, exc.message)

    # -- on the loop --------------------------------------------------------------------------------------------

    async def _open(self) -> None:
        self._nc = Client()
        self._outbox: asyncio.Queue[Event | None] = asyncio.Queue()
        try:
            await asyncio.wait_for(self._nc.connect(
                self._servers,
                name=f"phalanx {self.subject}",
                connect_timeout=max(1, math.ceil(self._connect_timeout)),
                allow_reconnect=True,
                max_reconnect_attempts=-1,  # for as long as the bus is open
                reconnect_time_wait=_RECONNECT_WAIT,
                ping_interval=_PING_INTERVAL,
                drain_timeout=2,
                error_cb=self._on_error,
                disconnected_cb=self._on_disconnected,
                reconnected_cb=self._on_reconnected,
                closed_cb=self._on_closed,
            ), timeout=self._connect_timeout)
        except (TimeoutError, nats.errors.Error, OSError) as exc:
            await self._nc.close()
            cause = self._last_error or exc
            raise StoreUnavailable(
                f"cannot connect to NATS at {self.url} within {self._connect_timeout:g} s: "
                f"{str(cause) or type(cause).__name__}", hint=_HINT) from cause
        self._connected = True
        self._js = self._nc.jetstream(timeout=_REQUEST_TIMEOUT)
        try:
            await self._ensure_stream()
        except BaseException:
            await self._nc.close()
            raise
        self._pump_task = asyncio.create_task(self._pump())

    async def _ensure_stream(self) -> None:
        subjects = [f"{self.subject}.events.>"]
        try:
            info = await self._js.stream_info(self.stream)
        except NotFoundError:
            pass
        except nats.js.errors.ServiceUnavailableError:
            raise StoreUnavailable(f"NATS at {self.url} has no JetStream", hint=_HINT) from None
        else:
            if sorted(info.config.subjects or []) != subjects:
                raise ConfigError(
                    f"the NATS stream {self.stream} captures {info.config.subjects} instead of {subjects}",
                    hint=f"Delete the stream (nats stream rm {self.stream}) or choose another bus subject.")
            return
        config = StreamConfig(name=self.stream, subjects=subjects, storage=StorageType.FILE, max_age=MAX_AGE,
                              duplicate_window=DUPLICATE_WINDOW, description="Phalanx events (notices)")
        try:
            await self._js.add_stream(config)  # the same config made meanwhile by another process is fine
        except nats.js.errors.APIError as exc:
            raise ConfigError(f"NATS refused to make the stream {self.stream}: {exc.description}",
                              hint="Check that no other stream captures the subjects " + subjects[0]) from None

    async def _pump(self) -> None:
        """Send the queued events in order; the acknowledgements come back meanwhile."""
        while (event := await self._outbox.get()) is not None:
            try:
                ack = await self._js.publish_async(f"{self.subject}.events.{event.kind}", event.encode(),
                                                   wait_stall=_REQUEST_TIMEOUT, headers={Header.MSG_ID: event.key})
            except Exception as exc:  # a notice lost: consumers catch up from the store
                self._publish_failed(event, exc)
                continue
            self._acks.add(ack)
            timer = self._loop.call_later(_REQUEST_TIMEOUT, ack.cancel)
            ack.add_done_callback(partial(self._acknowledged, event, timer))

    def _acknowledged(self, event: Event, timer: asyncio.TimerHandle, ack: asyncio.Future[PubAck]) -> None:
        timer.cancel()
        self._acks.discard(ack)
        if ack.cancelled():
            self._publish_failed(event, f"no acknowledgement within {_REQUEST_TIMEOUT:g} s; it may still arrive")
        elif (exc := ack.exception()) is not None:
            self._publish_failed(event, exc)
        elif self._failing:
            self._failing = False
            _log.info("publishing events to NATS at %s works again", self.url)

    def _publish_failed(self, event: Event, why: object) -> None:
        """Log a lost event: the first of a series as a warning, the others (an outage) at debug level."""
        first, self._failing = not self._failing, True
        _log.log(logging.WARNING if first else logging.DEBUG, "publishing event %s to NATS at %s failed: %s%s",
                 event.key, self.url, str(why) or type(why).__name__,
                 " (until a publish succeeds, further failures are logged at debug level)" if first else "")

    async def _subscribe(self, subscription: _NatsSubscription) -> None:
        # Start after the last message stored now: what is stored from now on is delivered, even what arrives
        # while the consumer is being made; ``deliver`` skips anything older if nats-py restarts the consumer.
        info = await self._js.stream_info(self.stream)
        subscription.last_seq = info.state.last_seq
        config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=info.state.last_seq + 1)
        subscription.consumer = await self._js.subscribe(
            f"{self.subject}.events.>", stream=self.stream, cb=subscription.deliver, ordered_consumer=True,
            config=config)
        self._subscriptions.add(subscription)
        if subscription.closed:  # closed by another thread meanwhile
            await self._unsubscribe(subscription)

    async def _unsubscribe(self, subscription: _NatsSubscription) -> None:
        self._subscriptions.discard(subscription)
        consumer, subscription.consumer = subscription.consumer, None
        if consumer is not None:
            with contextlib.suppress(nats.errors.Error):  # the connection is closed or closing: nothing to undo
                await consumer.unsubscribe()

    async def _delete_stream(self) -> None:
        with contextlib.suppress(NotFoundError):
            await self._js.delete_stream(self.stream)

    async def _shutdown(self) -> None:
        self._outbox.put_nowait(None)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._pump_task, timeout=_REQUEST_TIMEOUT)
        if self._acks:
            await asyncio.wait(set(self._acks), timeout=_REQUEST_TIMEOUT)
        for subscription in list(self._subscriptions):
            subscription.closed = True
            await self._unsubscribe(subscription)
        try:
            await asyncio.wait_for(self._nc.drain(), timeout=_REQUEST_TIMEOUT)
        except (TimeoutError, nats.errors.Error):  # reconnecting, or already closed
            await self._nc.close()

    # nats-py calls these on the loop; they log instead of printing

    async def _on_error(self, exc: Exception) -> None:
        if not self._connected:
            self._last_error = exc  # the constructor's message names it
            _log.debug("connecting to NATS at %s: %s", self.url, exc)
        elif self._nc.is_reconnecting or self._closed or isinstance(exc, nats.errors.StaleConnectionError | OSError):
            # each failed reconnect attempt, or the loss of the connection, which _on_disconnected reports
            _log.debug("NATS at %s: %s", self.url, exc)
        else:
            _log.warning("NATS at %s: %s", self.url, str(exc) or type(exc).__name__)

    async def _on_disconnected(self) -> None:
        if self._connected and not self._closed:
            _log.warning("lost the connection to NATS at %s; reconnecting", self.url)

    async def _on_reconnected(self) -> None:
        _log.warning("reconnected to NATS at %s", self.url)

    async def _on_closed(self) -> None:
        _log.debug("connection to NATS at %s closed", self.url)
