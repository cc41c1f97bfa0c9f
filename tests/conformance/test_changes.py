"""``Store.changes``: every membership in date_added order across collections, on memory, SQLite and PostgreSQL.

The rows are those ``query`` gives through each collection (every version, no visibility), merged by date_added.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

import pytest

from phalanx.store import Backend, InvalidQuery, PutStatus, Query, Store, StoredVersion, VersionFilter, VersionRow
from tests.conformance.conftest import make_row, postgres_schema, row

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
ALL = (VersionFilter.ALL,)
# Collection ids as callers name them (TAXII collection UUIDs): the SQL stores hold a small key instead.
C1 = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
C2 = "52892447-4d7e-4f70-b94d-d7f22742ff63"
C3 = "64993447-4d7e-4f70-b94d-d7f22742ff00"
ORG_A, ORG_B = "identity--00000000-0000-4000-8000-0000000000aa", "identity--00000000-0000-4000-8000-0000000000bb"


def put(store: Store, collection: str, rows: Iterable[VersionRow], *, contributor: str = ORG_A,
        scope: frozenset[str] | None = None) -> list[int]:
    """The date_added of each membership the batch made (ADDED or LINKED), in batch order."""
    results = store.put_many(collection, list(rows), contributor=contributor, scope=scope)
    return [r.date_added for r in results
            if r.status in (PutStatus.ADDED, PutStatus.LINKED) and r.date_added is not None]


def seen(items: Iterable[StoredVersion]) -> list[tuple[str | None, int, int]]:
    """(collection, object number, version) of each item."""
    return [(i.collection, int(i.id[-12:]), i.version) for i in items]


def through_query(store: Store, collections: Iterable[str], after: int | None = None) -> list[StoredVersion]:
    """What ``changes`` must give: every version ``query`` reads through each collection, merged by date_added."""
    merged = [item for c in collections
              for item in store.query(Query(collection=c, versions=ALL, added_after=after, limit=100_000)).items]
    return sorted(merged, key=lambda i: i.date_added)


def follow(store: Store, limit: int, after: int = INT64_MIN) -> list[StoredVersion]:
    """Read every change ``limit`` at a time, each time resuming after the last date_added seen."""
    out: list[StoredVersion] = []
    while batch := store.changes(after, limit):
        assert len(batch) <= limit
        out += batch
        after = batch[-1].date_added
    return out


def test_changes_are_ordered_across_collections(backend: Backend) -> None:
    s = backend.store
    dates = put(s, C1, [row("indicator", 1, 1), row("indicator", 2, 1)])
    dates += put(s, C2, [row("malware", 3, 1)])
    dates += put(s, C1, [row("indicator", 1, 2)])
    dates += put(s, C3, [row("tool", 4, 1), row("tool", 5, 1)])
    dates += put(s, C2, [row("malware", 3, 2)])
    got = s.changes(INT64_MIN, 100)
    assert seen(got) == [(C1, 1, 1), (C1, 2, 1), (C2, 3, 1), (C1, 1, 2), (C3, 4, 1), (C3, 5, 1), (C2, 3, 2)]
    assert [i.date_added for i in got] == dates
    assert dates == sorted(dates) and len(set(dates)) == len(dates)
    assert s.changes(0, 100) == got  # every date_added is a time after the epoch


def test_changes_start_strictly_after(backend: Backend) -> None:
    s = backend.store
    assert s.changes(INT64_MIN, 10) == []
    put(s, C1, [row("indicator", n, 1) for n in range(3)])
    put(s, C2, [row("indicator", n, 1) for n in range(2)])
    every = s.changes(INT64_MIN, 10)
    assert len(every) == 5
    for k, item in enumerate(every):
        assert s.changes(item.date_added, 10) == every[k + 1 :]
        assert s.changes(item.date_added - 1, 10) == every[k:]  # dates are unique: this is just before it
    assert s.changes(every[-1].date_added, 10) == []
    assert s.changes(INT64_MAX, 10) == []
    assert s.changes(INT64_MIN, INT64_MAX) == every


def test_changes_limit_and_resuming_give_every_membership_once(backend: Backend) -> None:
    s = backend.store
    for start in range(0, 60, 10):
        put(s, C1 if start % 20 else C2, [row("indicator", n, 1 + n % 2) for n in range(start, start + 10)])
        put(s, C3, [row("malware", n, 1) for n in range(start, start + 3)])
        put(s, C2 if start % 20 else C1, [row("indicator", n, 1 + n % 2) for n in range(start, start + 4)])  # links
    every = s.changes(INT64_MIN, 10_000)
    assert len(every) == 6 * (10 + 3 + 4)
    assert [i.date_added for i in every] == sorted({i.date_added for i in every})
    assert len({(i.collection, i.id, i.version) for i in every}) == len(every)
    assert s.changes(INT64_MIN, 7) == every[:7]
    assert s.changes(every[6].date_added, 7) == every[7:14]
    for limit in (1, 7, 17, 102, 103, 10_000):
        assert follow(s, limit) == every


def test_changes_give_each_row_as_query_gives_it(backend: Backend) -> None:
    """Collection id, date_added, contributor, sharer, scope, level and the version's fields: all as ``query``
    reads them through the collection the version entered."""
    s = backend.store

    def obj(n: int, version: int, level: int, **extra: object) -> VersionRow:
        return make_row({"type": "indicator", "id": f"indicator--00000000-0000-4000-8000-{n:012d}", "_v": version,
                         "_level": level, **extra})

    marked = obj(1, 10, 2, object_marking_refs=["marking-definition--x"], created_by_ref="identity--y")
    put(s, C1, [marked, obj(2, 10, 0), obj(3, 10, 4)], contributor=ORG_A)
    put(s, C1, [obj(4, 10, 3), obj(2, 20, 1)], contributor=ORG_A, scope=frozenset({"o:x", "p:u"}))
    put(s, C2, [marked, obj(3, 10, 4)], contributor=ORG_B)  # passed on by B: the sharer is B, the contributor A
    put(s, C2, [obj(5, 10, 1), obj(5, 11, 1, revoked=True)], contributor=ORG_B, scope=frozenset({"o:y"}))
    put(s, C3, [obj(2, 20, 1), obj(4, 10, 3)], contributor=ORG_B, scope=frozenset({"o:x", "p:u"}))
    put(s, C1, [obj(5, 10, 1)], contributor=ORG_A)
    put(s, C2, [marked], contributor=ORG_A, scope=frozenset({"o:z"}))  # a duplicate: keeps B and no scope

    got = s.changes(INT64_MIN, 1000)
    assert got == through_query(s, (C1, C2, C3))
    assert len(got) == 3 + 2 + 2 + 2 + 2 + 1
    for item in got[len(got) // 2 :: 3]:  # from the middle on, as a follower resuming there reads them
        assert s.changes(item.date_added, 1000) == through_query(s, (C1, C2, C3), after=item.date_added)
    assert {i.collection for i in got} == {C1, C2, C3}
    first = {(i.collection, int(i.id[-12:]), i.version): i for i in got}
    one = first[(C1, 1, 10)]
    assert (one.contributor, one.sharer, one.scope, one.level) == (ORG_A, ORG_A, None, 2)
    assert (one.marking_refs, one.created_by_ref, one.canonical) == (("marking-definition--x",), "identity--y",
                                                                     marked.canonical)
    passed = first[(C2, 1, 10)]
    assert (passed.contributor, passed.sharer, passed.scope) == (ORG_A, ORG_B, None)
    scoped = first[(C3, 2, 20)]
    assert (scoped.contributor, scoped.sharer, scoped.scope, scoped.level) == (ORG_A, ORG_B,
                                                                               frozenset({"o:x", "p:u"}), 1)
    assert first[(C2, 5, 11)].revoked and first[(C2, 5, 11)].scope == frozenset({"o:y"})
    assert (first[(C1, 5, 10)].contributor, first[(C1, 5, 10)].sharer) == (ORG_B, ORG_A)


def test_a_version_in_two_collections_changes_twice(backend: Backend) -> None:
    s = backend.store
    (added,) = put(s, C1, [row("indicator", 1, 1)])
    put(s, C1, [row("indicator", 2, 1)])
    (linked,) = put(s, C2, [row("indicator", 1, 1)], contributor=ORG_B)
    assert put(s, C2, [row("indicator", 1, 1)]) == []  # a duplicate makes no membership, and no change
    got = s.changes(INT64_MIN, 10)
    assert seen(got) == [(C1, 1, 1), (C1, 2, 1), (C2, 1, 1)]
    assert [got[0].date_added, got[2].date_added] == [added, linked]
    assert (got[0].sharer, got[2].sharer) == (ORG_A, ORG_B)
    assert got[0].canonical == got[2].canonical and got[0].contributor == got[2].contributor == ORG_A


def test_deleted_memberships_leave_the_changes(backend: Backend) -> None:
    s = backend.store
    put(s, C1, [row("indicator", 1, v) for v in (1, 2, 3)])
    put(s, C2, [row("indicator", 1, 2), row("indicator", 9, 1)])
    put(s, C1, [row("indicator", 5, 1)])
    oid = row("indicator", 1, 0).id
    before = s.changes(INT64_MIN, 100)
    assert seen(before) == [(C1, 1, 1), (C1, 1, 2), (C1, 1, 3), (C2, 1, 2), (C2, 9, 1), (C1, 5, 1)]
    s.delete(C1, oid, versions=(2,))  # still in C2
    assert seen(s.changes(INT64_MIN, 100)) == [(C1, 1, 1), (C1, 1, 3), (C2, 1, 2), (C2, 9, 1), (C1, 5, 1)]
    s.delete(C1, oid)  # versions 1 and 3 leave the store
    s.delete(C2, row("indicator", 9, 0).id)
    after = s.changes(INT64_MIN, 100)
    assert seen(after) == [(C2, 1, 2), (C1, 5, 1)]
    assert after == [before[3], before[5]] == through_query(s, (C1, C2))
    assert s.changes(before[0].date_added, 1) == [before[3]]  # resuming after a deleted one skips nothing
    (back,) = put(s, C1, [row("indicator", 1, 2)])  # a membership made again is a new change, at the end
    again = s.changes(INT64_MIN, 100)
    assert seen(again) == [(C2, 1, 2), (C1, 5, 1), (C1, 1, 2)]
    assert again[-1].date_added == back > before[-1].date_added


BEYOND = [INT64_MAX + 1, 2**70, INT64_MIN - 1]


@pytest.mark.parametrize("after", [*BEYOND, None, "0", 1.0, True])
def test_changes_refuse_an_after_that_is_no_64_bit_integer(backend: Backend, after: object) -> None:
    put(backend.store, C1, [row("indicator", 1, 1)])
    with pytest.raises(InvalidQuery, match="after"):
        backend.store.changes(after, 10)  # type: ignore[arg-type]


@pytest.mark.parametrize("limit", [0, -1, INT64_MIN, INT64_MAX + 1, 2**70, None, "10", 2.0, True])
def test_changes_refuse_a_limit_that_is_no_positive_64_bit_integer(backend: Backend, limit: object) -> None:
    put(backend.store, C1, [row("indicator", 1, 1)])
    with pytest.raises(InvalidQuery, match="limit"):
        backend.store.changes(0, limit)  # type: ignore[arg-type]


def _follow_while_writing(store: Store) -> tuple[list[StoredVersion], int]:
    """Two threads put batches into two collections (half the objects in both: each is ADDED or LINKED, as
    the race goes) while a third follows ``changes`` a few at a time; returns what it saw and how many
    memberships the writers made."""
    done = threading.Event()
    errors: list[BaseException] = []
    made: list[int] = []

    def writer(collection: str, first: int, contributor: str) -> None:
        try:
            for start in range(first, first + 200, 4):
                made.extend(put(store, collection, [row("indicator", n, 1) for n in range(start, start + 4)],
                                contributor=contributor))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    writers = [threading.Thread(target=writer, args=(C1, 0, ORG_A)), threading.Thread(target=writer,
                                                                                      args=(C2, 100, ORG_B))]
    followed: list[StoredVersion] = []

    def follower() -> None:
        after = INT64_MIN
        try:
            while True:
                finished = done.is_set()  # read once more after the writers stopped
                batch = store.changes(after, 7)
                followed.extend(batch)
                if batch:
                    after = batch[-1].date_added
                elif finished:
                    return
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    reader = threading.Thread(target=follower)
    reader.start()
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    done.set()
    reader.join()
    assert not errors
    return followed, len(made)


def _check_followed(store: Store, followed: list[StoredVersion], made: int) -> None:
    assert made == 2 * 200
    dates = [i.date_added for i in followed]
    assert dates == sorted(set(dates)), "not in increasing date_added order, or a membership seen twice"
    assert len({(i.collection, i.id) for i in followed}) == len(followed) == made
    assert followed == store.changes(INT64_MIN, 10_000) == through_query(store, (C1, C2)), (
        "the follower missed memberships: a smaller date_added became visible after a larger one")


def test_following_changes_while_two_threads_write(backend: Backend) -> None:
    followed, made = _follow_while_writing(backend.store)
    _check_followed(backend.store, followed, made)


@pytest.mark.postgres
def test_following_changes_on_postgres_while_two_threads_write_each_time() -> None:
    """PostgreSQL is where writers really overlap: run the race a few more times, each on a fresh schema."""
    from phalanx.store import open_backend

    for _ in range(3):
        with postgres_schema() as url, open_backend(url, upgrade=True) as backend:
            followed, made = _follow_while_writing(backend.store)
            _check_followed(backend.store, followed, made)


def test_last_change_is_the_newest_membership(backend: Backend) -> None:
    store = backend.store
    assert store.last_change() == 0
    store.put_many("c1", [row("indicator", 1, 1)], contributor="identity--a")
    store.put_many("c2", [row("indicator", 1, 1), row("indicator", 2, 1)], contributor="identity--a")
    changes = store.changes(0, 10)
    assert store.last_change() == changes[-1].date_added == max(c.date_added for c in changes)
    store.delete("c2", "indicator--00000000-0000-4000-8000-000000000002")
    assert store.last_change() == store.changes(0, 10)[-1].date_added
