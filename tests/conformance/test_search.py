"""Text search in the Store (``search``, ``set_terms``): the same answers on memory, SQLite and PostgreSQL, only
the latest version of an object where the reader sees it, and never a version outside what the visibility
admits, nor one counted against the limit."""

from __future__ import annotations

import dataclasses

import pytest

from phalanx.errors import InvalidQuery
from phalanx.store import Backend, Grant, ScopeTest, TextMatch, TextQuery, VersionRow, Visibility
from tests.conformance.conftest import row

A = "identity--00000000-0000-4000-8000-0000000000aa"
B = "identity--00000000-0000-4000-8000-0000000000bb"
C = "identity--00000000-0000-4000-8000-0000000000cc"
EVERYTHING = Visibility(grants=(Grant((0, 1, 2, 3, 4)),))


def termed(kind: str, n: int, version: int, *terms: str, level: int = 0, **extra: object) -> VersionRow:
    return dataclasses.replace(row(kind, n, version, **extra), search_terms=terms, level=level, top_level=level)


def oid(kind: str, n: int) -> str:
    return f"{kind}--00000000-0000-4000-8000-{n:012d}"


def ids(found: list[TextMatch]) -> list[str]:
    return [m.id for m in found]


def test_all_terms_newest_first_up_to_the_limit(backend: Backend) -> None:
    s = backend.store
    first = s.put_many("c", [termed("indicator", 1, 10, "emotet", "loader")], contributor=A)
    s.put_many("c", [termed("report", 2, 10, "emotet")], contributor=B)
    s.put_many("c", [termed("indicator", 3, 10, "loader", "emotet", "dropper")], contributor=A)
    everyone = {"c": EVERYTHING}
    assert ids(s.search(TextQuery(("emotet",)), everyone)) == [oid("indicator", 3), oid("report", 2),
                                                              oid("indicator", 1)]
    assert ids(s.search(TextQuery(("emotet", "loader")), everyone)) == [oid("indicator", 3), oid("indicator", 1)]
    assert ids(s.search(TextQuery(("emotet",), limit=1), everyone)) == [oid("indicator", 3)]
    assert s.search(TextQuery(("emotet", "nothing")), everyone) == []
    assert s.search(TextQuery(("emote",)), everyone) == []  # whole terms only
    (last,) = s.search(TextQuery(("emotet", "loader"), before=s.search(TextQuery(("dropper",)), everyone)[0].stored),
                       everyone)
    assert last == TextMatch(oid("indicator", 1), 10, "indicator", A, first[0].date_added or 0)


def test_none_of_contributors_and_time_bounds(backend: Backend) -> None:
    s = backend.store
    s.put_many("c", [termed("indicator", 1, 10, "x", "anon")], contributor=A)
    s.put_many("c", [termed("indicator", 2, 10, "x")], contributor=A)
    s.put_many("c", [termed("indicator", 3, 10, "x")], contributor=B)
    everyone = {"c": EVERYTHING}
    found = s.search(TextQuery(("x",)), everyone)
    assert ids(found) == [oid("indicator", 3), oid("indicator", 2), oid("indicator", 1)]
    assert ids(s.search(TextQuery(("x",), none_of=("anon", "absent")), everyone)) == [oid("indicator", 3),
                                                                                     oid("indicator", 2)]
    assert ids(s.search(TextQuery(("x",), contributors=(A,)), everyone)) == [oid("indicator", 2),
                                                                            oid("indicator", 1)]
    assert ids(s.search(TextQuery(("x",), contributors=(C,)), everyone)) == []
    middle = found[1].stored
    assert ids(s.search(TextQuery(("x",), after=middle), everyone)) == [oid("indicator", 3)]
    assert ids(s.search(TextQuery(("x",), before=middle), everyone)) == [oid("indicator", 1)]
    assert ids(s.search(TextQuery(("x",), after=found[2].stored, before=found[0].stored), everyone)) == [
        oid("indicator", 2)]


def test_only_what_the_visibility_admits_is_found_or_counted(backend: Backend) -> None:
    """A TLP:RED version for named recipients carrying the same words as an older TLP:CLEAR one: a reader who is
    not a recipient finds the CLEAR one, also with a limit of 1 (the RED one takes no place in the answer)."""
    s = backend.store
    s.put_many("c", [termed("indicator", 2, 10, "secret", level=0)], contributor=B)
    s.put_many("c", [termed("indicator", 1, 10, "secret", "red", level=4)], contributor=A,
               scope=frozenset({"o:" + C}))
    outsider = Visibility(owner="identity--00000000-0000-4000-8000-0000000000dd",
                          grants=(Grant((0,)), Grant((4,), ScopeTest.LISTED, ("o:identity--nobody",))))
    assert ids(s.search(TextQuery(("secret",), limit=1), {"c": outsider})) == [oid("indicator", 2)]
    assert s.search(TextQuery(("red",)), {"c": outsider}) == []
    recipient = Visibility(owner=C, grants=(Grant((0,)), Grant((4,), ScopeTest.LISTED, ("o:" + C,))))
    assert ids(s.search(TextQuery(("secret",)), {"c": recipient})) == [oid("indicator", 1), oid("indicator", 2)]
    assert ids(s.search(TextQuery(("secret",)), {"c": Visibility(owner=A)})) == [oid("indicator", 1)]
    assert s.search(TextQuery(("secret",)), {"c": Visibility()}) == []  # nothing admits anything: fails closed
    assert s.search(TextQuery(("secret",)), {}) == []
    assert s.search(TextQuery(("secret",)), {"elsewhere": EVERYTHING}) == []
    peer = Visibility(grants=(Grant((0, 1, 2, 3, 4)),), not_from=A)
    assert ids(s.search(TextQuery(("secret",)), {"c": peer})) == [oid("indicator", 2)]


