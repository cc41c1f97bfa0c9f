"""PostgreSQL machinery: a psycopg 3 connection pool, opened explicitly.

Writes run in one transaction on a pooled connection. Object writers serialize on the one-row ``clock``
table: ``serialize_writers`` locks its row (FOR UPDATE) before reading what the batch needs, and the lock is
held until COMMIT, so (1) two batches never plan against the same state and (2) batches commit in the order
of the date_added values they take: a reader can never see date_added T2 while a smaller T1 is still
uncommitted. Bulk inserts use COPY.

Planner statistics: the per-batch look-up ``versions.id = ANY(...)`` only uses its index once PostgreSQL
knows ``id`` is (nearly) unique; without statistics it estimates a large share of the table and scans all of
it, so an import slows down as it goes (and autovacuum, which would ANALYZE, may be off or late). The engine
therefore runs ANALYZE on the object tables after migrations, and again whenever the versions this process
has inserted since its last ANALYZE reach a threshold: first after a few thousand, then each time the count
doubles, at least every 200,000.
"""

from __future__ import annotations

__all__ = ["PostgresEngine"]

import contextlib
import functools
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
import psycopg_pool
from psycopg import errors as pgerrors

from ..errors import ConfigError, Conflict, StoreError, StoreUnavailable
from ..stix._timestamps import now_micros
from ._migrations import SCHEMA_MIGRATIONS, Migration
from ._sql._tx import Row, Tx
from ._url import redact_url

T = TypeVar("T")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_UPGRADE = "Run 'phalanx db upgrade' (Backend.upgrade()) to create or update the tables."
_LOCK_KEY = 0x5048414C  # "PHAL": advisory lock taken while migrating
_ANALYZED_TABLES = ("versions", "memberships", "revoked", "collection_keys", "sightings",
                    "search_postings")
"""Tables whose statistics the planner needs to use their indexes (those a migration has made yet)."""
_ANALYZE_FIRST = 5_000
"""Versions inserted by this process before its first ANALYZE (after that, each time the count doubles)."""
_ANALYZE_EVERY = 200_000
"""...and at least this often."""


@contextlib.contextmanager
def translate() -> Iterator[None]:
    """Turn psycopg exceptions into Phalanx errors named by cause."""
    try:
        yield
    except pgerrors.UniqueViolation as exc:
        raise Conflict(f"already exists: {exc.diag.message_primary}") from exc
    except pgerrors.UndefinedTable as exc:
        raise StoreError(f"the database has no tables yet ({exc.diag.message_primary})", hint=_UPGRADE) from exc
    except psycopg_pool.PoolTimeout as exc:
        raise StoreUnavailable(f"PostgreSQL: no connection available ({exc})") from exc
    except psycopg_pool.PoolClosed as exc:
        raise StoreError("the PostgreSQL store is closed", hint="Open the backend again (open_backend).") from exc
    except psycopg.OperationalError as exc:
        raise StoreUnavailable(f"PostgreSQL: {exc}") from exc
    except psycopg.Error as exc:
        raise StoreError(f"PostgreSQL: {exc}") from exc
    except (OverflowError, ValueError, TypeError) as exc:  # psycopg could not send a parameter (a lone surrogate)
        raise StoreError(f"PostgreSQL cannot take a parameter: {exc}") from exc


@functools.lru_cache(maxsize=512)
def _pg(sql: str) -> str:
    return sql.replace("?", "%s")


