"""Matching on the hub: members' observations against every indicator the node holds, each member seeing
only the matches of indicators it may read.

One ``Detector`` per process holds the latest version of every indicator in the store (built on first use, then
kept current from the feed: new versions replace old ones, revoked ones leave). The policy is not copied into
the index: the indicators that fired are read again through ``Reader.export`` as the caller (the policy compiled
into the query), and a match stands only if the caller may read that indicator, with the same pattern (a pattern
hidden from the caller by a granular marking does not fire for it).
"""

from __future__ import annotations

__all__ = ["Matching"]

import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import orjson

from ..identity import Actor
from ..matching._detector import Detector, Flagger, Match
from ..matching._extract import Record
from ..store import Query, StoredVersion
from ..streams import Event
from ..streams._feed import Feed
from ._read import Reader

_BATCH = 2000


class Matching:
    def __init__(self, reader: Reader, feed: Feed, *,
                 flagger: Callable[[], Flagger | None] = lambda: None,
                 name_of: Callable[[str], str | None] = lambda ref: None) -> None:
        self._reader = reader
        self._feed = feed
        self._flagger = flagger
        self._name_of = name_of
        self._detector: Detector | None = None
        self._lock = threading.Lock()

    def _ready(self) -> Detector:
        with self._lock:
            if self._detector is None:
                # Attached first: what is committed while the store is read is offered too (the newer version
                # wins, whichever way round the two arrive).
                detector = self._detector = Detector(flagger=None, alert_flagged=True, validity=False)
                self._feed.attach(self)
                for item in self._reader.export(Query(types=("indicator",), limit=_BATCH)):
                    detector.offer(orjson.loads(item.canonical))
            return self._detector

    # the feed's sink ---------------------------------------------------------------------------------

    def offer(self, items: Sequence[StoredVersion]) -> None:
        detector = self._detector
        if detector is None:
            return
        for item in items:
            if item.type == "indicator":
                detector.offer(orjson.loads(item.canonical))

    def notice(self, event: Event) -> None:
        pass

    # members ----------------------------------------------------------------------------------------

    def size(self) -> int:
        """How many indicators are indexed (builds the index on first use)."""
        return len(self._ready())

    def match(self, actor: Actor | None, records: Sequence[Record], *, flagged: bool = False) -> list[Match]:
        """The matches of ``records`` against the indicators ``actor`` may read (None: every indicator, for
        the node's operator). ``flagged``: also those of indicators on a warning list."""
        found = self._ready().match(records)
        if not found:
            return []
        ids = tuple(sorted({m.indicator.id for m in found}))
        readable: dict[str, tuple[int, dict[str, Any]]] = {}
        for item in self._reader.export(Query(ids=ids, types=("indicator",), limit=_BATCH), actor=actor):
            if item.id not in readable or item.version > readable[item.id][0]:
                readable[item.id] = (item.version, orjson.loads(item.canonical))
        # A match stands as the caller's own copy decides: the newest version it may read, without the parts
        # granular markings keep from it (a hidden pattern, name or valid_until must neither fire nor show). The
        # node-wide index leaves validity to this step, which reads it from that copy.
        wanted: dict[str, list[Record]] = {}
        for match in found:
            if match.indicator.id in readable:
                wanted.setdefault(match.indicator.id, []).append(match.record)
        kept: list[Match] = []
        for object_id, those in wanted.items():
            alone = Detector(flagger=self._flagger(), alert_flagged=flagged)
            alone.offer(readable[object_id][1])
            for match in alone.match(those):
                creator = match.indicator.created_by_ref
                kept.append(replace(match, source=self._name_of(creator) if creator is not None else None))
        return kept

    def close(self) -> None:
        if self._detector is not None:
            self._feed.detach(self)