def test_amber_scopes(backend: Backend) -> None:
    s = backend.store
    s.put_many("c", [termed("indicator", 1, 10, "w", level=2)], contributor=A, scope=frozenset({"o:" + B}))
    s.put_many("c", [termed("indicator", 2, 10, "w", level=2)], contributor=A)
    listed = Visibility(grants=(Grant((2, 3), ScopeTest.UNSCOPED_OR_LISTED, ("o:" + B,)),))
    unlisted = Visibility(grants=(Grant((2, 3), ScopeTest.UNSCOPED_OR_LISTED, ("o:" + C,)),))
    assert len(s.search(TextQuery(("w",)), {"c": listed})) == 2
    assert ids(s.search(TextQuery(("w",)), {"c": unlisted})) == [oid("indicator", 2)]


def test_only_the_latest_version_in_a_collection_is_found(backend: Backend) -> None:
    s = backend.store
    s.put_many("c", [termed("indicator", 1, 10, "old", "both")], contributor=A)
    s.put_many("c", [termed("indicator", 1, 20, "new", "both")], contributor=A)
    everyone = {"c": EVERYTHING}
    assert s.search(TextQuery(("old",)), everyone) == []
    assert [(m.id, m.version) for m in s.search(TextQuery(("both",)), everyone)] == [(oid("indicator", 1), 20)]
    # the latest version is hidden from this reader: the object is not found by the older one's words either
    s.put_many("d", [termed("indicator", 5, 10, "shown", level=0)], contributor=A)
    s.put_many("d", [termed("indicator", 5, 20, "shown", level=4)], contributor=A)
    assert s.search(TextQuery(("shown",)), {"d": Visibility(grants=(Grant((0,)),))}) == []
    # another collection holding only the first version finds that one there
    s.put_many("e", [termed("indicator", 1, 10, "old", "both")], contributor=A)
    assert [(m.id, m.version) for m in s.search(TextQuery(("old",)), {"e": EVERYTHING})] == [
        (oid("indicator", 1), 10)]
    found = s.search(TextQuery(("both",)), {"c": EVERYTHING, "e": EVERYTHING})
    assert sorted((m.id, m.version) for m in found) == [(oid("indicator", 1), 10), (oid("indicator", 1), 20)]


def test_types_a_collection_serves(backend: Backend) -> None:
    s = backend.store
    s.put_many("c", [termed("indicator", 1, 10, "t"), termed("report", 2, 10, "t")], contributor=A)
    assert ids(s.search(TextQuery(("t",)), {"c": EVERYTHING}, types={"c": ("report",)})) == [oid("report", 2)]
    assert len(s.search(TextQuery(("t",)), {"c": EVERYTHING}, types={"other": ("report",)})) == 2


def test_deleted_versions_are_not_found(backend: Backend) -> None:
    s = backend.store
    s.put_many("c", [termed("indicator", 1, 10, "gone")], contributor=A)
    s.put_many("d", [termed("indicator", 2, 10, "gone")], contributor=A)
    s.delete("c", oid("indicator", 1))
    assert ids(s.search(TextQuery(("gone",)), {"c": EVERYTHING, "d": EVERYTHING})) == [oid("indicator", 2)]
    s.put_many("c", [termed("indicator", 1, 10, "back")], contributor=A)
    assert ids(s.search(TextQuery(("back",)), {"c": EVERYTHING})) == [oid("indicator", 1)]
    assert s.search(TextQuery(("gone",)), {"c": EVERYTHING}) == []


@pytest.mark.parametrize("term", ['"', "*", "NEAR", "OR", "AND", "NOT", ":", "'", "a:b", "(x", "e* OR 1=1 --",
                                  '" OR "', "\0label\0x", "\u00e9t\u00e9", "\U0001f600", "\ud800", "", " "])
def test_any_term_is_just_a_term(backend: Backend, term: str) -> None:
    """Terms never reach an index's query language: syntax characters and keywords are found as themselves."""
    s = backend.store
    s.put_many("c", [termed("note", 1, 10, term, "other"), termed("note", 2, 10, "other")], contributor=A)
    assert ids(s.search(TextQuery((term,)), {"c": EVERYTHING})) == [oid("note", 1)]
    assert ids(s.search(TextQuery(("other",), none_of=(term,)), {"c": EVERYTHING})) == [oid("note", 2)]


