"""SQLite specifics: the writer thread under many concurrent callers, WAL, several processes on one file."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from phalanx.errors import StoreError
from phalanx.store import Grant, PutStatus, Query, ScopeTest, VersionFilter, Visibility, open_backend
from tests.conformance.conftest import row


def test_settings(tmp_path: Path) -> None:
    with open_backend(f"sqlite:///{tmp_path}/s.db", upgrade=True):
        conn = sqlite3.connect(tmp_path / "s.db")
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        conn.close()
    with pytest.raises(StoreError):
        open_backend(f"sqlite:///{tmp_path}/s.db?synchronous=sometimes")
    with open_backend(f"sqlite:///{tmp_path}/s.db?synchronous=full") as backend:
        assert backend.store.stats().versions == 0


def test_writer_thread_under_concurrent_callers(tmp_path: Path) -> None:
    with open_backend(f"sqlite:///{tmp_path}/w.db", upgrade=True) as backend:
        store = backend.store
        results: dict[int, list[PutStatus]] = {}
        errors: list[BaseException] = []
        barrier = threading.Barrier(8)

        def caller(k: int) -> None:
            try:
                barrier.wait()
                statuses = []
                for b in range(10):
                    # Every caller also re-sends an object shared by all: exactly one ADDED wins.
                    batch = [row("indicator", 10_000 + k * 100 + b * 10 + i, 1) for i in range(10)]
                    batch.append(row("indicator", 1, b))
                    statuses += [r.status for r in store.put_many("c", batch, contributor="identity--a")]
                    store.query(Query(collection="c", limit=5))
                results[k] = statuses
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=caller, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        flat = [s for statuses in results.values() for s in statuses]
        assert flat.count(PutStatus.ADDED) == 8 * 100 + 10
        assert flat.count(PutStatus.DUPLICATE) == 7 * 10
        items = store.query(Query(collection="c", versions=(VersionFilter.ALL,), limit=10_000)).items
        assert len(items) == 810
        dates = [i.date_added for i in items]
        assert dates == sorted(dates) and len(set(dates)) == len(dates)


_CHILD = """
import sys
from phalanx.store import open_backend
from tests.conformance.conftest import row
with open_backend(sys.argv[1]) as b:
    for n in range(20):
        b.store.put_many("c", [row("indicator", int(sys.argv[2]) * 1000 + n * 5 + i, 1) for i in range(5)],
                         contributor="identity--p")
"""


def test_several_processes_on_one_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/p.db"
    with open_backend(url, upgrade=True) as backend:
        root = Path(__file__).resolve().parents[2]
        procs = [subprocess.Popen([sys.executable, "-c", _CHILD, url, str(k)], cwd=root) for k in range(3)]
        assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
        items = backend.store.query(Query(collection="c", limit=1000)).items
        assert len(items) == 300
        assert len({i.date_added for i in items}) == 300


@pytest.mark.parametrize("value", [2**63, 2**70, -(2**63) - 1, "lone surrogate \ud800"])
def test_values_sqlite_cannot_bind_are_store_errors(tmp_path: Path, value: object) -> None:
    """sqlite3 raises OverflowError / UnicodeEncodeError (not sqlite3.Error) for these: translate maps them."""
    from phalanx.store._sqlite import SqliteEngine, translate

    conn = sqlite3.connect(":memory:")
    with pytest.raises(StoreError) as info, translate():
        conn.execute("SELECT ?", [value])
    assert info.value.__cause__ is not None
    engine = SqliteEngine(str(tmp_path / "t.db"))
    engine.open()
    try:
        with pytest.raises(StoreError):
            engine.read(lambda tx: tx.rows("SELECT ?", [value]))
        with pytest.raises(StoreError):
            engine.write(lambda tx: tx.rows("SELECT ?", [value]))
        assert engine.write(lambda tx: tx.rows("SELECT ?", [2**63 - 1])) == [(2**63 - 1,)]  # the writer goes on
    finally:
        engine.close()


def test_translate_lets_phalanx_errors_through() -> None:
    from phalanx.errors import NotFound
    from phalanx.store._sqlite import translate

    with pytest.raises(NotFound), translate():
        raise NotFound("no such thing")


def test_queries_by_id_start_from_the_id_index(tmp_path: Path) -> None:
    """Memberships hold no object id: reading a collection by id must go through versions_id_key, then the
    membership by (vseq, collection), never scan the collection."""
    from phalanx.store._sql._objects import compile_query

    url = f"sqlite:///{tmp_path}/q.db"
    with open_backend(url, upgrade=True) as backend:
        backend.store.put_many("c", [row("indicator", n, 1) for n in range(50)], contributor="identity--a")
        conn = sqlite3.connect(tmp_path / "q.db")
        try:
            for query in (
                Query(collection="c", ids=(row("indicator", 3, 1).id,)),
                Query(collection="c", ids=(row("indicator", 3, 1).id, row("indicator", 4, 1).id), types=("x",)),
            ):
                sql, params = compile_query(query, None)
                plan = " | ".join(r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + sql, params))
                assert "versions_id_key" in plan and "memberships_key" in plan, plan
                assert "SCAN" not in plan, plan
        finally:
            conn.close()


def test_newest_first_pages_walk_an_index_backwards(tmp_path: Path) -> None:
    """A newest-first page reads the same index as an oldest-first one, from the other end: no sort, so a page
    of the newest rows costs the same whatever the store holds."""
    from phalanx.store._sql._objects import compile_query

    url = f"sqlite:///{tmp_path}/q.db"
    with open_backend(url, upgrade=True) as backend:
        backend.store.put_many("c", [row("indicator", n, 1) for n in range(50)], contributor="identity--a")
        conn = sqlite3.connect(tmp_path / "q.db")
        member = Visibility(owner="identity--b",
                            grants=(Grant((0, 1)), Grant((2, 3), ScopeTest.UNSCOPED_OR_LISTED, ("o:x",))))
        try:
            for query, index in (
                (Query(collection="c", newest_first=True), "memberships_last"),
                (Query(collection="c", newest_first=True, visibility=member), "memberships_last"),
                (Query(collection="c", versions=(VersionFilter.ALL,), newest_first=True), "memberships_added"),
                (Query(collection="c", types=("indicator",), newest_first=True), "memberships_last_type"),
                (Query(newest_first=True, versions=(VersionFilter.ALL,), added_after=1), "INTEGER PRIMARY KEY"),
                (Query(newest_first=True, types=("indicator",)), "versions_type"),
            ):
                for before in (None, 2**62):
                    sql, params = compile_query(query, query.added_after, before=before)
                    assert sql.endswith(" DESC LIMIT ?"), sql
                    plan = " | ".join(r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + sql, params))
                    assert index in plan and "TEMP B-TREE" not in plan, plan
                    opcodes = {r[1] for r in conn.execute("EXPLAIN " + sql, params)}
                    assert "Prev" in opcodes and "SorterSort" not in opcodes, (sql, opcodes)
        finally:
            conn.close()
