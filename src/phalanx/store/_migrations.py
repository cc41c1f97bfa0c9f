"""Numbered SQL migrations shipped in ``phalanx/store/migrations/<dialect>/NNNN_name.sql``.

Each is applied in its own transaction, together with its row in ``schema_migrations``.
"""

from __future__ import annotations

__all__ = ["Migration", "MigrationRunner", "load_migrations", "split_statements"]

import re
import sqlite3
from dataclasses import dataclass
from importlib import resources
from typing import Protocol

from ..errors import StoreError

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

SCHEMA_MIGRATIONS = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied BIGINT NOT NULL)"
)


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    """The file name without ``.sql``, e.g. ``0001_initial``."""
    sql: str


class MigrationRunner(Protocol):
    def applied(self) -> list[int]:
        """Versions recorded in ``schema_migrations`` (empty for a fresh database)."""
        ...

    def apply(self, migration: Migration) -> bool:
        """Apply one migration in one transaction; False when another process applied it meanwhile."""
        ...


def load_migrations(dialect: str) -> list[Migration]:
    folder = resources.files("phalanx.store").joinpath("migrations", dialect)
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match is None:
            continue
        found.append(Migration(int(match.group(1)), entry.name[:-4], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise StoreError(f"the {dialect} migrations are not numbered 1, 2, 3...: {[m.name for m in found]}")
    return found


def split_statements(script: str) -> list[str]:
    """Split an SQLite script into complete statements (sqlite3's own parser decides where one ends)."""
    statements: list[str] = []
    current: list[str] = []
    for line in script.splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("--")):
            continue
        current.append(line)
        text = "\n".join(current)
        if sqlite3.complete_statement(text):
            statements.append(text)
            current = []
    if "\n".join(current).strip():
        raise StoreError("a migration ends in the middle of a statement")
    return statements
