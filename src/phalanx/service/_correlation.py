"""Correlation: the same observable across objects and organizations, as one actor may see them.

    >>> from phalanx.config import Settings
    >>> from phalanx.identity import Actor, Role
    >>> from phalanx.service import Node
    >>> node = Node.open(Settings(database_url="memory://"), upgrade=True)
    >>> acme = node.admin.add_organization("ACME CERT")
    >>> found = node.correlation.of_value(Actor(acme.id, Role.READER), "198.51.100.7")
    >>> (found.observable.key, found.organizations)
    ('ipv4-addr:198.51.100.7', ())
    >>> node.close()

``of_value`` answers "who else reported this value, how many organizations, who first and when";
``of_object`` does it for each observable of one object; ``neighbourhood`` (``phalanx.service._neighbourhood``)
draws the small graph of objects around one, through shared observables and references.

Every answer is made of what the actor may read, and only of that: the policy is compiled into the store's
queries (``Store.carriers``, ``Store.reporters``), one visibility per collection the actor may read, so that no
count, date or organization ever stems from an object outside its audience. An object it may not see is
``NotFound``, as an unknown one.

An organization *reports* a value by sharing an indicator that carries it. Observations (SCOs, observed-data,
sightings) say what an organization saw, and may come with an anonymous sighting: they are listed among the
objects carrying a value, but their organization is never named nor counted (``attributed``).
"""

from __future__ import annotations

__all__ = [
    "Carrying",
    "Correlation",
    "ObjectCorrelation",
    "ReportedBy",
    "ValueCorrelation",
    "attributed",
    "object_json",
    "value_json",
]

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import orjson

from ..analysis import HASH_KINDS, REF, VALUE_KINDS, Observable, detect, normalize
from ..analysis._keys import stored_keys
from ..analysis._observables import hash_kind
from ..errors import InvalidParameter, NotFound
from ..identity import Actor, Directory
from ..stix import Tlp, format_micros
from ..store import Carrier, Query, Reporter, Store, StoredVersion, VersionFilter, Visibility
from ._neighbourhood import Neighbourhood, attributed, draw
from ._read import Reader
from ._reindex import each_version

MAX_LIMIT = 1000
MAX_CORRELATED = 100
"""``of_object`` correlates at most this many observables of an object (``ObjectCorrelation.more`` says so)."""
_CHUNK = 100
REPORTED_TYPES = ("indicator",)
"""The types whose contributors report the values they carry (``ValueCorrelation.organizations``)."""


@dataclass(frozen=True, slots=True)
class ReportedBy:
    """One organization's indicators carrying an observable (revoked ones not counted)."""

    org_id: str
    name: str
    objects: int
    first_added: int
    """When the first of them was added where the actor sees it (microseconds)."""


@dataclass(frozen=True, slots=True)
class Carrying:
    """One object carrying an observable."""

    id: str
    type: str
    org_id: str | None
    """The contributing organization; None for an observation (``attributed``)."""
    name: str | None
    """Its name (its id when the directory no longer knows it)."""
    first_added: int
    version: int
    revoked: bool


@dataclass(frozen=True, slots=True)
class ValueCorrelation:
    """An observable across what the actor may see: the organizations that reported it, earliest first, and the
    objects carrying it, earliest first (at most the limit asked)."""

    observable: Observable
    organizations: tuple[ReportedBy, ...]
    objects: tuple[Carrying, ...]
    more: bool
    """More objects carry it than ``objects`` lists."""

    @property
    def first(self) -> ReportedBy | None:
        """The organization that reported it first."""
        return self.organizations[0] if self.organizations else None

    @property
    def reports(self) -> int:
        """The indicators reporting it (not revoked), across every organization."""
        return sum(o.objects for o in self.organizations)


@dataclass(frozen=True, slots=True)
class ObjectCorrelation:
    """Each observable of one object, with the other objects carrying it and every organization reporting it."""

    id: str
    type: str
    observables: tuple[ValueCorrelation, ...]
    more: bool = False
    """The object carries more than ``MAX_CORRELATED`` observables: the others are left out."""