def test_set_terms_replaces_the_terms_of_stored_versions(backend: Backend) -> None:
    s = backend.store
    s.put_many("c", [termed("indicator", 1, 10, "before"), termed("indicator", 2, 10)], contributor=A)
    assert s.set_terms([(oid("indicator", 1), 10, ("after",)), (oid("indicator", 2), 10, ("after", "two")),
                        (oid("indicator", 3), 10, ("x",)), (oid("indicator", 1), 2**70, ("x",))]) == 2
    assert s.search(TextQuery(("before",)), {"c": EVERYTHING}) == []
    assert ids(s.search(TextQuery(("after",)), {"c": EVERYTHING})) == [oid("indicator", 2), oid("indicator", 1)]
    assert s.set_terms([(oid("indicator", 2), 10, ())]) == 1
    assert ids(s.search(TextQuery(("after",)), {"c": EVERYTHING})) == [oid("indicator", 1)]


def test_a_large_batch_is_indexed_in_one_put(backend: Backend) -> None:
    s = backend.store
    s.put_many("c", [termed("indicator", n, 10, "bulk", f"n{n}") for n in range(1200)], contributor=A)
    assert len(s.search(TextQuery(("bulk",), limit=1000), {"c": EVERYTHING})) == 1000
    assert ids(s.search(TextQuery(("n777", "bulk")), {"c": EVERYTHING})) == [oid("indicator", 777)]


@pytest.mark.parametrize("query", [TextQuery(()), TextQuery(("x",), limit=0), TextQuery(("x",), limit=1001),
                                   TextQuery(tuple(f"t{n}" for n in range(65))), TextQuery(("x",), after=2**64)])
def test_bad_queries_are_refused(backend: Backend, query: TextQuery) -> None:
    with pytest.raises(InvalidQuery):
        backend.store.search(query, {"c": EVERYTHING})


def test_the_search_horizon_counts_the_index_whoever_sees_it(backend: Backend) -> None:
    """``search_horizon``: the ``rows``-th newest version carrying the terms (none_of and the time bounds applied),
    whatever the visibility, the contributor, or whether it is the latest version; bounding a search by it keeps
    the search within those versions, the visibility still applied in the query."""
    s = backend.store
    s.put_many("c", [termed("indicator", 1, 10, "w")], contributor=A)
    s.put_many("c", [termed("indicator", 2, 10, "w", "anon")], contributor=B)
    s.put_many("hidden", [termed("indicator", 3, 10, "w")], contributor=C)
    s.put_many("c", [termed("indicator", 1, 20, "w")], contributor=A)  # supersedes version 10 in "c"
    s.put_many("c", [termed("indicator", 4, 10, "other")], contributor=A)
    stored = [m.stored for m in s.search(TextQuery(("w",)), {"c": EVERYTHING, "hidden": EVERYTHING})]
    assert len(stored) == 3  # 1 (version 20), 3, 2; version 10 of 1 is in the index, not found
    newest, three, two = stored
    assert s.search_horizon(TextQuery(("w",)), 1) == newest
    assert s.search_horizon(TextQuery(("w",)), 2) == three
    assert s.search_horizon(TextQuery(("w",), contributors=(A,), limit=1), 3) == two
    oldest = s.search_horizon(TextQuery(("w",)), 4)
    assert oldest is not None and oldest < two  # the superseded version counts: the index holds it
    assert s.search_horizon(TextQuery(("w",)), 5) is None
    assert s.search_horizon(TextQuery(("w",), none_of=("anon",)), 3) == oldest
    assert s.search_horizon(TextQuery(("w",), none_of=("anon",)), 4) is None
    assert s.search_horizon(TextQuery(("w",), before=three), 1) == two
    assert s.search_horizon(TextQuery(("w",), after=two), 2) == three
    assert s.search_horizon(TextQuery(("w",), after=two, before=newest), 2) is None
    assert s.search_horizon(TextQuery(("w", "anon")), 1) == two
    assert s.search_horizon(TextQuery(("w", "absent")), 1) is None
    assert s.search_horizon(TextQuery(("absent",)), 1) is None
    # a reader of "c" alone: within the newest two matches (one of them hidden from it), only the newest is found
    bounded = TextQuery(("w",), after=three - 1)
    assert [m.stored for m in s.search(bounded, {"c": EVERYTHING})] == [newest]
    assert [m.stored for m in s.search(TextQuery(("w",), before=three), {"c": EVERYTHING})] == [two]


@pytest.mark.parametrize(("query", "rows"), [(TextQuery(("x",)), 0), (TextQuery(("x",)), 2**63),
                                             (TextQuery(()), 1), (TextQuery(("x",), before=-(2**64)), 1)])
def test_bad_horizons_are_refused(backend: Backend, query: TextQuery, rows: int) -> None:
    with pytest.raises(InvalidQuery):
        backend.store.search_horizon(query, rows)
