"""The status records conformance suite: the same expectations on memory, SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from phalanx.errors import Conflict, NotFound
from phalanx.store import Backend, StatusEntry, StatusOutcome, StatusRecord

PENDING, SUCCESS, FAILURE = StatusOutcome.PENDING, StatusOutcome.SUCCESS, StatusOutcome.FAILURE


def _record(sid: str, created: int, count: int = 3) -> StatusRecord:
    return StatusRecord(sid, "identity--a", "c", created, created,
                        tuple(StatusEntry(f"indicator--{n}", "", PENDING) for n in range(count)))


def test_create_settle_get(backend: Backend) -> None:
    statuses = backend.statuses
    statuses.create(_record("s1", 10))
    with pytest.raises(Conflict):
        statuses.create(_record("s1", 11))
    statuses.settle("s1", [(2, StatusEntry("indicator--2", "2024-01-01T00:00:00.000000Z", FAILURE, "no")),
                           (0, StatusEntry("indicator--0", "v", SUCCESS, "added"))], now=20)
    got = statuses.get("s1")
    assert (got.owner, got.collection, got.created, got.updated) == ("identity--a", "c", 10, 20)
    assert [(e.object_id, e.version, e.outcome, e.message) for e in got.entries] == [
        ("indicator--0", "v", SUCCESS, "added"), ("indicator--1", "", PENDING, ""),
        ("indicator--2", "2024-01-01T00:00:00.000000Z", FAILURE, "no")]
    with pytest.raises(NotFound):
        statuses.get("s2")
    with pytest.raises(NotFound):
        statuses.settle("s2", [], now=1)


def test_an_empty_request_and_a_large_one(backend: Backend) -> None:
    backend.statuses.create(_record("empty", 1, count=0))
    assert backend.statuses.get("empty").entries == ()
    backend.statuses.create(_record("large", 1, count=1200))
    backend.statuses.settle("large", [(n, StatusEntry(f"indicator--{n}", "", SUCCESS)) for n in range(1200)], now=2)
    assert all(e.outcome is SUCCESS for e in backend.statuses.get("large").entries)


def test_prune_deletes_what_is_older(backend: Backend) -> None:
    for n, created in enumerate((5, 10, 15)):
        backend.statuses.create(_record(f"s{n}", created))
    assert backend.statuses.prune(11) == 2
    assert backend.statuses.get("s2").created == 15
    for gone in ("s0", "s1"):
        with pytest.raises(NotFound):
            backend.statuses.get(gone)
    assert backend.statuses.prune(11) == 0
