"""Matches, counted per indicator between two reports: what becomes one sighting (how many times, first and
last seen), so that a busy log makes a few sightings a minute, not one per line."""

from __future__ import annotations

__all__ = ["Seen", "Tally"]

import threading
from dataclasses import dataclass

from ._detector import Match


@dataclass(slots=True)
class Seen:
    indicator_id: str
    count: int
    first_seen: int
    last_seen: int


class Tally:
    def __init__(self) -> None:
        self._seen: dict[str, Seen] = {}
        self._lock = threading.Lock()

    def add(self, match: Match, at: int) -> None:
        when = match.record.time if match.record.time is not None else at
        with self._lock:
            seen = self._seen.get(match.indicator.id)
            if seen is None:
                self._seen[match.indicator.id] = Seen(match.indicator.id, 1, when, when)
            else:
                seen.count += 1
                seen.first_seen = min(seen.first_seen, when)
                seen.last_seen = max(seen.last_seen, when)

    def drain(self) -> list[Seen]:
        with self._lock:
            seen, self._seen = list(self._seen.values()), {}
        return seen

    def restore(self, seen: list[Seen]) -> None:
        """Put back what could not be reported (it goes with the next report)."""
        with self._lock:
            for item in seen:
                held = self._seen.get(item.indicator_id)
                if held is None:
                    self._seen[item.indicator_id] = item
                else:
                    held.count += item.count
                    held.first_seen = min(held.first_seen, item.first_seen)
                    held.last_seen = max(held.last_seen, item.last_seen)
