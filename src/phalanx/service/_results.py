"""What ingest tells its caller: one result per object, and a summary for bulk runs."""

from __future__ import annotations

__all__ = ["IngestSummary", "ObjectResult"]

from dataclasses import dataclass, field
from typing import Literal

Outcome = Literal["accepted", "refused"]


@dataclass(frozen=True, slots=True)
class ObjectResult:
    index: int
    """Position in the input (bundle index, or line number for JSON lines)."""
    id: str
    outcome: Outcome
    detail: str
    """For accepted objects: added, linked or duplicate. For refused ones: the reason."""
    version: int | None = None
    date_added: int | None = None
    warnings: tuple[str, ...] = ()


@dataclass(slots=True)
class IngestSummary:
    """Counts for a (possibly huge) ingest, and the first refusals in full."""

    accepted: int = 0
    added: int = 0
    refused: int = 0
    batches: int = 0
    flagged: int = 0
    """Indicators flagged by a MISP warning list (each accepted with a warning, unless refused for another
    reason or, with warninglists = 'refuse', for this one)."""
    refusals: list[ObjectResult] = field(default_factory=list)
    max_refusals_kept: int | None = 1000
    """How many refusals to keep in full (None: all of them)."""

    def record(self, result: ObjectResult) -> None:
        if result.outcome == "accepted":
            self.accepted += 1
            if result.detail == "added":
                self.added += 1
        else:
            self.refused += 1
            if self.max_refusals_kept is None or len(self.refusals) < self.max_refusals_kept:
                self.refusals.append(result)
