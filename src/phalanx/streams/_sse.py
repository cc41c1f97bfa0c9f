"""Server-Sent Events (the WHATWG HTML "server-sent events" format) for the live stream, and the filters a
subscriber asks for.

Each change is one message: ``id`` is its ``date_added`` in microseconds (send it back as ``Last-Event-ID`` to
resume), ``event`` its kind, ``data`` one line of JSON holding the collection, the time it was added and the
object. A heartbeat is a comment line. A subscriber that fell behind gets a ``lagged`` message saying where to
resume, and the stream ends.
"""

from __future__ import annotations

__all__ = ["HEARTBEAT", "Message", "StreamFilter", "lagged_message", "live_message", "message", "notice_message",
           "read_messages"]

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from ..stix import format_micros
from ..store import StoredVersion
from ._events import Event, kind_of

HEARTBEAT = b": keep-alive\n\n"


def message(item: StoredVersion, canonical: bytes | None = None) -> bytes:
    """The message for one change (``canonical``: the copy served, when parts were removed)."""
    body = canonical if canonical is not None else item.canonical
    return (b"id: %d\nevent: %s\ndata: {\"collection\":%s,\"date_added\":%s,\"object\":%s}\n\n" % (
        item.date_added, kind_of(item.type, item.revoked).encode(), orjson.dumps(item.collection),
        orjson.dumps(format_micros(item.date_added)), body))


def notice_message(event: Event) -> bytes:
    return b"event: %s\ndata: %s\n\n" % (event.kind.encode(), orjson.dumps(event.data))


def live_message(cursor: int) -> bytes:
    """Sent once the catch-up is done: everything stored up to ``cursor`` has been sent; live changes follow."""
    return b"event: live\ndata: %s\n\n" % orjson.dumps({"last_event_id": str(cursor)})


def lagged_message(cursor: int) -> bytes:
    data = {"last_event_id": str(cursor),
            "hint": f"you fell behind the live stream; reconnect with 'Last-Event-ID: {cursor}' to resume from the "
                    "store with nothing lost"}
    return b"event: lagged\ndata: %s\n\n" % orjson.dumps(data)


@dataclass(frozen=True, slots=True)
class StreamFilter:
    """What a subscriber asked for: empty tuples and None mean "anything"."""

    collections: tuple[str, ...] = ()
    """Collection ids or titles; empty: every collection the subscriber may read."""
    types: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    """Objects carrying any of these labels."""
    min_confidence: int | None = None
    """Objects whose ``confidence`` is at least this (objects without one are left out)."""

    @property
    def reads_content(self) -> bool:
        return bool(self.labels) or self.min_confidence is not None

    def admits_type(self, stix_type: str) -> bool:
        return not self.types or stix_type in self.types

    def admits(self, stix_type: str, canonical: bytes) -> bool:
        if not self.admits_type(stix_type):
            return False
        if not self.reads_content:
            return True
        data: dict[str, Any] = orjson.loads(canonical)
        if self.labels:
            labels = data.get("labels")
            if not isinstance(labels, list) or not any(label in self.labels for label in labels):
                return False
        if self.min_confidence is not None:
            confidence = data.get("confidence")
            if not isinstance(confidence, int) or isinstance(confidence, bool) or confidence < self.min_confidence:
                return False
        return True


@dataclass(frozen=True, slots=True)
class Message:
    """One message read from an event stream."""

    event: str
    data: str
    id: str | None = None


def read_messages(lines: Iterable[bytes], *, max_bytes: int = 64 * 1024 * 1024) -> Iterator[Message]:
    """The messages of an event stream, read line by line (the WHATWG "interpreting an event stream" rules: a
    blank line ends a message, ``:`` starts a comment, an unknown field is ignored, a message with no data is
    not dispatched). A message of more than ``max_bytes`` raises ``ValueError``."""
    event, last_id = "", None
    data: list[str] = []
    size = 0
    for raw in lines:
        size += len(raw)
        if size > max_bytes:
            raise ValueError(f"an event-stream message of more than {max_bytes} bytes")
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if not line:
            if data:
                yield Message(event or "message", "\n".join(data), last_id)
            event, data, size = "", [], 0
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
        elif name == "id" and "\0" not in value:
            last_id = value
