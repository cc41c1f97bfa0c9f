"""Answering a reconciliation request: the ranges a peer (or any reader) sends, compared with the versions of a
collection the caller may see there (the sharing policy decides, as for every read)."""

from __future__ import annotations

__all__ = ["Responder"]

import threading
import time
from typing import Any

from ..errors import InvalidParameter
from ..identity import Actor
from ..service import Reader
from ..store import Query, VersionFilter
from ._reconcile import MAX_RANGES, Range, VersionSet

_KEEP_SECONDS = 30.0
"""How long the set built for one reader and collection serves its next rounds."""
_KEEP_SETS = 8


class Responder:
    def __init__(self, reader: Reader) -> None:
        self._reader = reader
        self._lock = threading.Lock()
        self._sets: dict[tuple[str, str, str | None, str], tuple[float, VersionSet]] = {}

    def _set(self, actor: Actor, collection_id: str) -> VersionSet:
        key = (actor.org_id, actor.role.value, actor.user_id, collection_id)
        with self._lock:
            found = self._sets.get(key)
            if found is not None and time.monotonic() - found[0] < _KEEP_SECONDS:
                return found[1]
        query = Query(collection=collection_id, versions=(VersionFilter.ALL,), limit=1000)
        built = VersionSet((item.id, item.version) for item in self._reader.export(query, actor=actor))
        with self._lock:
            self._sets[key] = (time.monotonic(), built)
            while len(self._sets) > _KEEP_SETS:
                del self._sets[min(self._sets, key=lambda k: self._sets[k][0])]
        return built

    def answer(self, actor: Actor, collection_ref: str, request: object) -> dict[str, Any]:
        """The answers to ``{"ranges": [...]}`` for ``actor`` in the collection; raises ``NotFound`` /
        ``PermissionDenied`` like any read of it, ``InvalidParameter`` for a request that is not one."""
        access = self._reader.readable(actor, collection_ref)
        ranges = request.get("ranges") if isinstance(request, dict) else None
        if not isinstance(ranges, list) or not ranges:
            raise InvalidParameter('the body must be {"ranges": [{"lo": hex, "hi": hex, "count": n, "fp": hex}, ...]}',
                                   hint="Start with the whole space: lo 0, hi 10000000000000000.")
        if len(ranges) > MAX_RANGES:
            raise InvalidParameter(f"at most {MAX_RANGES} ranges per request, not {len(ranges)}")
        parsed = [Range.from_record(r) for r in ranges]
        versions = self._set(actor, access.collection.id)
        return {"answers": [versions.answer(r).record() for r in parsed]}
