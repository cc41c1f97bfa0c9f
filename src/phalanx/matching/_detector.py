"""The detector: the indicators one member may match against, indexed, and the matches of its telemetry.

It holds the latest version of each indicator (STIX patterns only) in a ``PatternIndex``: a new version replaces
the old one, a revoked one leaves, and ``valid_from``/``valid_until`` are checked at the time each record says
it happened. Indicators flagged by a warning list (a top-1M domain, a private address...) are kept but do not
alert unless ``alert_flagged``; whether one is flagged is decided when it first fires (most never do), then
remembered for that version.
"""

from __future__ import annotations

__all__ = ["Detector", "IndicatorInfo", "Match"]

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..errors import InvalidObservation, InvalidPattern, InvalidSTIX
from ..pattern import parse
from ..pattern._index import Hit, PatternIndex
from ..pattern._observations import Observations
from ..stix import now_micros, parse_micros
from ._extract import Record


@dataclass(frozen=True, slots=True)
class IndicatorInfo:
    """What a match says about the indicator that fired."""

    id: str
    modified: str
    name: str | None
    pattern: str
    created_by_ref: str | None
    confidence: int | None
    labels: tuple[str, ...]
    flags: tuple[str, ...] = ()
    """The warning lists one of its values is on (filled in when it fires)."""


@dataclass(frozen=True, slots=True)
class Match:
    indicator: IndicatorInfo
    record: Record
    source: str | None = None
    """The name of the organization that made the indicator (its ``created_by_ref``), when known."""


_SPELLINGS = {
    "MD5": ("MD5", "md5"),
    "SHA-1": ("SHA-1", "sha1", "SHA1", "sha-1"),
    "SHA-256": ("SHA-256", "sha256", "SHA256", "sha-256"),
    "SHA-512": ("SHA-512", "sha512", "SHA512", "sha-512"),
}

Flagger = Callable[[Any], tuple[str, ...]]
"""The warning lists a parsed pattern's values are on."""


def _micros(value: Any) -> int | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_micros(value)
    except InvalidSTIX:
        return None


