"""Activity over a window (``Store.activity``): the same answers on memory, SQLite and PostgreSQL, and never a
version outside what the reader's visibility admits counted, dated or hinted at.

A randomized test holds each SQL backend to the memory store, the reference model (dates compared by their rank
among the store's memberships, since each store has its own clock).
"""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import pytest

from phalanx.errors import InvalidQuery
from phalanx.store import (
    Activity,
    Backend,
    Contributed,
    FirstReport,
    Grant,
    MemoryStore,
    ScopeTest,
    Sighted,
    SightingKind,
    Store,
    Uptake,
    VersionRow,
    Visibility,
)
from tests.conformance.conftest import make_row

A, B, C, R = (f"identity--00000000-0000-4000-8000-0000000000{x}" for x in ("0a", "0b", "0c", "0f"))
EVERYONE = Visibility(grants=(Grant((0, 1, 2, 3, 4)),))


def member(org: str) -> Visibility:
    """What a member organization sees, as ``phalanx.policy.visibility`` compiles it."""
    return Visibility(owner=org, grants=(Grant((0, 1)), Grant((2, 3), ScopeTest.UNSCOPED_OR_LISTED, ("o:" + org,)),
                                         Grant((4,), ScopeTest.LISTED, ("o:" + org,))))


IP, DOMAIN, URL = "ipv4-addr:198.51.100.7", "domain-name:evil.example", "url:http://evil.example/x"
FAR = 2**62


def oid(kind: str, n: int) -> str:
    return f"{kind}--00000000-0000-4000-8000-{n:012d}"


def obj(kind: str, n: int, version: int, *keys: str, level: int = 1, **extra: Any) -> VersionRow:
    row = make_row({"id": oid(kind, n), "type": kind, "_v": version, "_level": level, **extra})
    return dataclasses.replace(row, correlation_keys=keys)


def sighting(n: int, version: int, of: str, *, kind: SightingKind = SightingKind.SEEN, level: int = 1,
             **extra: Any) -> VersionRow:
    row = make_row({"id": oid("sighting", n), "type": "sighting", "sighting_of_ref": of, "_v": version,
                    "_level": level, **extra})
    return dataclasses.replace(row, sighting=Sighted(of, kind, 1, 100, 200))


def put(store: Store, collection: str, rows: list[VersionRow], org: str, scope: frozenset[str] | None = None
        ) -> int:
    """Share ``rows``; the date_added of the last one."""
    results = store.put_many(collection, rows, contributor=org, scope=scope)
    assert all(r.accepted for r in results), results
    return max(r.date_added or 0 for r in results)


def activity(store: Store, readable: dict[str, Visibility], *, since: int = 0, until: int = FAR,
             limit: int = 1000) -> Activity:
    return store.activity(readable, since=since, until=until, limit=limit)


def test_contributions_are_distinct_objects_by_contributor_and_type(backend: Backend) -> None:
    s = backend.store
    put(s, "c1", [obj("indicator", 1, 10), obj("indicator", 1, 20), obj("indicator", 2, 10),
                  obj("report", 3, 10)], A)
    put(s, "c2", [obj("indicator", 1, 20)], A)  # the same object in a second collection: still one
    put(s, "c1", [obj("indicator", 4, 10), obj("malware", 5, 10)], B)
    found = activity(s, {"c1": EVERYONE, "c2": EVERYONE})
    assert found.contributed == (Contributed(A, "indicator", 2), Contributed(A, "report", 1),
                                 Contributed(B, "indicator", 1), Contributed(B, "malware", 1))
    assert (found.counted, found.complete, found.start) == (7, True, 0)
    assert found.uptake == () and found.first_reports == ()
    assert activity(s, {"c2": EVERYONE}).contributed == (Contributed(A, "indicator", 1),)
    assert activity(s, {}) == Activity(0, 0, True, (), (), ())


