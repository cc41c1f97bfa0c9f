"""SQLite and PostgreSQL against the memory store (the model): random puts, then every kind of query."""

from __future__ import annotations

import tempfile
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phalanx.store import LEVELS, Grant, Query, ScopeTest, Store, VersionFilter, VersionRow, Visibility
from tests.conformance.conftest import fresh_backend, postgres_or_skip, row

TYPES = ("indicator", "malware")

a_row = st.builds(
    lambda n, v, variant, revoked: row(TYPES[n % 2], n, v, **({"revoked": True} if revoked else {}), x=variant),
    st.integers(0, 4),
    st.integers(1, 5),
    st.sampled_from([0, 0, 1]),  # mostly the same content: a 1 makes a conflicting digest
    st.sampled_from([False, False, False, True]),
)
a_put = st.tuples(st.sampled_from(["a", "b"]), st.lists(a_row, max_size=6))
a_version = st.sampled_from([VersionFilter.FIRST, VersionFilter.LAST, VersionFilter.ALL, 1, 3])
a_query = st.builds(
    Query,
    collection=st.sampled_from([None, "a", "b"]),
    ids=st.lists(st.integers(0, 4).map(lambda n: row(TYPES[n % 2], n, 0).id), max_size=2, unique=True).map(tuple),
    types=st.lists(st.sampled_from(TYPES), max_size=1).map(tuple),
    spec_versions=st.sampled_from([(), ("2.1",), ("2.0",)]),
    versions=st.lists(a_version, max_size=2, unique=True).map(tuple),
    include_revoked=st.booleans(),
    limit=st.integers(1, 4),
    newest_first=st.booleans(),
)


def _page_all(store: Store, query: Query, added_after_index: int | None) -> list[tuple[Any, ...]]:
    """Every page; added_after is given as an index into the full list so backends with different clocks
    can be compared."""
    if added_after_index is not None:
        full = store.query(Query(collection=query.collection, versions=(VersionFilter.ALL,), limit=1000)).items
        if full:
            cut = full[min(added_after_index, len(full) - 1)].date_added
            query = Query(**{**{f: getattr(query, f) for f in query.__dataclass_fields__}, "added_after": cut})
    out: list[tuple[Any, ...]] = []
    page = store.query(query)
    while True:
        out += [(i.id, i.version, i.digest, i.revoked, i.collection, i.contributor) for i in page.items]
        assert len(page.items) <= query.limit
        if not page.more:
            return out
        page = store.query(
            Query(**{**{f: getattr(query, f) for f in query.__dataclass_fields__}, "cursor": page.next_cursor})
        )


def _summary(store: Store, puts: list[tuple[str, list[VersionRow]]], queries: list[Any]) -> list[Any]:
    out: list[Any] = []
    for collection, rows in puts:
        results = store.put_many(collection, rows, contributor=f"identity--{collection}")
        out.append([(r.id, r.version, r.status, r.date_added is None) for r in results])
    for query, cut in queries:
        out.append(_page_all(store, query, cut))
    for n in range(5):
        oid = row(TYPES[n % 2], n, 0).id
        out.append((store.is_revoked(oid), [(v.version, v.digest) for v in store.versions(oid)]))
        out.append([(v.version, v.collection) for v in store.versions(oid, collection="a")])
    st_ = store.stats()
    out.append((st_.objects, st_.versions, st_.collections, st_.types))
    return out


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    puts=st.lists(a_put, min_size=1, max_size=6),
    queries=st.lists(st.tuples(a_query, st.none() | st.integers(0, 10)), min_size=1, max_size=6),
)
def test_backend_agrees_with_memory(kind: str, puts: list[Any], queries: list[Any]) -> None:
    if kind == "postgres":
        postgres_or_skip()
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        model = stack.enter_context(fresh_backend("memory", Path(folder)))
        real = stack.enter_context(fresh_backend(kind, Path(folder)))
        assert _summary(real.store, puts, queries) == _summary(model.store, puts, queries)


# What a reader sees, both ways: puts by several organizations, some narrowed to principals, at every level; then
# queries with a visibility, oldest or newest first.

ORGS = ("identity--a", "identity--b", "identity--c")
PRINCIPALS = ("o:x", "o:y")
a_leveled_row = st.builds(
    lambda n, v, level: row(TYPES[n % 2], n, v, _level=level),
    st.integers(0, 4),
    st.integers(1, 4),
    st.sampled_from(LEVELS),
)
a_shared_put = st.tuples(
    st.sampled_from(["a", "b"]),
    st.sampled_from(ORGS),
    st.sampled_from([None, frozenset({"o:x"}), frozenset(PRINCIPALS)]),
    st.lists(a_leveled_row, max_size=5),
)
a_grant = st.builds(
    Grant,
    st.lists(st.sampled_from(LEVELS), max_size=3, unique=True).map(tuple),
    st.sampled_from(list(ScopeTest)),
    st.lists(st.sampled_from(PRINCIPALS), max_size=2, unique=True).map(tuple),
)
a_visibility = st.builds(
    Visibility,
    owner=st.sampled_from((None, *ORGS)),
    grants=st.lists(a_grant, max_size=3).map(tuple),
    not_from=st.sampled_from((None, None, *ORGS)),
)
a_seen_query = st.builds(
    Query,
    collection=st.sampled_from(["a", "b"]),
    ids=st.lists(st.integers(0, 4).map(lambda n: row(TYPES[n % 2], n, 0).id), max_size=2, unique=True).map(tuple),
    types=st.lists(st.sampled_from(TYPES), max_size=1).map(tuple),
    versions=st.lists(a_version, max_size=2, unique=True).map(tuple),
    include_revoked=st.booleans(),
    visibility=a_visibility,
    limit=st.integers(1, 4),
    newest_first=st.booleans(),
)


def _seen(store: Store, query: Query) -> list[tuple[Any, ...]]:
    """Every page of ``query``: each item with what decides who sees it."""
    out: list[tuple[Any, ...]] = []
    page = store.query(query)
    while True:
        out += [(i.id, i.version, i.contributor, i.sharer, i.scope, i.level) for i in page.items]
        assert len(page.items) <= query.limit
        if not page.more:
            return out
        page = store.query(replace(query, cursor=page.next_cursor))


def _seen_summary(store: Store, puts: list[tuple[str, str, frozenset[str] | None, list[VersionRow]]],
                  queries: list[Query]) -> list[Any]:
    out: list[Any] = []
    for collection, contributor, scope, rows in puts:
        results = store.put_many(collection, rows, contributor=contributor, scope=scope)
        out.append([(r.id, r.version, r.status) for r in results])
    for query in queries:
        seen = _seen(store, query)
        assert _seen(store, replace(query, newest_first=not query.newest_first)) == seen[::-1]
        out.append(seen)
    return out


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(puts=st.lists(a_shared_put, min_size=1, max_size=6), queries=st.lists(a_seen_query, min_size=1, max_size=6))
def test_visibility_agrees_with_memory_both_ways(kind: str, puts: list[Any], queries: list[Query]) -> None:
    if kind == "postgres":
        postgres_or_skip()
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        model = stack.enter_context(fresh_backend("memory", Path(folder)))
        real = stack.enter_context(fresh_backend(kind, Path(folder)))
        assert _seen_summary(real.store, puts, queries) == _seen_summary(model.store, puts, queries)
