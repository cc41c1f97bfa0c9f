"""What the store keeps of each sighting version, and what it adds up for a reader.

A sighting version carries ``Sighted`` facts on its ``VersionRow`` (``phalanx.service`` reads them from the
object); every backend keeps them beside the version, in the same transaction (the ``sightings`` table on SQL),
indexed by the sighted object. ``Store.sighting_tallies`` adds them up per sighted object, counting only the
sightings a reader may see (the same ``Visibility`` the reads compile, per collection), and of each sighting
only its latest version, unless the sighting is revoked.

The store counts; it decides nothing. What a reader is shown of a tally (k-anonymity) is ``phalanx.policy``'s.
"""

from __future__ import annotations

__all__ = ["Sighted", "SightingKind", "SightingTally", "Tally", "add_up"]

import enum
from collections.abc import Iterable
from dataclasses import dataclass


class SightingKind(enum.Enum):
    """What a sighting reports (``x_phalanx_kind``; a sighting without it was seen)."""

    SEEN = "seen"
    FALSE_POSITIVE = "false-positive"
    EXPIRED = "expired"

    @property
    def code(self) -> int:
        """How the SQL backends keep it."""
        return _CODES[self]

    @classmethod
    def of_code(cls, code: int) -> SightingKind:
        return _KINDS[code]


_CODES = {SightingKind.SEEN: 0, SightingKind.FALSE_POSITIVE: 1, SightingKind.EXPIRED: 2}
_KINDS = {code: kind for kind, code in _CODES.items()}


@dataclass(frozen=True, slots=True)
class Sighted:
    """What one sighting version reports, as the store keeps it."""

    sighted: str
    """Its ``sighting_of_ref``: the object seen."""
    kind: SightingKind
    count: int
    first_seen: int
    """Microseconds since the epoch: ``first_seen``, else ``last_seen``, else the sighting's ``created``."""
    last_seen: int
    """``last_seen``, else ``first_seen``, else the sighting's ``created``."""


@dataclass(frozen=True, slots=True)
class Tally:
    """Sightings of one object added up. Organizations are counted once each, however many sightings each
    made; ``first_seen``/``last_seen`` and the counts are those of the "seen" sightings."""

    seen: int = 0
    """Distinct organizations that saw it."""
    false_positive: int = 0
    """Distinct organizations that reported it a false positive."""
    expired: int = 0
    """Distinct organizations that reported it expired."""
    sightings: int = 0
    """"Seen" sighting objects."""
    count: int = 0
    """The sum of their counts: how many times it was seen."""
    first_seen: int | None = None
    last_seen: int | None = None


@dataclass(frozen=True, slots=True)
class SightingTally:
    """The sightings of one object a reader may see: all of them, and those of the reader's organization."""

    sighted: str
    everyone: Tally
    own: Tally
    """Those the reader's own organization contributed (all zero without an organization)."""


def add_up(rows: Iterable[tuple[str, Sighted]]) -> Tally:
    """The tally of ``(organization, facts)`` pairs: the model the SQL aggregate is held to."""
    seen: set[str] = set()
    false_positive: set[str] = set()
    expired: set[str] = set()
    sightings = count = 0
    first: int | None = None
    last: int | None = None
    for org, facts in rows:
        if facts.kind is SightingKind.FALSE_POSITIVE:
            false_positive.add(org)
        elif facts.kind is SightingKind.EXPIRED:
            expired.add(org)
        else:
            seen.add(org)
            sightings += 1
            count += facts.count
            first = facts.first_seen if first is None else min(first, facts.first_seen)
            last = facts.last_seen if last is None else max(last, facts.last_seen)
    return Tally(len(seen), len(false_positive), len(expired), sightings, count, first, last)
