"""The event bus: one interface, two implementations.

``MemoryBus`` (the embedded default) delivers within one process. ``NatsBus`` (``phalanx.streams._nats``)
carries events through NATS JetStream between the processes of a hub that share one database. ``open_bus``
chooses by URL: ``memory://`` or ``nats://host:port``.

Publishing never blocks an ingest on the bus and never fails it: the store already holds what the event
announces, and consumers that miss an event catch up from the store (see ``_events``).
"""

from __future__ import annotations

__all__ = ["Bus", "MemoryBus", "Subscription", "open_bus"]

import logging
import threading
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from ..errors import ConfigError
from ._events import Event

_log = logging.getLogger("phalanx.streams")

Handler = Callable[[Event], None]
"""Called on a bus thread for each event; it must return quickly (wake a worker, do not work)."""


class Subscription(Protocol):
    def close(self) -> None:
        """Stop delivering to this handler."""
        ...


@runtime_checkable
class Bus(Protocol):
    def publish(self, event: Event) -> None:
        """Announce ``event`` to every subscriber, in this process and (for a shared bus) the others."""
        ...

    def subscribe(self, handler: Handler) -> Subscription:
        """Deliver every event published from now on to ``handler``."""
        ...

    def close(self) -> None:
        ...


class _MemorySubscription:
    def __init__(self, bus: MemoryBus, handler: Handler) -> None:
        self._bus = bus
        self.handler = handler

    def close(self) -> None:
        self._bus._remove(self)


class MemoryBus:
    """Delivers each event to this process's handlers, on the publisher's thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscriptions: tuple[_MemorySubscription, ...] = ()

    def publish(self, event: Event) -> None:
        for subscription in self._subscriptions:
            try:
                subscription.handler(event)
            except Exception:  # one broken consumer must not stop the others, nor the ingest that published
                _log.exception("event handler failed on %s", event.kind)

    def subscribe(self, handler: Handler) -> Subscription:
        subscription = _MemorySubscription(self, handler)
        with self._lock:
            self._subscriptions = (*self._subscriptions, subscription)
        return subscription

    def _remove(self, subscription: _MemorySubscription) -> None:
        with self._lock:
            self._subscriptions = tuple(s for s in self._subscriptions if s is not subscription)

    def close(self) -> None:
        with self._lock:
            self._subscriptions = ()


def open_bus(url: str, *, subject: str = "phalanx") -> Bus:
    """The bus at ``url``: ``memory://`` (this process only) or ``nats://host:port`` (JetStream; events go to
    subjects under ``subject``)."""
    if url in ("", "memory://"):
        return MemoryBus()
    if url.startswith(("nats://", "tls://")):
        from ._nats import NatsBus  # the NATS client is only imported by nodes that use it

        return NatsBus(url, subject=subject)
    raise ConfigError(f"unknown event bus URL {url!r}", hint="Use memory:// or nats://HOST:PORT.")
