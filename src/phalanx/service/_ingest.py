"""Ingest: the one entry point through which every producer's objects enter the node.

parse + validate (``phalanx.stix``) -> authorize (``phalanx.policy``: the collection, the recipients, the level
of each object, what may be done to others' objects) -> verify signatures (``Provenance``) -> store (atomic per
batch, idempotent) -> the ledger logs the new versions (``Sequencer``, poked after each batch) -> events announce them
(``Announcer``: live streams, webhooks, federation).
Each object gets its own result: accepted (added, linked, duplicate) or refused with the reason.
"""

from __future__ import annotations

__all__ = ["Ingest", "Sharing", "to_row"]

from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from itertools import islice
from typing import Any

from ..analysis import correlation_keys
from ..analysis._text import text_terms
from ..config import Settings
from ..errors import InvalidRecipients, NotFound
from ..identity import Actor, Collection, Directory, Organization, User
from ..policy import (
    Recipients,
    Venue,
    anonymity,
    check_recipients,
    may_pass_on,
    may_write,
    principals,
    require,
    scope_notes,
    sharing_levels,
    write_guard,
)
from ..stix import Limits, Mode, Parsed, Refused, StixObject, Tlp, parse_document
from ..store import PutResult, PutStatus, Store, VersionRow, WriteGuard
from ._provenance import Provenance
from ._results import IngestSummary, ObjectResult
from ._screening import Screening
from ._sightings import facts_of

_CONFLICT = "conflict: another version with the same id and modified is stored with different content"
_REVOKED = "revoked: the object was revoked; revocation is final"
_FOREIGN = ("foreign: another organization contributed this object; only its contributor may add versions to "
            "it or revoke it")


def to_row(obj: StixObject, *, default_tlp: Tlp = Tlp.AMBER, strict: bool = True) -> VersionRow:
    """The row the store keeps for ``obj``, with the sharing levels ``phalanx.policy`` gives it."""
    level, top = sharing_levels(obj, default=default_tlp, strict=strict)
    return VersionRow(
        id=obj.id, type=obj.type, spec_version=obj.spec_version, version=obj.version, created=obj.created,
        revoked=obj.revoked, canonical=obj.canonical, digest=obj.digest, marking_refs=obj.marking_refs,
        created_by_ref=obj.created_by_ref, level=level.rank, top_level=top.rank,
        correlation_keys=correlation_keys(obj, level=level), sighting=facts_of(obj),
        search_terms=text_terms(obj.type, obj.canonical, level=level),
    )


@dataclass(frozen=True, slots=True)
class Sharing:
    """One act of sharing, authorized: who shares into which collection, to whom, under which guard."""

    actor: Actor
    collection: Collection
    recipients: Recipients
    scope: frozenset[str] | None
    guard: WriteGuard
    default_tlp: Tlp
    strict: bool
    check: Callable[[StixObject], StixObject | str] | None = None
    """How signatures are checked (the object to store, or why it is refused); None: against this node's keys.
    Federation checks what a peer sends against the peer's keys instead."""


