"""Ingest, the one entry point for every producer: a result per object, nothing half-written."""

from __future__ import annotations

import json

import pytest

from phalanx.config import Settings
from phalanx.errors import InputTooLarge, InvalidJSON, InvalidSTIX, NotFound, PermissionDenied
from phalanx.stix import Tlp, tlp_marking_definition
from phalanx.store import Query, VersionFilter
from tests.support import INDICATOR, OASIS, World, bundle, make_world


def test_every_oasis_example_is_accepted(world: World) -> None:
    paths = sorted(OASIS.glob("*.json"))
    if not paths:
        pytest.skip("needs ../shared/data/stix/oasis-examples")
    total = 0
    for path in paths:
        results = world.node.ingest.document(world.contributor, "isac", path.read_bytes())
        refused = [r for r in results if r.outcome == "refused"]
        assert not refused, (path.name, refused)
        total += len(results)
    assert total > 300
    assert world.node.backend.store.stats().versions >= total - 20  # objects repeated across examples collapse


def test_ingest_is_idempotent_and_reports_conflicts(world: World) -> None:
    ingest = world.node.ingest
    first = ingest.document(world.contributor, "isac", bundle(INDICATOR))
    assert [(r.outcome, r.detail) for r in first] == [("accepted", "added")]
    again = ingest.document(world.contributor, "isac", bundle(INDICATOR))
    assert [(r.outcome, r.detail) for r in again] == [("accepted", "duplicate")]
    changed = dict(INDICATOR, name="something else")
    conflict = ingest.document(world.contributor, "isac", bundle(changed))
    assert conflict[0].outcome == "refused" and conflict[0].detail.startswith("conflict")
    newer = dict(changed, modified="2017-01-01T00:00:00.000Z")
    assert ingest.document(world.contributor, "isac", bundle(newer))[0].detail == "added"
    latest = world.node.backend.store.get(INDICATOR["id"])  # type: ignore[arg-type]
    assert json.loads(latest.canonical)["name"] == "something else"
    page = world.node.backend.store.query(Query(collection=world.node.admin.collection("isac").id,
                                                versions=(VersionFilter.ALL,)))
    assert len(page.items) == 2


def test_one_bad_object_does_not_stop_the_others(world: World) -> None:
    broken = dict(INDICATOR, id="indicator--0f3c8c1b-0cce-4b0c-8b5e-0c1f9a55d6aa", spec_version="2.0")
    missing = {k: v for k, v in INDICATOR.items() if k != "pattern"}
    missing["id"] = "indicator--1f3c8c1b-0cce-4b0c-8b5e-0c1f9a55d6aa"
    results = world.node.ingest.document(world.contributor, "isac", bundle(broken, INDICATOR, missing, 42))  # type: ignore[arg-type]
    assert [r.outcome for r in results] == ["refused", "accepted", "refused", "refused"]
    assert "spec_version" in results[0].detail and results[0].id == broken["id"]
    assert "pattern" in results[2].detail
    assert world.node.backend.store.stats().versions == 1


def test_json_lines_report_line_numbers(world: World) -> None:
    second = dict(INDICATOR, id="indicator--2a3c8c1b-0cce-4b0c-8b5e-0c1f9a55d6aa")
    data = (json.dumps(INDICATOR) + "\n\n{not json\n" + json.dumps(second) + "\n").encode()
    results = world.node.ingest.document(world.contributor, "isac", data)
    assert [r.outcome for r in results] == ["accepted", "refused", "accepted"]
    assert results[1].detail.startswith("line 3: not valid JSON")


@pytest.mark.parametrize("data", [b"{broken", b"\xff\xfe\x00", b"[1, 2"])
def test_malformed_documents_are_refused_whole(world: World, data: bytes) -> None:
    with pytest.raises(InvalidJSON):
        world.node.ingest.document(world.contributor, "isac", data)
    assert world.node.backend.store.stats().versions == 0


def test_broken_bundle_envelope(world: World) -> None:
    with pytest.raises(InvalidSTIX, match="bundle"):
        world.node.ingest.document(world.contributor, "isac", b'{"type": "bundle", "id": "nope", "objects": []}')


