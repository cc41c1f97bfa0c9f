"""Migration 0006 fills the sightings table from the sightings stored before it, as ingest would have: the same
facts (``phalanx.service._sightings.facts_of``) on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from phalanx.service import to_row
from phalanx.service._sightings import facts_of
from phalanx.stix import StixObject
from phalanx.store import SightingKind, open_backend
from phalanx.store._migrations import load_migrations
from tests.conformance.conftest import postgres_schema

IND = "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
ORG = "identity--00000000-0000-4000-8000-0000000000aa"


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/m.db"
    else:
        with postgres_schema() as pg:
            yield pg


def sighting(**extra: Any) -> StixObject:
    return StixObject.from_dict({"type": "sighting", "spec_version": "2.1", "id": f"sighting--{uuid.uuid4()}",
                                 "created": "2026-01-01T00:00:00.123Z", "modified": "2026-01-01T00:00:00.123Z",
                                 "sighting_of_ref": IND, **extra})


def test_sightings_stored_before_0006_are_counted_after_it(url: str) -> None:
    objects = [
        sighting(),
        sighting(count=5, first_seen="2025-12-01T10:00:00Z", last_seen="2025-12-02T11:12:13.456789Z"),
        sighting(first_seen="1969-12-31T23:59:59.5Z"),  # before the epoch: negative microseconds
        sighting(last_seen="2025-12-02T11:12:13.4567891Z", x_phalanx_kind="false-positive"),
        sighting(x_phalanx_kind="expired", count=0),
        sighting(x_phalanx_kind="seen", count=0),  # seen 0 times: no row
        StixObject.from_dict({"type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}",
                              "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
                              "pattern": "[ipv4-addr:value = '198.51.100.1']", "pattern_type": "stix",
                              "valid_from": "2026-01-01T00:00:00Z"}),
    ]
    dialect = "sqlite" if url.startswith("sqlite") else "postgres"
    migrations = load_migrations(dialect)
    (number,) = [i for i, m in enumerate(migrations) if m.name == "0006_sightings"]
    with open_backend(url) as backend:
        for migration in migrations[:number]:
            backend._runner.apply(migration)
        # Versions as stored before 0006 (written directly: today's store writes the later tables too).
        def old_rows(tx: Any) -> None:
            for seq, obj in enumerate(objects, start=1):
                row = to_row(obj)
                tx.run("INSERT INTO versions (seq, id, id_key, version, type, spec_version, created, revoked, "
                       "canonical, digest, marking_refs, created_by_ref, contributor, is_first, is_last, level, "
                       "top_level) VALUES (?, ?, 0, ?, ?, '2.1', ?, 0, ?, ?, '', NULL, ?, 1, 1, 1, 1)",
                       [seq, row.id, row.version, row.type, row.created, row.canonical, row.digest, ORG])

        backend._resource.write(old_rows)  # type: ignore[union-attr]
        for migration in migrations[number:]:
            backend._runner.apply(migration)
        found = backend._resource.read(  # type: ignore[union-attr]
            lambda tx: tx.rows("SELECT v.id, s.sighted, s.org, s.kind, s.count, s.first_seen, s.last_seen "
                               "FROM sightings s JOIN versions v ON v.seq = s.vseq"))
    expected = {o.id: facts_of(o) for o in objects if facts_of(o) is not None}
    assert len(expected) == 5
    assert {r[0]: (r[1], r[2], SightingKind.of_code(int(r[3])), int(r[4]), int(r[5]), int(r[6])) for r in found} == {
        oid: (f.sighted, ORG, f.kind, f.count, f.first_seen, f.last_seen)
        for oid, f in expected.items() if f is not None}