def test_the_window_bounds_what_is_counted(backend: Backend) -> None:
    s = backend.store
    first = put(s, "c", [obj("indicator", 1, 10)], A)
    middle = put(s, "c", [obj("indicator", 2, 10)], A)
    last = put(s, "c", [obj("indicator", 3, 10)], A)
    assert activity(s, {"c": EVERYONE}, since=middle).contributed == (Contributed(A, "indicator", 2),)
    assert activity(s, {"c": EVERYONE}, since=first, until=last).contributed == (Contributed(A, "indicator", 2),)
    assert activity(s, {"c": EVERYONE}, since=last + 1).contributed == ()
    assert activity(s, {"c": EVERYONE}, since=5, until=5) == Activity(0, 5, True, (), (), ())


def test_invisible_versions_are_not_counted(backend: Backend) -> None:
    s = backend.store
    put(s, "c", [obj("indicator", 1, 10, level=1)], A)  # GREEN: every member
    put(s, "c", [obj("indicator", 2, 10, level=4)], A, scope=frozenset({"o:" + B}))  # RED for B only
    put(s, "c", [obj("report", 3, 10, level=2)], A, scope=frozenset({"o:" + B}))  # AMBER for B only
    put(s, "c", [obj("indicator", 4, 10, level=4)], C)  # RED, nobody named: C only
    put(s, "other", [obj("indicator", 5, 10, level=0)], A)  # CLEAR, in a collection not named
    assert activity(s, {"c": member(B)}).contributed == (Contributed(A, "indicator", 2), Contributed(A, "report", 1))
    assert activity(s, {"c": member(C)}).contributed == (Contributed(A, "indicator", 1),
                                                         Contributed(C, "indicator", 1))
    assert activity(s, {"c": member(R)}).contributed == (Contributed(A, "indicator", 1),)
    assert activity(s, {"c": member(R)}).counted == 1
    assert activity(s, {"c": Visibility()}).counted == 0  # sees nothing: fails closed
    assert activity(s, {"c": dataclasses.replace(EVERYONE, not_from=A)}).contributed == (
        Contributed(C, "indicator", 1),)
    served = s.activity({"c": EVERYONE}, since=0, until=FAR, limit=10, types={"c": ("report",)})
    assert served.contributed == (Contributed(A, "report", 1),)


def test_sightings_by_other_organizations_of_what_was_shared(backend: Backend) -> None:
    s = backend.store
    ind = oid("indicator", 1)
    reported = put(s, "c", [obj("indicator", 1, 10)], A)
    put(s, "c", [sighting(1, 10, ind)], A)  # its own: not uptake
    b1 = put(s, "c", [sighting(2, 10, ind)], B)
    put(s, "c", [sighting(3, 10, ind)], B)
    put(s, "c", [sighting(4, 10, ind, kind=SightingKind.FALSE_POSITIVE)], C)  # not "seen"
    put(s, "c", [sighting(5, 10, ind), sighting(5, 20, ind, revoked=True)], C)  # revoked
    put(s, "c", [sighting(6, 10, ind, level=4)], R)  # RED, nobody named: only R sees it
    c1 = put(s, "c2", [sighting(7, 10, ind)], C)  # in another collection
    found = activity(s, {"c": member(B), "c2": member(B)})
    assert found.uptake == (Uptake(ind, "indicator", A, reported, B, 2, b1),
                            Uptake(ind, "indicator", A, reported, C, 1, c1))
    assert activity(s, {"c": member(B)}).uptake == (Uptake(ind, "indicator", A, reported, B, 2, b1),)
    assert {u.org for u in activity(s, {"c": member(R)}).uptake} == {B, R}
    # the sighting counts only once the object was shared where the reader sees it ("then saw"), and in the window
    assert activity(s, {"c": member(B)}, since=b1).uptake == ()
    assert activity(s, {"c": member(B)}, until=b1).uptake == ()
    assert activity(s, {"c": member(B)}, until=b1 + 1).uptake == (Uptake(ind, "indicator", A, reported, B, 1, b1),)


