"""SQLite machinery: one writer thread fed by a queue, and one read connection per thread.

Durability: WAL with ``synchronous=NORMAL``. A commit appends the transaction to the WAL file with write(2)
before ``put_many`` returns, so an acknowledged batch survives the process being killed (SIGKILL, a crash);
only an operating-system crash or power loss can lose the last transactions, because NORMAL fsyncs at
checkpoints rather than at every commit. Pass ``?synchronous=full`` in the URL for that too (slower writes).
"""

from __future__ import annotations

__all__ = ["SqliteEngine"]

import contextlib
import enum
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from typing import Any, TypeVar

from ..errors import Conflict, StoreError, StoreUnavailable
from ..stix._timestamps import now_micros
from ._migrations import SCHEMA_MIGRATIONS, Migration, split_statements
from ._sql._tx import Row, Tx

T = TypeVar("T")
_UPGRADE = "Run 'phalanx db upgrade' (Backend.upgrade()) to create or update the tables."


class _State(enum.Enum):
    UNOPENED = "unopened"
    OPENED = "opened"
    CLOSED = "closed"


@contextlib.contextmanager
def translate() -> Iterator[None]:
    """Turn sqlite3 exceptions, and the foreign ones a parameter bind raises, into Phalanx errors named by cause."""
    try:
        yield
    except sqlite3.IntegrityError as exc:
        raise Conflict(f"already exists: {exc}") from exc
    except sqlite3.OperationalError as exc:
        text = str(exc)
        if "no such table" in text:
            raise StoreError(f"the database has no tables yet ({text})", hint=_UPGRADE) from exc
        if "locked" in text or "busy" in text or "unable to open" in text or "disk" in text:
            raise StoreUnavailable(f"SQLite: {text}") from exc
        raise StoreError(f"SQLite: {text}") from exc
    except sqlite3.Error as exc:
        raise StoreError(f"SQLite: {exc}") from exc
    except (OverflowError, ValueError, TypeError) as exc:
        # sqlite3 raises these, not sqlite3.Error, for a parameter it cannot bind: an int beyond 64 bits
        # (OverflowError), a str with a lone surrogate (UnicodeEncodeError).
        raise StoreError(f"SQLite cannot take a parameter: {exc}") from exc


