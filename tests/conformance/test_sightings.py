"""Sighting tallies (``Store.sighting_tallies``): the same answers on memory, SQLite and PostgreSQL.

Only a sighting's latest version counts, and not once the sighting is revoked; only versions the reader sees
through one of the collections it names count; organizations count once each; deleting a sighting takes it out.
A randomized test holds each SQL backend to the memory store, the reference model.
"""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import pytest

from phalanx.store import (
    Backend,
    Grant,
    MemoryStore,
    ScopeTest,
    Sighted,
    SightingKind,
    Store,
    Tally,
    VersionRow,
    Visibility,
)
from tests.conformance.conftest import make_row

SEEN, FP, EXPIRED = SightingKind.SEEN, SightingKind.FALSE_POSITIVE, SightingKind.EXPIRED
IND = "indicator--00000000-0000-4000-8000-000000000001"
IND2 = "indicator--00000000-0000-4000-8000-000000000002"
A, B, C, R = (f"identity--00000000-0000-4000-8000-0000000000{x}" for x in ("0a", "0b", "0c", "0f"))
EVERYONE = Visibility(grants=(Grant((0, 1, 2, 3, 4)),))
MEMBER = Visibility(owner=R, grants=(Grant((0, 1)), Grant((2, 3), ScopeTest.UNSCOPED_OR_LISTED, ("o:" + R,)),
                                     Grant((4,), ScopeTest.LISTED, ("o:" + R,))))


def sighting(n: int, version: int, *, of: str = IND, kind: SightingKind = SEEN, count: int = 1,
             first: int = 100, last: int = 200, level: int = 1, **extra: Any) -> VersionRow:
    oid = f"sighting--00000000-0000-4000-8000-{n:012d}"
    row = make_row({"id": oid, "type": "sighting", "sighting_of_ref": of, "_v": version, "_level": level,
                    "count": count, **extra})
    return dataclasses.replace(row, sighting=Sighted(of, kind, count, first, last))


def put(store: Store, collection: str, rows: list[VersionRow], org: str,
        scope: frozenset[str] | None = None) -> None:
    results = store.put_many(collection, rows, contributor=org, scope=scope)
    assert all(r.accepted for r in results), results


def tally(store: Store, readable: dict[str, Visibility], own: str | None = None, of: str = IND) -> Tally:
    return store.sighting_tallies([of], readable, own=own)[of].everyone


def test_organizations_are_counted_once_and_the_seen_ones_add_up(backend: Backend) -> None:
    store = backend.store
    put(store, "c", [sighting(1, 10, count=3, first=50, last=300), sighting(2, 10, count=4, first=20, last=90)], A)
    put(store, "c", [sighting(3, 10, count=1, first=70, last=400)], B)
    put(store, "c", [sighting(4, 10, kind=FP, count=1, first=1, last=999_999)], C)
    put(store, "c", [sighting(5, 10, kind=EXPIRED), sighting(6, 10, kind=FP)], A)
    found = store.sighting_tallies([IND, IND2], {"c": EVERYONE}, own=A)
    assert found[IND].everyone == Tally(seen=2, false_positive=2, expired=1, sightings=3, count=8, first_seen=20,
                                        last_seen=400)
    assert found[IND].own == Tally(seen=1, false_positive=1, expired=1, sightings=2, count=7, first_seen=20,
                                   last_seen=300)
    assert found[IND2].everyone == Tally() and found[IND2].own == Tally() and found[IND2].sighted == IND2


def test_only_the_latest_version_of_a_sighting_counts(backend: Backend) -> None:
    store = backend.store
    put(store, "c", [sighting(1, 10, count=5)], A)
    assert tally(store, {"c": EVERYONE}).count == 5
    put(store, "c", [sighting(1, 20, count=2)], A)
    assert tally(store, {"c": EVERYONE}) == Tally(seen=1, sightings=1, count=2, first_seen=100, last_seen=200)
    put(store, "c", [sighting(1, 30, kind=FP)], A)  # the organization changed its mind: a false positive
    assert tally(store, {"c": EVERYONE}) == Tally(false_positive=1)
    put(store, "c", [sighting(1, 15, count=9)], A)  # an older version arriving late changes nothing
    assert tally(store, {"c": EVERYONE}) == Tally(false_positive=1)


def test_a_revoked_sighting_counts_for_nothing(backend: Backend) -> None:
    store = backend.store
    put(store, "c", [sighting(1, 10), sighting(2, 10)], A)
    put(store, "c", [sighting(3, 10)], B)
    assert tally(store, {"c": EVERYONE}).seen == 2
    put(store, "c", [sighting(3, 20, revoked=True)], B)
    assert tally(store, {"c": EVERYONE}) == Tally(seen=1, sightings=2, count=2, first_seen=100, last_seen=200)


