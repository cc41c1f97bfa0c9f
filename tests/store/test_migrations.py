"""Migrations and lifecycle on each backend: fresh databases get everything, upgrades are idempotent,
data survives close and reopen."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from phalanx.errors import ConfigError, Error, StoreError
from phalanx.identity._model import Community
from phalanx.store import Query, open_backend
from phalanx.store._migrations import load_migrations, split_statements
from tests.conformance.conftest import postgres_schema, row


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/m.db"
    else:
        with postgres_schema() as pg:
            yield pg


def test_fresh_database_gets_every_migration(url: str) -> None:
    dialect = "sqlite" if url.startswith("sqlite") else "postgres"
    names = [m.name for m in load_migrations(dialect)]
    assert names[0] == "0001_initial"
    with open_backend(url) as backend:
        assert backend.schema_version() == 0
        assert backend.pending_migrations() == names
        with pytest.raises(StoreError) as info:  # no tables yet: the error says what to do
            backend.store.stats()
        assert "upgrade" in info.value.diagnostics()
        assert backend.upgrade() == names
        assert backend.upgrade() == []
        assert backend.pending_migrations() == []
        assert backend.schema_version() == len(names)


def test_reopen_keeps_data(url: str) -> None:
    with open_backend(url, upgrade=True) as backend:
        backend.store.put_many("c", [row("indicator", 1, 1), row("indicator", 1, 2)], contributor="identity--a")
        backend.directory.add_community(Community("isac", "ISAC", 1))
        first = backend.store.query(Query(collection="c")).items
    with pytest.raises(Error):
        backend.store.stats()
    with open_backend(url) as again:
        assert again.pending_migrations() == []
        assert again.store.query(Query(collection="c")).items == first
        assert again.directory.get_community("isac").title == "ISAC"
        later = again.store.put_many("c", [row("indicator", 2, 1)], contributor="identity--a")
        assert later[0].date_added is not None and later[0].date_added > first[-1].date_added


def test_two_backends_on_one_database_upgrade_once(url: str) -> None:
    with ExitStack() as stack:
        a = stack.enter_context(open_backend(url))
        b = stack.enter_context(open_backend(url))
        dialect = "sqlite" if url.startswith("sqlite") else "postgres"
        assert a.upgrade() == [m.name for m in load_migrations(dialect)]
        assert b.upgrade() == []
        a.store.put_many("c", [row("indicator", 1, 1)], contributor="identity--a")
        assert b.store.stats().versions == 1


def test_versions_stored_before_levels_get_the_level_of_their_markings(url: str) -> None:
    """0002 gives every version stored under 0001 a sharing level: its most restrictive TLP marking (granular
    ones counted for the whole object, as 0001's reads did), unmarked ones AMBER."""
    from phalanx.stix import Tlp

    dialect = "sqlite" if url.startswith("sqlite") else "postgres"
    first, *later = load_migrations(dialect)
    with open_backend(url) as backend:
        backend._runner.apply(first)
        markings = {1: [Tlp.GREEN.value, Tlp.RED.value], 2: [], 3: ["marking-definition--613f2e26-407d-48c7-9eca-"
                                                                     "b8e91df99dc9"], 4: [Tlp.AMBER_STRICT.value]}

        def old_rows(tx: object) -> None:
            for n, refs in markings.items():
                tx.run(  # type: ignore[attr-defined]
                    "INSERT INTO versions (seq, id, id_key, version, type, spec_version, created, revoked, canonical, "
                    "digest, marking_refs, created_by_ref, contributor, is_first, is_last) "
                    "VALUES (?, ?, 0, 1, 'indicator', '2.1', 1, 0, ?, 'd', ?, NULL, 'identity--a', 1, 1)",
                    [n, f"indicator--{n}", b"{}", "[" + ",".join(f'"{m}"' for m in refs) + "]" if refs else ""])

        backend._resource.write(old_rows)  # type: ignore[union-attr]
        assert backend.upgrade() == [m.name for m in later]
        levels = backend._resource.read(  # type: ignore[union-attr]
            lambda tx: tx.rows("SELECT id, level FROM versions ORDER BY seq"))
    assert [tuple(r) for r in levels] == [("indicator--1", 4), ("indicator--2", 2), ("indicator--3", 0),
                                          ("indicator--4", 3)]


@pytest.mark.parametrize(
    "bad", ["mysql://x", "sqlite://", "sqlite:relative.db", "postgresql://u@h/db?schema=bad-name", "nothing"]
)
def test_bad_urls(bad: str) -> None:
    with pytest.raises(ConfigError):
        open_backend(bad)


def test_unreachable_postgres_is_store_unavailable() -> None:
    from phalanx.errors import StoreUnavailable
    from phalanx.store._postgres import PostgresEngine

    engine = PostgresEngine("postgresql://nobody@127.0.0.1:1/none?connect_timeout=1", timeout=1.5)
    with pytest.raises(StoreUnavailable):
        engine.open()


def test_missing_sqlite_folder_is_store_unavailable(tmp_path: Path) -> None:
    from phalanx.errors import StoreUnavailable

    with pytest.raises(StoreUnavailable):
        open_backend(f"sqlite:///{tmp_path}/no/such/folder/x.db")


def test_memory_backend_has_no_migrations() -> None:
    with open_backend("memory://") as backend:
        assert backend.upgrade() == [] and backend.pending_migrations() == [] and backend.schema_version() == 0


def test_split_statements() -> None:
    script = "-- c\nCREATE TABLE a (x);\n\nCREATE TRIGGER t AFTER INSERT ON a BEGIN\n SELECT 1;\nEND;\n"
    assert len(split_statements(script)) == 2
    with pytest.raises(StoreError):
        split_statements("CREATE TABLE a (x")
