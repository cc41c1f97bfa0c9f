"""Sightings: a member telling the community "we saw this" (or "it is a false positive", or "it expired"), and
what the community's sightings of an object add up to, k-anonymously (docs/sightings.md).

    >>> from phalanx.config import Settings
    >>> from phalanx.identity import Actor, Role
    >>> from phalanx.service import Node
    >>> node = Node.open(Settings(database_url="memory://"), upgrade=True)
    >>> node.sightings.tallies(Actor("identity--a", Role.READER), ["indicator--..."])["indicator--..."].seen is None
    True
    >>> node.close()

A sighting is a STIX ``sighting`` like any other object: ``record`` builds one for the caller's organization and
shares it through ``Ingest``, into a collection the caller may write (by default one where it reads the object
sighted), so that the policy, signatures, the ledger, live streams, webhooks and federation all apply to it.
Sightings shared any other way (TAXII, imports, peers) count the same.

``tallies`` asks the store for the sightings of each object among those the caller may see (the policy compiled
into the query, collection by collection), and ``phalanx.policy.disclose`` decides what of them it is told.
"""

from __future__ import annotations

__all__ = ["SightingReport", "Sightings", "disclosed_json", "facts_of", "result_json"]

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import orjson

from ..config import Settings
from ..errors import Error, InvalidParameter, NotFound, PermissionDenied
from ..identity import Actor, Role
from ..policy import (
    SIGHTING_ANONYMOUS,
    SIGHTING_KIND,
    Disclosed,
    disclose,
    may_attach_observed,
    sighting_level,
    visibility,
)
from ..stix import Mode, StixObject, Tlp, deterministic_id, format_micros, now_micros, parse_micros
from ..store import Query, Sighted, SightingKind, Store, VersionFilter, Visibility
from ._read import Reader
from ._results import ObjectResult

if TYPE_CHECKING:
    from ._ingest import Ingest

_MAX_COUNT = 999_999_999
_LOOK = 500
"""Ids looked up per query when checking which objects a caller sees."""


def _micros(value: object) -> int | None:
    try:
        return parse_micros(value) if isinstance(value, str) else None
    except ValueError:
        return None


def facts_of(obj: StixObject) -> Sighted | None:
    """What the store keeps of a sighting for the aggregates (None: not a sighting, or one that counts for
    nothing: a "seen" one with count 0)."""
    if obj.type != "sighting":
        return None
    data: dict[str, Any] = orjson.loads(obj.canonical)
    sighted, count = data.get("sighting_of_ref"), data.get("count", 1)
    try:
        kind = SightingKind(data.get(SIGHTING_KIND, SightingKind.SEEN.value))
    except ValueError:
        return None  # validation refuses any other kind: only a stored object of old could have one
    if not isinstance(sighted, str) or type(count) is not int or (kind is SightingKind.SEEN and count == 0):
        return None
    created = obj.created if obj.created is not None else obj.version
    first, last = _micros(data.get("first_seen")), _micros(data.get("last_seen"))
    first_seen = first if first is not None else last if last is not None else created
    last_seen = last if last is not None else first if first is not None else created
    return Sighted(sighted, kind, count, first_seen, last_seen)


@dataclass(frozen=True, slots=True)
class SightingReport:
    """One sighting to record: ``sighted`` (an object id, usually an indicator's) was seen ``count`` times
    between ``first_seen`` and ``last_seen`` (microseconds; None: not said), or is a false positive, or expired.
    ``observed`` are cyber-observables (``{"type": "ipv4-addr", "value": "..."}``) to attach as observed data."""

    sighted: str
    kind: SightingKind = SightingKind.SEEN
    count: int = 1
    first_seen: int | None = None
    last_seen: int | None = None
    anonymous: bool = False
    observed_data_refs: tuple[str, ...] = ()
    observed: tuple[Mapping[str, Any], ...] = ()


def _kind(value: SightingKind | str) -> SightingKind:
    if isinstance(value, SightingKind):
        return value
    try:
        return SightingKind(value)
    except ValueError:
        raise InvalidParameter(f"kind {value!r} is not one of {', '.join(k.value for k in SightingKind)}") from None


