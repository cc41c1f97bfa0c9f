"""Observations prepared once for many patterns: times read, objects filed by type, references ready to follow.

Example::

    from phalanx.pattern import Observations

    seen = Observations.from_stix(bundle["objects"])  # observed-data (STIX 2.1 or 2.0 style) and their objects
    line = Observations.single([{"type": "ipv4-addr", "value": "198.51.100.7"}], "2024-01-31T12:00:00Z")

What a pattern sees of one observed-data, as in the reference matcher (stix2-matcher 3.0.0):

- STIX 2.1: the objects its ``object_refs`` name, taken from the same list (objects of other types than the
  STIX 2.1 domain, relationship and meta types only: ``[identity:...]`` never matches); a reference inside them
  resolves to an object of that list, or to the observed-data itself.
- STIX 2.0 style: the objects of its ``objects`` dictionary; references are that dictionary's keys.
- ``first_observed``, ``last_observed`` and ``number_observed`` (>= 1) are required; an observed-data counts as
  ``number_observed`` observations for ``REPEATS`` and the other observation operators.
"""

from __future__ import annotations

__all__ = ["TYPES_V21", "Observations"]

import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from ..errors import InvalidObservation
from ._timestamps import micros

TYPES_V21: Final = frozenset((
    "attack-pattern", "bundle", "campaign", "course-of-action", "extension-definition", "grouping", "identity",
    "incident", "indicator", "infrastructure", "intrusion-set", "language-content", "location", "malware",
    "malware-analysis", "marking-definition", "note", "observed-data", "opinion", "relationship", "report",
    "threat-actor", "tool", "sighting", "vulnerability",
))
"""The types that are not cyber-observable objects in STIX 2.1: a pattern's object type never names one."""

Root = tuple[int, int, Mapping[str, Any]]
"""An object a pattern's object type can name: (observation index, object number, object)."""

Resolver = tuple[Mapping[str, Any], bool]
"""How one observation resolves references: a map from reference to object, or (flag True) to a list of objects
(STIX 2.1: every object of the observation with that id, as often as object_refs names it)."""


class Observations:
    """A set of observations (observed-data, or a single observation of plain objects), ready for matching.

    Build one with ``from_stix`` or ``single``. Immutable after that, and safe to share between threads."""

    __slots__ = ("_resolvers", "_roots", "first", "ids", "last", "number", "objects", "ordered")

    def __init__(self, ids: tuple[str | None, ...], first: tuple[int, ...], last: tuple[int, ...],
                 number: tuple[int, ...], roots: dict[str, list[Root]], resolvers: tuple[Resolver, ...],
                 objects: tuple[tuple[Mapping[str, Any], ...], ...], ordered: bool) -> None:
        """Private: use ``from_stix`` or ``single``."""
        self.ids = ids
        """The id of each observed-data (None for one without, and for ``single`` without ``id``)."""
        self.first = first
        """``first_observed`` of each, in microseconds since the epoch."""
        self.last = last
        """``last_observed`` of each, in microseconds since the epoch."""
        self.number = number
        """``number_observed`` of each."""
        self.objects = objects
        """The objects a pattern's object type can name, observation by observation."""
        self.ordered = ordered
        """Whether every observation has first_observed <= last_observed."""
        self._roots = roots
        self._resolvers = resolvers

    def __len__(self) -> int:
        return len(self.number)

    def __repr__(self) -> str:
        return f"<Observations: {len(self)} observation(s), types {sorted(self._roots)}>"

    @classmethod
    def from_stix(cls, objects: Iterable[Mapping[str, Any]]) -> Observations:
        """The observations of a list of STIX objects: each observed-data is one (``number_observed`` times),
        with the objects its ``object_refs`` name from the same list (STIX 2.1), or the objects of its own
        ``objects`` dictionary (STIX 2.0 style). Other objects only count when an observed-data names them.
        Raises ``InvalidObservation`` for an object without a type, or an observed-data without
        ``first_observed``, ``last_observed``, ``number_observed`` (>= 1) or objects."""
        observed: list[Mapping[str, Any]] = []
        by_id: dict[str, Mapping[str, Any]] = {}
        for obj in objects:
            if not isinstance(obj, Mapping) or not isinstance(obj.get("type"), str):
                raise InvalidObservation("every STIX object needs a 'type'")
            if obj["type"] == "observed-data":
                observed.append(obj)
            else:
                object_id = obj.get("id")
                if isinstance(object_id, str):
                    by_id[object_id] = obj
        ids: list[str | None] = []
        first: list[int] = []
        last: list[int] = []
        number: list[int] = []
        roots: dict[str, list[Root]] = {}
        resolvers: list[Resolver] = []
        shown: list[tuple[Mapping[str, Any], ...]] = []
        count = 0
        for index, data in enumerate(observed):
            data_id = data.get("id")
            ids.append(data_id if isinstance(data_id, str) else None)
            times = _times(data)
            first.append(times[0])
            last.append(times[1])
            number.append(times[2])
            refs = data.get("object_refs")
            embedded = data.get("objects")
            members: list[Mapping[str, Any]]
            if refs is not None:  # STIX 2.1
                if not isinstance(refs, list):
                    raise InvalidObservation("object_refs of an observed-data must be a list of ids")
                named = [by_id[ref] for ref in refs if isinstance(ref, str) and ref in by_id]
                table: dict[str, list[Mapping[str, Any]]] = {}
                if isinstance(data_id, str):
                    table[data_id] = [data]
                for obj in named:
                    table.setdefault(obj["id"], []).append(obj)
                unique = {obj["id"]: obj for obj in named}  # named twice, still one object
                members = [obj for obj in unique.values() if obj["type"] not in TYPES_V21]
                resolvers.append((table, True))
            elif isinstance(embedded, Mapping):  # STIX 2.0 style
                members = [obj for obj in embedded.values() if isinstance(obj, Mapping) and "type" in obj]
                resolvers.append((embedded, False))
            else:
                raise InvalidObservation("an observed-data needs object_refs (STIX 2.1) or objects (STIX 2.0)")
            for obj in members:
                roots.setdefault(obj["type"], []).append((index, count, obj))
                count += 1
            shown.append(tuple(members))
        ordered = all(start <= end for start, end in zip(first, last, strict=True))
        return cls(tuple(ids), tuple(first), tuple(last), tuple(number), roots, tuple(resolvers), tuple(shown),
                   ordered)

    @classmethod
    def single(cls, objects: Mapping[str, Mapping[str, Any]] | Sequence[Mapping[str, Any]],
               first_observed: str | datetime | int | None = None,
               last_observed: str | datetime | int | None = None, number_observed: int = 1,
               id: str | None = None) -> Observations:
        """One observation of ``objects``: a list of objects (references are their ids), or a dictionary of
        objects (references are its keys, as in STIX 2.0). Times are timestamps, datetimes or microseconds
        since the epoch; ``first_observed`` defaults to now, ``last_observed`` to ``first_observed``."""
        # Built for each line of a log: the plain cases are kept quick.
        if type(first_observed) is int:
            start = first_observed
        else:
            start = time.time_ns() // 1000 if first_observed is None else _moment(first_observed)
        if last_observed is None:
            end = start
        else:
            end = last_observed if type(last_observed) is int else _moment(last_observed)
        if not isinstance(number_observed, int) or number_observed < 1:
            raise InvalidObservation(f"number_observed must be 1 or more, not {number_observed!r}")
        keyed = type(objects) is dict or (type(objects) is not list and isinstance(objects, Mapping))
        roots: dict[str, list[Root]] = {}
        members: list[Mapping[str, Any]] = []
        for obj in objects.values() if keyed else objects:  # type: ignore[union-attr]
            if (type(obj) is dict or isinstance(obj, Mapping)) and "type" in obj:
                kind = obj["type"]
                if kind in roots:
                    roots[kind].append((0, len(members), obj))
                else:
                    roots[kind] = [(0, len(members), obj)]
                members.append(obj)
        refs: Mapping[str, Any] = objects if keyed else {  # type: ignore[assignment]
            obj["id"]: obj for obj in members if isinstance(obj.get("id"), str)}
        return cls((id,), (start,), (end,), (number_observed,), roots, ((refs, False),), (tuple(members),),
                   start <= end)

    def roots(self, object_type: str) -> Sequence[Root]:
        """The objects of one type, as (observation index, object number, object), in observation order."""
        return self._roots.get(object_type, ())

    def resolve(self, observation: int, reference: str) -> list[Mapping[str, Any]]:
        """The objects a reference names within one observation (none if it names no object there)."""
        table, multiple = self._resolvers[observation]
        found = table.get(reference)
        if found is None:
            return []
        return list(found) if multiple else [found]


def _times(data: Mapping[str, Any]) -> tuple[int, int, int]:
    try:
        first, last, number = data["first_observed"], data["last_observed"], data["number_observed"]
    except KeyError as exc:
        raise InvalidObservation(
            "an observed-data needs first_observed, last_observed and number_observed") from exc
    if not isinstance(number, int) or number < 1:
        raise InvalidObservation(f"number_observed must be 1 or more, not {number!r}")
    return _moment(first), _moment(last), number


def _moment(value: str | datetime | int) -> int:
    if isinstance(value, str):
        try:
            return micros(value)
        except ValueError as exc:
            raise InvalidObservation(f"invalid timestamp {value!r}") from exc
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        delta = value - _EPOCH
        return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise InvalidObservation(f"a time must be a timestamp, not {value!r}")


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