class Ingest:
    def __init__(self, store: Store, directory: Directory, settings: Settings, *,
                 provenance: Provenance | None = None, on_stored: Callable[[], None] | None = None,
                 announce: Callable[[str, Sequence[VersionRow], list[PutResult]], None] | None = None) -> None:
        self._store = store
        self._directory = directory
        self._settings = settings
        self._provenance = provenance
        self._on_stored = on_stored
        self._announce = announce
        self._screening = Screening(settings.warninglists)  # MISP warning lists: read on the first indicator

    def limits(self) -> Limits:
        return Limits(max_bytes=self._settings.max_document_bytes, max_depth=self._settings.max_depth)

    def mode(self, tolerant: bool | None) -> Mode:
        if tolerant is None:
            tolerant = not self._settings.strict
        return Mode.TOLERANT if tolerant else Mode.STRICT

    def authorize(self, actor: Actor, collection_ref: str, *, organizations: Sequence[str] = (),
                  people: Sequence[str] = (), tolerant: bool | None = None,
                  relays: frozenset[str] = frozenset()) -> Sharing:
        """Check that ``actor`` may share into the collection, to these recipients (names or ids of
        organizations, and usernames or ids of people); raises ``NotFound``, ``PermissionDenied`` or
        ``InvalidRecipients``."""
        collection = self._directory.get_collection(collection_ref)
        members = set(self._directory.members(collection.community))
        require(may_write(actor, community=collection.community, members=members))
        recipients = Recipients(
            tuple(self._recipient(self._directory.get_organization, ref, "organization", collection.community,
                                  members) for ref in organizations),
            tuple(self._recipient(self._directory.get_user, ref, "person", collection.community, members)
                  for ref in people),
        )
        venue = Venue(collection.community, frozenset(members), collection.public)
        return Sharing(actor, collection, recipients, principals(recipients), write_guard(actor, venue, relays=relays),
                       self._settings.default_tlp, self.mode(tolerant) is Mode.STRICT)

    @staticmethod
    def _recipient(get: Callable[[str], Any], ref: str, what: str, community: str, members: set[str]) -> Any:
        """The organization or person ``ref`` names, when the policy lets it be a recipient in ``community``
        (``check_recipients``). One unknown and one outside the community get the same answer, which repeats
        ``ref`` as given: which exist, and their names, are nobody's business."""
        noun = "a member of" if what == "organization" else "of a member organization of"
        message = f"recipient {ref.strip()!r} is not {noun} community {community!r}"
        try:
            found: Organization | User = get(ref.strip())
        except NotFound:
            raise InvalidRecipients(message) from None
        one = Recipients((found,), ()) if isinstance(found, Organization) else Recipients((), (found,))
        decision = check_recipients(one, community=community, members=members)
        if not decision.allowed:
            raise InvalidRecipients(message, hint=decision.remedy)
        return found

    def document(self, actor: Actor, collection_ref: str, data: bytes | str, *, tolerant: bool | None = None,
                 organizations: Sequence[str] = (), people: Sequence[str] = ()) -> list[ObjectResult]:
        """Ingest one document (bundle, object, array or JSON lines): a result for every object in it."""
        sharing = self.authorize(actor, collection_ref, organizations=organizations, people=people,
                                 tolerant=tolerant)
        parsed = parse_document(data, mode=self.mode(tolerant), limits=self.limits())
        return self.parsed(sharing, parsed)

    def parsed(self, sharing: Sharing, parsed: Iterable[Parsed], *, first_index: int = 0) -> list[ObjectResult]:
        """Store objects already parsed, in batches: a result for every one, in order."""
        results: list[ObjectResult] = []
        for batch in _batches(enumerate(parsed, start=first_index), self._settings.batch_size):
            batch, _ = self._screening.batch(sharing.actor, batch, relayed=sharing.check is not None)
            rows = self._rows(sharing, batch)
            results.extend(_results(sharing, batch, rows, self._put(sharing, rows)))
        return results

    def together(self, sharing: Sharing, parsed: Sequence[Parsed]) -> list[ObjectResult]:
        """Store a few objects that belong together (a report and its indicators) all at once, or none of them.

        Everything ``parsed`` would do is checked first, on every object (parsing, the warning lists, the
        collection's filter, provenance); when any object would be refused, nothing is stored: the results give
        its reason, and every other object is refused as "not stored". Otherwise all go to the store in one
        transaction. The store's own refusals (conflict, revoked, foreign, restricted) are about versions
        already stored, so new objects with fresh ids cannot meet them."""
        batch, _ = self._screening.batch(sharing.actor, list(enumerate(parsed)), relayed=sharing.check is not None)
        rows = self._rows(sharing, batch)
        if all(isinstance(row, VersionRow) for row in rows):
            return _results(sharing, batch, rows, self._put(sharing, rows))
        return [_refusal(sharing, index, item, row, None) if not isinstance(row, VersionRow)
                else ObjectResult(index, item.id if isinstance(item, StixObject) else item.object_id, "refused",
                                  "not stored: another object shared with it was refused, and they go together")
                for (index, item), row in zip(batch, rows, strict=True)]

    def stream(self, actor: Actor, collection_ref: str, parsed: Iterable[Parsed], *,
               on_batch: Callable[[IngestSummary, int], None] | None = None, organizations: Sequence[str] = (),
               people: Sequence[str] = (), tolerant: bool | None = None) -> IngestSummary:
        """Ingest a long stream in batches with flat memory; ``on_batch(summary, last_index)`` runs after each
        batch is durable, in order.

        Parsing and storing overlap: while batch N is being written (the database does most of that work
        without holding the GIL), batch N+1 is parsed, validated and turned into rows on this thread. At most
        one batch is in flight, and batch N+1 is only handed to the store once batch N is committed and reported.
        """
        sharing = self.authorize(actor, collection_ref, organizations=organizations, people=people,
                                 tolerant=tolerant)
        return self.stream_shared(sharing, parsed, on_batch=on_batch)

    def stream_shared(self, sharing: Sharing, parsed: Iterable[Parsed], *,
                      on_batch: Callable[[IngestSummary, int], None] | None = None,
                      keep_refusals: int | None = 1000) -> IngestSummary:
        """``stream`` for an act of sharing already authorized; the summary keeps the first ``keep_refusals``
        refusals in full (None: all)."""
        summary = IngestSummary(max_refusals_kept=keep_refusals)

        def finish(batch: list[tuple[int, Parsed]], rows: list[_Row], stored: Future[list[PutResult]]) -> None:
            _tally(sharing, summary, batch, rows, stored.result())
            summary.batches += 1
            if on_batch is not None:
                on_batch(summary, batch[-1][0])

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="phalanx-ingest") as store:
            in_flight: tuple[list[tuple[int, Parsed]], list[_Row], Future[list[PutResult]]] | None = None
            try:
                for batch in _batches(enumerate(parsed), self._settings.batch_size):  # parses the next batch
                    batch, flagged = self._screening.batch(sharing.actor, batch, relayed=sharing.check is not None)
                    summary.flagged += flagged
                    rows = self._rows(sharing, batch)
                    if in_flight is not None:
                        done, in_flight = in_flight, None
                        finish(*done)
                    in_flight = (batch, rows, store.submit(self._put, sharing, rows))
            finally:
                # Whatever stopped the stream, the batch already handed over is committed and reported.
                if in_flight is not None:
                    finish(*in_flight)
        return summary

    def _rows(self, sharing: Sharing, batch: list[tuple[int, Parsed]]) -> list[_Row]:
        """One entry per input object: its row for the store, or the reason it is refused before the store."""
        types = sharing.collection.types
        rows: list[_Row] = []
        for _, item in batch:
            if not isinstance(item, StixObject):
                rows.append(None)
            elif types and item.type not in types:
                rows.append(f"filtered: the collection {sharing.collection.title!r} takes only {', '.join(types)} "
                            f"objects, not {item.type}")
            elif not (anonymous := anonymity(item, sharing.actor.org_id)).allowed:
                rows.append("anonymous: " + anonymous.reason)
            else:
                if sharing.check is not None:
                    checked = sharing.check(item)
                elif self._provenance is not None:
                    checked = self._provenance.check(item, sharing.actor.org_id,
                                                     mode=Mode.STRICT if sharing.strict else Mode.TOLERANT)
                else:
                    checked = item
                rows.append(checked if isinstance(checked, str)
                            else to_row(checked, default_tlp=sharing.default_tlp, strict=sharing.strict))
        return rows

    def _put(self, sharing: Sharing, rows: list[_Row]) -> list[PutResult]:
        storable = [row for row in rows if isinstance(row, VersionRow)]
        if not storable:
            return []
        results = self._store.put_many(sharing.collection.id, storable, contributor=sharing.actor.org_id,
                                       scope=sharing.scope, guard=sharing.guard)
        if self._on_stored is not None and any(r.status is PutStatus.ADDED for r in results):
            self._on_stored()  # the ledger logs the new versions
        if self._announce is not None:
            self._announce(sharing.collection.id, storable, results)  # live streams, webhooks, federation
        return results


