"""Range-based set reconciliation (A. Meyer, "Range-Based Set Reconciliation", 2023) over object versions.

Two nodes find which versions one holds and the other lacks without sending either set: both order their
versions by a hash of their identity, (``id``, ``modified``), and compare fingerprints of ranges of that order.

    the initiator sends   ranges, each with its count and fingerprint (the whole space, at first)
    the responder answers for each: "same"; its items, when it holds few in the range; or the range split in
                          ``SPLIT`` parts, each with the responder's count and fingerprint
    the initiator         compares each part with its own; those that differ go in the next request

A fingerprint is the XOR of the versions' 128-bit hashes, so the fingerprint of any range comes from two prefix
XORs and two binary searches: a round costs O(ranges x log n), whatever n. With d differences among n
versions the rounds are about log_SPLIT(n / d) + 1 and the bytes O(d x SPLIT x log(n / d)).
"""

from __future__ import annotations

__all__ = ["ITEMS", "SPLIT", "Answer", "Range", "VersionSet", "point_of"]

import hashlib
import itertools
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidParameter

SPACE = 1 << 64
SPLIT = 16
"""Parts a differing range is split into."""
ITEMS = 32
"""A range holding at most this many versions (at the responder) is answered with its items."""
MAX_RANGES = 100_000
"""The most ranges one request may carry."""


def _hash(object_id: str, version: int) -> bytes:
    return hashlib.sha256(f"{object_id}\n{version}".encode()).digest()


def point_of(object_id: str, version: int) -> int:
    """Where a version sits in the order both sides share: the first 64 bits of its hash."""
    return int.from_bytes(_hash(object_id, version)[:8], "big")


@dataclass(frozen=True, slots=True)
class Range:
    """The versions whose point is in [lo, hi), their count and fingerprint (at the side that sent it)."""

    lo: int
    hi: int
    count: int
    fingerprint: int

    def record(self) -> dict[str, Any]:
        return {"lo": f"{self.lo:x}", "hi": f"{self.hi:x}", "count": self.count, "fp": f"{self.fingerprint:x}"}

    @classmethod
    def from_record(cls, value: object) -> Range:
        try:
            assert isinstance(value, dict)
            found = cls(int(value["lo"], 16), int(value["hi"], 16), int(value["count"]), int(value["fp"], 16))
        except (AssertionError, KeyError, TypeError, ValueError):
            raise InvalidParameter('a range is {"lo": hex, "hi": hex, "count": n, "fp": hex}') from None
        if not 0 <= found.lo < found.hi <= SPACE or found.count < 0 or not 0 <= found.fingerprint < 1 << 128:
            raise InvalidParameter(f"range [{value.get('lo')}, {value.get('hi')}) is out of bounds")
        return found


@dataclass(frozen=True, slots=True)
class Answer:
    """The responder's answer for one range: the same, its items, or its parts."""

    range: Range
    same: bool = False
    items: tuple[tuple[str, int], ...] | None = None
    parts: tuple[Range, ...] = ()

    def record(self) -> dict[str, Any]:
        if self.same:
            return {"same": True}
        if self.items is not None:
            return {"items": [[oid, version] for oid, version in self.items]}
        return {"split": [p.record() for p in self.parts]}


class VersionSet:
    """One side's versions, ordered by point, with prefix XORs for range fingerprints."""

    def __init__(self, versions: Iterable[tuple[str, int]]) -> None:
        entries = sorted({(int.from_bytes(h[:8], "big"), int.from_bytes(h[8:24], "big"), oid, version)
                          for oid, version in set(versions) for h in (_hash(oid, version),)})
        self._points = [e[0] for e in entries]
        self._items = [(e[2], e[3]) for e in entries]
        prefix = [0]
        for e in entries:
            prefix.append(prefix[-1] ^ e[1])
        self._prefix = prefix

    def __len__(self) -> int:
        return len(self._points)

    def __contains__(self, item: tuple[str, int]) -> bool:
        point = point_of(*item)
        i = bisect_left(self._points, point)
        while i < len(self._points) and self._points[i] == point:
            if self._items[i] == item:
                return True
            i += 1
        return False

    def _bounds(self, lo: int, hi: int) -> tuple[int, int]:
        return bisect_left(self._points, lo), bisect_left(self._points, hi)

    def range(self, lo: int, hi: int) -> Range:
        i, j = self._bounds(lo, hi)
        return Range(lo, hi, j - i, self._prefix[j] ^ self._prefix[i])

    def whole(self) -> Range:
        return self.range(0, SPACE)

    def items(self, lo: int, hi: int) -> tuple[tuple[str, int], ...]:
        i, j = self._bounds(lo, hi)
        return tuple(self._items[i:j])

    # -- the responder ----------------------------------------------------------------------------------------

    def answer(self, theirs: Range) -> Answer:
        mine = self.range(theirs.lo, theirs.hi)
        if (mine.count, mine.fingerprint) == (theirs.count, theirs.fingerprint):
            return Answer(mine, same=True)
        if mine.count <= ITEMS:
            return Answer(mine, items=self.items(theirs.lo, theirs.hi))
        i, j = self._bounds(theirs.lo, theirs.hi)
        # Parts of equal counts (at this side): split points are points of its own items.
        cuts = [theirs.lo] + [self._points[i + (j - i) * k // SPLIT] for k in range(1, SPLIT)] + [theirs.hi]
        bounds = sorted(set(cuts))
        if len(bounds) < 3:  # no point inside the range to cut at: the items end it
            return Answer(mine, items=self.items(theirs.lo, theirs.hi))
        return Answer(mine, parts=tuple(self.range(a, b) for a, b in itertools.pairwise(bounds)))

    # -- the initiator ----------------------------------------------------------------------------------------

    def follow_up(self, answer: Answer) -> tuple[list[Range], list[tuple[str, int]]]:
        """From one answer: the ranges to ask about next (with this side's fingerprints), and the versions the
        responder holds that this side lacks."""
        if answer.same:
            return [], []
        if answer.items is not None:
            return [], [item for item in answer.items if item not in self]
        ask = []
        for part in answer.parts:
            mine = self.range(part.lo, part.hi)
            if (mine.count, mine.fingerprint) != (part.count, part.fingerprint):
                ask.append(mine)
        return ask, []