def test_only_what_the_reader_sees_in_the_collections_it_names_counts(backend: Backend) -> None:
    store = backend.store
    put(store, "c1", [sighting(1, 10, level=1)], A)  # GREEN: every member
    put(store, "c1", [sighting(2, 10, level=4)], B)  # RED, nobody named: B only
    put(store, "c1", [sighting(3, 10, level=4)], C, scope=frozenset({"o:" + R}))  # RED, R named
    put(store, "c2", [sighting(4, 10, level=0)], C)  # CLEAR, in a collection R does not name
    put(store, "c1", [sighting(5, 10, level=2)], A, scope=frozenset({"o:" + B}))  # AMBER for B only
    assert tally(store, {"c1": MEMBER}).seen == 2  # 1 and 3
    assert tally(store, {"c1": MEMBER}).sightings == 2
    assert tally(store, {"c1": MEMBER, "c2": MEMBER}).sightings == 3
    assert tally(store, {"c1": Visibility(owner=B)}).sightings == 1  # its own RED one
    assert tally(store, {"c1": EVERYONE, "c2": EVERYONE}).sightings == 5
    assert tally(store, {"c1": Visibility()}) == Tally()  # sees nothing: fails closed
    assert tally(store, {}) == Tally()
    # A peer node is never counted what it sent (not_from), like it is never sent it back.
    assert tally(store, {"c1": dataclasses.replace(EVERYONE, not_from=A)}).sightings == 2


def test_a_sighting_in_several_collections_counts_once(backend: Backend) -> None:
    store = backend.store
    put(store, "c1", [sighting(1, 10, count=4)], A)
    put(store, "c2", [sighting(1, 10, count=4)], A)
    assert tally(store, {"c1": EVERYONE, "c2": MEMBER}) == Tally(seen=1, sightings=1, count=4, first_seen=100,
                                                                 last_seen=200)


def test_the_latest_version_must_be_the_one_the_reader_sees(backend: Backend) -> None:
    """A reader that sees an older version of a sighting but not its latest is counted nothing of it: no
    number ever rests on a version outside its audience."""
    store = backend.store
    put(store, "c", [sighting(1, 10, level=1)], A)
    put(store, "c", [sighting(1, 20, level=4)], A)
    assert tally(store, {"c": MEMBER}) == Tally()
    assert tally(store, {"c": Visibility(owner=A)}).sightings == 1


def test_deleting_a_sighting_takes_it_out_of_the_tallies(backend: Backend) -> None:
    store = backend.store
    put(store, "c1", [sighting(1, 10)], A)
    put(store, "c2", [sighting(1, 10)], A)
    put(store, "c1", [sighting(2, 10)], B)
    store.delete("c1", "sighting--00000000-0000-4000-8000-000000000001")
    assert tally(store, {"c1": EVERYONE}).sightings == 1
    assert tally(store, {"c1": EVERYONE, "c2": EVERYONE}).sightings == 2
    store.delete("c2", "sighting--00000000-0000-4000-8000-000000000001")
    assert tally(store, {"c1": EVERYONE, "c2": EVERYONE}).sightings == 1


def test_versions_without_sighting_facts_count_for_nothing(backend: Backend) -> None:
    store = backend.store
    row = dataclasses.replace(sighting(1, 10), sighting=None)
    put(store, "c", [row], A)
    assert tally(store, {"c": EVERYONE}) == Tally()


def test_many_ids_at_once(backend: Backend) -> None:
    store = backend.store
    ids = [f"indicator--00000000-0000-4000-8000-{i:012d}" for i in range(1, 1202)]
    put(store, "c", [sighting(i, 10, of=ids[i % len(ids)], count=i) for i in range(1, 1300)], A)
    found = store.sighting_tallies(ids, {"c": EVERYONE}, own=A)
    assert len(found) == len(ids)
    assert sum(t.everyone.count for t in found.values()) == sum(range(1, 1300))
    assert all(t.own == t.everyone for t in found.values())


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_same_answers_as_the_memory_store(backend: Backend, seed: int) -> None:
    rng = random.Random(seed)
    stores: list[Store] = [backend.store, MemoryStore()]
    orgs = [A, B, C, R]
    scopes = [None, frozenset({"o:" + R}), frozenset({"o:" + B}), frozenset({"o:" + R, "o:" + A})]
    for step in range(60):
        n = rng.randrange(1, 25)
        version = step + 1
        kind = rng.choice([SEEN, SEEN, FP, EXPIRED])
        row = sighting(n, version, of=rng.choice([IND, IND2]), kind=kind, count=rng.randrange(1, 9),
                       first=rng.randrange(0, 1000), last=rng.randrange(1000, 2000), level=rng.randrange(0, 5),
                       revoked=rng.random() < 0.05, step=step)
        collection, org, scope = rng.choice(["c1", "c2"]), orgs[n % 4], rng.choice(scopes)
        answers = [[r.status for r in s.put_many(collection, [row], contributor=org, scope=scope)]
                   for s in stores]
        assert answers[0] == answers[1]
    for readable in ({"c1": MEMBER}, {"c1": MEMBER, "c2": MEMBER}, {"c2": Visibility(owner=A)},
                     {"c1": EVERYONE, "c2": dataclasses.replace(MEMBER, not_from=B)}):
        for own in (None, A, R):
            expected, got = (s.sighting_tallies([IND, IND2], readable, own=own) for s in reversed(stores))
            assert got == expected, (readable, own)
