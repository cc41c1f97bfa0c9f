"""Real-time distribution: typed events, the event bus (memory, NATS JetStream), the live feed every
subscriber reads, and the Server-Sent Events stream."""

from ._bus import Bus, MemoryBus, Subscription, open_bus
from ._events import (
    CHECKPOINT_PUBLISHED,
    DIRECTORY_CHANGED,
    KINDS,
    OBJECT_ADDED,
    OBJECT_REVOKED,
    SIGHTING_ADDED,
    Event,
    kind_of,
)

__all__ = [
    "CHECKPOINT_PUBLISHED",
    "DIRECTORY_CHANGED",
    "KINDS",
    "OBJECT_ADDED",
    "OBJECT_REVOKED",
    "SIGHTING_ADDED",
    "Bus",
    "Event",
    "MemoryBus",
    "Subscription",
    "kind_of",
    "open_bus",
]
