"""Typed events: what the service layer announces after a store commit (or a checkpoint), for live streams,
webhooks, federation and the other processes of a hub.

An event is a notice, not the record: the store stays the one source of truth. A consumer that misses an event
(a bus that was down, a process that restarted) loses only latency, because every consumer reads what changed
from the store, in the order of ``date_added``, which the store makes strictly increasing in commit order.
"""

from __future__ import annotations

__all__ = ["CHECKPOINT_PUBLISHED", "DIRECTORY_CHANGED", "KINDS", "OBJECT_ADDED", "OBJECT_REVOKED", "SIGHTING_ADDED",
           "Event", "kind_of"]

from dataclasses import dataclass, field
from typing import Any

import orjson

OBJECT_ADDED = "object-added"
OBJECT_REVOKED = "object-revoked"
SIGHTING_ADDED = "sighting-added"
CHECKPOINT_PUBLISHED = "checkpoint-published"
DIRECTORY_CHANGED = "directory-changed"
"""Who may read what may have narrowed (a key revoked, a member gone): open streams decide again."""
KINDS = (OBJECT_ADDED, OBJECT_REVOKED, SIGHTING_ADDED, CHECKPOINT_PUBLISHED, DIRECTORY_CHANGED)


def kind_of(stix_type: str, revoked: bool) -> str:
    """The event a stored object version makes: a revocation, a sighting, or any other object added."""
    if revoked:
        return OBJECT_REVOKED
    return SIGHTING_ADDED if stix_type == "sighting" else OBJECT_ADDED


@dataclass(frozen=True, slots=True)
class Event:
    """One event. For the object kinds ``data`` holds ``collection``, ``date_added``, ``id``, ``version`` and
    ``type``; for a checkpoint, ``origin``, ``size`` and ``note`` (the signed checkpoint's text)."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """What makes this event unique (a bus drops a second publication of the same key)."""
        if self.kind == CHECKPOINT_PUBLISHED:
            return f"{self.kind}:{self.data.get('origin')}:{self.data.get('size')}"
        if self.kind == DIRECTORY_CHANGED:
            return f"{self.kind}:{self.data.get('at')}"
        return f"{self.kind}:{self.data.get('collection')}:{self.data.get('date_added')}"

    def encode(self) -> bytes:
        return orjson.dumps({"kind": self.kind, "data": self.data})

    @classmethod
    def decode(cls, raw: bytes) -> Event:
        """The event in ``raw``; raises ``ValueError`` for anything that is not one."""
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"not an event: {exc}") from None
        if (not isinstance(value, dict) or value.get("kind") not in KINDS
                or not isinstance(value.get("data"), dict)):
            raise ValueError("not an event: expected {\"kind\": one of " + ", ".join(KINDS) + ", \"data\": {...}}")
        return cls(value["kind"], value["data"])
