"""Ingest: the one entry point through which every producer's objects enter the node.

parse + validate (``phalanx.stix``) -> authorize (``phalanx.policy``) -> store (atomic per batch, idempotent).
Each object gets its own result: accepted (added, linked, duplicate) or refused with the reason.
"""

from __future__ import annotations

__all__ = ["Ingest"]

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import islice

from ..config import Settings
from ..identity import Actor, Collection, Directory
from ..policy import may_write, require
from ..stix import Limits, Mode, Parsed, Refused, StixObject, parse_document
from ..store import PutResult, PutStatus, Store, VersionRow
from ._results import IngestSummary, ObjectResult

_REFUSALS = {
    PutStatus.CONFLICT: "conflict: another version with the same id and modified is stored with different content",
    PutStatus.REVOKED: "revoked: the object was revoked; revocation is final",
}


def to_row(obj: StixObject) -> VersionRow:
    return VersionRow(
        id=obj.id, type=obj.type, spec_version=obj.spec_version, version=obj.version, created=obj.created,
        revoked=obj.revoked, canonical=obj.canonical, digest=obj.digest, marking_refs=obj.marking_refs,
        created_by_ref=obj.created_by_ref,
    )


class Ingest:
    def __init__(self, store: Store, directory: Directory, settings: Settings) -> None:
        self._store = store
        self._directory = directory
        self._settings = settings

    def limits(self) -> Limits:
        return Limits(max_bytes=self._settings.max_document_bytes, max_depth=self._settings.max_depth)

    def mode(self, tolerant: bool | None) -> Mode:
        if tolerant is None:
            tolerant = not self._settings.strict
        return Mode.TOLERANT if tolerant else Mode.STRICT

    def authorize(self, actor: Actor, collection_ref: str) -> Collection:
        """The collection, if ``actor`` may share into it; raises ``NotFound`` or ``PermissionDenied``."""
        collection = self._directory.get_collection(collection_ref)
        members = set(self._directory.members(collection.community))
        require(may_write(actor, community=collection.community, members=members))
        return collection

    def document(self, actor: Actor, collection_ref: str, data: bytes | str, *,
                 tolerant: bool | None = None) -> list[ObjectResult]:
        """Ingest one document (bundle, object, array or JSON lines): a result for every object in it."""
        collection = self.authorize(actor, collection_ref)
        parsed = parse_document(data, mode=self.mode(tolerant), limits=self.limits())
        results: list[ObjectResult] = []
        for batch in _batches(enumerate(parsed), self._settings.batch_size):
            rows = _rows(batch)
            results.extend(_results(batch, self._put(collection, actor, rows)))
        return results

    def stream(self, actor: Actor, collection_ref: str, parsed: Iterable[Parsed], *,
               on_batch: Callable[[IngestSummary, int], None] | None = None) -> IngestSummary:
        """Ingest a long stream in batches with flat memory; ``on_batch(summary, last_index)`` runs after each
        batch is durable, in order.

        Parsing and storing overlap: while batch N is being written (the database does most of that work
        without holding the GIL), batch N+1 is parsed, validated and turned into rows on this thread. At most
        one batch is in flight, and batch N+1 is only handed to the store once batch N is committed and reported.
        """
        collection = self.authorize(actor, collection_ref)
        summary = IngestSummary()

        def finish(batch: list[tuple[int, Parsed]], stored: Future[list[PutResult]]) -> None:
            _tally(summary, batch, stored.result())
            summary.batches += 1
            if on_batch is not None:
                on_batch(summary, batch[-1][0])

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="phalanx-ingest") as store:
            in_flight: tuple[list[tuple[int, Parsed]], Future[list[PutResult]]] | None = None
            try:
                for batch in _batches(enumerate(parsed), self._settings.batch_size):  # parses the next batch
                    rows = _rows(batch)
                    if in_flight is not None:
                        done, in_flight = in_flight, None
                        finish(*done)
                    in_flight = (batch, store.submit(self._put, collection, actor, rows))
            finally:
                # Whatever stopped the stream, the batch already handed over is committed and reported.
                if in_flight is not None:
                    finish(*in_flight)
        return summary

    def _put(self, collection: Collection, actor: Actor, rows: list[VersionRow]) -> list[PutResult]:
        return self._store.put_many(collection.id, rows, contributor=actor.org_id) if rows else []


def _rows(batch: list[tuple[int, Parsed]]) -> list[VersionRow]:
    return [to_row(item) for _, item in batch if isinstance(item, StixObject)]


def _paired(batch: list[tuple[int, Parsed]], puts: list[PutResult]
            ) -> Iterator[tuple[int, Parsed, PutResult | None]]:
    """Each input object with what the store did with it (None for the parser's refusals), in input order."""
    outcomes = iter(puts)
    for index, item in batch:
        yield index, item, next(outcomes) if isinstance(item, StixObject) else None


def _refusal(index: int, item: Parsed, put: PutResult | None) -> ObjectResult:
    if isinstance(item, Refused):
        return ObjectResult(index, item.object_id, "refused", _reason(item))
    assert put is not None
    warnings = tuple(str(w) for w in item.warnings)
    return ObjectResult(index, item.id, "refused", _REFUSALS[put.status], put.version, None, warnings)


def _tally(summary: IngestSummary, batch: list[tuple[int, Parsed]], puts: list[PutResult]) -> None:
    """Count a stored batch into ``summary``, building full results only for the refusals it keeps."""
    for index, item, put in _paired(batch, puts):
        if put is not None and put.accepted:
            summary.accepted += 1
            summary.added += put.status is PutStatus.ADDED
        else:
            summary.record(_refusal(index, item, put))


def _results(batch: list[tuple[int, Parsed]], puts: list[PutResult]) -> list[ObjectResult]:
    """One result per input object: the parser's refusals, and what the store did with the rest (in order)."""
    results: list[ObjectResult] = []
    for index, item, put in _paired(batch, puts):
        if put is not None and put.accepted and isinstance(item, StixObject):
            warnings = tuple(str(w) for w in item.warnings)
            results.append(ObjectResult(index, item.id, "accepted", put.status.value, put.version,
                                        put.date_added, warnings))
        else:
            results.append(_refusal(index, item, put))
    return results


def _reason(refused: Refused) -> str:
    where = f"line {refused.line}: " if refused.line is not None else ""
    return where + refused.error.message


def _batches(items: Iterable[tuple[int, Parsed]], size: int) -> Iterator[list[tuple[int, Parsed]]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch
