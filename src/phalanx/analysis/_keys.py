"""The correlation keys the store indexes an object version by, computed once, when it is stored.

A key is ``kind:value`` for each observable the version carries (``ipv4-addr:198.51.100.7``, ``sha256:4bac...``)
and ``ref:<id>`` for each object it refers to (``source_ref``, ``sighting_of_ref``, ``object_refs``...): the first
say which objects share a value, the second which objects point at a given one (a relationship, a sighting, a
report), without reading them.

Keys come only from what every reader of the version sees: the parts its granular markings restrict beyond the
version's own level are left out, so that no reader can learn, through correlation, a value it may not read.
"""

from __future__ import annotations

__all__ = ["REF", "correlation_keys", "keys_of", "stored_keys"]

from collections.abc import Mapping
from typing import Any

import orjson

from ..stix import StixObject, Tlp
from ..stix._markings import redact
from ._observables import MAX_OBSERVABLES, VALUE_KINDS, observables, references

REF = "ref:"
"""The prefix of a reference key: ``ref:`` and the id referred to."""

_CARRIERS = frozenset({"indicator", "observed-data", "file", "artifact", "x509-certificate", *VALUE_KINDS})


def _may_refer(canonical: bytes) -> bool:
    """Whether a property ending in ``_ref`` or ``_refs`` other than the creator's and the markings' may be in
    the object (a few substring counts: cheaper than a regular expression over the whole text)."""
    found = canonical.count(b'_ref')
    if not found:
        return False
    return found > sum(canonical.count(name) for name in (b'"created_by_ref"', b'"object_marking_refs"',
                                                          b'"marking_ref"'))


ANONYMOUS = "x_phalanx_anonymous"
"""An object marked so (an anonymous sighting, docs/sightings.md) is never found by the values it carries."""


def keys_of(data: Mapping[str, Any], *, refers: bool = True) -> tuple[str, ...]:
    """The correlation keys of an object (as a dict): its observables', then its references' (``refers``: it
    may have some). An anonymous object's observables are left out."""
    keys = [] if data.get(ANONYMOUS) is True else [o.key for o in observables(data)]
    if refers:
        keys += [REF + target for _, target in references(data)]
    if any("\0" in key for key in keys):  # no store column takes NUL (PostgreSQL text): such a value is no key
        keys = [key for key in keys if "\0" not in key]
    return tuple(keys) if len(keys) < 2 else tuple(dict.fromkeys(keys))[:MAX_OBSERVABLES]


def correlation_keys(obj: StixObject, *, level: Tlp) -> tuple[str, ...]:
    """The keys of ``obj`` as stored at ``level``: from the parts a reader at that level gets. Objects that can
    carry none (most SDOs: no observable, no reference but their creator and markings) are not even parsed."""
    return stored_keys(obj.type, obj.canonical, level=level)


def stored_keys(type_: str, canonical: bytes, *, level: Tlp) -> tuple[str, ...]:
    """``correlation_keys`` of a version as the store holds it (its type, canonical JSON and level)."""
    refers = _may_refer(canonical)
    if type_ not in _CARRIERS and not refers:
        return ()
    data: dict[str, Any] = orjson.loads(canonical)
    if b'"granular_markings"' in canonical:
        data = redact(data, above=level)
    return keys_of(data, refers=refers)