def test_caps_on_size_and_depth() -> None:
    world = make_world(Settings(database_url="memory://", max_document_bytes=4000, max_depth=6))
    node = world.node
    with pytest.raises(InputTooLarge):
        node.ingest.document(world.contributor, "isac", bundle(*[INDICATOR] * 10))
    deep: object = "x"
    for _ in range(10):
        deep = {"x_nested": deep}
    nested = dict(INDICATOR, x_deep=deep)
    hostile = node.ingest.document(world.contributor, "isac", bundle(nested), tolerant=True)
    assert hostile[0].outcome == "refused" and "levels deep" in hostile[0].detail
    with pytest.raises(InputTooLarge, match="nests deeper"):
        node.ingest.document(world.contributor, "isac", b"[" * 1100 + b"]" * 1100)
    ok_but_one = dict(INDICATOR, x_deep={"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}})
    results = node.ingest.document(world.contributor, "isac", bundle(ok_but_one, INDICATOR), tolerant=True)
    assert [r.outcome for r in results] == ["refused", "accepted"]
    assert "levels deep" in results[0].detail
    node.close()


def test_only_members_with_a_contributing_role_may_share(world: World) -> None:
    with pytest.raises(PermissionDenied, match="not a member"):
        world.node.ingest.document(world.stranger, "isac", bundle(INDICATOR))
    with pytest.raises(PermissionDenied, match="may not share"):
        world.node.ingest.document(world.reader, "isac", bundle(INDICATOR))
    with pytest.raises(NotFound):
        world.node.ingest.document(world.contributor, "no-such-collection", bundle(INDICATOR))
    assert world.node.backend.store.stats().versions == 0


def test_tolerant_mode_keeps_custom_content(world: World) -> None:
    custom = dict(INDICATOR, x_acme_score=7)
    strict = world.node.ingest.document(world.contributor, "isac", bundle(custom))
    assert strict[0].outcome == "refused" and "x_acme_score" in strict[0].detail
    tolerant = world.node.ingest.document(world.contributor, "isac", bundle(custom), tolerant=True)
    assert tolerant[0].outcome == "accepted"
    stored = json.loads(world.node.backend.store.get(INDICATOR["id"]).canonical)  # type: ignore[arg-type]
    assert stored["x_acme_score"] == 7


def test_odd_custom_content_never_takes_its_batch_down(world: World) -> None:
    custom = {"type": "x-acme-thing", "spec_version": "2.1", "id": "x-acme-thing--0a3ead4e-6d47-4ccb-854c-a6a4f9d96b22",
              "created": "2020-01-01T00:00:00.000Z", "modified": "2020-01-01T00:00:00.000Z",
              "created_by_ref": {"a": 1}, "object_marking_refs": ["xxxxxxxxxx"]}
    year_zero = dict(INDICATOR, id="indicator--1a3ead4e-6d47-4ccb-854c-a6a4f9d96b22",
                     created="0000-01-01T00:00:00.000Z")
    results = world.node.ingest.document(world.contributor, "isac", bundle(custom, year_zero, INDICATOR),
                                         tolerant=True)
    assert results[1].outcome == "refused"
    assert results[2].outcome == "accepted"
    accepted = [r.id for r in results if r.outcome == "accepted"]
    for object_id in accepted:
        world.node.backend.store.get(object_id)
    assert world.node.backend.store.stats().versions == len(accepted)


def test_readers_never_get_red_objects_of_others_on_any_backend(world: World) -> None:
    red = dict(INDICATOR, id="indicator--3a3c8c1b-0cce-4b0c-8b5e-0c1f9a55d6aa",
               object_marking_refs=[Tlp.RED.value])
    world.node.ingest.document(world.contributor, "isac", bundle(red, INDICATOR, tlp_marking_definition(Tlp.RED)))
    page = world.node.reader.page(world.reader, Query(collection="isac", types=("indicator",)))
    assert [item.id for item in page.items] == [INDICATOR["id"]]
    own = world.node.reader.page(world.contributor, Query(collection="isac", types=("indicator",)))
    assert [item.id for item in own.items] == [red["id"], INDICATOR["id"]]


TLP1_RED = "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"


@pytest.mark.parametrize("marking", [
    {"object_marking_refs": [TLP1_RED]},
    {"object_marking_refs": [Tlp.RED.value.upper().replace("MARKING-DEFINITION", "marking-definition")]},
    {"granular_markings": [{"marking_ref": Tlp.RED.value, "selectors": ["pattern", "name"]}]},
], ids=["tlp1-red", "upper-case-id", "granular-red"])
def test_every_way_of_marking_red_keeps_it_from_other_members(world: World, marking: dict[str, object]) -> None:
    red = dict(INDICATOR, id="indicator--3a3c8c1b-0cce-4b0c-8b5e-0c1f9a55d6aa", **marking)
    results = world.node.ingest.document(world.contributor, "isac", bundle(red, INDICATOR))
    assert [r.outcome for r in results] == ["accepted", "accepted"], results
    for versions in ((VersionFilter.LAST,), (VersionFilter.ALL,)):
        page = world.node.reader.page(world.reader, Query(collection="isac", versions=versions))
        assert [item.id for item in page.items] == [INDICATOR["id"]]
    own = world.node.reader.page(world.contributor, Query(collection="isac"))
    assert red["id"] in [item.id for item in own.items]