def test_a_sighting_seen_before_the_object_was_shared_does_not_count(backend: Backend) -> None:
    s = backend.store
    ind = oid("indicator", 1)
    put(s, "c", [sighting(1, 10, ind)], B)
    reported = put(s, "c", [obj("indicator", 1, 10)], A)
    assert activity(s, {"c": EVERYONE}).uptake == ()
    later = put(s, "c2", [sighting(1, 10, ind)], B)  # the same sighting, shared again later
    assert activity(s, {"c": EVERYONE, "c2": EVERYONE}).uptake == (
        Uptake(ind, "indicator", A, reported, B, 1, later),)


def test_sightings_of_an_invisible_object_are_not_counted(backend: Backend) -> None:
    """A TLP:RED indicator for B: sightings of it count for B, and for C neither the indicator nor them."""
    s = backend.store
    ind = oid("indicator", 1)
    reported = put(s, "c", [obj("indicator", 1, 10, IP, level=4)], A, scope=frozenset({"o:" + B}))
    seen = put(s, "c", [sighting(1, 10, ind, level=1)], B)  # GREEN: C sees the sighting, not the indicator
    put(s, "c", [obj("indicator", 2, 10, IP, level=1)], C)
    for_b = activity(s, {"c": member(B)})
    assert for_b.uptake == (Uptake(ind, "indicator", A, reported, B, 1, seen),)
    assert for_b.first_reports == (FirstReport(IP, A, reported, (B, C)),)  # B sighted it, C reported it
    for_c = activity(s, {"c": member(C)})
    assert for_c.contributed == (Contributed(B, "sighting", 1), Contributed(C, "indicator", 1))
    assert for_c.uptake == () and for_c.first_reports == ()


def test_values_reported_first_and_then_by_others(backend: Backend) -> None:
    s = backend.store
    put(s, "c0", [obj("indicator", 6, 10, IP, level=4)], C)  # RED, nobody named: only C sees it
    before = put(s, "c", [obj("indicator", 9, 10, DOMAIN)], C)  # before the window
    since = put(s, "c", [obj("malware", 8, 10)], C)
    first = put(s, "c", [obj("indicator", 1, 10, IP, DOMAIN, URL, "ref:" + oid("malware", 8))], A)
    put(s, "c", [obj("indicator", 2, 10, IP, "ref:" + oid("malware", 8))], B)
    put(s, "c", [obj("indicator", 3, 10, IP)], C)
    put(s, "c", [obj("indicator", 4, 10, IP)], A)  # A again: not a follower
    put(s, "c", [obj("observed-data", 5, 10, URL)], B)  # an observation is no report
    found = activity(s, {"c": EVERYONE}, since=since)
    assert found.first_reports == (FirstReport(IP, A, first, (B, C)),)  # DOMAIN: C reported it before
    assert activity(s, {"c": EVERYONE}).first_reports == (FirstReport(DOMAIN, C, before, (A,)),
                                                          FirstReport(IP, A, first, (B, C)))
    # a sighting of the indicator by another organization follows it too
    put(s, "c", [sighting(1, 10, oid("indicator", 1))], B)
    assert activity(s, {"c": EVERYONE}, since=since).first_reports == (FirstReport(IP, A, first, (B, C)),
                                                                       FirstReport(URL, A, first, (B,)))
    # what a reader does not see reports nothing: C's RED indicator came before A's, and only C sees it
    assert activity(s, {"c": EVERYONE, "c0": member(C)}, since=since).first_reports[0].key == URL
    assert activity(s, {"c": EVERYONE, "c0": member(B)}, since=since).first_reports[0] == FirstReport(
        IP, A, first, (B, C))


