"""PostgreSQL specifics: date_added order under concurrent writers (threads and processes)."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from phalanx.store import Query, Store, VersionFilter, open_backend
from phalanx.store._sql._objects import id_key
from tests.conformance.conftest import postgres_schema, row

pytestmark = pytest.mark.postgres
ALL = (VersionFilter.ALL,)


def _follow(store: Store, done: threading.Event) -> list[tuple[str, int]]:
    """Read the collection like a TAXII poller: page forward from the last cursor until the writers stop.
    A date_added that became visible after a larger one would be skipped: the caller checks for that."""
    seen: list[tuple[str, int]] = []
    cursor: str | None = None
    after: int | None = None
    while True:
        finished = done.is_set()
        page = store.query(Query(collection="c", versions=ALL, limit=7, cursor=cursor, added_after=after))
        seen += [(i.id, i.date_added) for i in page.items]
        if page.items:
            after = page.items[-1].date_added
            cursor = None
        if not page.more and finished:
            return seen


def _check(store: Store, seen: list[tuple[str, int]], expected: int) -> None:
    final = [(i.id, i.date_added) for i in store.query(Query(collection="c", versions=ALL, limit=100_000)).items]
    assert len(final) == expected
    assert seen == final, "the poller missed rows: a smaller date_added became visible after a larger one"


def test_date_added_order_with_concurrent_threads() -> None:
    with postgres_schema() as url, open_backend(url, upgrade=True) as backend:
        store = backend.store
        done = threading.Event()

        def writer(k: int) -> None:
            for b in range(25):
                store.put_many("c", [row("indicator", k * 10_000 + b * 4 + i, 1) for i in range(4)], contributor="x")

        writers = [threading.Thread(target=writer, args=(k,)) for k in range(6)]
        for t in writers:
            t.start()
        result: list[list[tuple[str, int]]] = []
        reader = threading.Thread(target=lambda: result.append(_follow(store, done)))
        reader.start()
        for t in writers:
            t.join()
        done.set()
        reader.join()
        _check(store, result[0], 6 * 25 * 4)


_CHILD = """
import sys
from phalanx.store import open_backend
from tests.conformance.conftest import row
with open_backend(sys.argv[1]) as b:
    for n in range(40):
        b.store.put_many("c", [row("indicator", int(sys.argv[2]) * 10_000 + n * 3 + i, 1) for i in range(3)],
                         contributor="identity--p")
"""


def test_date_added_order_with_concurrent_processes() -> None:
    with postgres_schema() as url, open_backend(url, upgrade=True) as backend:
        root = Path(__file__).resolve().parents[2]
        done = threading.Event()
        result: list[list[tuple[str, int]]] = []
        reader = threading.Thread(target=lambda: result.append(_follow(backend.store, done)))
        reader.start()
        procs = [subprocess.Popen([sys.executable, "-c", _CHILD, url, str(k)], cwd=root) for k in range(4)]
        codes = [p.wait(timeout=120) for p in procs]
        done.set()
        reader.join()
        assert codes == [0, 0, 0, 0]
        _check(backend.store, result[0], 4 * 40 * 3)


def test_same_object_from_concurrent_writers_is_added_once() -> None:
    with postgres_schema() as url, open_backend(url, upgrade=True) as backend:
        store = backend.store
        statuses: list[str] = []
        lock = threading.Lock()

        def writer() -> None:
            for v in range(10):
                got = store.put_many("c", [row("indicator", 1, v)], contributor="x")
                with lock:
                    statuses.append(got[0].status.value)

        threads = [threading.Thread(target=writer) for _ in range(5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(statuses) == ["added"] * 10 + ["duplicate"] * 40
        assert store.get(row("indicator", 1, 0).id).version == 9


def test_values_postgres_cannot_send_are_store_errors() -> None:
    from phalanx.errors import StoreError
    from phalanx.store._postgres import PostgresEngine

    with postgres_schema() as url:
        engine = PostgresEngine(url)
        engine.open()
        try:
            with pytest.raises(StoreError):
                engine.read(lambda tx: tx.rows("SELECT ?::text", ["lone surrogate \ud800"]))
            with pytest.raises(StoreError):
                engine.read(lambda tx: tx.rows("SELECT ?::bigint", [2**70]))
            assert engine.read(lambda tx: tx.rows("SELECT ?::bigint", [2**63 - 1])) == [(2**63 - 1,)]
        finally:
            engine.close()


def test_analyze_keeps_the_batch_lookup_on_the_index(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without statistics PostgreSQL scans versions for ``id = ANY(...)``; the engine ANALYZEs after migrating
    and as the tables grow, so the per-batch look-up uses versions_id_key."""
    from phalanx.store import _postgres
    from phalanx.store._postgres import PostgresEngine

    monkeypatch.setattr(_postgres, "_ANALYZE_FIRST", 300)
    with postgres_schema() as url, open_backend(url, upgrade=True) as backend:
        engine = backend.store._engine  # type: ignore[attr-defined]
        assert isinstance(engine, PostgresEngine)
        migrated = engine.analyzed
        assert migrated == len(backend._migrations)  # after each migration
        for b in range(8):
            backend.store.put_many("c", [row("indicator", b * 200 + i, 1) for i in range(200)], contributor="x")
        assert engine.analyzed == migrated + 3  # at 400, 800 (2x), 1,600 (2x) versions inserted
        keys = [id_key(row("indicator", n, 1).id) for n in range(0, 1600, 400)]  # a few ids among many rows

        def explain(tx: _postgres.Tx) -> str:
            rows = tx.rows("EXPLAIN SELECT id, version, digest, seq FROM versions v WHERE v.id_key = ANY(?)", [keys])
            return "\n".join(r[0] for r in rows)

        plan = engine.read(explain)
        assert "versions_id_key" in plan and "Seq Scan" not in plan, plan[:300]