class _PgTx:
    def __init__(self, conn: psycopg.Connection[Row]) -> None:
        self._conn = conn
        self.inserted_versions = 0
        """Rows this transaction copied into ``versions``."""

    def rows(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        cur = self._conn.execute(_pg(sql), params)
        return cur.fetchall() if cur.description is not None else []

    def run(self, sql: str, params: Sequence[object] = ()) -> int:
        return self._conn.execute(_pg(sql), params).rowcount

    def run_many(self, sql: str, params: Sequence[Sequence[object]]) -> None:
        with self._conn.cursor() as cur:
            cur.executemany(_pg(sql), params)

    def insert_many(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        with self._conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        if table == "versions":
            self.inserted_versions += len(rows)

    def any_of(self, column: str, values: Sequence[object]) -> tuple[str, list[object]]:
        return f"{column} = ANY(?)", [list(values)]

    def serialize_writers(self) -> None:
        self._conn.execute("SELECT last FROM clock WHERE id = 1 FOR UPDATE")

    def allocate(self, count: int) -> int:
        row = self._conn.execute(
            "UPDATE clock SET last = greatest(last + %s, "
            "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint + %s - 1) WHERE id = 1 RETURNING last",
            (count, count),
        ).fetchone()
        if row is None:
            raise StoreError("the clock table is empty", hint=_UPGRADE)
        return int(row[0]) - count + 1


def _split_url(url: str) -> tuple[str, str | None]:
    """The conninfo URL without our own ``schema`` parameter, and that schema."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = None
    kept = []
    for key, value in query:
        if key == "schema":
            schema = value
        else:
            kept.append((key, value))
    if schema is not None and not _IDENT.match(schema):
        raise ConfigError(f"invalid PostgreSQL schema name {schema!r}", hint="Use letters, digits and _.")
    return urlunsplit(parts._replace(query=urlencode(kept))), schema


class PostgresEngine:
    """No I/O until ``open()``; ``close()`` closes the pool."""

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 10, timeout: float = 10.0) -> None:
        self.conninfo, self.schema = _split_url(url)
        kwargs: dict[str, Any] = {"autocommit": True}
        if self.schema is not None:
            kwargs["options"] = f"-c search_path={self.schema}"
        self._timeout = timeout
        self._pool: psycopg_pool.ConnectionPool[psycopg.Connection[Row]] = psycopg_pool.ConnectionPool(
            self.conninfo,
            min_size=min_size,
            max_size=max_size,
            kwargs=kwargs,
            open=False,
            timeout=timeout,
            name="phalanx",
        )
        self._analyze_lock = threading.Lock()
        self._inserted = 0
        self._analyze_at = _ANALYZE_FIRST
        self._analyzing = False
        self.analyzed = 0
        """How many times this engine has run ANALYZE (for tests)."""

    def open(self) -> None:
        try:
            self._pool.open(wait=True, timeout=self._timeout)
        except psycopg_pool.PoolTimeout as exc:
            self._pool.close()
            raise StoreUnavailable(f"cannot connect to PostgreSQL at {redact_url(self.conninfo)}") from exc
        except psycopg.Error as exc:  # pragma: no cover - open() reports failures as PoolTimeout
            self._pool.close()
            raise StoreUnavailable(f"cannot connect to PostgreSQL: {exc}") from exc

    def close(self) -> None:
        self._pool.close()

    def write(self, fn: Callable[[Tx], T]) -> T:
        with translate(), self._pool.connection() as conn:
            tx = _PgTx(conn)
            with conn.transaction():
                result = fn(tx)
            if tx.inserted_versions:
                self._grown(conn, tx.inserted_versions)
            return result

    def _grown(self, conn: psycopg.Connection[Row], inserted: int) -> None:
        """Count versions inserted (committed) by this process; ANALYZE when a threshold is crossed."""
        with self._analyze_lock:
            self._inserted += inserted
            if self._inserted < self._analyze_at or self._analyzing:
                return
            self._analyzing = True
        try:
            # The batch is committed: a failure here must not make put_many report an error. The next
            # threshold retries.
            with contextlib.suppress(psycopg.Error):
                self._analyze(conn)
        finally:
            with self._analyze_lock:
                self._analyzing = False
                self._analyze_at = self._inserted + min(max(self._inserted, _ANALYZE_FIRST), _ANALYZE_EVERY)

    def _analyze(self, conn: psycopg.Connection[Row]) -> None:
        # Outside any transaction (the connection is in autocommit): the batch is committed, and ANALYZE
        # takes no lock that stops writers or readers.
        for table in _ANALYZED_TABLES:
            if conn.execute("SELECT to_regclass(%s)", (table,)).fetchone() != (None,):
                conn.execute(f"ANALYZE {table}")
        self.analyzed += 1

    def read(self, fn: Callable[[Tx], T]) -> T:
        with translate(), self._pool.connection() as conn:
            return fn(_PgTx(conn))

    # migrations ---------------------------------------------------------------------------------------

    def applied(self) -> list[int]:
        def work(tx: Tx) -> list[int]:
            (name,) = tx.rows("SELECT to_regclass('schema_migrations')::text")[0]
            if name is None:
                return []
            return [int(v) for (v,) in tx.rows("SELECT version FROM schema_migrations ORDER BY version")]

        return self.read(work)

    def apply(self, migration: Migration) -> bool:
        with translate(), self._pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            if self.schema is not None:
                conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
            conn.execute(SCHEMA_MIGRATIONS)
            if conn.execute("SELECT 1 FROM schema_migrations WHERE version = %s", (migration.version,)).fetchall():
                return False
            conn.execute(migration.sql)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied) VALUES (%s, %s, %s)",
                (migration.version, migration.name, now_micros()),
            )
        with translate(), self._pool.connection() as conn:
            self._analyze(conn)  # a migration may have rewritten the tables, or loaded them
        return True
