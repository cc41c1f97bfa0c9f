"""Correlation keys in the Store (``carriers``, ``reporters``, ``keys_of``): the same answers on memory, SQLite and
PostgreSQL, and never a version outside what the reader's visibility admits."""

from __future__ import annotations

import dataclasses

import pytest

from phalanx.errors import InvalidQuery
from phalanx.store import Backend, Carrier, Grant, Reporter, ScopeTest, Store, VersionRow, Visibility
from tests.conformance.conftest import row

A = "identity--00000000-0000-4000-8000-0000000000aa"
B = "identity--00000000-0000-4000-8000-0000000000bb"
C = "identity--00000000-0000-4000-8000-0000000000cc"
IP, DOMAIN = "ipv4-addr:198.51.100.7", "domain-name:evil.example"
EVERYTHING = Visibility(grants=(Grant((0, 1, 2, 3, 4)),))
CLEAR_ONLY = Visibility(grants=(Grant((0,)),))


def keyed(kind: str, n: int, version: int, *keys: str, level: int = 0, **extra: object) -> VersionRow:
    return dataclasses.replace(row(kind, n, version, **extra), correlation_keys=keys, level=level, top_level=level)


def oid(kind: str, n: int) -> str:
    return f"{kind}--00000000-0000-4000-8000-{n:012d}"


def summary(found: list[Carrier]) -> list[tuple[str, str, str, int, bool]]:
    return [(c.key, c.id, c.contributor, c.version, c.revoked) for c in found]


def test_carriers_name_the_objects_their_contributors_and_dates(backend: Backend) -> None:
    s = backend.store
    first = s.put_many("c", [keyed("indicator", 1, 10, IP, DOMAIN)], contributor=A)
    second = s.put_many("c", [keyed("ipv4-addr", 2, 0, IP)], contributor=B)
    s.put_many("c", [keyed("indicator", 3, 10, "ipv4-addr:203.0.113.1")], contributor=C)
    found = s.carriers([IP], {"c": EVERYTHING}, limit=10)
    assert found == [
        Carrier(IP, oid("indicator", 1), "indicator", A, first[0].date_added or 0, 10, False),
        Carrier(IP, oid("ipv4-addr", 2), "ipv4-addr", B, second[0].date_added or 0, 0, False),
    ]
    both = s.carriers([DOMAIN, IP], {"c": EVERYTHING}, limit=10)
    assert [(c.key, c.id) for c in both] == [(DOMAIN, oid("indicator", 1)), (IP, oid("indicator", 1)),
                                             (IP, oid("ipv4-addr", 2))]
    assert s.carriers([IP], {"c": EVERYTHING}, limit=1) == found[:1]
    assert s.carriers(["ipv4-addr:192.0.2.1"], {"c": EVERYTHING}, limit=10) == []
    assert s.reporters([IP, DOMAIN], {"c": EVERYTHING}) == [
        Reporter(DOMAIN, A, 1, first[0].date_added or 0),
        Reporter(IP, A, 1, first[0].date_added or 0),
        Reporter(IP, B, 1, second[0].date_added or 0),
    ]


def test_keys_of_a_version(backend: Backend) -> None:
    s = backend.store
    s.put_many("c", [keyed("indicator", 1, 10, IP, DOMAIN), keyed("indicator", 1, 20, IP)], contributor=A)
    assert s.keys_of(oid("indicator", 1), 10) == (DOMAIN, IP)
    assert s.keys_of(oid("indicator", 1), 20) == (IP,)
    assert s.keys_of(oid("indicator", 1), 30) == ()
    assert s.keys_of(oid("indicator", 2), 10) == ()
    assert s.keys_of(oid("indicator", 1), 2**70) == ()


def test_versions_of_one_object_make_one_carrier(backend: Backend) -> None:
    """The earliest date a version carrying the key was added, the newest such version."""
    s = backend.store
    first = s.put_many("c", [keyed("indicator", 1, 10, IP)], contributor=A)
    s.put_many("c", [keyed("indicator", 1, 20, IP), keyed("indicator", 1, 30, DOMAIN)], contributor=A)
    (found,) = s.carriers([IP], {"c": EVERYTHING}, limit=10)
    assert (found.first_added, found.version) == (first[0].date_added, 20)
    assert s.reporters([IP], {"c": EVERYTHING}) == [Reporter(IP, A, 1, first[0].date_added or 0)]