def test_the_newest_limit_memberships_the_reader_sees_are_counted(backend: Backend) -> None:
    s = backend.store
    put(s, "c", [obj("indicator", 1, 10)], A)
    second = put(s, "c", [obj("indicator", 2, 10)], A)
    put(s, "c", [obj("indicator", 3, 10, level=4)], C)  # not seen by B: neither counted nor a bound
    third = put(s, "c2", [obj("indicator", 4, 10)], A)
    put(s, "c", [obj("indicator", 5, 10, level=4)], C)
    found = activity(s, {"c": member(B), "c2": member(B)}, limit=2)
    assert (found.counted, found.complete, found.start) == (2, False, second)
    assert found.contributed == (Contributed(A, "indicator", 2),)
    exact = activity(s, {"c": member(B), "c2": member(B)}, limit=3)
    assert (exact.counted, exact.complete, exact.start) == (3, True, 0)
    assert activity(s, {"c": member(B), "c2": member(B)}, limit=1).start == third


def test_bad_windows_are_refused(backend: Backend) -> None:
    for since, until, limit in ((5, 4, 10), (0, 10, 0), (0, 2**63, 10), (True, 10, 10)):
        with pytest.raises(InvalidQuery):
            backend.store.activity({"c": EVERYONE}, since=since, until=until, limit=limit)


def _ranked(store: Store, found: Activity) -> Activity:
    """``found`` with every date replaced by its rank among the store's memberships."""
    rank = {m.date_added: i for i, m in enumerate(store.changes(0, 10_000))}

    def r(date: int) -> int:
        return rank.get(date, -1)

    return dataclasses.replace(
        found, start=r(found.start) if found.start else 0,
        uptake=tuple(dataclasses.replace(u, reported=r(u.reported), first=r(u.first)) for u in found.uptake),
        first_reports=tuple(dataclasses.replace(f, reported=r(f.reported)) for f in found.first_reports))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_same_answers_as_the_memory_store(backend: Backend, seed: int) -> None:
    rng = random.Random(seed)
    stores: list[Store] = [backend.store, MemoryStore()]
    orgs = [A, B, C, R]
    scopes = [None, frozenset({"o:" + R}), frozenset({"o:" + B}), frozenset({"o:" + R, "o:" + A})]
    values = [IP, DOMAIN, URL, "ipv4-addr:203.0.113.9"]
    for _ in range(120):
        n, version, level = rng.randrange(1, 20), rng.randrange(1, 4), rng.randrange(0, 5)
        pick = rng.random()
        if pick < 0.5:
            row = obj(rng.choice(["indicator", "indicator", "observed-data"]), n, version,
                      *rng.sample(values, rng.randrange(0, 3)), level=level)
        elif pick < 0.6:
            row = obj("report", n, version, level=level)
        else:
            row = sighting(n, version, oid(rng.choice(["indicator", "observed-data"]), rng.randrange(1, 20)),
                           kind=rng.choice([SightingKind.SEEN, SightingKind.SEEN, SightingKind.FALSE_POSITIVE]),
                           level=level, revoked=rng.random() < 0.05)
        collection, org, scope = rng.choice(["c1", "c2"]), orgs[(n + version) % 4], rng.choice(scopes)
        answers = [[r.status for r in s.put_many(collection, [row], contributor=org, scope=scope)] for s in stores]
        assert answers[0] == answers[1]
    dates = [[m.date_added for m in s.changes(0, 10_000)] for s in stores]
    for readable in ({"c1": member(R)}, {"c1": member(B), "c2": member(B)}, {"c2": Visibility(owner=A)},
                     {"c1": EVERYONE, "c2": dataclasses.replace(member(C), not_from=B)}):
        for low, high, limit in ((0, None, 1000), (30, None, 1000), (0, None, 25), (60, None, 7), (10, 70, 1000),
                                 (20, 60, 9)):
            got, expected = (_ranked(s, s.activity(readable, since=d[low], until=FAR if high is None else d[high],
                                                   limit=limit))
                             for s, d in zip(stores, dates, strict=True))
            assert got == expected, (readable, low, high, limit)