_Row = VersionRow | str | None
"""A row for the store, the reason an object is refused before the store, or None for the parser's refusals."""


def _paired(batch: list[tuple[int, Parsed]], rows: list[_Row], puts: list[PutResult]
            ) -> Iterator[tuple[int, Parsed, _Row, PutResult | None]]:
    """Each input object with its row and what the store did with it (None when it never reached the store)."""
    outcomes = iter(puts)
    for (index, item), row in zip(batch, rows, strict=True):
        yield index, item, row, next(outcomes) if isinstance(row, VersionRow) else None


def _level(row: _Row) -> Tlp:
    assert isinstance(row, VersionRow)
    return Tlp.of_rank(row.level)


def _top(row: _Row) -> Tlp:
    assert isinstance(row, VersionRow)
    return Tlp.of_rank(row.top_level)


def _refusal(sharing: Sharing, index: int, item: Parsed, row: _Row, put: PutResult | None) -> ObjectResult:
    if isinstance(item, Refused):
        where = f"line {item.line}: " if item.line is not None else ""
        return ObjectResult(index, item.object_id, "refused", where + item.error.message)
    warnings = tuple(str(w) for w in item.warnings)
    if isinstance(row, str):
        return ObjectResult(index, item.id, "refused", row, item.version, None, warnings)
    assert put is not None
    if put.status is PutStatus.RESTRICTED:
        reason = may_pass_on(sharing.actor, level=_top(row), own=False, public=sharing.collection.public).reason
        detail = ("restricted: another organization contributed this version, which you may not pass on ("
                  + reason + ")")
    else:
        detail = {PutStatus.CONFLICT: _CONFLICT, PutStatus.REVOKED: _REVOKED, PutStatus.FOREIGN: _FOREIGN}[put.status]
    return ObjectResult(index, item.id, "refused", detail, put.version, None, warnings)