def test_one_object_in_two_collections_is_one_carrier_dated_where_the_reader_sees_it(backend: Backend) -> None:
    s = backend.store
    early = s.put_many("hidden", [keyed("indicator", 1, 10, IP)], contributor=A)
    late = s.put_many("shown", [keyed("indicator", 1, 10, IP)], contributor=A)
    assert [c.first_added for c in s.carriers([IP], {"hidden": EVERYTHING, "shown": EVERYTHING}, limit=5)] == [
        early[0].date_added]
    assert [c.first_added for c in s.carriers([IP], {"shown": EVERYTHING}, limit=5)] == [late[0].date_added]
    assert s.carriers([IP], {"elsewhere": EVERYTHING}, limit=5) == []
    assert s.carriers([IP], {}, limit=5) == []
    assert s.reporters([IP], {}) == []


def test_only_what_the_visibility_admits_is_found_or_counted(backend: Backend) -> None:
    """A TLP:RED version for named recipients and a TLP:CLEAR one carry the same value: a reader who is not a
    recipient finds and counts one object, from one organization; a recipient both; the contributor its own."""
    s = backend.store
    s.put_many("c", [keyed("indicator", 1, 10, IP, level=4)], contributor=A, scope=frozenset({"o:" + C}))
    clear = s.put_many("c", [keyed("indicator", 2, 10, IP, level=0)], contributor=B)
    outsider = Visibility(owner="identity--00000000-0000-4000-8000-0000000000dd",
                          grants=(Grant((0,)), Grant((4,), ScopeTest.LISTED, ("o:identity--nobody",))))
    assert summary(s.carriers([IP], {"c": outsider}, limit=10)) == [(IP, oid("indicator", 2), B, 10, False)]
    assert s.reporters([IP], {"c": outsider}) == [Reporter(IP, B, 1, clear[0].date_added or 0)]
    recipient = Visibility(owner=C, grants=(Grant((0,)), Grant((4,), ScopeTest.LISTED, ("o:" + C,))))
    assert [c.id for c in s.carriers([IP], {"c": recipient}, limit=10)] == [oid("indicator", 1), oid("indicator", 2)]
    assert [r.contributor for r in s.reporters([IP], {"c": recipient})] == [A, B]
    own = Visibility(owner=A)
    assert [c.id for c in s.carriers([IP], {"c": own}, limit=10)] == [oid("indicator", 1)]
    assert s.carriers([IP], {"c": Visibility()}, limit=10) == []  # nothing admits anything: fails closed


def test_amber_scopes_and_not_from(backend: Backend) -> None:
    s = backend.store
    s.put_many("c", [keyed("indicator", 1, 10, IP, level=2)], contributor=A, scope=frozenset({"o:" + B}))
    s.put_many("c", [keyed("indicator", 2, 10, IP, level=2)], contributor=A)
    listed = Visibility(grants=(Grant((2, 3), ScopeTest.UNSCOPED_OR_LISTED, ("o:" + B,)),))
    unlisted = Visibility(grants=(Grant((2, 3), ScopeTest.UNSCOPED_OR_LISTED, ("o:" + C,)),))
    assert len(s.carriers([IP], {"c": listed}, limit=10)) == 2
    assert [c.id for c in s.carriers([IP], {"c": unlisted}, limit=10)] == [oid("indicator", 2)]
    peer = Visibility(grants=(Grant((0, 1, 2, 3, 4)),), not_from=A)
    assert s.carriers([IP], {"c": peer}, limit=10) == []


def test_a_version_seen_in_one_collection_only_counts_there(backend: Backend) -> None:
    """Visibility is per collection: a RED version admitted nowhere stays hidden even if another collection of
    the reader holds a CLEAR version of another object."""
    s = backend.store
    s.put_many("red", [keyed("indicator", 1, 10, IP, level=4)], contributor=A)
    s.put_many("open", [keyed("indicator", 2, 10, IP, level=0)], contributor=B)
    readable = {"red": CLEAR_ONLY, "open": CLEAR_ONLY}
    assert [c.id for c in s.carriers([IP], readable, limit=10)] == [oid("indicator", 2)]
    assert [(r.contributor, r.objects) for r in s.reporters([IP], readable)] == [(B, 1)]


def test_types_a_collection_serves(backend: Backend) -> None:
    s = backend.store
    s.put_many("c", [keyed("indicator", 1, 10, IP), keyed("ipv4-addr", 2, 0, IP)], contributor=A)
    assert [c.type for c in s.carriers([IP], {"c": EVERYTHING}, limit=10, types={"c": ("ipv4-addr",)})] == [
        "ipv4-addr"]
    assert [r.objects for r in s.reporters([IP], {"c": EVERYTHING}, types={"c": ("ipv4-addr",)})] == [1]
    assert len(s.carriers([IP], {"c": EVERYTHING}, limit=10, types={"other": ("ipv4-addr",)})) == 2


