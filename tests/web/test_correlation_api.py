"""Correlation over HTTP, in-process over ASGI: the three endpoints, their parameters, and the policy (a reader
outside a TLP:RED object's audience never counts it)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from phalanx.identity import Actor, Role
from phalanx.stix import Tlp
from phalanx.web import create_app
from tests.support import World, bundle

IP = "198.51.100.7"
T0 = "2024-05-01T12:00:00.000Z"
RED_ID = "indicator--00000000-0000-4000-8000-000000000001"
CLEAR_ID = "indicator--00000000-0000-4000-8000-000000000002"
SCO_ID = "ipv4-addr--00000000-0000-5000-8000-000000000009"
REL_ID = "relationship--00000000-0000-4000-8000-000000000003"


def indicator(oid: str, tlp: Tlp) -> dict[str, Any]:
    return {"type": "indicator", "spec_version": "2.1", "id": oid, "created": T0, "modified": T0,
            "pattern": f"[ipv4-addr:value = '{IP}']", "pattern_type": "stix", "valid_from": T0,
            "object_marking_refs": [tlp.value]}


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    """ACME shares a TLP:RED indicator only it may see, Globex a TLP:CLEAR one and the address itself, both
    carrying 198.51.100.7, and a relationship between its two objects."""
    node = world.node
    node.admin.add_collection("shared", community="isac")
    node.ingest.document(world.contributor, "shared", bundle(indicator(RED_ID, Tlp.RED)))
    relationship = {"type": "relationship", "spec_version": "2.1", "created": T0, "modified": T0,
                    "id": REL_ID, "relationship_type": "related-to",
                    "source_ref": CLEAR_ID, "target_ref": SCO_ID, "object_marking_refs": [Tlp.CLEAR.value]}
    results = node.ingest.document(Actor(world.globex.id, Role.CONTRIBUTOR), "shared", bundle(
        indicator(CLEAR_ID, Tlp.CLEAR), {"type": "ipv4-addr", "spec_version": "2.1", "id": SCO_ID, "value": IP},
        relationship))
    assert [r.outcome for r in results] == ["accepted"] * 3
    with TestClient(create_app(node), base_url="http://phalanx.test") as c:
        yield c


def key_for(world: World, org_id: str, role: Role = Role.READER) -> dict[str, str]:
    secret, _ = world.node.admin.create_key(org_id, role)
    return {"Authorization": f"Bearer {secret}"}


def test_who_reported_a_value(world: World, client: TestClient) -> None:
    response = client.get("/api/v1/correlation", params={"value": IP}, headers=key_for(world, world.acme.id))
    assert response.status_code == 200
    body = response.json()
    assert body["observable"] == {"kind": "ipv4-addr", "value": IP}
    assert body["reported_by"] == 2 and body["reports"] == 2 and not body["more"]
    assert body["first"]["name"] == "ACME CERT" and body["first"]["objects"] == 1
    assert [o["name"] for o in body["organizations"]] == ["ACME CERT", "Globex"]
    assert [o["id"] for o in body["objects"]] == [RED_ID, CLEAR_ID, SCO_ID]
    assert [o["organization_name"] for o in body["objects"]] == ["ACME CERT", "Globex", None]  # SCO: nobody


def test_a_non_recipient_counts_one_organization(world: World, client: TestClient) -> None:
    body = client.get("/api/v1/correlation", params={"value": IP}, headers=key_for(world, world.globex.id)).json()
    assert body["reported_by"] == 1 and body["reports"] == 1
    assert [o["id"] for o in body["objects"]] == [CLEAR_ID, SCO_ID]
    assert RED_ID not in str(body) and "ACME" not in str(body)
    outsider = client.get("/api/v1/correlation", params={"value": IP}, headers=key_for(world, world.outsider.id))
    assert outsider.json()["reported_by"] == 0 and outsider.json()["objects"] == []


def test_an_objects_correlation_and_neighbourhood(world: World, client: TestClient) -> None:
    globex = key_for(world, world.globex.id)
    body = client.get(f"/api/v1/objects/{CLEAR_ID}/correlation", headers=globex).json()
    assert body["id"] == CLEAR_ID and body["type"] == "indicator"
    (only,) = body["observables"]
    assert [o["id"] for o in only["objects"]] == [SCO_ID] and only["reported_by"] == 1 and only["reports"] == 1
    graph = client.get(f"/api/v1/objects/{CLEAR_ID}/neighbourhood", params={"depth": "2"}, headers=globex).json()
    assert {n["id"] for n in graph["nodes"]} == {CLEAR_ID, SCO_ID}
    assert {(e["reason"], e["via"]) for e in graph["edges"]} == {
        (f"shares ipv4-addr {IP}", None), ("relationship: related-to", REL_ID)}
    mine = client.get(f"/api/v1/objects/{CLEAR_ID}/neighbourhood", headers=key_for(world, world.acme.id)).json()
    assert RED_ID in {n["id"] for n in mine["nodes"]}


@pytest.mark.parametrize("path", [f"/api/v1/objects/{RED_ID}/correlation", f"/api/v1/objects/{RED_ID}/neighbourhood",
                                  "/api/v1/objects/indicator--00000000-0000-4000-8000-00000000ffff/correlation"])
def test_an_object_outside_the_audience_is_not_found(world: World, client: TestClient, path: str) -> None:
    response = client.get(path, headers=key_for(world, world.globex.id))
    assert response.status_code == 404 and response.json()["title"] == "NotFound"


@pytest.mark.parametrize(("path", "params"), [
    ("/api/v1/correlation", {}),
    ("/api/v1/correlation", {"value": "no idea what this is"}),
    ("/api/v1/correlation", {"value": IP, "kind": "filename"}),
    ("/api/v1/correlation", {"value": IP, "limit": "0"}),
    ("/api/v1/correlation", {"value": IP, "other": "1"}),
    (f"/api/v1/objects/{CLEAR_ID}/neighbourhood", {"depth": "3"}),
    (f"/api/v1/objects/{CLEAR_ID}/neighbourhood", {"limit": "201"}),
    (f"/api/v1/objects/{CLEAR_ID}/correlation", {"limit": "x"}),
])
def test_bad_parameters_are_400(world: World, client: TestClient, path: str, params: dict[str, str]) -> None:
    response = client.get(path, params=params, headers=key_for(world, world.globex.id))
    assert response.status_code == 400 and response.json()["title"] == "InvalidParameter"


def test_a_key_is_needed(client: TestClient) -> None:
    assert client.get("/api/v1/correlation", params={"value": IP}).status_code == 401