class _SqliteTx:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def rows(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        return self._conn.execute(sql, params).fetchall()

    def run(self, sql: str, params: Sequence[object] = ()) -> int:
        return self._conn.execute(sql, params).rowcount

    def run_many(self, sql: str, params: Sequence[Sequence[object]]) -> None:
        self._conn.executemany(sql, params)

    def insert_many(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        # Many rows per statement (a multi-row VALUES list): one sqlite3_step inserts a whole chunk, where
        # executemany binds, steps and resets once per row (measured: ~15% more rows/s for the store).
        limit = self._conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        per = max(1, min(_INSERT_ROWS, limit // len(columns)))
        head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
        one = "(" + ",".join("?" * len(columns)) + ")"
        for start in range(0, len(rows), per):
            chunk = rows[start : start + per]
            self._conn.execute(head + ",".join([one] * len(chunk)), [v for row in chunk for v in row])

    def any_of(self, column: str, values: Sequence[object]) -> tuple[str, list[object]]:
        return f"{column} IN ({','.join('?' * len(values))})", list(values)

    def serialize_writers(self) -> None:
        """Already serial: one writer thread, and BEGIN IMMEDIATE against other processes."""

    def allocate(self, count: int) -> int:
        # The rowid b-tree gives max() in O(log n); other processes are excluded by BEGIN IMMEDIATE.
        (last,) = self._conn.execute("SELECT max(date_added) FROM memberships").fetchone()
        return max((last or 0) + 1, now_micros())


_INSERT_ROWS = 250
"""Rows per INSERT statement in ``insert_many`` (fewer when SQLite allows fewer parameters per statement)."""

_Task = tuple[Callable[[sqlite3.Connection], Any], "Future[Any]"]

# The writer leaves checkpoints (copying the WAL into the database file, with an fsync) to a thread of their
# own, so a commit never waits for one; past this many WAL pages it checkpoints itself, as a safety net.
_WRITER_AUTOCHECKPOINT_PAGES = 65536


class _Checkpointer:
    """Runs ``PRAGMA wal_checkpoint(PASSIVE)`` on its own connection after the writer has committed, at most
    every ``interval`` seconds.

    PASSIVE never blocks the writer or readers; SQLite does the copying without holding the GIL, so on a
    machine with two cores the checkpoint and the next batch proceed at the same time. The interval keeps a
    stream of small commits (TAXII POSTs) from paying a checkpoint, and its fsync, each: measured with two
    clients POSTing envelopes of 100 objects, 13,500 objects/s with a checkpoint per commit, 17,800 with this.
    """

    def __init__(self, path: str, *, interval: float = 0.25) -> None:
        self._path = path
        self._interval = interval
        self._wake = threading.Event()
        self._paused = threading.Event()
        """Set only to stop: waited on for the interval between checkpoints."""
        self._stop = False
        self._thread = threading.Thread(target=self._run, name=f"phalanx-sqlite-checkpoint:{path}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def poke(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop = True
        self._paused.set()
        self._wake.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False, timeout=30)
        except sqlite3.Error:
            return  # the writer's own autocheckpoint still bounds the WAL
        with contextlib.closing(conn):
            while True:
                self._wake.wait()
                if self._stop:
                    return
                self._wake.clear()
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                # Commits during the pause are checkpointed together after it (stop() ends the pause at once).
                self._paused.wait(self._interval)


class SqliteEngine:
    """``write(fn)`` runs ``fn`` on the writer thread inside BEGIN IMMEDIATE ... COMMIT and waits for it;
    ``read(fn)`` runs it on this thread's read connection. No I/O until ``open()``."""

    def __init__(self, path: str, *, synchronous: str = "NORMAL") -> None:
        if synchronous.upper() not in ("NORMAL", "FULL", "EXTRA"):
            raise StoreError(f"unknown synchronous setting {synchronous!r}", hint="Use normal, full or extra.")
        self.path = path
        self._synchronous = synchronous.upper()
        self._state = _State.UNOPENED
        self._queue: queue.SimpleQueue[_Task | None] = queue.SimpleQueue()
        self._writer: sqlite3.Connection | None = None
        self._thread: threading.Thread | None = None
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._checkpointer: _Checkpointer | None = None

    # lifecycle ----------------------------------------------------------------------------------------

    def open(self) -> None:
        if self._state is not _State.UNOPENED:
            raise StoreError("this SQLite engine was opened already")
        with translate():
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute(f"PRAGMA synchronous={self._synchronous}")
                conn.execute("PRAGMA cache_size=-65536")
                conn.execute("PRAGMA temp_store=MEMORY")
                conn.execute(f"PRAGMA wal_autocheckpoint={_WRITER_AUTOCHECKPOINT_PAGES}")
            except sqlite3.Error:
                conn.close()
                raise
        self._writer = conn
        self._checkpointer = _Checkpointer(self.path)
        self._checkpointer.start()
        self._thread = threading.Thread(target=self._run, name=f"phalanx-sqlite-writer:{self.path}", daemon=True)
        self._thread.start()
        self._state = _State.OPENED

    def close(self) -> None:
        with self._lock:
            if self._state is not _State.OPENED:
                self._state = _State.CLOSED
                return
            self._state = _State.CLOSED
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join()
        if self._checkpointer is not None:
            self._checkpointer.stop()
        with self._lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()

    def _check(self) -> None:
        if self._state is not _State.OPENED:
            raise StoreError(f"the SQLite store is {self._state.value}", hint="Open the backend (open_backend).")

    # the writer ---------------------------------------------------------------------------------------

    def _run(self) -> None:
        conn = self._writer
        assert conn is not None
        while True:
            task = self._queue.get()
            if task is None:
                break
            fn, future = task
            if not future.set_running_or_notify_cancel():
                continue
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    result = fn(conn)
                    conn.execute("COMMIT")
                    if self._checkpointer is not None:
                        self._checkpointer.poke()
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except BaseException as exc:
                future.set_exception(exc)
            else:
                future.set_result(result)
        with contextlib.suppress(sqlite3.Error):
            conn.execute("PRAGMA optimize")
        conn.close()

    def _submit(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        future: Future[T] = Future()
        with self._lock:
            self._check()
            self._queue.put((fn, future))
        with translate():
            return future.result()

    def write(self, fn: Callable[[Tx], T]) -> T:
        return self._submit(lambda conn: fn(_SqliteTx(conn)))

    # readers ------------------------------------------------------------------------------------------

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            with self._lock:
                self._check()
                with translate():
                    conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
                    conn.execute("PRAGMA query_only=1")
                    conn.execute("PRAGMA cache_size=-32768")
                    conn.execute("PRAGMA mmap_size=268435456")
                self._readers.append(conn)
            self._local.conn = conn
        return conn

    def read(self, fn: Callable[[Tx], T]) -> T:
        self._check()
        conn = self._reader()
        with translate():
            return fn(_SqliteTx(conn))

    # migrations ---------------------------------------------------------------------------------------

    def applied(self) -> list[int]:
        def work(conn: sqlite3.Connection) -> list[int]:
            exists = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
            ).fetchall()
            if not exists:
                return []
            return [v for (v,) in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]

        return self._submit(work)

    def apply(self, migration: Migration) -> bool:
        def work(conn: sqlite3.Connection) -> bool:
            conn.execute(SCHEMA_MIGRATIONS)
            if conn.execute("SELECT 1 FROM schema_migrations WHERE version = ?", [migration.version]).fetchall():
                return False
            for statement in split_statements(migration.sql):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied) VALUES (?, ?, ?)",
                [migration.version, migration.name, now_micros()],
            )
            return True

        return self._submit(work)
