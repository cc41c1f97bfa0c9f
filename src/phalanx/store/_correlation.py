"""Correlation keys in the store: the rule that turns the visible versions carrying a key into ``Carrier`` and
``Reporter`` answers, in Python (the memory store; the SQL backends say the same in SQL, and the conformance
suite holds them to it)."""

from __future__ import annotations

__all__ = ["Carried", "check_keys", "to_carriers", "to_reporters"]

from collections.abc import Iterable, Sequence
from typing import NamedTuple

from ..errors import InvalidQuery
from ._protocol import Carrier, Reporter, is_int64

MAX_KEYS = 1000
"""The most keys one call looks up."""


class Carried(NamedTuple):
    """One version a reader sees, in one collection, carrying one key."""

    key: str
    id: str
    type: str
    contributor: str
    date_added: int
    version: int
    revoked: bool


def check_keys(keys: Sequence[str], limit: int | None = None) -> list[str]:
    """The keys to look up, each once, in order; refuses too many keys and a limit below 1."""
    if limit is not None and not (is_int64(limit) and limit >= 1):
        raise InvalidQuery(f"limit {limit!r} must be a whole number from 1 to 2**63 - 1")
    unique = list(dict.fromkeys(keys))
    if len(unique) > MAX_KEYS:
        raise InvalidQuery(f"{len(unique)} keys asked at once; the most is {MAX_KEYS}")
    return unique


def to_carriers(rows: Iterable[Carried], limit: int) -> list[Carrier]:
    """One ``Carrier`` per (key, id, contributor): the earliest date, the newest version, revoked if any is."""
    found: dict[tuple[str, str, str], Carrier] = {}
    for r in rows:
        group = (r.key, r.id, r.contributor)
        seen = found.get(group)
        if seen is None:
            found[group] = Carrier(r.key, r.id, r.type, r.contributor, r.date_added, r.version, r.revoked)
        else:
            found[group] = Carrier(r.key, r.id, seen.type, r.contributor, min(seen.first_added, r.date_added),
                                   max(seen.version, r.version), seen.revoked or r.revoked)
    ordered = sorted(found.values(), key=lambda c: (c.first_added, c.id, c.key, c.contributor))
    return ordered[:limit]


def to_reporters(carriers: Iterable[Carrier]) -> list[Reporter]:
    """Per (key, contributor): how many objects (revoked ones left out), and the earliest date."""
    counts: dict[tuple[str, str], tuple[int, int]] = {}
    for c in carriers:
        if c.revoked:
            continue
        objects, first = counts.get((c.key, c.contributor), (0, c.first_added))
        counts[(c.key, c.contributor)] = (objects + 1, min(first, c.first_added))
    found = [Reporter(key, by, objects, first) for (key, by), (objects, first) in counts.items()]
    return sorted(found, key=lambda r: (r.key, r.first_added, r.contributor))
