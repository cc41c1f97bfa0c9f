"""The versions index is keyed by 64 bits of a hash of the id: ids whose keys collide must never be mixed up."""

from __future__ import annotations

from pathlib import Path

import pytest

from phalanx.store import Query, VersionFilter
from phalanx.store._sql import _objects
from tests.conformance.conftest import fresh_backend, row


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_colliding_keys_keep_ids_apart(kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_objects, "id_key", lambda object_id: 42)  # every id collides with every other
    with fresh_backend(kind, tmp_path) as backend:
        store = backend.store
        a, b, c = (row("indicator", n, 1) for n in (1, 2, 3))
        assert [r.status.value for r in store.put_many("c1", [a, b], contributor="x")] == ["added", "added"]
        again = store.put_many("c1", [b, c, row("indicator", 1, 2)], contributor="x")
        assert [r.status.value for r in again] == ["duplicate", "added", "added"]
        assert store.get(a.id).version == 2 and store.get(b.id).version == 1
        assert [v.version for v in store.versions(a.id)] == [1, 2]
        page = store.query(Query(collection="c1", ids=(b.id, c.id), versions=(VersionFilter.ALL,)))
        assert sorted(item.id for item in page.items) == sorted([b.id, c.id])


def test_the_key_is_stable_and_signed_64_bit() -> None:
    key = _objects.id_key("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f")
    assert key == _objects.id_key("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f")
    assert -(2**63) <= key < 2**63