def test_revoked_objects_are_flagged_and_not_counted(backend: Backend) -> None:
    s = backend.store
    s.put_many("c", [keyed("indicator", 1, 10, IP), keyed("indicator", 1, 20, IP, revoked=True)], contributor=A)
    s.put_many("c", [keyed("indicator", 2, 10, IP)], contributor=B)
    assert summary(s.carriers([IP], {"c": EVERYTHING}, limit=10)) == [
        (IP, oid("indicator", 1), A, 20, True), (IP, oid("indicator", 2), B, 10, False)]
    assert [(r.contributor, r.objects) for r in s.reporters([IP], {"c": EVERYTHING})] == [(B, 1)]


def test_deleted_versions_carry_nothing(backend: Backend) -> None:
    s = backend.store
    s.put_many("c", [keyed("indicator", 1, 10, IP)], contributor=A)
    s.put_many("d", [keyed("indicator", 1, 10, IP)], contributor=A)
    s.delete("c", oid("indicator", 1))
    assert [c.id for c in s.carriers([IP], {"c": EVERYTHING, "d": EVERYTHING}, limit=10)] == [oid("indicator", 1)]
    s.delete("d", oid("indicator", 1))  # in no collection any more: gone from the store, keys too
    assert s.carriers([IP], {"c": EVERYTHING, "d": EVERYTHING}, limit=10) == []
    assert s.keys_of(oid("indicator", 1), 10) == ()
    s.put_many("c", [keyed("indicator", 1, 10, DOMAIN)], contributor=A)  # the same id again, other keys
    assert s.keys_of(oid("indicator", 1), 10) == (DOMAIN,)
    assert s.carriers([IP], {"c": EVERYTHING}, limit=10) == []


def test_keys_are_compared_whole(backend: Backend) -> None:
    """Keys are found by a hash, then compared: similar keys, case and non-ASCII text are told apart."""
    s = backend.store
    odd = ["url:http://x/é", "url:http://x/E", "url:http://x/e", "ref:indicator--1"]
    s.put_many("c", [keyed("indicator", n, 10, key) for n, key in enumerate(odd)], contributor=A)
    for n, key in enumerate(odd):
        assert [c.id for c in s.carriers([key], {"c": EVERYTHING}, limit=5)] == [oid("indicator", n)]


@pytest.mark.parametrize("limit", [0, -1, 2**63])
def test_bad_limits_are_refused(backend: Backend, limit: int) -> None:
    with pytest.raises(InvalidQuery):
        backend.store.carriers([IP], {"c": EVERYTHING}, limit=limit)


def test_too_many_keys_are_refused(backend: Backend) -> None:
    with pytest.raises(InvalidQuery):
        backend.store.reporters([f"ipv4-addr:10.0.{n // 256}.{n % 256}" for n in range(1001)], {"c": EVERYTHING})


def test_a_large_batch_is_indexed_in_one_put(backend: Backend) -> None:
    s: Store = backend.store
    rows = [keyed("indicator", n, 10, f"ipv4-addr:10.0.{n // 256}.{n % 256}", IP) for n in range(1, 1201)]
    s.put_many("c", rows, contributor=A)
    assert len(s.carriers([IP], {"c": EVERYTHING}, limit=5000)) == 1200
    assert s.reporters([IP], {"c": EVERYTHING})[0].objects == 1200
    assert [c.id for c in s.carriers(["ipv4-addr:10.0.4.176"], {"c": EVERYTHING}, limit=5)] == [
        oid("indicator", 1200)]


def test_set_keys_replaces_the_keys_of_stored_versions(backend: Backend) -> None:
    """A reindex: the versions found get exactly the keys given; unknown ones are skipped."""
    s = backend.store
    s.put_many("c", [keyed("indicator", 1, 10, IP), row("indicator", 2, 10)], contributor=A)
    found = s.set_keys([(oid("indicator", 1), 10, (DOMAIN, DOMAIN)), (oid("indicator", 2), 10, (IP,)),
                        (oid("indicator", 3), 10, (IP,)), (oid("indicator", 1), 2**70, (IP,))])
    assert found == 2
    assert s.keys_of(oid("indicator", 1), 10) == (DOMAIN,)
    assert [c.id for c in s.carriers([IP], {"c": EVERYTHING}, limit=5)] == [oid("indicator", 2)]
    assert [c.id for c in s.carriers([DOMAIN], {"c": EVERYTHING}, limit=5)] == [oid("indicator", 1)]
    assert s.set_keys([]) == 0
