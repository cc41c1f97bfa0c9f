"""The small interface a SQL backend gives the shared store and directory code."""

from __future__ import annotations

__all__ = ["Engine", "Tx", "placeholders"]

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

T = TypeVar("T")
Row = tuple[Any, ...]


class Tx(Protocol):
    """One connection inside one transaction (writes) or one read."""

    def rows(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        """Run a statement and return every row."""
        ...

    def run(self, sql: str, params: Sequence[object] = ()) -> int:
        """Run a statement; return the number of rows it changed."""
        ...

    def run_many(self, sql: str, params: Sequence[Sequence[object]]) -> None: ...

    def insert_many(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        """Bulk insert (executemany on SQLite, COPY on PostgreSQL)."""
        ...

    def any_of(self, column: str, values: Sequence[object]) -> tuple[str, list[object]]:
        """A condition "column is one of values" and its parameters (IN on SQLite, = ANY(array) on PostgreSQL)."""
        ...

    def serialize_writers(self) -> None:
        """Make this transaction the only object writer until it commits (a no-op where writes are serial)."""
        ...

    def allocate(self, count: int) -> int:
        """Reserve ``count`` consecutive date_added values above any handed out before; return the first."""
        ...


class Engine(Protocol):
    def write(self, fn: Callable[[Tx], T]) -> T: ...
    def read(self, fn: Callable[[Tx], T]) -> T: ...


def placeholders(count: int) -> str:
    return ",".join("?" * count)
