"""``Backend``: a store and a directory over one database, its migrations, and its lifecycle."""

from __future__ import annotations

__all__ = ["Backend", "open_backend"]

import os
import threading
from types import TracebackType
from typing import Protocol
from urllib.parse import parse_qs

from ..errors import ConfigError, StoreError
from ..identity._directory import Directory
from ._ledger import LedgerStorage, MemoryLedgerStorage
from ._memory import MemoryStore
from ._memory_directory import MemoryDirectory
from ._migrations import Migration, MigrationRunner, load_migrations
from ._peers import MemoryPeers, Peers
from ._protocol import Store
from ._statuses import MemoryStatuses, Statuses
from ._url import redact_url
from ._webhooks import MemoryWebhooks, Webhooks


class _Closable(Protocol):
    def close(self) -> None: ...


class _NoMigrations:
    """The memory backend has no schema: nothing is ever pending."""

    def applied(self) -> list[int]:
        return []

    def apply(self, migration: Migration) -> bool:
        return False


class Backend:
    """A store, a directory, status records and the ledger sharing one database. Use as a context manager, or
    call ``close()``."""

    def __init__(
        self,
        *,
        url: str,
        store: Store,
        directory: Directory,
        statuses: Statuses,
        ledger: LedgerStorage,
        peers: Peers,
        webhooks: Webhooks,
        migrations: list[Migration],
        runner: MigrationRunner,
        resource: _Closable | None,
    ) -> None:
        self.url = url
        self.store = store
        self.directory = directory
        self.statuses = statuses
        self.ledger = ledger
        self.peers = peers
        self.webhooks = webhooks
        self._migrations = migrations
        self._runner = runner
        self._resource = resource
        self._lock = threading.Lock()
        self._closed = False

    def schema_version(self) -> int:
        """The newest migration applied (0 for a fresh database, and for the memory backend)."""
        return max(self._runner.applied(), default=0)

    def pending_migrations(self) -> list[str]:
        """Names of the migrations not applied yet, in the order ``upgrade()`` applies them."""
        done = set(self._runner.applied())
        return [m.name for m in self._migrations if m.version not in done]

    def upgrade(self) -> list[str]:
        """Apply the pending migrations, each in one transaction; return the names applied (empty: none)."""
        with self._lock:
            done = set(self._runner.applied())
            applied: list[str] = []
            for migration in self._migrations:
                if migration.version not in done and self._runner.apply(migration):
                    applied.append(migration.name)
            return applied

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self.store.close()
        if self._resource is not None:
            self._resource.close()

    def __enter__(self) -> Backend:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _sqlite_path(url: str) -> tuple[str, dict[str, list[str]]]:
    rest = url[len("sqlite://") :]
    rest, _, query = rest.partition("?")
    if not rest.startswith("/") or len(rest) < 2:
        raise ConfigError(
            f"cannot read the SQLite URL {redact_url(url)!r}",
            hint="Write sqlite:///relative/path.db or sqlite:////absolute/path.db (four slashes).",
        )
    return rest[1:], parse_qs(query)


def open_backend(url: str, *, upgrade: bool = False) -> Backend:
    """Open the database behind ``url`` (``memory://``, ``sqlite:///path.db``, ``postgresql://...``).

    With ``upgrade=True`` pending migrations are applied first (``Backend.upgrade()`` does the same later).
    """
    if url == "memory://" or url.startswith("memory:"):
        backend = Backend(
            url=url,
            store=MemoryStore(),
            directory=MemoryDirectory(),
            statuses=MemoryStatuses(),
            ledger=MemoryLedgerStorage(),
            peers=MemoryPeers(),
            webhooks=MemoryWebhooks(),
            migrations=[],
            runner=_NoMigrations(),
            resource=None,
        )
    elif url.startswith("sqlite:"):
        from ._sql import SqlDirectory, SqlLedgerStorage, SqlPeers, SqlStatuses, SqlStore, SqlWebhooks
        from ._sqlite import SqliteEngine

        path, options = _sqlite_path(url)
        engine = SqliteEngine(os.fspath(path), synchronous=options.get("synchronous", ["NORMAL"])[-1])
        engine.open()
        backend = Backend(
            url=url,
            store=SqlStore(engine),
            directory=SqlDirectory(engine),
            statuses=SqlStatuses(engine),
            ledger=SqlLedgerStorage(engine),
            peers=SqlPeers(engine),
            webhooks=SqlWebhooks(engine),
            migrations=load_migrations("sqlite"),
            runner=engine,
            resource=engine,
        )
    elif url.startswith(("postgresql:", "postgres:")):
        from ._postgres import PostgresEngine
        from ._sql import SqlDirectory, SqlLedgerStorage, SqlPeers, SqlStatuses, SqlStore, SqlWebhooks
        from ._sql._search import PostingsIndex

        pg = PostgresEngine(url)
        pg.open()
        backend = Backend(
            url=url,
            store=SqlStore(pg, collate=' COLLATE "C"', text=PostingsIndex()),
            directory=SqlDirectory(pg, collate=' COLLATE "C"'),
            statuses=SqlStatuses(pg),
            ledger=SqlLedgerStorage(pg),
            peers=SqlPeers(pg),
            webhooks=SqlWebhooks(pg),
            migrations=load_migrations("postgres"),
            runner=pg,
            resource=pg,
        )
    else:
        raise ConfigError(
            f"unknown database URL {redact_url(url)!r}",
            hint="Use memory://, sqlite:///path.db or postgresql://user@host:port/db.",
        )
    if upgrade:
        try:
            backend.upgrade()
        except StoreError:
            backend.close()
            raise
    return backend