def _check(report: SightingReport) -> None:
    if type(report.count) is not int or not 0 <= report.count <= _MAX_COUNT:
        raise InvalidParameter(f"count must be a whole number from 0 to {_MAX_COUNT:,}")
    if report.kind is SightingKind.SEEN and report.count == 0:
        raise InvalidParameter("a sighting that was seen was seen at least once (count >= 1)")
    if (report.first_seen is not None and report.last_seen is not None
            and report.last_seen < report.first_seen):
        raise InvalidParameter("last_seen is before first_seen")
    for ref in report.observed_data_refs:
        if not isinstance(ref, str) or not ref.startswith("observed-data--"):
            raise InvalidParameter(f"{ref!r} is not the id of an observed-data object")
    if report.observed or report.observed_data_refs:
        attach = may_attach_observed(report.anonymous)
        if not attach.allowed:
            raise InvalidParameter(attach.reason,
                                   hint="Send the anonymous sighting without observed values, or an attributed one.")


class Sightings:
    def __init__(self, store: Store, reader: Reader, ingest: Ingest, settings: Settings, *,
                 clock: Callable[[], int] = now_micros) -> None:
        self._store = store
        self._reader = reader
        self._ingest = ingest
        self._settings = settings
        self._clock = clock

    # recording ----------------------------------------------------------------------------------------

    def record(self, actor: Actor, sighted: str, *, kind: SightingKind | str = SightingKind.SEEN, count: int = 1,
               first_seen: int | None = None, last_seen: int | None = None, anonymous: bool = False,
               observed_data_refs: Sequence[str] = (), observed: Sequence[Mapping[str, Any]] = (),
               collection: str | None = None, tlp: Tlp | None = None) -> ObjectResult:
        """Share a sighting of ``sighted`` by ``actor``'s organization (anonymous: naming nobody); the sighting's
        result. Raises ``NotFound`` when the caller sees no object ``sighted``, ``PermissionDenied`` when it may
        share into no collection that holds it (name ``collection``), ``InvalidParameter`` for a bad value."""
        report = SightingReport(sighted, _kind(kind), count, first_seen, last_seen, anonymous,
                                tuple(observed_data_refs), tuple(observed))
        return self.record_many(actor, [report], collection=collection, tlp=tlp)[0]

    def record_many(self, actor: Actor, reports: Iterable[SightingReport], *, collection: str | None = None,
                    tlp: Tlp | None = None) -> list[ObjectResult]:
        """``record`` for many sightings, stored in as few batches as there are collections: one result per
        report, in order. Every report is checked before anything is shared."""
        wanted = list(reports)
        for report in wanted:
            _check(report)
        if actor.role is Role.ANONYMOUS:
            raise PermissionDenied("sightings are shared by members: send credentials")
        into = self._collections(actor, [r.sighted for r in wanted], collection)
        floors = self._levels(actor, [r.sighted for r in wanted]) if tlp is None else {}
        built = [self._build(actor, r, tlp if tlp is not None else floors.get(r.sighted)) for r in wanted]
        results: list[ObjectResult | None] = [None] * len(wanted)
        for target in dict.fromkeys(into[r.sighted] for r in wanted):
            chosen = [i for i, r in enumerate(wanted) if into[r.sighted] == target]
            sharing = self._ingest.authorize(actor, target)
            objects = [obj for i in chosen for obj in built[i]]
            stored = {r.id: r for r in self._ingest.parsed(sharing, objects)}
            for i in chosen:
                sighting, *attached = built[i]
                result = stored[sighting.id]
                notes = tuple(f"{o.id}: {stored[o.id].detail}" for o in attached if stored[o.id].outcome == "refused")
                results[i] = replace(result, index=i, warnings=result.warnings + notes)
        return [r for r in results if r is not None]

    def _build(self, actor: Actor, report: SightingReport, tlp: Tlp | None) -> list[StixObject]:
        """The sighting (first), and the observed data and observables it comes with."""
        now = format_micros(self._clock())
        common: dict[str, Any] = {"spec_version": "2.1", "created": now, "modified": now}
        if tlp is not None:
            common["object_marking_refs"] = [tlp.value]
        if not report.anonymous:
            common["created_by_ref"] = actor.org_id
        attached: list[StixObject] = []
        observed_refs = list(report.observed_data_refs)
        if report.observed:
            observables = [self._parse(self._observable(o)) for o in report.observed]
            first = report.first_seen if report.first_seen is not None else self._clock()
            last = report.last_seen if report.last_seen is not None else max(first, self._clock())
            observed_data = self._parse({
                "type": "observed-data", "id": f"observed-data--{uuid.uuid4()}", **common,
                "first_observed": format_micros(first), "last_observed": format_micros(last),
                "number_observed": max(1, report.count), "object_refs": list(dict.fromkeys(o.id for o in observables))})
            attached = [*observables, observed_data]
            observed_refs.append(observed_data.id)
        sighting: dict[str, Any] = {"type": "sighting", "id": f"sighting--{uuid.uuid4()}", **common,
                                    "sighting_of_ref": report.sighted, "count": report.count}
        if report.first_seen is not None:
            sighting["first_seen"] = format_micros(report.first_seen)
        if report.last_seen is not None:
            sighting["last_seen"] = format_micros(report.last_seen)
        if observed_refs:
            sighting["observed_data_refs"] = list(dict.fromkeys(observed_refs))
        if report.kind is not SightingKind.SEEN:
            sighting[SIGHTING_KIND] = report.kind.value
        if report.anonymous:
            sighting[SIGHTING_ANONYMOUS] = True
        else:
            sighting["where_sighted_refs"] = [actor.org_id]
        return [self._parse(sighting), *attached]

    def _observable(self, value: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(value, Mapping) or not isinstance(value.get("type"), str):
            raise InvalidParameter('each observed value is a cyber-observable: {"type": "ipv4-addr", "value": ...}')
        sco = {"spec_version": "2.1", **value}
        if "id" not in sco:
            sco["id"] = deterministic_id(sco) or f"{sco['type']}--{uuid.uuid4()}"
        return sco

    def _parse(self, data: dict[str, Any]) -> StixObject:
        try:
            return StixObject.from_dict(data, mode=Mode.STRICT, limits=self._ingest.limits())
        except Error as exc:
            raise InvalidParameter(f"the sighting cannot be built: {exc.message}", hint=exc.hint) from exc

    def _collections(self, actor: Actor, sighted: Sequence[str], collection: str | None) -> dict[str, str]:
        """For each object sighted, the collection its sighting goes into: ``collection``, else the first one
        the caller may write where it reads the object."""
        ids = list(dict.fromkeys(sighted))
        accesses = [a for a in self._reader.collections(actor) if a.can_read]
        target = None if collection is None else self._reader.collection(actor, collection)
        found: dict[str, str] = {}
        seen: set[str] = set()
        for access in accesses:
            missing = [i for i in ids if i not in found] if target is None else [i for i in ids if i not in seen]
            if not missing:
                break
            here = self._held(actor, access.collection.id, missing)
            seen |= here
            if target is None and access.can_write:
                found.update((i, access.collection.id) for i in missing if i in here)
        for object_id in ids:
            if object_id not in seen:
                raise NotFound(f"no object {object_id} that you may read",
                               hint="Check the id: a sighting reports on an object shared with you.")
        if target is not None:
            return dict.fromkeys(ids, target.collection.id)
        for object_id in ids:
            if object_id not in found:
                raise PermissionDenied(f"you read {object_id} only in collections you may not share into",
                                       hint="Name a collection you may share into (collection, --collection).")
        return found

    def _levels(self, actor: Actor, ids: Sequence[str]) -> dict[str, Tlp]:
        """For each object sighted, the TLP its sighting takes when none is asked for (``sighting_level``; the
        objects absent take the node's default)."""
        highest: dict[str, int] = {}
        query = Query(ids=tuple(dict.fromkeys(ids)), versions=(VersionFilter.ALL,), limit=self._settings.page_size_max)
        for item in self._reader.export(query, actor=actor):
            highest[item.id] = max(item.level, highest.get(item.id, item.level))
        floors = {i: sighting_level(Tlp.of_rank(level), self._settings.default_tlp) for i, level in highest.items()}
        return {i: level for i, level in floors.items() if level is not None}

    def _held(self, actor: Actor, collection: str, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` the caller sees (a version of) in ``collection``."""
        held: set[str] = set()
        for start in range(0, len(ids), _LOOK):
            query = Query(collection=collection, ids=tuple(ids[start : start + _LOOK]), versions=(VersionFilter.ALL,),
                          limit=self._settings.page_size_max)
            while True:
                page = self._reader.page(actor, query)
                held.update(item.id for item in page.items)
                if not page.more:
                    break
                query = replace(query, cursor=page.next_cursor)
        return held

    # reading ------------------------------------------------------------------------------------------

    def readable(self, actor: Actor) -> dict[str, Visibility]:
        """The collections whose sightings ``actor`` may see, and what it may see in each."""
        found: dict[str, Visibility] = {}
        for access in self._reader.collections(actor):
            types = self._reader.types_for(actor, access.collection)
            if access.can_read and (types is None or "sighting" in types):
                found[access.collection.id] = visibility(actor, access.venue)
        return found

    def tallies(self, actor: Actor, object_ids: Sequence[str]) -> dict[str, Disclosed]:
        """What ``actor`` is told of the sightings of each of ``object_ids``: only sightings it may see count,
        and counts behind which fewer than ``sighting_k`` other organizations stand are withheld. For lists of
        objects the caller has read (it does not check that the caller sees them)."""
        own = None if actor.role is Role.ANONYMOUS or not actor.org_id else actor.org_id
        found = self._store.sighting_tallies(list(dict.fromkeys(object_ids)), self.readable(actor), own=own)
        return {ref: disclose(actor, tally, k=self._settings.sighting_k) for ref, tally in found.items()}

    def of(self, actor: Actor, object_id: str) -> Disclosed:
        """``tallies`` for one object the caller sees (``NotFound`` otherwise, as for one that does not exist)."""
        if not any(object_id in self._held(actor, a.collection.id, [object_id])
                   for a in self._reader.collections(actor) if a.can_read):
            raise NotFound(f"no object {object_id} that you may read",
                           hint="Check the id: the collections' objects list what you may see.")
        return self.tallies(actor, [object_id])[object_id]


def result_json(result: ObjectResult) -> dict[str, Any]:
    """A recorded sighting's result, as the API answers it."""
    return {"id": result.id, "outcome": result.outcome, "detail": result.detail,
            **({"version": format_micros(result.version)} if result.version is not None else {}),
            **({"warnings": list(result.warnings)} if result.warnings else {})}


def disclosed_json(found: Disclosed) -> dict[str, Any]:
    """What a reader is told of an object's sightings, as the API answers it (docs/api.md)."""

    def count(value: int | None, **more: Any) -> dict[str, Any]:
        if value is None:
            return {"organizations": None, "fewer_than": found.k}
        return {"organizations": value, **more}

    def stamp(value: int | None) -> str | None:
        return None if value is None else format_micros(value)

    own = found.own
    return {
        "id": found.sighted,
        "k": found.k,
        "seen": count(found.seen, sightings=found.sightings, count=found.count, first_seen=stamp(found.first_seen),
                      last_seen=stamp(found.last_seen)),
        "false_positive": count(found.false_positive),
        "expired": count(found.expired),
        "own": {"seen": own.seen > 0, "sightings": own.sightings, "count": own.count,
                "first_seen": stamp(own.first_seen), "last_seen": stamp(own.last_seen),
                "false_positive": own.false_positive > 0, "expired": own.expired > 0},
        "reason": found.reason,
    }

