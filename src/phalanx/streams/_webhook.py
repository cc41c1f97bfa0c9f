"""Webhook payloads: what a batch looks like on the wire, how it is signed, and the one POST that carries it.

A batch is one JSON object, ``{"webhook": ID, "events": [...]}``, each event as the live stream has it (``id``
is the change's ``date_added`` in microseconds, as text). The signature is HMAC-SHA256, keyed with the
webhook's secret, over ``TIMESTAMP.BODY`` (the ``X-Phalanx-Timestamp`` value, a dot, and the raw body), sent
as ``X-Phalanx-Signature: sha256=HEX``; docs/streams.md shows how a receiver checks it.

The POST (``HttpPoster``) uses the standard library: it never follows a redirect (a 3xx is a failure), gives up
after ``timeout`` seconds to connect and to each read, and reads at most ``MAX_READ`` bytes of the answer.
"""

from __future__ import annotations

__all__ = ["MAX_READ", "HttpPoster", "InvalidTarget", "Poster", "Reply", "check_target", "encode_batch",
           "headers", "signature"]

import contextlib
import hashlib
import hmac
import http.client
import socket
import ssl
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import orjson

from .. import __version__
from ..errors import InvalidParameter
from ..stix import format_micros
from ..store import StoredVersion
from ._events import kind_of

MAX_READ = 4096
"""Bytes of an answer read at most (a little of it goes into the delivery log when the answer is not 2xx)."""
_MAX_URL = 2048


class InvalidTarget(InvalidParameter):
    """A webhook's URL is not one the node may post to."""

    hint = "Give an http:// or https:// URL with a host name, without user:password@ and without #fragment."


def check_target(url: str) -> str:
    """``url`` if a webhook may post to it; ``InvalidTarget`` saying why not."""
    if len(url) > _MAX_URL or any(c.isspace() or not c.isprintable() for c in url):
        raise InvalidTarget(f"the webhook URL {url[:80]!r} is too long or holds spaces or control characters")
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # an unbalanced [ of an IPv6 address
        raise InvalidTarget(f"the webhook URL {url!r} cannot be read: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise InvalidTarget(f"the webhook URL {url!r} is not http:// or https://")
    if "@" in parts.netloc:
        raise InvalidTarget("the webhook URL carries credentials (user:password@host): they would be stored "
                            "and sent in clear; authenticate the node by the payload's signature instead")
    try:
        port = parts.port
    except ValueError:
        port = -1
    if not parts.hostname or port in (-1, 0):
        raise InvalidTarget(f"the webhook URL {url!r} has no host, or a port that is not 1-65535")
    if parts.fragment or url.endswith("#"):
        raise InvalidTarget(f"the webhook URL {url!r} has a #fragment, which is never sent")
    return url


def encode_batch(webhook_id: str, items: Sequence[StoredVersion]) -> bytes:
    """The body of a batch: each change as ``{"id", "event", "collection", "date_added", "object"}``."""
    events = [b'{"id":"%d","event":"%s","collection":%s,"date_added":%s,"object":%s}' % (
        item.date_added, kind_of(item.type, item.revoked).encode(), orjson.dumps(item.collection),
        orjson.dumps(format_micros(item.date_added)), item.canonical) for item in items]
    return b'{"webhook":%s,"events":[%s]}' % (orjson.dumps(webhook_id), b",".join(events))


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=`` and the hex HMAC-SHA256 of ``TIMESTAMP.BODY`` keyed with the secret (its UTF-8 bytes)."""
    mac = hmac.new(secret.encode("utf-8"), b"%d." % timestamp + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def headers(webhook_id: str, delivery: str, secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers of one POST of a batch."""
    return {"Content-Type": "application/json", "User-Agent": f"Phalanx/{__version__} webhook",
            "X-Phalanx-Webhook": webhook_id, "X-Phalanx-Delivery": delivery,
            "X-Phalanx-Timestamp": str(timestamp), "X-Phalanx-Signature": signature(secret, timestamp, body)}


@dataclass(frozen=True, slots=True)
class Reply:
    """What one POST got: the HTTP status (None: no answer) and, unless it was 2xx, why it failed."""

    status: int | None
    error: str
    duration: int
    """Microseconds."""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Poster(Protocol):
    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Reply:
        """POST ``body`` to ``url``; never raises for what the other end does (that is in the reply)."""
        ...


class HttpPoster:
    def __init__(self, *, timeout: float = 10.0, context: ssl.SSLContext | None = None) -> None:
        self._timeout = timeout
        self._context = context
        """Made at the first https:// POST (it reads the system's certificate authorities)."""

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Reply:
        started = time.monotonic()
        status, error = self._post(url, body, headers)
        return Reply(status, error, int((time.monotonic() - started) * 1_000_000))

    def _post(self, url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int | None, str]:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port
        connection: http.client.HTTPConnection
        if parts.scheme == "https":
            if self._context is None:
                self._context = ssl.create_default_context()
            connection = http.client.HTTPSConnection(host, port, timeout=self._timeout, context=self._context)
        else:
            connection = http.client.HTTPConnection(host, port, timeout=self._timeout)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        # The socket timeout bounds each read; this bounds the whole attempt (a receiver that trickles its answer
        # would otherwise hold a worker, and the webhook's lease, for as long as it likes).
        expired = threading.Event()

        def abort() -> None:
            expired.set()
            sock = connection.sock
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

        watchdog = threading.Timer(self._timeout, abort)
        watchdog.daemon = True
        watchdog.start()
        try:
            connection.request("POST", target, body=body, headers=dict(headers))
            response = connection.getresponse()
            head = response.read(MAX_READ)
        except TimeoutError:
            return None, f"no answer within {self._timeout:g} s"
        except (OSError, http.client.HTTPException) as exc:  # ssl.SSLError is an OSError
            if expired.is_set():
                return None, f"no answer within {self._timeout:g} s (or not all of it)"
            return None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        finally:
            watchdog.cancel()
            connection.close()
        if expired.is_set():
            return None, f"no answer within {self._timeout:g} s (or not all of it)"
        if 200 <= response.status < 300:
            return response.status, ""
        error = f"HTTP {response.status} {response.reason}".rstrip()
        if 300 <= response.status < 400:
            error += " (redirects are not followed: give the final URL)"
        text = " ".join(head.decode("utf-8", "replace").split())[:200]
        return response.status, f"{error}: {text}" if text else error
