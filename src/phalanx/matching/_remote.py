"""A member's matcher fed by its hub: the hub's live stream of indicators (and identities, to name who made
them) (what this member's key may read,
the hub's policy applied) keeps a local ``Detector`` current, so telemetry never leaves the member's machine;
only the sightings it chooses to report do.

``HubFeed`` catches up on every indicator from the start of the stream, then follows it live, reconnecting
with ``Last-Event-ID`` after a break (nothing lost, nothing twice). ``ready`` is set once the catch-up is done.
"""

from __future__ import annotations

__all__ = ["HubFeed"]

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from ..errors import Error, PeerRefused
from ..federation._client import LiveStream, PeerClient
from ._detector import Detector

_log = logging.getLogger("phalanx.matching")


class HubFeed:
    def __init__(self, client: PeerClient, detector: Detector, *, idle: float = 30.0,
                 on_indicator: Callable[[Mapping[str, Any]], None] | None = None) -> None:
        self._client = client
        self._detector = detector
        self._idle = idle
        self._on_indicator = on_indicator
        self._stop = threading.Event()
        self._stream: LiveStream | None = None
        self._thread: threading.Thread | None = None
        self.ready = threading.Event()
        """Set when the catch-up reached what the hub held at the time it was asked."""
        self.last_event_id = 0
        self.error: Error | None = None
        """The last problem with the hub (the feed retries; a refusal of the key stops it)."""

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="phalanx-hub-feed", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        delay = 0.5
        while not self._stop.is_set():
            try:
                self._follow()
                delay = 0.5
            except PeerRefused as exc:
                self.error = exc
                self.ready.set()
                _log.error("the hub refused the live stream: %s", exc.message)
                return
            except Error as exc:
                self.error = exc
                _log.warning("live stream of indicators interrupted (%s); retrying in %.1f s", exc.message, delay)
            self._stop.wait(delay)
            delay = min(delay * 2, 10.0)

    def _follow(self) -> None:
        stream = self._client.stream([], last_event_id=self.last_event_id, idle=self._idle,
                                     types=("indicator", "identity"))
        self._stream = stream
        if self._stop.is_set():
            stream.close()
            return
        for message in stream:
            if message.event in ("object-added", "object-revoked"):
                data = orjson.loads(message.data)
                obj = data.get("object") if isinstance(data, dict) else None
                if isinstance(obj, dict) and self._detector.offer(obj) and self.ready.is_set() \
                        and self._on_indicator is not None:
                    self._on_indicator(obj)
                if message.id is not None and message.id.isdigit():
                    self.last_event_id = int(message.id)
            elif message.event == "live":
                self.ready.set()  # everything the hub held when asked is indexed
            elif message.event == "lagged":
                return  # resume from the store with the last id taken
            elif message.event == "closed":
                raise PeerRefused(f"the hub ended the stream: {message.data}")
            if self._stop.is_set():
                return

    def close(self) -> None:
        self._stop.set()
        if self._stream is not None:
            self._stream.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