class Detector:
    def __init__(self, *, flagger: Flagger | None = None, alert_flagged: bool = False, validity: bool = True,
                 clock: Callable[[], int] = now_micros) -> None:
        """``validity``: match only between an indicator's ``valid_from`` and ``valid_until`` (False: always,
        for a first pass whose candidates are checked again)."""
        self._index = PatternIndex()
        self._versions: dict[str, str] = {}
        self._revoked: set[str] = set()
        self._flagger = flagger
        self._flags: dict[str, IndicatorInfo] = {}
        """Indicators that fired, with their warning lists (a version's flags never change)."""
        self._alert_flagged = alert_flagged
        self._validity = validity
        self._clock = clock
        self._lock = threading.Lock()
        self.unreadable = 0
        """Observations that could not be matched (an observed-data without its times...)."""
        self.last_problem: str | None = None
        self.names: dict[str, str] = {}
        """Identity id -> name, from the identities offered."""
        self.refused: dict[str, str] = {}
        """Indicators that could not be indexed (id -> why): patterns that do not parse, for instance."""

    def __len__(self) -> int:
        return len(self._versions)

    def offer(self, obj: Mapping[str, Any]) -> bool:
        """Take one object version; True when it changed what is matched. Objects other than indicators with
        a STIX pattern, and versions older than the one held, change nothing (an identity's name is kept, to
        name who made the indicators that fire)."""
        if obj.get("type") == "identity":
            if isinstance(obj.get("id"), str) and isinstance(obj.get("name"), str) and not obj.get("revoked"):
                self.names[obj["id"]] = obj["name"]
            return False
        if obj.get("type") != "indicator":
            return False
        object_id, modified = obj.get("id"), obj.get("modified") or obj.get("created")
        if not isinstance(object_id, str) or not isinstance(modified, str):
            return False
        with self._lock:
            if object_id in self._revoked:  # revocation is final (STIX 3.6): no version after it, nor a late one
                return False
            held = self._versions.get(object_id)
            if held is not None and _micros(held) is not None and (_micros(modified) or 0) < (_micros(held) or 0):
                return False
            if obj.get("revoked") is True:
                self._revoked.add(object_id)
                return self._drop(object_id)
            if obj.get("pattern_type") not in ("stix", None):
                return self._drop(object_id)
            text = obj.get("pattern")
            if not isinstance(text, str):
                return self._drop(object_id)
            try:
                pattern = parse(text)
            except InvalidPattern as exc:
                self.refused[object_id] = exc.message
                return self._drop(object_id)
            labels = obj.get("labels")
            confidence = obj.get("confidence")
            created_by = obj.get("created_by_ref")
            name = obj.get("name")
            info = IndicatorInfo(
                object_id, modified, name if isinstance(name, str) else None, text,
                created_by if isinstance(created_by, str) else None,
                confidence if type(confidence) is int else None,
                tuple(v for v in labels if isinstance(v, str)) if isinstance(labels, list) else ())
            try:  # replaces the version held; a pattern refused whatever the data leaves the index as it was
                if self._validity:
                    self._index.add(object_id, pattern, valid_from=_micros(obj.get("valid_from")),
                                    valid_until=_micros(obj.get("valid_until")), payload=info)
                else:
                    self._index.add(object_id, pattern, payload=info)
            except InvalidPattern as exc:
                self.refused[object_id] = exc.message
                return self._drop(object_id)
            self._flags.pop(object_id, None)
            self._versions[object_id] = modified
            self.refused.pop(object_id, None)
            return True

    def _drop(self, object_id: str) -> bool:
        if object_id not in self._versions:
            return False
        self._index.remove(object_id)
        del self._versions[object_id]
        self._flags.pop(object_id, None)
        return True

    def _flagged(self, info: IndicatorInfo) -> IndicatorInfo:
        known = self._flags.get(info.id)
        if known is None or known.modified != info.modified:
            assert self._flagger is not None
            known = self._flags[info.id] = replace(info, flags=self._flagger(parse(info.pattern)))
        return known

    def offer_many(self, objects: Iterable[Mapping[str, Any]]) -> int:
        return sum(self.offer(obj) for obj in objects)

    def _hash_hits(self, algorithm: str, value: str, at: int) -> list[Hit]:
        """A plain hash from a log, against every way patterns write its algorithm (``hashes.'SHA-256'``,
        ``hashes.sha256``...) and its digits (their case means nothing): a pattern is matched as written, so
        the value is offered as one observation of a file carrying each spelling."""
        names = _SPELLINGS.get(algorithm, (algorithm,))
        files = [{"type": "file", "hashes": dict.fromkeys(names, digits)}
                 for digits in dict.fromkeys((value, value.lower(), value.upper()))]
        return self._index.match(Observations.single(files, at), at=at)

    def match(self, records: Sequence[Record]) -> list[Match]:
        """The matches of ``records``: each record with each active indicator it satisfies."""
        found: list[Match] = []
        now = self._clock()
        with self._lock:
            for record in records:
                at = record.time if record.time is not None else now
                if record.objects:
                    try:
                        observations = Observations.from_stix(record.objects)
                    except InvalidObservation as exc:
                        self.unreadable += 1
                        self.last_problem = f"line {record.line}: {exc.message}"
                        continue
                    hits = self._index.match(observations, at=at)
                elif record.kind is None:
                    continue
                elif record.kind.object_type == "file":
                    hits = self._hash_hits(record.kind.index_kind, record.value, at)
                else:
                    hits = self._index.match_value(record.kind.index_kind, record.value, at=at)
                for hit in hits:
                    info = hit.payload
                    assert isinstance(info, IndicatorInfo)
                    if self._flagger is not None:
                        info = self._flagged(info)
                    if info.flags and not self._alert_flagged:
                        continue
                    creator = info.created_by_ref
                    found.append(Match(info, record, self.names.get(creator) if creator is not None else None))
        return found
