"""The Store conformance suite: the same expectations on memory, SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import dataclasses
import threading
from collections.abc import Sequence

import pytest

from phalanx.errors import Error, NotFound, StoreError
from phalanx.store import (
    Backend,
    Grant,
    InvalidCursor,
    InvalidQuery,
    MemoryStore,
    PutStatus,
    Query,
    ScopeTest,
    Store,
    StoredVersion,
    VersionFilter,
    VersionRow,
    Visibility,
    WriteGuard,
)
from tests.conformance.conftest import make_row, row

ORG = "identity--00000000-0000-4000-8000-0000000000aa"
FIRST, LAST, ALL = VersionFilter.FIRST, VersionFilter.LAST, VersionFilter.ALL
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1  # what every backend holds


def statuses(store: Store, collection: str, rows: list[object]) -> list[str]:
    return [r.status.value for r in store.put_many(collection, rows, contributor=ORG)]  # type: ignore[arg-type]


def keys(page_items: object) -> list[tuple[int, int]]:
    """(object number, version) of each item, in order."""
    return [(int(i.id[-12:]), i.version) for i in page_items]  # type: ignore[attr-defined]


def everything(store: Store, query: Query) -> list[tuple[int, int]]:
    """Follow the cursors to the end."""
    out: list[tuple[int, int]] = []
    page = store.query(query)
    out += keys(page.items)
    while page.more:
        assert page.next_cursor is not None
        page = store.query(Query(**{**_fields(query), "cursor": page.next_cursor}))
        out += keys(page.items)
    assert page.next_cursor is None
    return out


def _fields(q: Query) -> dict[str, object]:
    return {f: getattr(q, f) for f in q.__dataclass_fields__}


# put_many ------------------------------------------------------------------------------------------------


def test_put_statuses(backend: Backend) -> None:
    s = backend.store
    assert statuses(s, "c1", [row("indicator", 1, 10), row("indicator", 1, 20)]) == ["added", "added"]
    assert statuses(s, "c1", [row("indicator", 1, 10)]) == ["duplicate"]
    assert statuses(s, "c2", [row("indicator", 1, 10)]) == ["linked"]
    assert statuses(s, "c2", [row("indicator", 1, 10)]) == ["duplicate"]
    assert statuses(s, "c3", [row("indicator", 1, 10, name="changed")]) == ["conflict"]
    assert statuses(s, "c1", []) == []


def test_put_results_carry_date_added(backend: Backend) -> None:
    s = backend.store
    first = s.put_many("c1", [row("indicator", 1, 10), row("indicator", 2, 10)], contributor=ORG)
    assert first[0].date_added is not None and first[1].date_added is not None
    assert first[0].date_added < first[1].date_added
    again = s.put_many("c1", [row("indicator", 1, 10)], contributor=ORG)
    assert again[0].status is PutStatus.DUPLICATE and again[0].date_added == first[0].date_added
    assert again[0].accepted
    linked = s.put_many("c2", [row("indicator", 1, 10)], contributor=ORG)
    assert linked[0].date_added is not None and linked[0].date_added > first[1].date_added
    conflict = s.put_many("c2", [row("indicator", 1, 10, x=1)], contributor=ORG)
    assert conflict[0].date_added is None and not conflict[0].accepted
    assert s.get(row("indicator", 1, 10).id, collection="c1").date_added == first[0].date_added
    assert s.get(row("indicator", 1, 10).id).date_added == first[0].date_added
    assert s.get(row("indicator", 1, 10).id, collection="c2").date_added == linked[0].date_added


def test_conflicts_and_duplicates_inside_one_batch(backend: Backend) -> None:
    s = backend.store
    batch = [row("indicator", 1, 10), row("indicator", 1, 10, a=1), row("indicator", 1, 10), row("tool", 2, 1)]
    assert statuses(s, "c1", batch) == ["added", "conflict", "duplicate", "added"]
    assert s.get(row("indicator", 1, 10).id).canonical == row("indicator", 1, 10).canonical
    assert s.stats().versions == 2


def test_idempotent(backend: Backend) -> None:
    s = backend.store
    batch = [row("indicator", n, v) for n in range(5) for v in (1, 2)]
    statuses(s, "c", batch)
    before = s.query(Query(collection="c", versions=(ALL,)))
    assert set(statuses(s, "c", batch)) == {"duplicate"}
    after = s.query(Query(collection="c", versions=(ALL,)))
    assert before.items == after.items
    assert s.stats().versions == 10


def test_revocation_is_final(backend: Backend) -> None:
    s = backend.store
    oid = row("indicator", 1, 10).id
    assert statuses(s, "c", [row("indicator", 1, 10), row("indicator", 1, 20, revoked=True)]) == ["added"] * 2
    assert s.is_revoked(oid)
    assert not s.is_revoked(row("indicator", 2, 1).id)
    assert statuses(s, "c", [row("indicator", 1, 30)]) == ["revoked"]
    assert statuses(s, "other", [row("indicator", 1, 30)]) == ["revoked"]
    # An older version arriving late is still stored; the revoked version itself links elsewhere.
    assert statuses(s, "c", [row("indicator", 1, 15)]) == ["added"]
    assert statuses(s, "other", [row("indicator", 1, 20, revoked=True)]) == ["linked"]
    assert [v.version for v in s.versions(oid)] == [10, 15, 20]
    assert s.get(oid).revoked


def test_revocation_inside_one_batch(backend: Backend) -> None:
    s = backend.store
    batch = [row("indicator", 1, 20, revoked=True), row("indicator", 1, 30), row("indicator", 1, 5)]
    assert statuses(s, "c", batch) == ["added", "revoked", "added"]
    # A revoked version older than the stored revocation moves the line back.
    assert statuses(s, "c", [row("indicator", 1, 10, revoked=True), row("indicator", 1, 15)]) == [
        "added",
        "revoked",
    ]


def test_refusals_do_not_stop_the_batch(backend: Backend) -> None:
    s = backend.store
    statuses(s, "c", [row("indicator", 1, 10, revoked=True), row("malware", 2, 1)])
    batch = [row("malware", 2, 1, x=2), row("indicator", 1, 11), row("tool", 3, 1)]
    assert statuses(s, "c", batch) == ["conflict", "revoked", "added"]


class _Crash(Exception):
    """Raised inside a put_many transaction by the test below."""


def _crash_after_inserting(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Make every put_many fail inside its transaction once it has inserted its versions and memberships.

    Returns a list that receives the number of memberships the transaction saw just before failing. The
    memory store has no transaction: there the batch fails once planned, before anything is kept."""
    seen: list[int] = []
    store = backend.store
    if isinstance(store, MemoryStore):

        def allocate(count: int) -> int:
            raise _Crash("failed after planning the batch")

        monkeypatch.setattr(store, "_allocate", allocate)
        return seen
    from phalanx.store._postgres import PostgresEngine, _PgTx
    from phalanx.store._sqlite import _SqliteTx

    tx_class: type[_SqliteTx] | type[_PgTx] = (
        _PgTx if isinstance(store._engine, PostgresEngine) else _SqliteTx  # type: ignore[attr-defined]
    )
    real = tx_class.insert_many

    def insert_many(self: _SqliteTx, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        real(self, table, columns, rows)  # type: ignore[arg-type]
        if table == "memberships":
            ((count,),) = self.rows("SELECT count(*) FROM memberships")
            seen.append(int(count))
            raise _Crash("failed after inserting the versions and the memberships")

    monkeypatch.setattr(tx_class, "insert_many", insert_many)
    return seen


def test_error_rolls_back_the_whole_batch(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    s = backend.store
    one, two = row("indicator", 1, 0).id, row("indicator", 2, 0).id
    (earlier,) = s.put_many("c", [row("indicator", 1, 10)], contributor=ORG)

    def state() -> tuple[object, ...]:
        return (
            s.stats(),
            s.query(Query(versions=(ALL,))).items,
            s.query(Query(collection="c", versions=(FIRST,))).items,
            s.query(Query(collection="c", versions=(LAST,))).items,
            s.versions(one),
            s.versions(two),
            s.is_revoked(two),
        )

    before = state()
    # v20 and v5 move indicator 1's last and first flags (UPDATEs), indicator 2 is new and revoked.
    batch = [row("indicator", 1, 20), row("indicator", 1, 5), row("indicator", 2, 1, revoked=True)]
    seen = _crash_after_inserting(backend, monkeypatch)
    with pytest.raises(_Crash):
        s.put_many("c", batch, contributor=ORG)
    if not isinstance(s, MemoryStore):
        assert seen == [1 + 3], "the failure must come after the batch's rows were inserted"
    assert state() == before
    assert s.get(one).version == 10

    monkeypatch.undo()  # the store still works, and the same batch goes in whole
    assert statuses(s, "c", [*batch, row("indicator", 1, 10)]) == ["added", "added", "added", "duplicate"]
    assert s.stats().versions == 4 and s.is_revoked(two)
    assert q(s, collection="c", versions=(FIRST,)) == [(1, 5), (2, 1)]
    assert q(s, collection="c", versions=(LAST,)) == [(1, 20), (2, 1)]
    assert earlier.date_added is not None
    assert all(i.date_added > earlier.date_added for i in s.versions(one) if i.version != 10)


def test_contributor_is_kept(backend: Backend) -> None:
    s = backend.store
    s.put_many("c", [row("indicator", 1, 10)], contributor="identity--one")
    s.put_many("d", [row("indicator", 1, 10)], contributor="identity--two")
    assert s.get(row("indicator", 1, 10).id, collection="d").contributor == "identity--one"


# get, versions, stats --------------------------------------------------------------------------------------


def test_get_and_versions(backend: Backend) -> None:
    s = backend.store
    r10 = row("indicator", 1, 10, object_marking_refs=["marking-definition--x"], created_by_ref="identity--y")
    statuses(s, "c", [row("indicator", 1, 30), r10, row("indicator", 1, 20)])
    statuses(s, "d", [r10])
    oid = r10.id
    got = s.get(oid, 10)
    assert (got.canonical, got.digest, got.marking_refs, got.created_by_ref) == (
        r10.canonical,
        r10.digest,
        ("marking-definition--x",),
        "identity--y",
    )
    assert (got.type, got.spec_version, got.created, got.revoked, got.collection) == (
        "indicator",
        "2.1",
        10,
        False,
        None,
    )
    assert s.get(oid).version == 30
    assert s.get(oid, collection="d").version == 10
    assert s.get(oid, collection="d").collection == "d"
    assert [v.version for v in s.versions(oid)] == [10, 20, 30]
    assert [v.version for v in s.versions(oid, collection="d")] == [10]
    assert s.versions("indicator--nope") == []
    for args, kwargs in [(("indicator--nope",), {}), ((oid, 11), {}), ((oid, 30), {"collection": "d"})]:
        with pytest.raises(NotFound):
            s.get(*args, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        s.get(oid, collection="nowhere")


def test_stats(backend: Backend) -> None:
    s = backend.store
    assert s.stats().objects == 0 and s.stats().versions == 0 and s.stats().collections == {}
    statuses(s, "c", [row("indicator", 1, 1), row("indicator", 1, 2), row("malware", 2, 1)])
    statuses(s, "d", [row("malware", 2, 1)])
    st = s.stats()
    assert (st.objects, st.versions) == (2, 3)
    assert st.collections == {"c": 3, "d": 1}
    assert st.types == {"indicator": 2, "malware": 1}


# query ------------------------------------------------------------------------------------------------


@pytest.fixture
def loaded(backend: Backend) -> Store:
    """c: indicator 1 (v1, v2, v3), malware 2 (v1), indicator 3 (v5, revoked v6), tool 4 (v1, spec 2.0);
    d: indicator 1 v2 only, and indicator 5 v1."""
    s = backend.store
    statuses(s, "c", [row("indicator", 1, 1), row("indicator", 1, 3), row("malware", 2, 1)])
    statuses(s, "c", [row("indicator", 1, 2), row("indicator", 3, 5), row("indicator", 3, 6, revoked=True)])
    statuses(s, "c", [row("tool", 4, 1, spec_version="2.0")])
    statuses(s, "d", [row("indicator", 1, 2), row("indicator", 5, 1)])
    return s


def q(store: Store, **kw: object) -> list[tuple[int, int]]:
    return keys(store.query(Query(**kw)).items)  # type: ignore[arg-type]


def test_query_order_and_default_last(loaded: Store) -> None:
    assert q(loaded, collection="c", versions=(ALL,)) == [(1, 1), (1, 3), (2, 1), (1, 2), (3, 5), (3, 6), (4, 1)]
    assert q(loaded, collection="c") == [(1, 3), (2, 1), (3, 6), (4, 1)]
    assert q(loaded, collection="c", versions=()) == q(loaded, collection="c", versions=(ALL,))


def test_query_first_last_specific_and_union(loaded: Store) -> None:
    assert q(loaded, collection="c", versions=(FIRST,)) == [(1, 1), (2, 1), (3, 5), (4, 1)]
    assert q(loaded, collection="c", versions=(2,)) == [(1, 2)]
    assert q(loaded, collection="c", versions=(FIRST, 2)) == [(1, 1), (2, 1), (1, 2), (3, 5), (4, 1)]
    assert q(loaded, collection="c", versions=(FIRST, LAST)) == [
        (1, 1),
        (1, 3),
        (2, 1),
        (3, 5),
        (3, 6),
        (4, 1),
    ]
    assert q(loaded, collection="c", versions=(LAST, ALL)) == q(loaded, collection="c", versions=(ALL,))
    assert q(loaded, collection="c", versions=(2, 6, 99)) == [(1, 2), (3, 6)]


def test_first_and_last_are_per_collection(loaded: Store) -> None:
    assert q(loaded, collection="d", versions=(FIRST,)) == [(1, 2), (5, 1)]
    assert q(loaded, collection="d", versions=(LAST,)) == [(1, 2), (5, 1)]
    # Across the whole store, ordered by when each version was first stored.
    assert q(loaded, versions=(LAST,)) == [(1, 3), (2, 1), (3, 6), (4, 1), (5, 1)]
    assert q(loaded, versions=(FIRST,)) == [(1, 1), (2, 1), (3, 5), (4, 1), (5, 1)]
    assert len(q(loaded, versions=(ALL,))) == 8


def test_first_and_last_move_when_versions_arrive_late(backend: Backend) -> None:
    s = backend.store
    statuses(s, "c", [row("indicator", 1, 5)])
    statuses(s, "c", [row("indicator", 1, 9), row("indicator", 1, 1)])
    statuses(s, "c", [row("indicator", 1, 7)])
    assert q(s, collection="c", versions=(FIRST,)) == [(1, 1)]
    assert q(s, collection="c", versions=(LAST,)) == [(1, 9)]
    assert q(s, versions=(FIRST, LAST)) == [(1, 9), (1, 1)]
    statuses(s, "d", [row("indicator", 1, 7)])
    statuses(s, "d", [row("indicator", 1, 5)])
    assert q(s, collection="d", versions=(FIRST,)) == [(1, 5)]
    assert q(s, collection="d", versions=(LAST,)) == [(1, 7)]


def test_query_filters(loaded: Store) -> None:
    ind1, ind3 = row("indicator", 1, 0).id, row("indicator", 3, 0).id
    assert q(loaded, collection="c", ids=(ind1,), versions=(ALL,)) == [(1, 1), (1, 3), (1, 2)]
    assert q(loaded, collection="c", ids=(ind1, ind3)) == [(1, 3), (3, 6)]
    assert q(loaded, collection="c", types=("malware", "tool")) == [(2, 1), (4, 1)]
    assert q(loaded, collection="c", types=("indicator",)) == [(1, 3), (3, 6)]
    assert q(loaded, collection="c", spec_versions=("2.0",)) == [(4, 1)]
    assert q(loaded, collection="c", spec_versions=("2.1", "2.0"), types=("tool",)) == [(4, 1)]
    assert q(loaded, collection="c", include_revoked=False) == [(1, 3), (2, 1), (4, 1)]
    assert q(loaded, collection="c", include_revoked=False, versions=(ALL,), ids=(ind3,)) == []
    assert q(loaded, collection="nowhere") == []
    assert q(loaded, collection="c", ids=("indicator--nope",)) == []


def test_query_added_after(loaded: Store) -> None:
    items = loaded.query(Query(collection="c", versions=(ALL,))).items
    t = items[2].date_added
    assert q(loaded, collection="c", versions=(ALL,), added_after=t) == [(1, 2), (3, 5), (3, 6), (4, 1)]
    assert q(loaded, collection="c", added_after=t) == [(3, 6), (4, 1)]
    assert q(loaded, collection="c", added_after=items[-1].date_added) == []
    assert q(loaded, collection="c", added_after=0, types=("indicator",), versions=(FIRST,)) == [(1, 1), (3, 5)]
    every = loaded.query(Query(versions=(ALL,), limit=1000)).items
    assert [i.date_added for i in every] == sorted(i.date_added for i in every)
    assert len({i.date_added for i in every}) == len(every)


def test_query_items_say_where_they_were_read(loaded: Store) -> None:
    assert {i.collection for i in loaded.query(Query(collection="d")).items} == {"d"}
    assert {i.collection for i in loaded.query(Query()).items} == {None}


# paging --------------------------------------------------------------------------------------------------


def test_paging_has_no_gap_and_no_duplicate(backend: Backend) -> None:
    s = backend.store
    for start in range(0, 300, 50):
        rows = [row("indicator" if n % 3 else "malware", n, 1 + n % 2) for n in range(start, start + 50)]
        statuses(s, "c", rows)
    statuses(s, "c", [row("indicator", n, 7) for n in range(0, 300, 7) if n % 3])
    for query in [
        Query(collection="c", versions=(ALL,), limit=7),
        Query(collection="c", limit=13),
        Query(collection="c", types=("malware",), limit=1),
        Query(versions=(FIRST,), limit=11),
        Query(collection="c", versions=(FIRST, 7), limit=17, include_revoked=False),
    ]:
        full = q(s, **{**_fields(query), "limit": 10_000})
        assert everything(s, query) == full
        assert len(full) == len(set(full))
    assert len(everything(s, Query(collection="c", versions=(ALL,), limit=7))) == 300 + 28


def test_page_flags(backend: Backend) -> None:
    s = backend.store
    statuses(s, "c", [row("indicator", n, 1) for n in range(4)])
    page = s.query(Query(collection="c", limit=4))
    assert len(page.items) == 4 and not page.more and page.next_cursor is None
    page = s.query(Query(collection="c", limit=3))
    assert page.more and page.next_cursor
    last = s.query(Query(collection="c", limit=3, cursor=page.next_cursor))
    assert keys(last.items) == [(3, 1)] and not last.more and last.next_cursor is None
    # More rows added later show up after the cursor.
    statuses(s, "c", [row("indicator", 9, 1)])
    assert keys(s.query(Query(collection="c", limit=3, cursor=page.next_cursor)).items) == [(3, 1), (9, 1)]


def test_paging_while_another_thread_inserts(backend: Backend) -> None:
    s = backend.store
    statuses(s, "c", [row("indicator", n, 1) for n in range(50)])
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            n = 1000
            while not stop.is_set() and n < 1200:
                statuses(s, "c", [row("indicator", n + k, 1) for k in range(5)])
                n += 5
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    seen: list[tuple[int, int]] = []
    dates: list[int] = []
    try:
        page = s.query(Query(collection="c", limit=9))
        while True:
            seen += keys(page.items)
            dates += [i.date_added for i in page.items]
            if not page.more:
                break
            page = s.query(Query(collection="c", limit=9, cursor=page.next_cursor))
    finally:
        stop.set()
        thread.join()
    assert not errors
    assert len(seen) == len(set(seen)) and dates == sorted(dates)
    # Every row that existed when paging finished and was added before the last seen one was seen.
    committed = s.query(Query(collection="c", limit=10_000)).items
    expected = [(int(i.id[-12:]), i.version) for i in committed if i.date_added <= dates[-1]]
    assert seen == expected


@pytest.mark.parametrize("garbage", ["", "x", "p1.", "p1.!!!!", "p1.ZGFiYw", "p1." + "A" * 80, "a" * 20, "p2.ZDEw"])
def test_garbage_cursor(backend: Backend, garbage: str) -> None:
    with pytest.raises(InvalidCursor) as info:
        backend.store.query(Query(collection="c", cursor=garbage))
    assert isinstance(info.value, Error)
    assert "cursor" in info.value.diagnostics()


@pytest.mark.parametrize("limit", [0, -1])
def test_bad_limit(backend: Backend, limit: int) -> None:
    with pytest.raises(InvalidQuery):
        backend.store.query(Query(limit=limit))


# newest first --------------------------------------------------------------------------------------------


def every_item(store: Store, query: Query) -> list[StoredVersion]:
    """Follow the cursors to the end, keeping whole items."""
    page = store.query(query)
    out = list(page.items)
    cursors: set[str | None] = {query.cursor}
    while page.more:
        assert page.next_cursor not in cursors  # a cursor that does not move would page forever
        cursors.add(page.next_cursor)
        page = store.query(dataclasses.replace(query, cursor=page.next_cursor))
        out += page.items
    assert page.next_cursor is None
    return out


def newest(query: Query) -> Query:
    return dataclasses.replace(query, newest_first=True)


def raw_cursor(cursor: str | None) -> str:
    """What a cursor holds inside its base64."""
    assert cursor is not None and cursor.startswith("p1.")
    body = cursor[3:]
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode("ascii")


def test_newest_first_pages_through_everything_in_reverse(backend: Backend) -> None:
    s = backend.store
    for start in range(0, 120, 40):
        statuses(s, "c", [row("indicator" if n % 3 else "malware", n, 1 + n % 2) for n in range(start, start + 40)])
    statuses(s, "c", [row("indicator", n, 7) for n in range(0, 120, 7) if n % 3])
    statuses(s, "c", [row("indicator", 5, 8, revoked=True), row("tool", 200, 1, spec_version="2.0")])
    statuses(s, "d", [row("indicator", n, 1 + n % 2) for n in range(0, 120, 5) if n % 3])
    ids = (row("indicator", 7, 0).id, row("indicator", 5, 0).id, row("malware", 3, 0).id)
    for query in [
        Query(collection="c", versions=(ALL,), limit=7),
        Query(collection="c", limit=13),
        Query(collection="c", limit=1000),
        Query(collection="c", types=("malware",), limit=1),
        Query(collection="c", types=("indicator", "tool"), spec_versions=("2.0",), limit=2),
        Query(collection="c", ids=ids, versions=(ALL,), limit=2),
        Query(collection="c", ids=ids, include_revoked=False, limit=1),
        Query(collection="c", versions=(FIRST, 7), limit=17, include_revoked=False),
        Query(collection="d", versions=(FIRST,), limit=4),
        Query(versions=(FIRST,), limit=11),
        Query(versions=(ALL,), limit=9),
        Query(versions=(LAST,), types=("indicator",), include_revoked=False, limit=5),
        Query(ids=ids, limit=1),
    ]:
        oldest = every_item(s, query)
        assert oldest, query
        assert every_item(s, newest(query)) == oldest[::-1], query
        assert everything(s, newest(query)) == everything(s, query)[::-1], query
        first = s.query(newest(query)).items
        assert first == oldest[::-1][: query.limit], query
    assert len(everything(s, Query(collection="c", versions=(ALL,), limit=7, newest_first=True))) == 120 + 12 + 2


def test_horizon_is_the_date_of_the_nth_newest_row(backend: Backend) -> None:
    s = backend.store
    assert s.horizon("c", 1) is None
    statuses(s, "c", [row("indicator", n, 1) for n in range(6)])
    statuses(s, "d", [row("indicator", n, 1) for n in range(6, 9)])
    dates = [i.date_added for i in every_item(s, Query(collection="c", versions=(ALL,), limit=100))]
    assert s.horizon("c", 1) == dates[-1] and s.horizon("c", 6) == dates[0]
    assert s.horizon("c", 7) is None and s.horizon("nope", 1) is None
    assert s.horizon("c", 2, before=dates[3]) == dates[1]  # the 2nd newest of those before the 4th
    assert s.horizon("c", 3, before=dates[3]) == dates[0] and s.horizon("c", 4, before=dates[3]) is None
    # every row at or after the horizon, and only those, is within the bound it gives
    bound = s.horizon("c", 4)
    assert bound is not None and len(everything(s, Query(collection="c", added_after=bound - 1, limit=100))) == 4
    with pytest.raises(InvalidQuery):
        s.horizon("c", 0)


def test_newest_first_page_flags(backend: Backend) -> None:
    s = backend.store
    statuses(s, "c", [row("indicator", n, 1) for n in range(4)])
    page = s.query(Query(collection="c", limit=4, newest_first=True))
    assert keys(page.items) == [(3, 1), (2, 1), (1, 1), (0, 1)] and not page.more and page.next_cursor is None
    page = s.query(Query(collection="c", limit=3, newest_first=True))
    assert keys(page.items) == [(3, 1), (2, 1), (1, 1)] and page.more and page.next_cursor
    # The next page continues strictly before the last row: what is added meanwhile is newer than the listing,
    # and the first page of a new one.
    statuses(s, "c", [row("indicator", 9, 1)])
    last = s.query(Query(collection="c", limit=3, newest_first=True, cursor=page.next_cursor))
    assert keys(last.items) == [(0, 1)] and not last.more and last.next_cursor is None
    assert keys(s.query(Query(collection="c", limit=1, newest_first=True)).items) == [(9, 1)]


def test_newest_first_with_added_after(loaded: Store) -> None:
    items = loaded.query(Query(collection="c", versions=(ALL,))).items
    t = items[2].date_added
    assert q(loaded, collection="c", versions=(ALL,), added_after=t, newest_first=True) == [
        (4, 1), (3, 6), (3, 5), (1, 2)]
    assert q(loaded, collection="c", added_after=t, newest_first=True) == [(4, 1), (3, 6)]
    assert q(loaded, collection="c", added_after=items[-1].date_added, newest_first=True) == []
    assert q(loaded, collection="c", added_after=0, types=("indicator",), versions=(FIRST,), newest_first=True) == [
        (3, 5), (1, 1)]
    # added_after stays the lower bound while the cursor moves down to it
    paged = Query(collection="c", versions=(ALL,), added_after=t, limit=1, newest_first=True)
    assert everything(loaded, paged) == [(4, 1), (3, 6), (3, 5), (1, 2)]
    page = loaded.query(dataclasses.replace(paged, limit=3))
    assert keys(page.items) == [(4, 1), (3, 6), (3, 5)] and page.more
    assert keys(loaded.query(dataclasses.replace(paged, cursor=page.next_cursor)).items) == [(1, 2)]
    # a lower bound above the cursor's position: nothing between them
    assert loaded.query(dataclasses.replace(paged, cursor=page.next_cursor, added_after=items[5].date_added)
                        ).items == []
    every = loaded.query(Query(versions=(ALL,), limit=1000)).items
    cut = every[3].date_added
    assert everything(loaded, Query(versions=(ALL,), added_after=cut, limit=2, newest_first=True)) == keys(
        every[4:])[::-1]


def test_cursors_say_which_way_they_go(backend: Backend) -> None:
    s = backend.store
    statuses(s, "c", [row("indicator", n, 1) for n in range(3)])
    for collection in ("c", None):
        up = s.query(Query(collection=collection, limit=1))
        down = s.query(Query(collection=collection, limit=1, newest_first=True))
        assert raw_cursor(up.next_cursor) == f"d{up.items[0].date_added}"  # the form cursors have always had
        assert raw_cursor(down.next_cursor) == f"b{down.items[0].date_added}"
        with pytest.raises(InvalidCursor, match="continues a listing ordered oldest first") as info:
            s.query(Query(collection=collection, limit=1, newest_first=True, cursor=up.next_cursor))
        assert "asks for newest first" in info.value.message
        assert "newest_first=False" in info.value.diagnostics()
        with pytest.raises(InvalidCursor, match="continues a listing ordered newest first") as info:
            s.query(Query(collection=collection, limit=1, cursor=down.next_cursor))
        assert "newest_first=True" in info.value.diagnostics()
        # each in its own direction, the cursors go on
        assert keys(s.query(Query(collection=collection, limit=5, cursor=up.next_cursor)).items) == [(1, 1), (2, 1)]
        assert keys(s.query(Query(collection=collection, limit=5, newest_first=True, cursor=down.next_cursor)
                            ).items) == [(1, 1), (0, 1)]


@pytest.mark.parametrize("position", ["b", "b-1", "bx10", "b99999999999999999999", f"b{INT64_MAX + 1}", "B10"])
def test_garbage_newest_first_cursor(backend: Backend, position: str) -> None:
    statuses(backend.store, "c", [row("indicator", 1, 10)])
    for collection in ("c", None):
        for newest_first in (True, False):
            with pytest.raises(InvalidCursor):
                backend.store.query(Query(collection=collection, cursor=cursor_for(position),
                                          newest_first=newest_first))


def test_newest_first_cursor_at_the_edges(backend: Backend) -> None:
    statuses(backend.store, "c", [row("indicator", 1, 10)])
    for collection in ("c", None):
        top = Query(collection=collection, cursor=cursor_for(f"b{INT64_MAX}"), newest_first=True)
        assert keys(backend.store.query(top).items) == [(1, 10)]
        bottom = backend.store.query(dataclasses.replace(top, cursor=cursor_for("b0")))
        assert bottom.items == [] and not bottom.more


def test_newest_first_on_an_empty_store(backend: Backend) -> None:
    s = backend.store
    queries = [
        Query(newest_first=True),
        Query(collection="c", newest_first=True),
        Query(collection="c", versions=(ALL,), added_after=0, limit=1, newest_first=True),
        Query(collection="c", visibility=Visibility(owner=ORG), newest_first=True),
        Query(types=("indicator",), include_revoked=False, newest_first=True),
    ]
    for query in queries:
        page = s.query(query)
        assert list(page.items) == [] and not page.more and page.next_cursor is None
    statuses(s, "d", [row("indicator", 1, 1)])
    for query in queries[1:4]:  # a collection that holds nothing, in a store that does
        page = s.query(query)
        assert list(page.items) == [] and not page.more and page.next_cursor is None


def test_newest_first_sees_what_oldest_first_sees(backend: Backend) -> None:
    """The visibility compiled into the query is the same whichever way it pages; hidden rows never count."""
    store = backend.store
    store.put_many("c1", [_leveled(1, 4), _leveled(2, 1), _leveled(3, 2)], contributor="identity--a")
    store.put_many("c1", [_leveled(4, 4), _leveled(5, 2)], contributor="identity--b", scope=frozenset({"o:x", "p:u"}))
    store.put_many("c1", [_leveled(6, 3)], contributor="identity--b", scope=frozenset({"o:y"}))
    store.put_many("c1", [_leveled(2, 1, version=2)], contributor="identity--a")
    store.put_many("c2", [_leveled(7, 2)], contributor="identity--a")
    store.put_many("c1", [_leveled(7, 2)], contributor="identity--c")  # c passes a's version on into c1
    store.put_many("c2", [_leveled(6, 3)], contributor="identity--c")  # and b's into c2
    green = Visibility(grants=(Grant((0, 1)),))
    amber_x = Visibility(grants=(Grant((2, 3), ScopeTest.UNSCOPED_OR_LISTED, ("o:x",)),))
    red_u = Visibility(grants=(Grant((4,), ScopeTest.LISTED, ("p:u", "o:zz")),))
    member = Visibility(owner="identity--c", grants=(*green.grants, *amber_x.grants, *red_u.grants))
    views = [None, Visibility(), Visibility(owner="identity--a"), Visibility(owner="identity--c"), green, amber_x,
             red_u, member, dataclasses.replace(member, not_from="identity--b"),
             Visibility(grants=(Grant((0, 1, 2, 3, 4)),), not_from="identity--c")]
    for view in views:
        for query in [Query(collection="c1", visibility=view, versions=(ALL,), limit=1),
                      Query(collection="c1", visibility=view, limit=2),
                      Query(collection="c1", visibility=view, ids=(_leveled(2, 0).id, _leveled(4, 0).id),
                            versions=(ALL,), limit=1),
                      Query(collection="c2", visibility=view)]:
            oldest = every_item(store, query)
            assert every_item(store, newest(query)) == oldest[::-1], query
    # c1, latest versions, oldest first: 1 (RED), 3, 4, 5, 6 (AMBER+STRICT for o:y), 2 (version 2), 7 (shared by c)
    assert _ids(store.query(Query(collection="c1", visibility=member))) == [3, 4, 5, 2, 7]
    paged = store.query(Query(collection="c1", limit=2, visibility=member, newest_first=True))
    assert _ids(paged) == [7, 2] and paged.more
    paged = store.query(Query(collection="c1", limit=2, cursor=paged.next_cursor, visibility=member,
                              newest_first=True))
    assert _ids(paged) == [5, 4] and paged.more  # 6 is hidden
    paged = store.query(Query(collection="c1", limit=2, cursor=paged.next_cursor, visibility=member,
                              newest_first=True))
    assert _ids(paged) == [3] and not paged.more  # 1 is hidden: "more" does not count it
    with pytest.raises(InvalidQuery, match="collection"):
        store.query(Query(visibility=member, newest_first=True))


# integers beyond 64 bits -----------------------------------------------------------------------------------
# Every backend refuses them the same way before they reach a database (SQLite raised OverflowError).

BEYOND = [INT64_MAX + 1, 2**70, INT64_MIN - 1]


def cursor_for(raw: str) -> str:
    return "p1." + base64.urlsafe_b64encode(raw.encode("ascii")).decode("ascii").rstrip("=")


@pytest.mark.parametrize("position", ["d99999999999999999999", f"d{INT64_MAX + 1}"])
def test_cursor_beyond_64_bits(backend: Backend, position: str) -> None:
    statuses(backend.store, "c", [row("indicator", 1, 10)])
    for collection in ("c", None):
        with pytest.raises(InvalidCursor):
            backend.store.query(Query(collection=collection, cursor=cursor_for(position)))


def test_cursor_at_the_64_bit_edge(backend: Backend) -> None:
    statuses(backend.store, "c", [row("indicator", 1, 10)])
    page = backend.store.query(Query(collection="c", cursor=cursor_for(f"d{INT64_MAX}")))
    assert page.items == [] and not page.more


@pytest.mark.parametrize("value", BEYOND)
def test_query_integers_beyond_64_bits(backend: Backend, value: int) -> None:
    statuses(backend.store, "c", [row("indicator", 1, 10)])
    for query in [
        Query(collection="c", added_after=value),
        Query(added_after=value),
        Query(collection="c", versions=(value,)),
        Query(versions=(LAST, 10, value)),
        Query(collection="c", limit=value),
    ]:
        if query.limit < 1:
            continue  # a negative limit is refused anyway
        with pytest.raises(InvalidQuery):
            backend.store.query(query)


def test_query_integers_at_the_64_bit_edges(backend: Backend) -> None:
    s = backend.store
    statuses(s, "c", [row("indicator", 1, 10)])
    assert q(s, collection="c", added_after=INT64_MIN) == [(1, 10)]
    assert q(s, added_after=INT64_MIN) == [(1, 10)]
    assert q(s, collection="c", added_after=INT64_MAX) == []
    assert q(s, collection="c", versions=(INT64_MIN, INT64_MAX)) == []
    assert q(s, collection="c", versions=(10, INT64_MAX)) == [(1, 10)]
    assert q(s, collection="c", limit=INT64_MAX) == [(1, 10)]
    assert q(s, limit=INT64_MAX - 1) == [(1, 10)]


@pytest.mark.parametrize("version", BEYOND)
def test_get_version_beyond_64_bits_is_not_found(backend: Backend, version: int) -> None:
    s = backend.store
    statuses(s, "c", [row("indicator", 1, 10)])
    oid = row("indicator", 1, 0).id
    for collection in (None, "c"):
        with pytest.raises(NotFound):
            s.get(oid, version, collection=collection)


@pytest.mark.parametrize("field", ["version", "created"])
@pytest.mark.parametrize("value", BEYOND)
def test_put_row_beyond_64_bits_refuses_the_whole_batch(backend: Backend, field: str, value: int) -> None:
    s = backend.store
    statuses(s, "c", [row("indicator", 1, 10)])
    before = s.query(Query(versions=(ALL,))).items
    good = row("indicator", 2, 1)
    bad = dataclasses.replace(good, version=value) if field == "version" else dataclasses.replace(good, created=value)
    batch = [row("indicator", 3, 1), bad, row("indicator", 1, 20)]
    with pytest.raises(StoreError) as info:
        s.put_many("c", batch, contributor=ORG)
    assert field in info.value.message and bad.id in info.value.message
    assert s.query(Query(versions=(ALL,))).items == before and s.stats().versions == 1
    assert statuses(s, "c", [row("indicator", 3, 1), row("indicator", 1, 20)]) == ["added", "added"]


def test_put_rows_at_the_64_bit_edges(backend: Backend) -> None:
    s = backend.store
    top = dataclasses.replace(row("indicator", 1, INT64_MAX), created=INT64_MIN)
    assert statuses(s, "c", [top, row("indicator", 1, INT64_MIN)]) == ["added", "added"]
    oid = top.id
    assert (s.get(oid).version, s.get(oid).created) == (INT64_MAX, INT64_MIN)
    assert [v.version for v in s.versions(oid, collection="c")] == [INT64_MIN, INT64_MAX]
    assert q(s, collection="c", versions=(FIRST,)) == [(1, INT64_MIN)]
    assert q(s, collection="c", versions=(INT64_MAX,)) == [(1, INT64_MAX)]


def _leveled(n: int, level: int, version: int = 1) -> VersionRow:
    return make_row({"type": "indicator", "id": f"indicator--{n:08x}-0000-4000-8000-000000000000",
                     "_v": version, "_level": level})


def _ids(page: object) -> list[int]:
    return [int(item.id[11:19], 16) for item in page.items]  # type: ignore[attr-defined]


def test_visibility_is_compiled_into_the_query_itself(backend: Backend) -> None:
    """Levels, scopes, owners and sharers decide which rows a reader gets, and paging counts only those."""
    store = backend.store
    store.put_many("c1", [_leveled(1, 4), _leveled(2, 1), _leveled(3, 2)], contributor="identity--a")
    store.put_many("c1", [_leveled(4, 4), _leveled(5, 2)], contributor="identity--b", scope=frozenset({"o:x", "p:u"}))
    store.put_many("c1", [_leveled(6, 3)], contributor="identity--b", scope=frozenset({"o:y"}))
    assert _ids(store.query(Query(collection="c1"))) == [1, 2, 3, 4, 5, 6]
    # nothing at all: no owner, no grants
    assert _ids(store.query(Query(collection="c1", visibility=Visibility()))) == []
    own = store.query(Query(collection="c1", visibility=Visibility(owner="identity--a")))
    assert _ids(own) == [1, 2, 3]
    green = Visibility(grants=(Grant((0, 1)),))
    assert _ids(store.query(Query(collection="c1", visibility=green))) == [2]
    amber_x = Visibility(grants=(Grant((2, 3), ScopeTest.UNSCOPED_OR_LISTED, ("o:x",)),))
    assert _ids(store.query(Query(collection="c1", visibility=amber_x))) == [3, 5]
    red_u = Visibility(grants=(Grant((4,), ScopeTest.LISTED, ("p:u", "o:zz")),))
    assert _ids(store.query(Query(collection="c1", visibility=red_u))) == [4]
    red_nobody = Visibility(grants=(Grant((4,), ScopeTest.LISTED, ()),))
    assert _ids(store.query(Query(collection="c1", visibility=red_nobody))) == []
    member = Visibility(owner="identity--c", grants=(*green.grants, *amber_x.grants, *red_u.grants))
    paged = store.query(Query(collection="c1", limit=2, visibility=member))
    assert _ids(paged) == [2, 3] and paged.more
    rest = store.query(Query(collection="c1", limit=2, cursor=paged.next_cursor, visibility=member))
    assert _ids(rest) == [4, 5] and not rest.more  # 6 is hidden: "more" does not count it
    with pytest.raises(InvalidQuery, match="collection"):
        store.query(Query(visibility=member))


def test_memberships_keep_their_sharer_scope_and_level(backend: Backend) -> None:
    store = backend.store
    store.put_many("c1", [_leveled(1, 1)], contributor="identity--a", scope=frozenset({"o:x"}))
    store.put_many("c2", [_leveled(1, 1)], contributor="identity--b")  # passed on by b
    store.put_many("c2", [_leveled(1, 1)], contributor="identity--c", scope=frozenset({"o:q"}))  # duplicate
    one = store.query(Query(collection="c1")).items[0]
    two = store.query(Query(collection="c2")).items[0]
    assert (one.contributor, one.sharer, one.scope, one.level) == ("identity--a", "identity--a",
                                                                  frozenset({"o:x"}), 1)
    assert (two.contributor, two.sharer, two.scope) == ("identity--a", "identity--b", None)
    by_id = store.get(one.id, collection="c2")
    assert (by_id.sharer, by_id.scope) == ("identity--b", None)
    assert store.get(one.id).sharer is None  # a read across the store has no membership
    # the sharer sees what it passed on; the contributor sees it in every collection
    assert _ids(store.query(Query(collection="c2", visibility=Visibility(owner="identity--b")))) == [1]
    assert _ids(store.query(Query(collection="c2", visibility=Visibility(owner="identity--a")))) == [1]
    assert _ids(store.query(Query(collection="c2", visibility=Visibility(owner="identity--c")))) == []


def test_not_from_leaves_out_what_an_organization_contributed_or_shared(backend: Backend) -> None:
    store = backend.store
    store.put_many("c1", [_leveled(1, 0), _leveled(2, 1)], contributor="identity--a")
    store.put_many("c1", [_leveled(3, 0)], contributor="identity--b")
    store.put_many("c2", [_leveled(3, 0)], contributor="identity--a")  # a passes b's version on into c2
    everything = Visibility(owner="identity--a", grants=(Grant((0, 1, 2, 3, 4)),), not_from="identity--a")
    assert _ids(store.query(Query(collection="c1", visibility=everything))) == [3]
    assert _ids(store.query(Query(collection="c2", visibility=everything))) == []
    elsewhere = dataclasses.replace(everything, not_from="identity--z")
    assert _ids(store.query(Query(collection="c2", visibility=elsewhere))) == [3]
    for item in store.changes(0, 100):
        assert everything.admits(level=item.level, scope=item.scope, contributor=item.contributor,
                                 sharer=item.sharer or "") == (item.collection == "c1" and int(item.id[11:19], 16) == 3)


def test_the_guard_is_decided_in_the_write(backend: Backend) -> None:
    store = backend.store
    store.put_many("c1", [_leveled(1, 2, version=1), _leveled(2, 1)], contributor="identity--a")
    guard = WriteGuard(may_version_others=False, pass_on=(0, 1))
    results = store.put_many("c2", [_leveled(1, 2, version=2), _leveled(1, 2, version=1), _leveled(2, 1)],
                             contributor="identity--b", guard=guard)
    assert [r.status for r in results] == [PutStatus.FOREIGN, PutStatus.RESTRICTED, PutStatus.LINKED]
    assert [v.version for v in store.versions(_leveled(1, 0).id)] == [1]
    mine = store.put_many("c2", [_leveled(1, 2, version=2), _leveled(1, 2, version=1)], contributor="identity--a",
                          guard=guard)
    assert [r.status for r in mine] == [PutStatus.ADDED, PutStatus.LINKED]
    # a version whose parts go beyond what may be passed on is refused, whatever content the row holds
    store.put_many("c1", [make_row({"type": "indicator", "id": "indicator--000000aa-0000-4000-8000-000000000000",
                                    "_v": 1, "_level": 0, "_top": 4})], contributor="identity--a")
    guess = make_row({"type": "indicator", "id": "indicator--000000aa-0000-4000-8000-000000000000", "_v": 1,
                      "_level": 0, "_top": 0, "x": "a guess"})
    same = make_row({"type": "indicator", "id": "indicator--000000aa-0000-4000-8000-000000000000", "_v": 1,
                     "_level": 0, "_top": 0})
    refused = store.put_many("c1", [guess, same], contributor="identity--b", guard=guard)
    assert [r.status for r in refused] == [PutStatus.RESTRICTED, PutStatus.RESTRICTED]


def test_delete_takes_versions_out_of_one_collection(backend: Backend) -> None:
    store = backend.store
    oid = row("indicator", 1, 0).id
    store.put_many("c1", [row("indicator", 1, v) for v in (1, 2, 3)], contributor="identity--a")
    store.put_many("c2", [row("indicator", 1, 2)], contributor="identity--b")
    # someone else's versions are not touched, and nothing happens
    assert store.delete("c1", oid, owner="identity--b").versions == ()
    assert store.delete("c9", oid).versions == ()
    gone = store.delete("c1", oid, versions=(LAST,), owner="identity--a")
    assert gone.versions == ((oid, 3),)
    assert [v.version for v in store.versions(oid, collection="c1")] == [1, 2]
    assert q(store, collection="c1", versions=(LAST,)) == [(1, 2)]  # the flags moved
    assert [v.version for v in store.versions(oid)] == [1, 2]  # 3 was only in c1: it is gone from the store
    assert store.delete("c1", oid).versions == ((oid, 1), (oid, 2))
    assert store.versions(oid, collection="c1") == [] and q(store, collection="c1", versions=(ALL,)) == []
    assert [v.version for v in store.versions(oid)] == [2]  # still in c2
    assert q(store, versions=(FIRST,)) == [(1, 2)] and q(store, versions=(LAST,)) == [(1, 2)]
    store.put_many("c1", [row("indicator", 1, 1)], contributor="identity--a")  # can come back
    assert [v.version for v in store.versions(oid)] == [1, 2]


def test_deleting_a_revoked_version_lifts_the_revocation_with_it(backend: Backend) -> None:
    store = backend.store
    oid = row("indicator", 1, 1).id
    assert statuses(store, "c", [row("indicator", 1, 1), row("indicator", 1, 2, revoked=True)]) == ["added"] * 2
    assert store.is_revoked(oid)
    assert statuses(store, "c", [row("indicator", 1, 3)]) == ["revoked"]
    store.delete("c", oid, versions=(2,))
    assert not store.is_revoked(oid)
    assert statuses(store, "c", [row("indicator", 1, 3)]) == ["added"]


def test_scopes_beyond_the_inline_limit_are_looked_up_by_subquery(backend: Backend,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The SQL stores write the scope keys a reader's principals reach into the query, or (past a limit) a
    subquery: both say the same."""
    from phalanx.store._sql import _objects

    store = backend.store
    for n in range(4):
        store.put_many("c1", [_leveled(n, 4)], contributor="identity--b", scope=frozenset({f"o:x{n}", "o:x"}))
    store.put_many("c1", [_leveled(9, 4)], contributor="identity--b", scope=frozenset({"o:y"}))
    named = Visibility(grants=(Grant((4,), ScopeTest.LISTED, ("o:x",)),))
    either = Visibility(grants=(Grant((4,), ScopeTest.UNSCOPED_OR_LISTED, ("o:y", "o:x3")),))
    inline = [_ids(store.query(Query(collection="c1", visibility=v))) for v in (named, either)]
    monkeypatch.setattr(_objects, "_INLINE_SCOPES", 1)
    assert [_ids(store.query(Query(collection="c1", visibility=v))) for v in (named, either)] == inline
    assert inline == [[0, 1, 2, 3], [3, 9]]


def test_another_organizations_version_here_is_named_only_by_a_writer_that_sees_it_whole(backend: Backend) -> None:
    """Posting a version that is in the collection already, contributed by another organization: DUPLICATE (or
    CONFLICT) when the writer sees the whole of it there, RESTRICTED otherwise, whatever the content."""
    store = backend.store
    oid = "indicator--000000bb-0000-4000-8000-000000000000"
    stored = make_row({"type": "indicator", "id": oid, "_v": 1, "_level": 2, "_top": 4})  # a RED part
    store.put_many("c1", [stored], contributor="identity--a")
    same = make_row({"type": "indicator", "id": oid, "_v": 1, "_level": 2, "_top": 4})
    other = make_row({"type": "indicator", "id": oid, "_v": 1, "_level": 2, "_top": 2, "x": "guess"})
    member = Visibility(grants=(Grant((0, 1)), Grant((2, 3), ScopeTest.UNSCOPED_OR_LISTED, ("o:identity--b",))))
    named = Visibility(grants=(*member.grants, Grant((4,), ScopeTest.LISTED, ("o:identity--b",))))
    limited = WriteGuard(pass_on=(0, 1), sees=member)
    assert [r.status for r in store.put_many("c1", [same, other], contributor="identity--b", guard=limited)] == [
        PutStatus.RESTRICTED, PutStatus.RESTRICTED]
    store.put_many("c2", [stored], contributor="identity--a", scope=frozenset({"o:identity--b"}))
    whole = WriteGuard(pass_on=(0, 1), sees=named)
    assert [r.status for r in store.put_many("c2", [same, other], contributor="identity--b", guard=whole)] == [
        PutStatus.DUPLICATE, PutStatus.CONFLICT]
    assert [r.status for r in store.put_many("c2", [same], contributor="identity--b",
                                             guard=WriteGuard(pass_on=(0, 1)))] == [PutStatus.RESTRICTED]


def test_a_guard_lets_a_writer_version_the_objects_of_its_relays(backend: Backend) -> None:
    store = backend.store
    store.put_many("c1", [_leveled(1, 1, version=1), _leveled(2, 1, version=1)], contributor="identity--relay")
    store.put_many("c1", [_leveled(3, 1, version=1)], contributor="identity--member")
    guard = WriteGuard(relays=frozenset({"identity--relay"}))
    results = store.put_many("c1", [_leveled(1, 1, version=2), _leveled(3, 1, version=2)],
                             contributor="identity--other-relay", guard=guard)
    assert [r.status for r in results] == [PutStatus.ADDED, PutStatus.FOREIGN]  # never a member's object