@dataclass(frozen=True, slots=True)
class Seen:
    """The latest version of an object as the actor gets it (granular markings applied), and its JSON."""

    version: StoredVersion
    data: dict[str, Any]


class Correlation:
    def __init__(self, store: Store, directory: Directory, reader: Reader) -> None:
        self.store = store
        self._directory = directory
        self._reader = reader

    # what the actor may read ------------------------------------------------------------------------------

    def readable(self, actor: Actor) -> tuple[dict[str, Visibility], dict[str, tuple[str, ...]]]:
        """Each collection ``actor`` may read, with what it sees there, and the types those that serve only some
        types serve it (``Reader.visibilities``)."""
        return self._reader.visibilities(actor)

    def visible(self, actor: Actor, ids: Sequence[str], readable: Mapping[str, Visibility]) -> dict[str, Seen]:
        """The newest version of each id ``actor`` may see, in any collection (as ``Reader.page`` serves it; a
        newer version it may not see is passed over, as TAXII passes it over); the others are left out."""
        newest: dict[str, StoredVersion] = {}
        wanted = list(dict.fromkeys(ids))
        for collection in readable:
            for start in range(0, len(wanted), _CHUNK):
                query: Query | None = Query(collection=collection, ids=tuple(wanted[start : start + _CHUNK]),
                                            versions=(VersionFilter.ALL,), limit=_CHUNK)
                while query is not None:
                    page = self._reader.page(actor, query)
                    for item in page.items:
                        if item.id not in newest or item.version > newest[item.id].version:
                            newest[item.id] = item
                    query = replace(query, cursor=page.next_cursor) if page.more else None
        return {oid: Seen(item, orjson.loads(item.canonical)) for oid, item in newest.items()}

    def seen(self, actor: Actor, object_id: str, readable: Mapping[str, Visibility]) -> Seen:
        found = self.visible(actor, [object_id.strip().lower()], readable).get(object_id.strip().lower())
        if found is None:
            raise NotFound(f"no object {object_id}", hint="Correlation looks at the objects you may read.")
        return found

    def _by(self, type_: str, org_id: str, names: dict[str, str]) -> tuple[str | None, str | None]:
        return (org_id, self.name_of(org_id, names)) if attributed(type_) else (None, None)

    def name_of(self, org_id: str, names: dict[str, str]) -> str:
        if org_id not in names:
            try:
                names[org_id] = self._directory.get_organization(org_id).name
            except NotFound:
                names[org_id] = org_id
        return names[org_id]

    # answers ----------------------------------------------------------------------------------------------

    def observable(self, value: str, kind: str | None = None) -> Observable:
        """The observable a free-text ``value`` is (or, with ``kind``, ``value`` as that kind), normalized."""
        if kind is not None:
            name = kind.strip().lower()
            if name not in VALUE_KINDS and hash_kind(name) not in HASH_KINDS:
                raise InvalidParameter(f"kind {kind!r} is not one of {', '.join((*VALUE_KINDS, *HASH_KINDS))}")
            found = normalize(name, value)
        else:
            found = detect(value)
        if found is None:
            raise InvalidParameter(
                f"cannot tell what {value[:100]!r} is",
                hint="Give an IP address, domain, URL, e-mail address or MD5/SHA-1/SHA-256/SHA-512 hash, or name its "
                     "kind (kind=ipv4-addr, kind=sha256...).")
        return found

    def of_value(self, actor: Actor, value: str, *, kind: str | None = None, limit: int = 100) -> ValueCorrelation:
        """Every object ``actor`` may read that carries ``value`` (auto-detected, or as ``kind``), grouped by the
        organizations that reported it."""
        observable = self.observable(value, kind)
        readable, types = self.readable(actor)
        return self._correlate(observable, readable, types, _limit(limit), exclude=None, names={})

    def of_object(self, actor: Actor, object_id: str, *, limit: int = 100) -> ObjectCorrelation:
        """For each observable of the object (its latest version ``actor`` may see), the other objects carrying
        it and the organizations that reported it."""
        readable, types = self.readable(actor)
        seen = self.seen(actor, object_id, readable)
        item, names = seen.version, dict[str, str]()
        keys = [k for k in self.store.keys_of(item.id, item.version) if not k.startswith(REF)]
        return ObjectCorrelation(item.id, item.type, tuple(
            self._correlate(Observable(*key.split(":", 1)), readable, types, _limit(limit), exclude=item.id,
                            names=names)
            for key in keys[:MAX_CORRELATED]), len(keys) > MAX_CORRELATED)

    def _correlate(self, observable: Observable, readable: Mapping[str, Visibility],
                   types: Mapping[str, tuple[str, ...]], limit: int, *, exclude: str | None,
                   names: dict[str, str]) -> ValueCorrelation:
        key = observable.key
        reporting = {c: tuple(t for t in types.get(c, REPORTED_TYPES) if t in REPORTED_TYPES) for c in readable}
        reporters: list[Reporter] = self.store.reporters(
            [key], {c: seen for c, seen in readable.items() if reporting[c]}, types=reporting)
        carriers: list[Carrier] = self.store.carriers([key], readable, limit=limit + 1 + (exclude is not None),
                                                        types=types)
        listed = [c for c in carriers if c.id != exclude]
        organizations = sorted((ReportedBy(r.contributor, self.name_of(r.contributor, names), r.objects,
                                           r.first_added) for r in reporters),
                               key=lambda o: (o.first_added, o.org_id))
        objects = tuple(Carrying(c.id, c.type, *self._by(c.type, c.contributor, names), c.first_added, c.version,
                                 c.revoked) for c in listed[:limit])
        return ValueCorrelation(observable, tuple(organizations), objects, len(listed) > limit)

    def neighbourhood(self, actor: Actor, object_id: str, *, depth: int = 1, limit: int = 50) -> Neighbourhood:
        """The objects around one, through shared observables and references, as a small graph."""
        return draw(self, actor, object_id, depth=depth, limit=limit)

    # the operator -----------------------------------------------------------------------------------------

    def reindex(self, *, batch: int = 1000, progress: Callable[[int], None] | None = None) -> int:
        """Compute the correlation keys of every stored version again and store them (for versions stored
        before the store kept keys, or after the way keys are computed changed); returns how many versions.
        Objects stored meanwhile get their keys when they are stored, as always."""
        return each_version(
            self.store, lambda item: stored_keys(item.type, item.canonical, level=Tlp.of_rank(item.level)),
            self.store.set_keys, batch=batch, progress=progress)


def _limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidParameter(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return limit


# JSON, as the API answers (phalanx.web) and the CLI prints with --json ---------------------------------------


def _organization(o: ReportedBy) -> dict[str, Any]:
    return {"id": o.org_id, "name": o.name, "objects": o.objects, "first_reported": format_micros(o.first_added)}


def _object(c: Carrying) -> dict[str, Any]:
    return {"id": c.id, "type": c.type, "organization": c.org_id, "organization_name": c.name,
            "first_reported": format_micros(c.first_added), "version": format_micros(c.version), "revoked": c.revoked}


def value_json(found: ValueCorrelation) -> dict[str, Any]:
    return {"observable": {"kind": found.observable.kind, "value": found.observable.value},
            "reported_by": len(found.organizations),
            "first": None if found.first is None else _organization(found.first),
            "organizations": [_organization(o) for o in found.organizations],
            "reports": found.reports, "objects": [_object(c) for c in found.objects], "more": found.more}


def object_json(found: ObjectCorrelation) -> dict[str, Any]:
    return {"id": found.id, "type": found.type, "observables": [value_json(v) for v in found.observables],
            "more": found.more}