def _tally(sharing: Sharing, summary: IngestSummary, batch: list[tuple[int, Parsed]], rows: list[_Row],
           puts: list[PutResult]) -> None:
    """Count a stored batch into ``summary``, building full results only for the refusals it keeps."""
    for index, item, row, put in _paired(batch, rows, puts):
        if put is not None and put.accepted:
            summary.accepted += 1
            summary.added += put.status is PutStatus.ADDED
        else:
            summary.record(_refusal(sharing, index, item, row, put))


def _results(sharing: Sharing, batch: list[tuple[int, Parsed]], rows: list[_Row], puts: list[PutResult]
             ) -> list[ObjectResult]:
    """One result per input object: the refusals, and what the store did with the rest (in order)."""
    results: list[ObjectResult] = []
    for index, item, row, put in _paired(batch, rows, puts):
        if put is not None and put.accepted and isinstance(item, StixObject):
            warnings = tuple(str(w) for w in item.warnings)
            if put.status is not PutStatus.DUPLICATE:
                warnings += tuple(scope_notes(_level(row), sharing.recipients, public=sharing.collection.public,
                                              top=_top(row)))
            elif sharing.recipients:
                warnings += ("already shared into this collection: it keeps the recipients it was first shared "
                             "with (share a new version to change who receives it)",)
            results.append(ObjectResult(index, item.id, "accepted", put.status.value, put.version,
                                        put.date_added, warnings))
        else:
            results.append(_refusal(sharing, index, item, row, put))
    return results


def _batches(items: Iterable[tuple[int, Parsed]], size: int) -> Iterator[list[tuple[int, Parsed]]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch
