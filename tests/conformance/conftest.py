"""Backends for the conformance suites: memory, SQLite and PostgreSQL (a fresh schema per test).

PostgreSQL tests connect to PHALANX_TEST_POSTGRES (default postgresql://postgres@127.0.0.1:5432/test). When it
cannot be reached they skip, saying why; with PHALANX_REQUIRE_POSTGRES=1 they fail instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest

from phalanx.stix._json import canonical, digest
from phalanx.store import Backend, VersionRow, open_backend, redact_url

POSTGRES_URL = os.environ.get("PHALANX_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ["memory", "sqlite", "postgres"]
_reachable: str | None = None  # "" when reachable, else the reason


def postgres_or_skip() -> str:
    """The server URL; skips (or fails, with PHALANX_REQUIRE_POSTGRES=1) when no server answers."""
    global _reachable
    if _reachable is None:
        try:
            with psycopg.connect(POSTGRES_URL, connect_timeout=3) as conn:
                conn.execute("SELECT 1")
            _reachable = ""
        except psycopg.Error as exc:
            where = redact_url(POSTGRES_URL)
            _reachable = " ".join(f"no PostgreSQL at {where} (set PHALANX_TEST_POSTGRES): {exc}".split())
    if _reachable:
        if os.environ.get("PHALANX_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PHALANX_REQUIRE_POSTGRES=1 but {_reachable}")
        pytest.skip(_reachable)
    return POSTGRES_URL


def _with_schema(url: str, schema: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}schema={schema}"


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A URL whose tables live in a new, empty schema; the schema is dropped afterwards."""
    url = postgres_or_skip()
    schema = f"phx_test_{uuid.uuid4().hex[:12]}"
    try:
        yield _with_schema(url, schema)
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@contextmanager
def fresh_backend(kind: str, folder: Path) -> Iterator[Backend]:
    """A new, migrated backend of one kind."""
    if kind == "memory":
        with open_backend("memory://", upgrade=True) as backend:
            yield backend
    elif kind == "sqlite":
        path = folder / f"store-{uuid.uuid4().hex[:8]}.db"
        with open_backend(f"sqlite:///{path}", upgrade=True) as backend:
            yield backend
    else:
        with postgres_schema() as url, open_backend(url, upgrade=True) as backend:
            yield backend


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "postgres":
        request.applymarker(pytest.mark.postgres)
    with fresh_backend(request.param, tmp_path) as b:
        yield b


@pytest.fixture
def backend_factory(tmp_path: Path) -> Callable[[str], Any]:
    """``with backend_factory(kind) as b:`` a new backend, for tests that need several."""
    return lambda kind: fresh_backend(kind, tmp_path)


def make_row(obj: dict[str, Any], *, version: int | None = None) -> VersionRow:
    """A VersionRow from a dict: ``version`` defaults to obj['_v'] (microseconds), ``level`` to obj['_level']
    (default 0) and ``top_level`` to obj['_top'] (default: the level), all left out of the JSON."""
    body = {k: v for k, v in obj.items() if not k.startswith("_")}
    body.setdefault("spec_version", "2.1")
    data = canonical(body)
    ver = version if version is not None else int(obj.get("_v", 0))
    return VersionRow(
        id=body["id"],
        type=body["id"].split("--", 1)[0],
        spec_version=body["spec_version"],
        version=ver,
        created=int(obj.get("_created", ver)),
        revoked=bool(body.get("revoked", False)),
        canonical=data,
        digest=digest(data),
        marking_refs=tuple(body.get("object_marking_refs", ())),
        created_by_ref=body.get("created_by_ref"),
        level=int(obj.get("_level", 0)),
        top_level=int(obj.get("_top", obj.get("_level", 0))),
    )


def row(kind: str, n: int, version: int, **extra: Any) -> VersionRow:
    """A small object ``kind--0000...n`` at ``version``; ``extra`` goes into its JSON (to vary the digest)."""
    oid = f"{kind}--00000000-0000-4000-8000-{n:012d}"
    return make_row({"id": oid, "type": kind, "_v": version, **extra})
